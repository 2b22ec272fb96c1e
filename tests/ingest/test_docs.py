"""docs/ingest.md documents every dead-letter reason the code can produce."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _reasons_in_code() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "ingest").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(text)):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "Reject"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                found.add(str(node.args[0].value))
        found |= set(
            re.findall(r'"(unknown_device|unbound_device|db_rejected|parser_error)"', text)
        )
    return found


def test_every_dead_letter_reason_is_documented() -> None:
    reasons = _reasons_in_code()
    assert {"malformed_json", "unknown_device", "unbound_device", "db_rejected"} <= reasons
    doc = (ROOT / "docs" / "ingest.md").read_text(encoding="utf-8")
    doc = doc[doc.index("## Dead letters") : doc.index("## Metrics")]
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", doc, flags=re.MULTILINE))
    assert reasons - documented == set()
    assert documented - reasons == set(), "documented reasons the code never produces"


def test_asyncapi_names_every_kind_and_the_shared_subscription() -> None:
    spec = (ROOT / "docs" / "asyncapi.yaml").read_text(encoding="utf-8")
    assert spec.startswith("asyncapi: 2.6.0")
    for needle in ("enum: [bp, glucose, activity]", "$share/", "qos: 1", "blood-glucose"):
        assert needle in spec
