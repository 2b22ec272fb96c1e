"""The codebase stays ruff-clean, mypy-strict and inside its architecture's import rules."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["core", "ingest", "scoring", "api", "device_sim", "wellrate"]

# Which application packages each package may import (docs/architecture.md, "Import rules").
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "ingest": {"core"},
    "scoring": {"core"},
    "device_sim": {"core"},
    "api": {"core", "scoring"},
    "wellrate": {"core", "ingest", "scoring", "device_sim", "api"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_import_rules(package: str) -> None:
    others = set(PACKAGES) - {package}
    offenders = []
    for path in (ROOT / package).rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        bad = (_imports(path) & others) - ALLOWED[package]
        if bad:
            offenders.append(f"{rel} imports {sorted(bad)}")
    assert offenders == []


def test_ruff_clean() -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    res = subprocess.run([ruff, "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_mypy_strict() -> None:
    res = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-5000:] + res.stderr[-2000:]
