"""The FHIR export's identity and references: valid, unique ids for any member/device id the
API accepts, Patient and Device resources, flagged non-validated readings, local offsets and
narratives in the export's language (docs/fhir.md)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from api.clinic import fhir
from api.devices import repository as devices
from tests.api.conftest import World
from tests.factories import add_consent

# FHIR R4 datatypes: id and the urn:uuid form of a uri (http://hl7.org/fhir/R4/datatypes.html).
FHIR_ID = re.compile(r"[A-Za-z0-9\-\.]{1,64}")
URN_UUID = re.compile(r"urn:uuid:[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}")
# What the API accepts: device ids (api/devices/endpoints.py) and member ids (1-128 chars).
device_ids = st.from_regex(r"[A-Za-z0-9._:-]{1,128}", fullmatch=True)
member_ids = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1,
                     max_size=128)  # fmt: skip
T0 = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)


def _refs(node: Any) -> list[str]:
    """Every ``reference`` string anywhere in a resource."""
    if isinstance(node, dict):
        own = [node["reference"]] if isinstance(node.get("reference"), str) else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def _check_bundle(b: dict[str, Any]) -> None:
    assert "total" not in b
    urls = [e["fullUrl"] for e in b["entry"]]
    assert len(set(urls)) == len(urls)  # bdl-7
    for e in b["entry"]:
        res = e["resource"]
        assert FHIR_ID.fullmatch(res["id"]), res["id"]
        assert URN_UUID.fullmatch(e["fullUrl"]) and e["fullUrl"].endswith(res["id"])
        for ref in _refs(res):
            assert ref in urls, ref  # every reference resolves inside the Bundle


@st.composite
def _summaries(draw: st.DrawFn) -> list[dict[str, Any]]:
    """CGM score windows (distinct starts), with or without the optional event counts."""
    starts = draw(st.lists(st.integers(0, 400), max_size=3, unique=True))
    events = draw(st.booleans())
    return [
        {
            "window_start": date(2025, 1, 1) + timedelta(days=s),
            "window_end": date(2025, 1, 1) + timedelta(days=s + 14),
            "cgm": {**CGM_FULL, **({"hypo_l1_events": 1} if events else {})},
            "days_worn": 14,
        }
        for s in starts
    ]


@st.composite
def _exports(draw: st.DrawFn) -> tuple[str, dict[str, list[dict[str, Any]]]]:
    member = draw(member_ids)
    devs = draw(st.lists(device_ids, min_size=1, max_size=4, unique=True))
    # Sub-second offsets: readings 0.4 s (or 1 us) apart must still get distinct ids.
    offs = draw(st.lists(st.integers(0, 10_000_000), min_size=1, max_size=12, unique=True))
    readings: dict[str, list[dict[str, Any]]] = {"bp": [], "glucose": [], "activity": []}
    for i, us in enumerate(offs):
        t = T0 + timedelta(microseconds=us)
        common = {"device_id": devs[i % len(devs)], "utc_offset_min": 480, "source": "device"}
        readings["bp"].append(
            {**common, "measured_at": t, "systolic": 120, "diastolic": 80, "validated": i % 2}
        )
        readings["glucose"].append(
            {**common, "measured_at": t, "value": 5.5, "unit": "mmol/L", "censored": None,
             "method": "cgm", "meal_context": None}
        )  # fmt: skip
        readings["activity"].append(
            {**common, "start_at": t, "duration_s": 60 + i, "steps": 10, "active_minutes": 0}
        )
    return member, readings


@settings(max_examples=150, deadline=None)
@given(_exports(), _summaries())
def test_every_id_and_reference_is_valid_and_unique_for_any_accepted_ids(
    export: tuple[str, dict[str, list[dict[str, Any]]]], summaries: list[dict[str, Any]]
) -> None:
    member, readings = export
    b = fhir.bundle(member, readings, T0, summaries=summaries, lang="zh")
    _check_bundle(b)
    n = sum(len(v) for v in readings.values())
    reports = [e["resource"] for e in b["entry"]
               if e["resource"]["resourceType"] == "DiagnosticReport"]  # fmt: skip
    assert len(reports) == len(summaries)
    per_window = [1 + 6 + ("hypo_l1_events" in w["cgm"]) for w in summaries]  # panel, members
    observations = sum(e["resource"]["resourceType"] == "Observation" for e in b["entry"])
    assert observations == n + sum(per_window)


def test_ids_are_stable_between_exports_and_distinct_per_key() -> None:
    a = fhir.resource_id("Device", "a|1:b")
    assert a == fhir.resource_id("Device", "a|1:b")
    # Length-prefixed parts: a separator inside an id cannot make two keys collide.
    assert fhir.resource_id("Observation", "bp", "x|1:y", "z") != fhir.resource_id(
        "Observation", "bp", "x", "y|1:z"
    )
    assert fhir.resource_id("Patient", "m1") != fhir.resource_id("Device", "m1")


def test_hostile_ids_sub_second_readings_and_a_cuffless_device_export_cleanly(
    client: TestClient, world: World, conn: psycopg.Connection[Any]
) -> None:
    """The reported cases: ``_``/``:`` and 100-character device ids, a member id with ``:``,
    two CGM readings 0.4 s apart, and cuffless BP readings that looked like cuff readings."""
    member = "m_0002:b"
    devices.upsert_member(
        conn, member, clinic_id="c1", birth_date=date(1960, 1, 1), sex="M", conditions=[]
    )
    add_consent(conn, member)
    cgm = "cgm_" + "x:" * 48  # 100 characters
    cuffless = "watch_01:bp"
    devices.register_device(conn, cgm, "cgm", model="G7", clinic_id="c1")
    devices.register_device(
        conn, cuffless, "bp_cuffless", model="Wrist X", validated=False, clinic_id="c1"
    )
    t = world.now - timedelta(hours=5)
    for d in (cgm, cuffless):
        devices.bind_device(conn, d, member, t - timedelta(days=1))
    for dt in (0.0, 0.4):
        conn.execute(
            "INSERT INTO glucose_readings (device_id, measured_at, member_id, utc_offset_min,"
            " value, unit, method) VALUES (%s, %s, %s, 480, 101, 'mg/dL', 'cgm')",
            (cgm, t + timedelta(seconds=dt), member),
        )
    conn.execute(
        "INSERT INTO bp_readings (device_id, measured_at, member_id, utc_offset_min, systolic,"
        " diastolic, validated) VALUES (%s, %s, %s, 480, 150, 95, false)",
        (cuffless, t, member),
    )
    resp = client.get(
        "/clinic/patients/m_0002:b/observations.fhir?lang=zh", headers=world.auth("clinic")
    )
    assert resp.status_code == 200
    b = resp.json()
    _check_bundle(b)
    res = {e["fullUrl"]: e["resource"] for e in b["entry"]}
    by_type: dict[str, list[dict[str, Any]]] = {}
    for r in res.values():
        by_type.setdefault(r["resourceType"], []).append(r)
        assert r["language"] == "zh-CN" and r["text"]["status"] == "generated"
        assert r["text"]["div"].startswith('<div xmlns="http://www.w3.org/1999/xhtml">')
    assert len(by_type["Observation"]) == 3 and len(by_type["Device"]) == 2
    (pat,) = by_type["Patient"]
    assert pat["identifier"][0]["value"] == member
    devs = {d["identifier"][0]["value"]: d for d in by_type["Device"]}
    assert devs[cuffless]["modelNumber"] == "Wrist X"
    assert devs[cuffless]["property"][0]["valueCode"][0]["coding"][0]["code"] == "N"
    assert devs[cgm]["property"][0]["valueCode"][0]["coding"][0]["code"] == "Y"
    (bp,) = [o for o in by_type["Observation"] if o["code"]["coding"][0]["code"] == "85354-9"]
    assert bp["meta"]["tag"] == [{"system": fhir.QUALITY_SYSTEM, "code": "not-validated-device"}]
    assert "未经临床验证" in bp["note"][0]["text"] and "未经临床验证" in bp["text"]["div"]
    assert res[bp["device"]["reference"]] is devs[cuffless]
    glucose = [o for o in by_type["Observation"] if o["code"]["coding"][0]["code"] == "99504-3"]
    assert len({g["id"] for g in glucose}) == 2
    assert all("meta" not in g or "tag" not in g["meta"] for g in glucose)
    assert {g["effectiveDateTime"][-6:] for g in glucose} == {"+08:00"}
    local = datetime.fromisoformat(bp["effectiveDateTime"])
    assert local == t and local.utcoffset() == timedelta(hours=8)


def test_the_narrative_escapes_what_it_shows() -> None:
    div = fhir.narrative("<b>&")["div"]
    assert "<b>" not in div and "&lt;b&gt;&amp;" in div


CGM_FULL = {
    "sufficient": True,
    "tir": 62.0,
    "tbr70": 5.5,
    "tbr54": 1.25,
    "tar180": 32.5,
    "tar250": 10.0,
    "mean_mgdl": 162.4,
    "gmi": 7.19,
    "cv": 38.2,
    "active_pct": 91.0,
}


def _cgm_score(conn: psycopg.Connection[Any], start: date, end: date, cgm: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO scores (member_id, window_start, window_end, algorithm_version,"
        " components, indicators) VALUES ('m1', %s, %s, 'test-cgm', '{}', %s)",
        (start, end, psycopg.types.json.Jsonb({"cgm": cgm})),
    )


def test_cgm_summary_follows_the_cgm_ig_with_its_loinc_codes(
    client: TestClient, world: World, conn: psycopg.Connection[Any]
) -> None:
    today = world.now.date()
    start, end = today - timedelta(days=13), today + timedelta(days=1)
    events = {"hypo_l1_events": 3, "hypo_l2_events": 1, "hypo_extended_events": 0}
    _cgm_score(conn, start, end, {**CGM_FULL, **events})
    # An insufficient window is not summarised.
    _cgm_score(conn, start - timedelta(days=14), start, {"sufficient": False, "tir": None})
    b = client.get("/clinic/patients/m1/observations.fhir", headers=world.auth("clinic")).json()
    _check_bundle(b)
    res = {e["fullUrl"]: e["resource"] for e in b["entry"]}
    (report,) = [r for r in res.values() if r["resourceType"] == "DiagnosticReport"]
    assert [c["code"] for c in report["code"]["coding"]] == ["cgm-summary", "104643-2"]
    (panel,) = [res[r["reference"]] for r in report["result"]]
    assert panel["code"]["coding"][0]["code"] == "cgm-summary"
    assert report["effectivePeriod"] == panel["effectivePeriod"]
    assert panel["code"]["coding"][0]["system"] == fhir.CGM_SUMMARY_SYSTEM
    assert panel["meta"]["profile"] == [fhir.CGM_IG + "cgm-summary"]
    assert panel["effectivePeriod"] == {
        "start": start.isoformat(),
        "end": (end - timedelta(days=1)).isoformat(),
    }
    members = {
        m["code"]["coding"][0]["code"]: m for m in (res[h["reference"]] for h in panel["hasMember"])
    }
    loinc = {"97507-8", "106793-3", "97506-0", "104638-2", "104636-6", "104637-4"}
    assert loinc <= set(members)
    assert {"hypo-l1-events", "hypo-l2-events", "hypo-extended-events"} <= set(members)
    assert members["hypo-l1-events"]["valueQuantity"]["value"] == 3
    mean = members["97507-8"]["valueQuantity"]
    assert (mean["value"], mean["unit"], mean["code"]) == (162.4, "mg/dl", "mg/dL")
    assert members["97506-0"]["valueQuantity"]["value"] == 7.19
    bands = {
        c["code"]["coding"][0]["code"]: c["valueQuantity"]["value"]
        for c in members["106793-3"]["component"]
    }
    assert bands == {
        "104642-4": 1.25,
        "104641-6": 4.25,
        "97510-2": 62.0,
        "104640-8": 22.5,
        "104639-0": 10.0,
    }
    assert abs(sum(bands.values()) - 100.0) < 1e-9
    # Days of wear: member-local days in the window with a CGM reading, counted here anew.
    rows = conn.execute(
        "SELECT measured_at, utc_offset_min FROM glucose_readings"
        " WHERE member_id = 'm1' AND method = 'cgm'"
    ).fetchall()
    local_days = {(t + timedelta(minutes=off)).astimezone(UTC).date() for t, off in rows}
    expected = len({d for d in local_days if start <= d < end})
    assert expected > 0
    wear = members["104636-6"]["valueQuantity"]
    assert (wear["value"], wear["code"]) == (expected, "d")


def test_a_summary_without_event_counts_or_bands_claims_no_profile(
    client: TestClient, world: World, conn: psycopg.Connection[Any]
) -> None:
    """Older score rows lack the event counts; a row missing a required member is exported
    with what it has and no profile claim."""
    today = world.now.date()
    partial = {k: v for k, v in CGM_FULL.items() if k != "tar250"}
    _cgm_score(conn, today - timedelta(days=13), today + timedelta(days=1), partial)
    b = client.get(
        "/clinic/patients/m1/observations.fhir?lang=zh", headers=world.auth("clinic")
    ).json()
    _check_bundle(b)
    res = {e["fullUrl"]: e["resource"] for e in b["entry"]}
    (report,) = [r for r in res.values() if r["resourceType"] == "DiagnosticReport"]
    (panel,) = [res[r["reference"]] for r in report["result"]]
    assert "meta" not in panel and "动态血糖总结" in panel["text"]["div"]
    codes = {res[h["reference"]]["code"]["coding"][0]["code"] for h in panel["hasMember"]}
    assert "106793-3" not in codes and "hypo-l1-events" not in codes and "97507-8" in codes


def test_a_member_id_that_is_no_fhir_string_is_percent_encoded_not_altered() -> None:
    """The API accepts any 1-128 characters; FHIR strings do not (control characters, and
    whitespace other than space, tab, CR, LF)."""
    assert fhir.member_identifier("m_0002:b") == {"system": fhir.MEMBER_SYSTEM, "value": "m_0002:b"}
    for odd, encoded in (("\xa0", "%C2%A0"), ("a\x00b", "a%00b")):
        ident = fhir.member_identifier(odd)
        assert ident == {"system": fhir.MEMBER_SYSTEM_ENCODED, "value": encoded}
        div = fhir.patient(odd, "en")["text"]["div"]
        assert odd not in div and encoded in div
