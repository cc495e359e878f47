"""OpenDRIVE maps through CARLA's own client-side parser (``carla.Map``), no server.

``RoadMap`` pairs the ``carla.Map`` with what the parser does not expose directly:
every road's lane sections and lane types (for meshing sidewalks and shoulders)
and the ``<controller>`` groups of traffic-light signals.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import carla

from maps.xodr_checks import check_geometry, check_size
from roadmind.errors import UserError
from roadmind.resources import MAPS_DIR_ENV, configs_dir, user_maps_dirs

MAPS_DIR = configs_dir() / "maps"


@dataclass(frozen=True, slots=True)
class LaneInfo:
    lane_id: int
    lane_type: str  # OpenDRIVE type: driving, sidewalk, shoulder, border, ...


@dataclass(frozen=True, slots=True)
class LaneSection:
    s_start_m: float
    s_end_m: float
    lanes: tuple[LaneInfo, ...]


@dataclass(frozen=True, slots=True)
class RoadInfo:
    road_id: int
    length_m: float
    junction_id: int  # -1 outside junctions
    sections: tuple[LaneSection, ...]


@dataclass(frozen=True)
class RoadMap:
    """A loaded map: CARLA's parsed map plus the raw structure roadmind needs."""

    name: str
    path: Path
    carla_map: carla.Map
    roads: dict[int, RoadInfo]
    # signal id -> (junction id, phase index) from <junction><controller sequence=...>
    light_phases: dict[int, tuple[int, int]]

    def lane_point(self, road_id: int, lane_id: int, s_m: float, field: str) -> carla.Waypoint:
        """The waypoint at (road, lane, s); a clear error naming ``field`` if it is not there."""
        road = self.roads.get(road_id)
        if road is None:
            raise UserError(
                f"{field}: road {road_id} is not in map {self.name!r} "
                f"(roads: {_ranges(sorted(self.roads))})"
            )
        if not 0.0 <= s_m <= road.length_m:
            raise UserError(
                f"{field}: s_m={s_m} is outside road {road_id} (length {road.length_m:.1f} m)"
            )
        wp = self.carla_map.get_waypoint_xodr(road_id, lane_id, s_m)
        if wp is None:
            lanes = sorted({ln.lane_id for sec in road.sections for ln in sec.lanes})
            raise UserError(
                f"{field}: lane {lane_id} does not exist on road {road_id} at s={s_m} "
                f"(lanes there: {lanes})"
            )
        return wp


