"""The codebase stays ruff-clean, mypy-strict and inside its architecture's import rules.

The rules (docs/architecture.md, "Import rules") are written down here as data and checked
on every module, with no exemptions: the packages' dependency graph, the graph of the
``api`` sub-packages, where a web framework may be imported, and no import strings.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APPLICATION = ["core", "ingest", "scoring", "device_sim", "api", "wellrate"]
EVERYTHING = [*APPLICATION, "bench", "tests"]

# Which packages each one imports. Exactly: an edge not listed fails, and so does a listed
# edge no module uses any more (then this table and docs/architecture.md are out of date).
PACKAGES: dict[str, set[str]] = {
    "core": set(),
    "ingest": {"core"},
    "scoring": {"core"},
    "device_sim": {"core"},
    "api": {"core", "scoring"},
    # The composition root: the one package that wires the others together.
    "wellrate": {"core", "ingest", "scoring", "device_sim", "api"},
}
# bench and tests may import any application package; tests never import bench, and bench
# imports tests for two tools only, one implementation each, not two: the benchmark's
# delaying relay is the tests' TCP proxy, and the score bench's loop baseline is the tests'
# plain-Python scoring oracle (tests/scoring/loops.py).
MAY_IMPORT: dict[str, set[str]] = {
    "bench": {*APPLICATION, "tests"},
    "tests": set(APPLICATION),
}

# Inside ``api``: each sub-package (or top-level module) and what it imports, exactly as for
# PACKAGES. Audience packages (insurer, clinic, member, devices, admin) stand on the shared
# ones (auth, deps, errors, audit, tenancy) and on pricing; nothing imports api.app but the
# command that serves it.
API: dict[str, set[str]] = {
    "api.errors": {"core"},
    "api.metrics": {"api.errors", "core"},
    "api.auth": {"api.errors", "core"},
    "api.deps": {"api.auth", "api.errors", "core"},
    # The sign-in routes stand on the request dependencies like any audience's routes (as a
    # node of their own: auth's service is below api.deps, its routes above).
    # They write the sign-in, sign-out and credential audit rows.
    "api.auth.endpoints": {"api.audit", "api.auth", "api.deps", "api.errors", "core"},
    "api.audit": {"api.auth", "api.deps", "core"},
    "api.tenancy": {"api.audit", "api.auth", "api.deps", "core"},
    # PIPL consent: records and the one rule read paths apply; no HTTP (pricing calls it).
    "api.consent": {"core"},
    # The premium engine: no HTTP, no audience, scoring only through its public reads, and
    # consent through its one rule.
    "api.pricing": {"api.consent", "core", "scoring"},
    "api.dashboard": {"core"},
    "api.clinic": {"api.audit", "api.auth", "api.deps", "api.tenancy", "core", "scoring"},
    "api.devices": {"api.audit", "api.auth", "api.deps", "api.tenancy", "core"},
    "api.member": {
        *("api.audit", "api.auth", "api.consent", "api.deps", "api.pricing", "api.tenancy"),
        "scoring",
    },
    "api.insurer": {
        *("api.audit", "api.auth", "api.consent", "api.deps", "api.errors", "api.pricing"),
        *("api.tenancy", "core", "scoring"),
    },
    # The platform operator registers clinics and members (the devices registry's writes)
    # and assigns products to insurers (the insurer context's write).
    "api.admin": {"api.audit", "api.auth", "api.deps", "api.devices", "api.insurer", "core"},
    "api.app": {
        *("api.admin", "api.auth.endpoints", "api.clinic", "api.dashboard", "api.devices"),
        *("api.errors", "api.insurer", "api.member", "api.metrics", "core"),
    },
    "api.cli": {"api.app", "core"},
}

# Web frameworks belong to the HTTP layer (and to the commands that serve it).
WEB = {"fastapi", "starlette", "uvicorn"}
NO_WEB = ["core", "ingest", "scoring", "device_sim", "api/pricing"]


def _modules(package: str) -> Iterator[tuple[str, ast.Module]]:
    for path in sorted((ROOT / package).rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        yield rel, ast.parse(path.read_text(encoding="utf-8"), filename=rel)


def _imported(tree: ast.Module) -> set[str]:
    """Every module an import statement names, dotted (``from a import b`` gives ``a`` and
    ``a.b``, since ``b`` may be a module: ``from api import errors``)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0 and node.module, f"relative import on line {node.lineno}"
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def _api_unit(name: str) -> str | None:
    """The graph node a dotted module name belongs to: its longest prefix in ``API``
    (``api.pricing.service`` -> ``api.pricing``), or its package outside ``api``."""
    parts = name.split(".")
    if parts[0] != "api":
        return parts[0] if parts[0] in EVERYTHING else None
    for n in range(len(parts), 1, -1):
        if ".".join(parts[:n]) in API:
            return ".".join(parts[:n])
    return None


