"""Round-trip any roadmind message to plain dicts (JSON/YAML-safe) for logs.

Arrays become ``{"dtype", "shape", "data"}``; enums their value; tuples lists.
``from_dict`` reads the field annotations, so messages need no per-class code.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from functools import cache
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")


def to_dict(obj: Any) -> Any:
    """Convert a message (or any nesting of them) to plain Python values."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, np.ndarray):
        return {"dtype": str(obj.dtype), "shape": list(obj.shape), "data": obj.ravel().tolist()}
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, tuple | list):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): to_dict(v) for k, v in obj.items()}
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def from_dict(cls: type[T], data: Any) -> T:
    """Rebuild an instance of ``cls`` from :func:`to_dict` output."""
    return _build(cls, data)


def _build(tp: Any, data: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if data is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _build(inner, data)
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_build(args[0], v) for v in data)
        return tuple(_build(a, v) for a, v in zip(args, data, strict=True))
    if origin is list:
        (item_t,) = typing.get_args(tp)
        return [_build(item_t, v) for v in data]
    if origin is dict:
        key_t, val_t = typing.get_args(tp)
        return {_build(key_t, k): _build(val_t, v) for k, v in data.items()}
    if tp is np.ndarray:
        return np.asarray(data["data"], dtype=data["dtype"]).reshape(data["shape"])
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(data)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = _hints(tp)
        kwargs = {
            f.name: _build(hints[f.name], data[f.name])
            for f in dataclasses.fields(tp)
            if f.name in data
        }
        return tp(**kwargs)
    if tp is float:
        return float(data)
    return data