def resolve_map_path(
    name_or_path: str, base_dir: Path | None = None, maps_dirs: list[Path] | None = None
) -> Path:
    """A map given as a path to an ``.xodr`` (relative ones also beside the scenario,
    ``base_dir``) or a bare name: a project map (``four_way_stop``), else a file
    ``<name>.xodr`` in the maps folders (``maps_dirs``, default ``$ROADMIND_MAPS_DIR``
    and ``--maps-dir``: where CARLA's towns are, so ``map: Town04`` works). An unknown
    name is a UserError that says where it looked and how to give the map."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".xodr":
        if not candidate.is_absolute() and base_dir is not None and not candidate.exists():
            candidate = base_dir / candidate
        return candidate
    folders = [MAPS_DIR, *(user_maps_dirs() if maps_dirs is None else maps_dirs)]
    for folder in folders:
        found = _named_in(folder, name_or_path)
        if found is not None:
            return found
    known = ", ".join(sorted(p.stem for p in MAPS_DIR.glob("*.xodr")))
    extra = [str(f) for f in folders[1:]]
    looked = f"project maps ({known})" + (
        f" and {', '.join(extra)}" if extra else f"; ${MAPS_DIR_ENV} is not set"
    )
    raise UserError(
        f"map {name_or_path!r} not found: looked in {looked}. Give a path to the .xodr "
        f"(map: /path/to/{name_or_path}.xodr) or the folder that holds it "
        f"(roadmind --maps-dir DIR, or ${MAPS_DIR_ENV}=DIR)"
    )


def _named_in(folder: Path, name: str) -> Path | None:
    exact = folder / f"{name}.xodr"
    if exact.is_file():
        return exact
    if not folder.is_dir():
        return None
    # CARLA's names differ in case between tools (Town10HD, town10hd)
    return next((p for p in sorted(folder.glob("*.xodr")) if p.stem.lower() == name.lower()), None)


def load_road_map(path: Path) -> RoadMap:
    """Parse an OpenDRIVE file; every failure names the file and what is wrong."""
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in MAPS_DIR.glob("*.xodr")))
        raise UserError(f"{path}: map file not found (project maps: {known})")
    try:
        check_size(path, path.stat().st_size)
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise UserError(f"{path}: cannot read the map ({exc.strerror})") from None
    root, roads = _parse_xml(text, path, check=True)
    try:
        carla_map = carla.Map(path.stem, text)
        topology = carla_map.get_topology()
    except (RuntimeError, IndexError) as exc:  # CARLA's assertions and std::map::at
        raise UserError(f"{path}: CARLA's OpenDRIVE parser rejected the map: {exc}") from None
    if not topology:
        raise UserError(f"{path}: the map has no drivable lanes (empty topology)")
    return RoadMap(path.stem, path, carla_map, roads, _parse_light_phases(root, path))


def road_map_of(carla_map: carla.Map, name: str) -> RoadMap:
    """The RoadMap of a map someone else parsed (a CARLA server's ``world.get_map()``),
    from the OpenDRIVE text the map carries."""
    where = Path(name)
    root, roads = _parse_xml(carla_map.to_opendrive(), where)
    return RoadMap(name, where, carla_map, roads, _parse_light_phases(root, where))


def _parse_xml(
    text: str, path: Path, check: bool = False
) -> tuple[ET.Element, dict[int, RoadInfo]]:
    """``check``: refuse geometry CARLA's parser cannot take (``maps.xodr_checks``);
    a map a CARLA server already parsed is taken as it is."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise UserError(f"{path}: not valid OpenDRIVE XML: {exc}") from None
    if root.tag != "OpenDRIVE":
        raise UserError(f"{path}: root element is <{root.tag}>, expected <OpenDRIVE>")
    if check:
        check_geometry(root, path)
    roads = _parse_roads(root, path)
    if not roads:
        raise UserError(f"{path}: no <road> elements; an OpenDRIVE map needs at least one road")
    return root, roads


def _parse_roads(root: ET.Element, path: Path) -> dict[int, RoadInfo]:
    roads: dict[int, RoadInfo] = {}
    for road in root.findall("road"):
        try:
            road_id = int(road.get("id", ""))
            length = float(road.get("length", ""))
            junction = int(road.get("junction", "-1"))
        except ValueError:
            raise UserError(
                f"{path}: road {road.get('id')!r}: id, length and junction must be numbers"
            ) from None
        section_elems = road.findall("lanes/laneSection")
        starts = [float(sec.get("s", "0")) for sec in section_elems] + [length]
        sections = tuple(
            LaneSection(
                starts[i],
                starts[i + 1],
                tuple(
                    LaneInfo(int(lane.get("id", "0")), lane.get("type", "none"))
                    for side in ("left", "right")
                    for lane in sec.findall(f"{side}/lane")
                ),
            )
            for i, sec in enumerate(section_elems)
        )
        roads[road_id] = RoadInfo(road_id, length, junction, sections)
    return roads


def _parse_light_phases(root: ET.Element, path: Path) -> dict[int, tuple[int, int]]:
    """Signal id -> (junction, phase) from controllers referenced by junctions."""
    try:
        return _light_phases(root)
    except ValueError:
        raise UserError(
            f"{path}: a <controller> or <junction> has a signalId, id or sequence that is "
            "not a whole number"
        ) from None


def _light_phases(root: ET.Element) -> dict[int, tuple[int, int]]:
    controller_signals: dict[str, list[int]] = {}
    for ctrl in root.findall("controller"):
        controller_signals[ctrl.get("id", "")] = [
            int(c.get("signalId", "-1")) for c in ctrl.findall("control")
        ]
    phases: dict[int, tuple[int, int]] = {}
    for junction in root.findall("junction"):
        refs = junction.findall("controller")
        ordered = sorted(refs, key=lambda c: int(c.get("sequence", "0") or 0))
        for phase, ref in enumerate(ordered):
            for signal_id in controller_signals.get(ref.get("id", ""), []):
                phases[signal_id] = (int(junction.get("id", "-1")), phase)
    return phases


def _ranges(values: list[int]) -> str:
    if len(values) <= 12:
        return ", ".join(map(str, values))
    return f"{values[0]}..{values[-1]} ({len(values)} roads)"
