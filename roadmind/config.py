"""Load YAML files into typed pydantic models that reject unknown keys.

Every error names the file and the dotted field path, e.g.
``configs/scenarios/x.yaml: actors.0.speed_kmh: Input should be a valid number``.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from roadmind.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


class StrictModel(BaseModel):
    """Base for config models: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def read_yaml(path: Path) -> Any:
    if not path.is_file():
        raise ConfigError(f"{path}: file not found")
    text = _yaml_text(path)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{where}: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid YAML: nested too deeply") from None


MAX_YAML_BYTES = 4 * 1024 * 1024  # a configuration file; the project's largest is 20 kB
_BOMS: tuple[tuple[bytes, str], ...] = ((b"\xff\xfe\0\0", "utf-32"), (b"\0\0\xfe\xff", "utf-32"))
_BOMS += ((b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"), (b"\xef\xbb\xbf", "utf-8-sig"))


def _yaml_text(path: Path) -> str:
    """The file's text: refused by size before reading, UTF-16/32 read by their byte
    order mark, anything else must be UTF-8 without NUL bytes (a binary file)."""
    try:
        size = path.stat().st_size
        if size > MAX_YAML_BYTES:
            raise ConfigError(
                f"{path}: {size} bytes is too large for a configuration file "
                f"(limit {MAX_YAML_BYTES // (1024 * 1024)} MiB)"
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the file ({exc.strerror})") from None
    encoding = next((enc for bom, enc in _BOMS if raw.startswith(bom)), "utf-8")
    if encoding == "utf-8" and b"\0" in raw:
        raise ConfigError(
            f"{path}: a binary file (or UTF-16 without a byte order mark), not YAML text; "
            "a configuration file is UTF-8 text"
        )
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not {encoding.upper().removesuffix('-SIG')} text "
            f"(byte {exc.start} is not valid); save it as UTF-8"
        ) from None
    if "\0" in text:
        raise ConfigError(f"{path}: a binary file, not YAML text")
    return text


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
    return validate(model, read_yaml(path), str(path))


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
