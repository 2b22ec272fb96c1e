"""The compose file and k8s manifests parse, are self-consistent, and set only real settings.

A WELLRATE_* variable that is not a Settings field would be silently ignored
(extra="ignore"), so a typo in a manifest would run with a default: this test catches it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from core.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
FIELDS = {f"WELLRATE_{name.upper()}" for name in Settings.model_fields}


def _wellrate_keys(env: dict[str, Any] | list[Any] | None) -> set[str]:
    if not env:
        return set()
    names = env.keys() if isinstance(env, dict) else [e["name"] for e in env]
    return {n for n in names if n.startswith("WELLRATE_")}


def _env_file_keys(path: Path) -> set[str]:
    lines = [ln.split("=", 1)[0] for ln in path.read_text().splitlines()]
    return {k for k in lines if k.startswith("WELLRATE_")}


def test_compose_references_and_settings() -> None:
    doc = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = doc["services"]
    volumes = set(doc.get("volumes") or {})
    for name in ("timescaledb", "mosquitto", "migrate", "ingest-1", "ingest-2", "api"):
        assert name in services
    seen: set[str] = set()
    for name, svc in services.items():
        for dep in svc.get("depends_on") or {}:
            assert dep in services, (name, dep)
        for vol in svc.get("volumes") or []:
            src = vol.split(":", 1)[0]
            if src.startswith("."):
                continue  # bind mount of an operator-filled path
            assert src in volumes, (name, src)
        seen |= _wellrate_keys(svc.get("environment"))
        for env_file in svc.get("env_file") or []:
            assert env_file == ".env"  # never a committed file
    seen |= _env_file_keys(DEPLOY / "env.example")
    assert seen <= FIELDS, seen - FIELDS
    ids = {services[n]["environment"]["WELLRATE_MQTT_CLIENT_ID"] for n in ("ingest-1", "ingest-2")}
    assert len(ids) == 2
    assert services["ingest-1"]["environment"]["WELLRATE_MQTT_SHARED_GROUP"] == "ingest"
    assert ":latest" not in (DEPLOY / "compose.yaml").read_text()


def test_k8s_references_and_settings() -> None:
    docs = [d for d in yaml.safe_load_all((DEPLOY / "k8s" / "wellrate.yaml").read_text()) if d]
    by_kind: dict[str, dict[str, Any]] = {}
    for d in docs:
        by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
    config_maps = by_kind["ConfigMap"]
    seen = set().union(*(_wellrate_keys(cm["data"]) for cm in config_maps.values()))
    assert {"Job", "Deployment", "StatefulSet", "Service", "PodDisruptionBudget"} <= set(by_kind)
    pod_owners = [
        *by_kind["Job"].values(),
        *by_kind["Deployment"].values(),
        *by_kind["StatefulSet"].values(),
    ]
    labels = set()
    for owner in pod_owners:
        spec = owner["spec"]["template"]["spec"]
        volumes = {v["name"] for v in spec.get("volumes", [])}
        for c in spec["containers"]:
            for ref in c.get("envFrom", []):
                if "configMapRef" in ref:
                    assert ref["configMapRef"]["name"] in config_maps
            seen |= _wellrate_keys(c.get("env"))
            for m in c.get("volumeMounts", []):
                assert m["name"] in volumes
        if owner["kind"] != "Job":
            assert spec["terminationGracePeriodSeconds"] >= 10
            assert all("readinessProbe" in c and "resources" in c for c in spec["containers"])
            labels.add(owner["spec"]["template"]["metadata"]["labels"]["app"])
    assert seen <= FIELDS, seen - FIELDS
    for svc in by_kind["Service"].values():
        assert svc["spec"]["selector"]["app"] in labels
    for pdb in by_kind["PodDisruptionBudget"].values():
        assert pdb["spec"]["selector"]["matchLabels"]["app"] in labels
