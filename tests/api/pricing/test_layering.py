"""Pricing is usable without the HTTP layer: the CLI, the demo and the benchmarks price a
member without loading FastAPI, Starlette or the API's error rendering."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
HTTP = ["fastapi", "starlette", "api.errors", "api.deps", "api.app"]


def test_importing_every_pricing_module_loads_no_http_module() -> None:
    modules = sorted(
        "api.pricing." + p.stem
        for p in (ROOT / "api" / "pricing").glob("*.py")
        if p.stem != "__init__"
    )
    code = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"print(json.dumps([m for m in {HTTP!r} if m in sys.modules]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == []
