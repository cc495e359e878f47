from __future__ import annotations

from pathlib import Path

import pytest

from reasoning.reader_vocabulary import load_vocabulary, number_words
from roadmind.errors import ConfigError
from roadmind.messages import SignType


def test_number_words() -> None:
    assert number_words(35) == "thirty-five"
    assert number_words(120) == "one hundred twenty"
    assert number_words(15) == "fifteen"
    with pytest.raises(ValueError):
        number_words(1000)


def test_shipped_vocabulary_expands_values_into_classes() -> None:
    v = load_vocabulary()
    names = [c.name for c in v.classes]
    assert "speed_limit 30 km/h" in names and "speed_limit 45 mph" in names
    c = v.classes[v.index("speed_limit 45 mph")]
    assert c.sign_type is SignType.SPEED_LIMIT and c.ocr == "value"
    assert "maximum speed forty-five miles per hour" in c.prompts
    assert {c.label for c in v.lights()} == {
        "light_red",
        "light_yellow",
        "light_green",
        "light_off",
    }


def test_adding_a_sign_type_is_adding_text(tmp_path: Path) -> None:
    path = tmp_path / "v.yaml"
    path.write_text(
        "signs:\n  - {label: stop, type: stop, prompts: [a stop sign]}\n"
        "  - {label: no_entry, type: null, prompts: [a no entry sign]}\n"
    )
    assert [c.name for c in load_vocabulary(path).classes] == ["stop", "no_entry"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("signs:\n  - {label: a, type: warp, prompts: [x]}\n", "signs.0.type"),
        ("signs:\n  - {label: a, type: stop, prompts: []}\n", "signs.0.prompts"),
        (
            "signs:\n  - {label: a, type: stop, prompts: [x]}\n  - {label: a, type: stop, "
            "prompts: [y]}\n",
            "repeated: a",
        ),
    ],
)
def test_bad_vocabulary_names_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "v.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as err:
        load_vocabulary(path)
    assert str(path) in str(err.value)