def _package_edges(package: str) -> dict[str, set[str]]:
    """Other packages this package imports -> the modules that import each."""
    edges: dict[str, set[str]] = {}
    for rel, tree in _modules(package):
        for name in _imported(tree):
            top = name.split(".")[0]
            if top in EVERYTHING and top != package:
                edges.setdefault(top, set()).add(rel)
    return edges


@cache
def _api_edges() -> dict[str, dict[str, set[str]]]:
    """Per api unit: the units and packages it imports -> the modules that import each."""
    edges: dict[str, dict[str, set[str]]] = {unit: {} for unit in API}
    for rel, tree in _modules("api"):
        parts = Path(rel).with_suffix("").parts
        if rel == "api/__init__.py":  # the package's docstring: it imports nothing
            assert not {_api_unit(n) for n in _imported(tree)} - {None}, rel
            continue
        unit = _api_unit(".".join(parts))
        assert unit is not None, f"{rel}: not in any node of the API graph of this test"
        for name in _imported(tree):
            target = _api_unit(name)
            if target is not None and target != unit:
                edges[unit].setdefault(target, set()).add(rel)
    return edges


def _diff(actual: dict[str, set[str]], allowed: set[str]) -> list[str]:
    bad = [f"not allowed: -> {t} (in {sorted(actual[t])})" for t in sorted(set(actual) - allowed)]
    return bad + [f"allowed but unused: -> {t}" for t in sorted(allowed - set(actual))]


@pytest.mark.parametrize("package", APPLICATION)
def test_package_imports_exactly_its_allowed_packages(package: str) -> None:
    assert _diff(_package_edges(package), PACKAGES[package]) == []


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_bench_and_tests_import_only_what_they_may(package: str) -> None:
    edges = _package_edges(package)
    assert [f"{t}: {sorted(edges[t])}" for t in sorted(set(edges) - MAY_IMPORT[package])] == []


@pytest.mark.parametrize("unit", sorted(API))
def test_api_sub_packages_import_exactly_their_allowed_graph(unit: str) -> None:
    assert _diff(_api_edges()[unit], API[unit]) == []


def test_the_rules_name_every_api_unit() -> None:
    """A new api sub-package or module must be placed in the graph before it is used."""
    on_disk = {f"api.{p.stem}" for p in (ROOT / "api").iterdir() if p.suffix == ".py" or (
        p.is_dir() and (p / "__init__.py").exists())} - {"api.__init__"}  # fmt: skip
    assert on_disk == {".".join(unit.split(".")[:2]) for unit in API}


@pytest.mark.parametrize("where", NO_WEB)
def test_no_web_framework_outside_the_http_layer(where: str) -> None:
    offenders = [
        f"{rel} imports {sorted(hits)}"
        for rel, tree in _modules(where)
        if (hits := {n.split(".")[0] for n in _imported(tree)} & WEB)
    ]
    assert offenders == []


