"""Load the vendored official schemas (``vendor/``, see its README) into jsonschema validators.

The Open mHealth schemas reference each other by relative name, with ``-1.x.json`` names
that upstream are symbolic links to the newest minor version, and the IEEE 1752.1 schemas by
``https://w3id.org/ieee/ieee-1752-schema/...`` URLs; those files are published outside
GitHub, so the Open mHealth schemas of the same name stand in for them (``IEEE_STAND_INS``,
stated in the vendor README).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft6Validator, Draft7Validator, FormatChecker
from jsonschema.protocols import Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

VENDOR = Path(__file__).parent / "vendor"
OMH = VENDOR / "openmhealth" / "schema" / "omh"
OMH_DATA = VENDOR / "openmhealth" / "test-data"
FHIR_SCHEMA = VENDOR / "fhir-r4" / "fhir.schema.subset.json"
OMH_BASE = "https://w3id.org/openmhealth/schemas/omh/"
IEEE_BASE = "https://w3id.org/ieee/ieee-1752-schema/"
# Upstream symbolic links: <name>-<major>.x.json -> the newest minor version (HEAD of the
# vendored commit).
MINOR_LINKS = {
    "specimen-source-2.x": "specimen-source-2.1",
    "temporal-relationship-to-meal-1.x": "temporal-relationship-to-meal-1.2",
    "temporal-relationship-to-sleep-1.x": "temporal-relationship-to-sleep-1.0",
    "temporal-relationship-to-physical-activity-1.x": (
        "temporal-relationship-to-physical-activity-1.0"
    ),
    "body-location-1.x": "body-location-1.1",
    "body-posture-1.x": "body-posture-1.0",
    "systolic-blood-pressure-1.x": "systolic-blood-pressure-1.1",
    "diastolic-blood-pressure-1.x": "diastolic-blood-pressure-1.1",
    "unit-value-1.x": "unit-value-1.0",
    "time-frame-1.x": "time-frame-1.0",
    "time-interval-1.x": "time-interval-1.0",
    "date-time-1.x": "date-time-1.0",
    "duration-unit-value-1.x": "duration-unit-value-1.0",
    "part-of-day-1.x": "part-of-day-1.0",
    "descriptive-statistic-1.x": "descriptive-statistic-1.2",
    "descriptive-statistic-denominator-1.x": "descriptive-statistic-denominator-1.1",
    "header-1.x": "header-1.2",
    "schema-id-1.x": "schema-id-1.1",
}  # fmt: skip
IEEE_STAND_INS = {
    "unit-value-1.0": "unit-value-1.0",
    "time-frame-1.0": "time-frame-1.0",
    "descriptive-statistic-1.0": "descriptive-statistic-1.2",
    "body-posture-1.0": "body-posture-1.0",
}


def _stand_in(node: Any) -> Any:
    """The schema with every IEEE 1752.1 ``$ref`` pointed at its Open mHealth stand-in."""
    if isinstance(node, dict):
        out = {k: _stand_in(v) for k, v in node.items()}
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(IEEE_BASE):
            out["$ref"] = IEEE_STAND_INS[ref[len(IEEE_BASE) :].removesuffix(".json")] + ".json"
        return out
    if isinstance(node, list):
        return [_stand_in(v) for v in node]
    return node


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = _stand_in(json.loads((OMH / f"{name}.json").read_text("utf-8")))
    return data


def _retrieve(uri: str) -> Resource[Any]:
    name = uri.rsplit("/", 1)[-1].removesuffix(".json")
    name = MINOR_LINKS.get(name, name)
    contents = _load(name)
    contents.pop("$schema", None)  # draft-04 and draft-07 mixed: read all as draft 7
    contents["$id"] = OMH_BASE + f"{name}.json"  # its relative references are OMH names
    return Resource.from_contents(contents, default_specification=DRAFT7)


@functools.cache
def omh_validator(name: str) -> Validator:
    """A validator for schema ``name`` (e.g. "blood-glucose-4.0") with its references."""
    schema = _load(name)
    schema.pop("$schema", None)
    schema["$id"] = OMH_BASE + f"{name}.json"
    registry: Registry[Any] = Registry(retrieve=_retrieve)  # type: ignore[call-arg]
    return Draft7Validator(schema, registry=registry, format_checker=FormatChecker())


@functools.cache
def fhir_validator(resource: str = "Bundle") -> Validator:
    """The FHIR R4 (4.0.1) JSON Schema's definition of ``resource`` (the schema's top-level
    oneOf over every resource type would report one opaque error instead of each one)."""
    schema = json.loads(FHIR_SCHEMA.read_text(encoding="utf-8"))
    return Draft6Validator(
        {"$ref": f"#/definitions/{resource}", "definitions": schema["definitions"]}
    )
