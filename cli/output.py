"""How every JSON-printing command prints."""

from __future__ import annotations

import json
from pathlib import Path


def emit_json(result: dict[str, object], out: str | None) -> int:
    """Print ``result`` as JSON on stdout, and write it to ``out`` too when given."""
    text = json.dumps(result, indent=1)
    if out:
        Path(out).write_text(text + "\n")
    print(text)
    return 0
