"""The shared YAML reader (``roadmind.config.read_yaml``) refuses what is not a text
configuration file in one line naming it, before parsing (issue 19)."""

from __future__ import annotations

from pathlib import Path

import pytest

from roadmind.config import MAX_YAML_BYTES, read_yaml
from roadmind.errors import ConfigError

DOC = "name: test\nspeed_kmh: 50\n"


@pytest.mark.parametrize(
    "content",
    [
        DOC.encode("utf-8"),
        DOC.encode("utf-8-sig"),
        DOC.encode("utf-16"),  # with a byte order mark
        DOC.encode("utf-32"),
    ],
    ids=["utf8", "utf8_bom", "utf16_bom", "utf32_bom"],
)
def test_text_in_a_marked_encoding_is_read(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "doc.yaml"
    path.write_bytes(content)
    assert read_yaml(path) == {"name": "test", "speed_kmh": 50}


BAD = {
    "binary": (bytes(range(256)) * 4, "a binary file"),
    "utf16_without_bom": (DOC.encode("utf-16-le"), "UTF-16 without a byte order mark"),
    "latin1": ("name: Straße\n".encode("latin-1"), "not UTF-8 text (byte 10 is not valid)"),
    "deep": (b"[" * 100_000, "not valid YAML"),
    "control_characters": (b"name: \x07\x1b\n", "not valid YAML"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_not_a_text_file_is_one_line(tmp_path: Path, case: str) -> None:
    content, message = BAD[case]
    path = tmp_path / f"{case}.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as err:
        read_yaml(path)
    assert str(err.value).startswith(f"{path}: ") and message in str(err.value)


def test_an_oversized_file_is_refused_by_its_size_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as fh:  # 50 MB, sparse: nothing to read if it were read
        fh.truncate(50_000_000)
    assert MAX_YAML_BYTES < 50_000_000
    with pytest.raises(ConfigError, match=r"huge\.yaml: 50000000 bytes is too large .*limit 4 MiB"):
        read_yaml(path)


def test_an_unknown_key_with_brackets_is_named(tmp_path: Path) -> None:
    """pydantic's union tags hold '[': a user's key that does too is still reported."""
    from sim.rig import load_rig

    path = tmp_path / "rig.yaml"
    path.write_text("'[': 1\n")
    with pytest.raises(ConfigError, match=r"rig\.yaml: \[: unknown key"):
        load_rig(path)
