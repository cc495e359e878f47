"""Load YAML files into typed pydantic models that reject unknown keys.

Every error names the file and the dotted field path, e.g.
``configs/scenarios/x.yaml: actors.0.speed_kmh: Input should be a valid number``.
Every number field refuses NaN and infinity (``StrictModel``) unless its type says
otherwise (``NanAllowed``: a perceived value that may be unknown); a key given twice
in one mapping, an empty file and a file that is not UTF-8 text are refused too.
"""

from __future__ import annotations

import difflib
import math
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from roadmind.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


class StrictModel(BaseModel):
    """Base for config models: unknown keys are errors, instances are immutable, and
    no number field takes NaN or infinity ("Input should be a finite number")."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _not_infinite(value: float) -> float:
    if math.isinf(value):
        raise ValueError("infinity is not allowed here (NaN is: an unknown value)")
    return value


# A number that may be NaN (a perceived value that is unknown), never infinite.
NanAllowed = Annotated[float, Field(allow_inf_nan=True), AfterValidator(_not_infinite)]


class DuplicateKeyError(yaml.constructor.ConstructorError):
    """A mapping that gives one key twice (plain YAML would keep the last silently)."""

    def __init__(self, key: object, first: yaml.Mark, again: yaml.Mark) -> None:
        super().__init__(None, None, f"duplicate key {key!r}", again)
        self.key, self.first, self.again = key, first, again


class UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping. Keys merged in
    with ``<<`` may still be overridden by the mapping's own keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:  # type: ignore[override]
        seen: dict[object, yaml.Mark] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node.start_mark)
            except TypeError:
                continue  # an unhashable key: the base class says so
            if first is not key_node.start_mark:
                raise DuplicateKeyError(key, first, key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


def load_yaml_text(text: str, source: str) -> Any:
    """Parse YAML ``text`` with ``UniqueKeyLoader``; ConfigError names ``source`` and the
    line. Every project YAML reader goes through this (or ``read_yaml``)."""
    try:
        return yaml.load(text, Loader=UniqueKeyLoader)
    except DuplicateKeyError as exc:
        raise ConfigError(
            f"{source}: line {exc.again.line + 1}: key {exc.key!r} given twice "
            f"(first on line {exc.first.line + 1}); give each key once"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{source}: not valid YAML{where}: {problem}") from None
    except RecursionError:
        raise ConfigError(f"{source}: not valid YAML: nested too deeply") from None


MAX_YAML_BYTES = 4 * 1024 * 1024  # a configuration file; the project's largest is 20 kB


_BOMS: tuple[tuple[bytes, str], ...] = ((b"\xff\xfe\0\0", "utf-32"), (b"\0\0\xfe\xff", "utf-32"))
_BOMS += ((b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"), (b"\xef\xbb\xbf", "utf-8-sig"))


def read_text_file(path: Path, what: str = "file") -> str:
    """A text file's content; ConfigError for a missing, unreadable, oversized or binary
    file, so no loader shows a traceback for one. UTF-8, or UTF-16/32 with a byte order
    mark (what Windows editors write); the size is checked before reading."""
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder, not a {what}")
    if not path.is_file():
        raise ConfigError(f"{path}: {what} not found")
    try:
        size = path.stat().st_size
        if size > MAX_YAML_BYTES:
            raise ConfigError(
                f"{path}: {size} bytes is too large for a {what} "
                f"(limit {MAX_YAML_BYTES // (1024 * 1024)} MiB)"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None
    encoding = next((enc for bom, enc in _BOMS if data.startswith(bom)), "utf-8")
    if encoding == "utf-8" and b"\0" in data:
        raise ConfigError(
            f"{path}: a binary file (or UTF-16 without a byte order mark), not text; "
            f"a {what} is UTF-8 text"
        )
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not {encoding.upper().removesuffix('-SIG')} text "
            f"(byte {exc.start} is not valid); save it as UTF-8"
        ) from None
    if "\0" in text:
        raise ConfigError(f"{path}: a binary file, not text")
    return text


def read_yaml(path: Path) -> Any:
    return load_yaml_text(read_text_file(path), str(path))


def validate(model: type[M], data: Any, source: str) -> M:
    """Validate ``data`` into ``model``; errors name ``source`` and each bad field."""
    if data is None:
        data = {}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError("\n".join(_messages(model, exc, source))) from None


def _messages(model: type[BaseModel], exc: ValidationError, source: str) -> list[str]:
    """One line per bad field: pydantic's union tags and "Value error, " dropped, a
    misspelt key reported once with the key it was probably meant to be."""
    errors = [(_field_path(e), e) for e in exc.errors()]
    missing = {loc for loc, e in errors if e["type"] == "missing"}
    meant: set[tuple] = set()
    lines: list[tuple[tuple[int | str, ...], str]] = []
    seen: set[tuple] = set()
    for loc, err in errors:
        if err["type"] == "extra_forbidden":
            allowed = _allowed_keys(model, loc[:-1])
            candidates = [a for a in allowed if (*loc[:-1], a) in missing]
            close = difflib.get_close_matches(str(loc[-1]), candidates, n=1)
            if close:
                meant.add((*loc[:-1], close[0]))
                msg = f"unknown key; did you mean {close[0]!r}?"
            else:
                msg = "unknown key" + (f"; allowed keys: {', '.join(allowed)}" if allowed else "")
        else:
            msg = str(err["msg"]).removeprefix("Value error, ")
        if loc not in seen:
            seen.add(loc)
            lines.append((loc, f"{source}: {'.'.join(map(str, loc)) or '(top level)'}: {msg}"))
    return [line for loc, line in lines if loc not in meant]


def _field_path(err: Any) -> tuple[int | str, ...]:
    """The error's place without pydantic's union tags (``function-after[...]``); the
    last part of an unknown-key error is the user's key, kept even if it has a '['."""
    loc = tuple(err["loc"])
    keep = loc[-1:] if err["type"] == "extra_forbidden" else ()
    return tuple(p for p in loc[: len(loc) - len(keep)] if "[" not in str(p)) + keep


def load_model(model: type[M], path: Path) -> M:
    """``path`` validated into ``model``; an empty file (or one of comments only) is an
    error, not the model's defaults: an empty rig file would silently be the default rig."""
    data = read_yaml(path)
    if data is None:
        raise ConfigError(f"{path}: the file is empty (no settings in it)")
    return validate(model, data, str(path))


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the (nested) model at ``loc``, for a helpful unknown-key message."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        current = _model_of(field.annotation)
        if current is None:
            return []
    return sorted(getattr(current, "model_fields", {}))


def _model_of(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None