@pytest.mark.parametrize("package", APPLICATION)
def test_no_import_strings(package: str) -> None:
    """Packages are wired with ordinary imports that mypy checks, never by name at run time."""
    offenders = []
    for rel, tree in _modules(package):
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and (
                (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                or (isinstance(node.func, ast.Name) and node.func.id in {"__import__"})
            ):
                offenders.append(f"{rel}:{node.lineno}")
    assert offenders == []


@pytest.mark.parametrize("package", APPLICATION)
def test_no_sql_borrowed_from_another_package(package: str) -> None:
    """SQL stays with the package (or api sub-package) that owns it: others call a function
    it exposes (``scoring.repository.send_latest_scores``), never import its SQL strings."""
    offenders = []
    for rel, tree in _modules(package):
        here = _api_unit(".".join(Path(rel).with_suffix("").parts))
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom) or not node.module:
                continue
            there = _api_unit(node.module)
            borrowed = [a.name for a in node.names if a.name.isupper() and "SQL" in a.name]
            if there not in (None, here) and borrowed:
                offenders.append(f"{rel}:{node.lineno} {node.module}: {borrowed}")
    assert offenders == []


def test_ruff_clean() -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    res = subprocess.run([ruff, "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_mypy_strict() -> None:
    res = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-5000:] + res.stderr[-2000:]


# --- size and complexity --------------------------------------------------------------------
# A function does one job in at most ~60 lines and below cyclomatic complexity grade D
# (radon: 21 or more paths); a module stays under ~400 lines. What exceeds a limit is listed
# here with the reason it is kept whole, and an entry that no longer exceeds its limit fails
# too, so the table shrinks as the code does.
MAX_FUNCTION_LINES, MAX_COMPLEXITY, MAX_MODULE_LINES = 60, 20, 400
TWINS = "the reference and columnar twins of each indicator sit side by side so they cannot drift"
STEPWISE = "the reference follows the published definition step by step, each step citing it"
SIZE_EXEMPT: dict[str, str] = {
    "ingest/metrics.py::__init__": "one declaration per Prometheus metric with its help text",
    "scoring/repository.py": "scoring's one repository: per-kind loads, score rows and runs",
    "scoring/composite.py": TWINS,
    "scoring/indicators/cgm.py": TWINS,
    "scoring/indicators/bp.py": TWINS,
    "scoring/indicators/rules.py": "every clinical constant and rule in one place, by design",
    "scoring/indicators/cgm.py::cgm_indicators": STEPWISE,
    "scoring/indicators/bp.py::home_bp": STEPWISE,
    "scoring/indicators/activity.py::activity_indicators": STEPWISE,
    "api/app.py::__call__": "the body gate's ASGI receive/send exchange is one state machine",
    "api/clinic/repository.py": "the clinic's reads; each is one bounded SQL statement",
    "api/clinic/fhir.py": "FHIR resources per kind with their ids, narratives and profiles",
    "api/clinic/fhir.py::cgm_summary": "the CGM guide's summary panel: one entry per LOINC code",
    "api/devices/provision.py::provision": "one audited transaction: ownership, binding, broker",
    "device_sim/cli.py::main": "the argument parser's declarations, one per option",
    "device_sim/modes.py::realtime": "the real-time loop: schedule, publish, pace and report",
}


def _sizes() -> Iterator[tuple[str, int, int]]:
    """(key, lines, complexity) of every application module and function; complexity 0
    for a module."""
    from radon.complexity import cc_visit

    for package in APPLICATION:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            src = path.read_text()
            yield rel, len(src.splitlines()), 0
            ranks = {(b.name, b.lineno): b.complexity for b in cc_visit(src)}
            ranks |= {
                (m.name, m.lineno): m.complexity
                for b in cc_visit(src)
                for m in getattr(b, "methods", [])
            }
            for node in ast.walk(ast.parse(src)):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    lines = (node.end_lineno or node.lineno) - node.lineno + 1
                    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                    cc = ranks.get((node.name, first), ranks.get((node.name, node.lineno), 0))
                    yield f"{rel}::{node.name}", lines, cc


def test_functions_and_modules_stay_small_or_say_why() -> None:
    over = {
        key
        for key, lines, cc in _sizes()
        if (lines > MAX_MODULE_LINES if "::" not in key else lines > MAX_FUNCTION_LINES)
        or cc > MAX_COMPLEXITY
    }
    unexplained = sorted(over - SIZE_EXEMPT.keys())
    assert not unexplained, f"over the size or complexity limits without a reason: {unexplained}"
    stale = sorted(SIZE_EXEMPT.keys() - over)
    assert not stale, f"exempt but within the limits now (remove from SIZE_EXEMPT): {stale}"
