"""Clinic dashboard data: worklist, BP and glucose charts, overview; tenancy and audit."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg.types.json import Jsonb

from api.clinic.lights import condition_lights
from api.clinic.views import tir_bar
from api.dashboard import STATIC
from api.devices import repository as devices
from tests.api.conftest import World, audit_rows

FULL_CGM = {
    "sufficient": True,
    "tir": 62.0,
    "tbr70": 3.0,
    "tbr54": 0.5,
    "tar180": 35.0,
    "tar250": 9.0,
    "mean_mgdl": 165.0,
    "gmi": 7.3,
    "cv": 33.0,
    "active_pct": 92.0,
    "gri": 41.0,
}


def add_score(
    conn: psycopg.Connection[Any],
    member_id: str,
    start: date,
    end: date,
    indicators: dict[str, Any],
    composite: float | None = 60.0,
) -> None:
    conn.execute(
        "INSERT INTO scores (member_id, window_start, window_end, algorithm_version, composite,"
        " components, indicators) VALUES (%s, %s, %s, 'test-1', %s, '{}', %s)",
        (member_id, start, end, composite, Jsonb(indicators)),
    )


def add_members(conn: psycopg.Connection[Any], clinic: str, n: int) -> None:
    conn.execute(
        "INSERT INTO members (member_id, clinic_id, display_name, birth_date, sex, conditions)"
        " SELECT 'p' || lpad(i::text, 4, '0'), %s, '患者' || i, '1960-01-01', 'M',"
        " ARRAY['hypertension'] FROM generate_series(1, %s) i",
        (clinic, n),
    )
    conn.execute(  # each consented to clinic care (migration 0052)
        "INSERT INTO consents (member_id, purpose, notice_version, given_at)"
        " SELECT member_id, 'clinic_care', 'test-1', '2000-01-01Z' FROM members"
        " WHERE clinic_id = %s AND member_id LIKE 'p%%'",
        (clinic,),
    )


def _get(client: TestClient, world: World, url: str, who: str = "clinic") -> Any:
    resp = client.get(url, headers=world.auth(who))
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_worklist_puts_open_alerts_first_with_lights_and_sufficiency(
    client: TestClient, world: World
) -> None:
    body = _get(client, world, "/clinic/worklist")
    assert body["total"] == 2
    m1, m3 = body["items"]
    assert (m1["member_id"], m3["member_id"]) == ("m1", "m3")  # m1 has an open critical alert
    assert m1["open_alerts"] == 1 and m1["critical_alerts"] == 1
    # m1: home mean 151/80 not controlled -> red; TIR 62 % is between 50 and 70 -> amber.
    assert m1["lights"] == {"hypertension": "red", "diabetes": "amber"}
    assert m1["sufficiency"] == {"bp": True, "cgm": True, "smbg": None, "activity": True}
    assert m1["last_data_at"] is not None
    assert m3["lights"] == {"hypertension": "grey", "diabetes": "grey"}
    assert m3["last_data_at"] is None and m3["control_status"] == "insufficient"
    # Ascending alert order puts the patient without alerts first.
    asc = _get(client, world, "/clinic/worklist?sort=alerts&desc=false")
    assert [p["member_id"] for p in asc["items"]] == ["m3", "m1"]


def test_sufficiency_chips_only_for_domains_the_patient_has_a_device_for(
    client: TestClient, world: World, conn: psycopg.Connection[Any]
) -> None:
    # m3 has no device: a score that measured every domain (all empty) shows no chip.
    empty = {"sufficient": False, "n_readings": 0}
    add_score(
        conn, "m3", date.today() - timedelta(days=30), date.today(),
        {"bp": {**empty, "valid_days": 0}, "cgm": empty, "smbg": empty,
         "activity": {"sufficient": False, "valid_days": 0}},
    )  # fmt: skip
    m3 = next(p for p in _get(client, world, "/clinic/worklist")["items"] if p["member_id"] == "m3")
    assert m3["sufficiency"] == {"bp": None, "cgm": None, "smbg": None, "activity": None}
    # A glucometer bound: its domain is shown, as not enough data (nothing sent yet).
    devices.register_device(conn, "meter-m3", "glucometer", clinic_id="c1")
    devices.bind_device(conn, "meter-m3", "m3", world.now - timedelta(days=5))
    m3 = next(p for p in _get(client, world, "/clinic/worklist")["items"] if p["member_id"] == "m3")
    assert m3["sufficiency"] == {"bp": None, "cgm": None, "smbg": False, "activity": None}


def test_worklist_filters_and_search(client: TestClient, world: World) -> None:
    def ids(query: str) -> list[str]:
        return [p["member_id"] for p in _get(client, world, f"/clinic/worklist{query}")["items"]]

    assert ids("?status=uncontrolled") == ["m1"]
    assert ids("?status=no_data_7d") == ["m3"]
    assert ids("?status=new_alerts") == ["m1"]
    assert ids("?q=patient%20m3") == ["m3"]
    assert ids("?q=%25") == []  # a literal %, not a wildcard


def test_worklist_triage_by_condition_bp_tir_and_time_below(
    client: TestClient, world: World, conn: psycopg.Connection[Any]
) -> None:
    """Filter by condition (or none), sort by the latest BP, TIR and time below range, and
    the lapsed list leaves out members without a condition who never sent anything."""

    def ids(query: str) -> list[str]:
        return [p["member_id"] for p in _get(client, world, f"/clinic/worklist{query}")["items"]]

    conn.execute(
        "INSERT INTO members (member_id, clinic_id, display_name, birth_date, sex, conditions)"
        " VALUES ('h0', 'c1', '健康', '1990-01-01', 'F', '{}')"
    )
    conn.execute(
        "INSERT INTO consents (member_id, purpose, notice_version, given_at)"
        " VALUES ('h0', 'clinic_care', 'test-1', '2000-01-01Z')"
    )
    assert ids("?condition=diabetes") == ["m1", "m3"]
    assert ids("?condition=none") == ["h0"]
    assert ids("?condition=ckd") == []
    assert ids("?status=no_data_7d")[-1] == "h0"  # no condition, no data: listed last
    body = _get(client, world, "/clinic/worklist?sort=bp&desc=true")
    m1 = next(p for p in body["items"] if p["member_id"] == "m1")
    assert (m1["last_bp_sys"], m1["last_bp_dia"]) == (151.0, 80.0) and m1["tir"] == 62.0
    # Patients without the measure come after those with it, whichever the direction.
    assert body["items"][0]["member_id"] == "m1"
    assert ids("?sort=bp&desc=false")[0] == "m1" and ids("?sort=tir&desc=false")[0] == "m1"
    conn.execute(
        "INSERT INTO scores (member_id, window_start, window_end, algorithm_version,"
        " components, indicators) VALUES ('h0', '2026-01-01', '2026-02-01', 't', '{}',"
        ' \'{"bp": {"home_mean_sys": 171, "home_mean_dia": 99},'
        ' "cgm": {"tir": 40, "tbr70": 9.5}}\')'
    )
    assert ids("?sort=bp&desc=true")[0] == "h0"  # 171 mmHg before m1's 151
    assert ids("?sort=tbr&desc=true")[0] == "h0" and ids("?sort=tir&desc=false")[0] == "h0"
    bad = client.get("/clinic/worklist?condition=asthma", headers=world.auth("clinic"))
    assert bad.status_code == 422 and "condition" in bad.text


def test_worklist_pages_a_large_clinic_in_sql(
    client: TestClient, world: World, conn: psycopg.Connection[Any]
) -> None:
    add_members(conn, "c1", 1200)
    seen: list[str] = []
    offset = 0
    while True:
        page = _get(
            client, world, f"/clinic/worklist?sort=name&desc=false&limit=200&offset={offset}"
        )
        assert page["total"] == 1202
        seen += [p["member_id"] for p in page["items"]]
        if len(page["items"]) < 200:
            break
        offset += 200
    assert len(seen) == len(set(seen)) == 1202
    last = _get(client, world, "/clinic/worklist?sort=name&desc=true&limit=1")["items"]
    assert last[0]["display_name"] == "患者999"  # text order, descending
    empty = _get(client, world, "/clinic/worklist?offset=5000")
    assert empty == {"items": [], "total": 1202, "offset": 5000, "limit": 50}
    # Only the page's patients are audited as read.
    assert len(audit_rows(conn, action="clinic.worklist")) == 1202 + 1 + 0


def test_worklist_is_per_clinic(client: TestClient, world: World) -> None:
    body = _get(client, world, "/clinic/worklist", who="clinic_b")
    assert [p["member_id"] for p in body["items"]] == ["m2"] and body["total"] == 1


@pytest.mark.parametrize("view", ["bp", "glucose"])
def test_another_clinics_patient_is_404_and_audited(
    client: TestClient, world: World, conn: psycopg.Connection[Any], view: str
) -> None:
    resp = client.get(f"/clinic/patients/m1/{view}", headers=world.auth("clinic_b"))
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("application/problem+json")
    rows = audit_rows(conn, action=f"clinic.patient.{view}", member_id="m1")
    assert [r["outcome"] for r in rows] == ["denied"]
    assert (
        client.get(f"/clinic/patients/nobody/{view}", headers=world.auth("clinic")).status_code
        == 404
    )
    for role in ("insurer", "member"):  # insurers never see readings; members use /member
        assert (
            client.get(f"/clinic/patients/m1/{view}", headers=world.auth(role)).status_code == 403
        )


def test_bp_view_has_readings_target_and_protocol_means(
    client: TestClient, world: World, conn: psycopg.Connection[Any]
) -> None:
    body = _get(client, world, "/clinic/patients/m1/bp?days=30")
    assert sorted(r["sys"] for r in body["readings"]) == [130, 131, 132]
    assert not any(r["grade3"] for r in body["readings"])
    conn.execute(  # grade 3 by its diastolic (112), and one just under both edges
        "INSERT INTO bp_readings (device_id, measured_at, member_id, utc_offset_min, systolic,"
        " diastolic, validated) VALUES ('cuff-m1', now() - interval '5 days', 'm1', 480, 150,"
        " 112, true), ('cuff-m1', now() - interval '6 days', 'm1', 480, 179, 109, true)"
    )
    readings = _get(client, world, "/clinic/patients/m1/bp?days=30")["readings"]
    flags = {(r["sys"], r["dia"]): r["grade3"] for r in readings}
    assert flags[(150, 112)] is True and flags[(179, 109)] is False
    conn.execute("DELETE FROM bp_readings WHERE member_id = 'm1' AND systolic IN (150, 179)")
    # No target in the old score: the default rule for a 68-year-old with diabetes.
    assert body["target"] == {"sys": 130.0, "dia": 80.0, "source": "default"}
    assert body["protocol_means"] == []  # the fixture's score window ended long ago
    today = datetime.now(UTC).date()
    bp = {
        "sufficient": True,
        "controlled": False,
        "home_mean_sys": 142.5,
        "home_mean_dia": 84.0,
        "target_sys": 130.0,
        "target_dia": 80.0,
        "protocol_days": 9,
    }
    add_score(conn, "m1", today - timedelta(days=40), today - timedelta(days=10), {"bp": bp})
    sessions = {"morning_mean_sys": 146.0, "morning_mean_dia": 88.0, "evening_mean_sys": 128.0,
                "evening_mean_dia": 78.0, "morning_above_target": True}  # fmt: skip
    newest = {**bp, "home_mean_sys": 138.0, **sessions}
    add_score(conn, "m1", today - timedelta(days=30), today, {"bp": newest})
    body = _get(client, world, "/clinic/patients/m1/bp?days=30")
    assert body["target"]["source"] == "score"
    assert [m["home_mean_sys"] for m in body["protocol_means"]] == [142.5, 138.0]
    # The HBPM report: morning hypertension shows though the pooled mean is lower.
    assert body["hbpm"] == sessions
    allowed = audit_rows(conn, action="clinic.patient.bp", outcome="allowed")
    assert {r["member_id"] for r in allowed} == {"m1"}


def _cgm_days(conn: psycopg.Connection[Any], member_id: str, now: datetime, days: int) -> int:
    """Every 15 minutes for ``days``: 100 mg/dL at night (local 00-06), 200 otherwise."""
    rows = []
    t = now - timedelta(days=days) + timedelta(minutes=1)
    while t < now:
        local = t + timedelta(minutes=480)
        rows.append((f"cgm-{member_id}", t, member_id, 100.0 if local.hour < 6 else 200.0))
        t += timedelta(minutes=15)
    conn.execute(f"DELETE FROM glucose_readings WHERE member_id = '{member_id}'")
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO glucose_readings (device_id, measured_at, member_id, utc_offset_min,"
            " value, unit, censored, method) VALUES (%s, %s, %s, 480, %s, 'mg/dL', NULL, 'cgm')",
            rows,
        )
    return len(rows)


def test_glucose_view_agp_tir_bar_and_fingersticks(
    client: TestClient, world: World, conn: psycopg.Connection[Any]
) -> None:
    n = _cgm_days(conn, "m1", world.now, 14)  # a reading every 15 minutes
    # A 15-minute sensor in the device-model registry: the AGP header's active % and
    # sufficiency are against its nominal interval (a 5-minute one would be a third active).
    conn.execute("UPDATE devices SET model = 'FreeStyle Libre 2' WHERE device_id = 'cgm-m1'")
    today = datetime.now(UTC).date()
    add_score(conn, "m1", today - timedelta(days=14), today, {"cgm": FULL_CGM})
    conn.execute(
        "INSERT INTO glucose_readings (device_id, measured_at, member_id, utc_offset_min,"
        " value, unit, censored, method, meal_context) VALUES"
        " ('meter-m1', %s, 'm1', 480, 6.0, 'mmol/L', NULL, 'smbg', 'fasting'),"
        " ('meter-m1', %s, 'm1', 480, 190, 'mg/dL', NULL, 'smbg', 'after_lunch')",
        (world.now - timedelta(days=2), world.now - timedelta(days=1)),
    )
    body = _get(client, world, "/clinic/patients/m1/glucose?days=7")
    assert body["agp_readings"] == n
    assert body["tir"] == {
        "very_low": 0.5,
        "low": 2.5,
        "in_range": 62.0,
        "high": 26.0,
        "very_high": 9.0,
    }
    # The AGP header is over the AGP's own 14 days: a quarter of readings at 100, the rest 200.
    stats = body["agp_stats"]
    assert stats["sufficient"] is True and stats["n_readings"] == n
    assert stats["mean_mgdl"] == pytest.approx(175.0, abs=0.1)
    smbg = {s["meal_context"]: s for s in body["smbg"]}
    assert smbg["fasting"]["mgdl"] == pytest.approx(108.1, abs=0.05)  # 6.0 x 18.01559
    assert smbg["fasting"]["unit"] == "mmol/L" and smbg["after_lunch"]["mgdl"] == 190.0
    assert body["agp_missing"] is None
    agp = body["agp"]
    assert len(agp["minute_of_day"]) == 96 and agp["minute_of_day"][0] == 0
    night = agp["minute_of_day"].index(3 * 60)
    day = agp["minute_of_day"].index(12 * 60)
    assert agp["p50"][night] == 100.0 and agp["p50"][day] == 200.0
    assert sum(agp["n"]) == n


def test_glucose_view_without_cgm_data(client: TestClient, world: World) -> None:
    body = _get(client, world, "/clinic/patients/m3/glucose")
    assert body["agp"] is None and body["agp_missing"] is None and body["agp_readings"] == 0
    assert body["tir"] is None and body["smbg"] == [] and body["score_window"] is None


def test_overview_control_rates_and_follow_up(
    client: TestClient, world: World, conn: psycopg.Connection[Any]
) -> None:
    body = _get(client, world, "/clinic/overview")
    assert body["managed"] == {"hypertension": 2, "diabetes": 2}
    (ht,) = body["control"]["hypertension"]
    assert (ht["managed"], ht["assessed"], ht["controlled"], ht["rate"]) == (2, 1, 0, 0.0)
    # m3 controlled in the same window: half the managed hypertensive patients.
    add_score(
        conn,
        "m3",
        date(2026, 1, 1),
        date(2026, 4, 1),
        {"bp": {"sufficient": True, "controlled": True}, "cgm": {**FULL_CGM, "tir": 75.0}},
    )
    add_score(
        conn,
        "m1",
        date(2026, 4, 1),
        date(2026, 7, 1),
        {"bp": {"sufficient": True, "controlled": True}},
    )
    body = _get(client, world, "/clinic/overview")
    ht = body["control"]["hypertension"]
    assert [(w["window_end"], w["controlled"], w["rate"]) for w in ht] == [
        ("2026-04-01", 1, 50.0),
        ("2026-07-01", 1, 50.0),
    ]
    assert [(w["assessed"], w["controlled"]) for w in body["control"]["diabetes"]] == [
        (2, 1),
        (0, 0),
    ]
    follow = {f["member_id"]: f["reasons"] for f in body["follow_up"]}
    # m1: open critical alert (its newest score is now controlled); m3: no readings at all.
    assert follow == {"m1": ["critical_alert"], "m3": ["no_data_7d"]}
    assert body["follow_up_total"] == 2
    other = _get(client, world, "/clinic/overview", who="clinic_b")
    assert [f["member_id"] for f in other["follow_up"]] == ["m2"]
    assert other["managed"] == {"hypertension": 1, "diabetes": 1}


@pytest.mark.parametrize(
    ("conditions", "indicators", "lights"),
    [
        (["hypertension"], {"bp": {"controlled": True}}, {"hypertension": "green"}),
        (
            ["hypertension", "diabetes"],
            {"bp": {"controlled": False, "home_mean_sys": 132, "home_mean_dia": 82}},
            {"hypertension": "amber", "diabetes": "grey"},
        ),
        (
            ["hypertension"],
            {"bp": {"controlled": False, "home_mean_sys": 132, "home_mean_dia": 88}},
            {"hypertension": "red"},
        ),
        (["diabetes"], {"cgm": {"sufficient": True, "tir": 70.0}}, {"diabetes": "green"}),
        (["diabetes"], {"cgm": {"sufficient": True, "tir": 49.9}}, {"diabetes": "red"}),
        (["diabetes"], {"cgm": {"sufficient": False, "tir": None}}, {"diabetes": "grey"}),
        (["ckd"], None, {}),
    ],
)
def test_condition_lights(
    conditions: list[str], indicators: dict[str, Any] | None, lights: dict[str, str]
) -> None:
    assert condition_lights(conditions, indicators) == lights


def test_tir_bar_needs_sufficient_data() -> None:
    assert tir_bar({**FULL_CGM, "sufficient": False}) is None
    bar = tir_bar(FULL_CGM)
    assert bar is not None and sum(bar.values()) == pytest.approx(100.0)


def test_dashboard_pages_are_served_with_a_strict_policy(client: TestClient) -> None:
    root = client.get("/dashboard", follow_redirects=False)
    assert root.status_code == 308 and root.headers["location"] == "/dashboard/"
    index = client.get("/dashboard/")
    assert index.status_code == 200 and index.headers["content-type"].startswith("text/html")
    csp = index.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp
    assert '<script src="app.js"></script>' in index.text
    js = client.get("/dashboard/app.js")
    assert js.headers["content-type"].startswith("text/javascript")
    for missing in ("/dashboard/nope.js", "/dashboard/__init__.py", "/dashboard/..%2Fapp.py"):
        resp = client.get(missing)
        assert resp.status_code == 404, missing
        assert resp.headers["content-type"].startswith("application/problem+json")


def test_dashboard_fetches_nothing_from_outside() -> None:
    """Closed networks: no URL to another origin anywhere in the static files."""
    allowed = {"http://www.w3.org/2000/svg"}  # the SVG namespace name, never fetched
    found = set()
    for path in STATIC.iterdir():
        found |= set(re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s\"')]*", path.read_text()))
    assert found <= allowed


@pytest.mark.parametrize(
    ("conditions", "indicators", "lights"),
    [
        # The review's over-treated member: TIR 86 %, 5.7 % below 70: red, never 达标.
        (
            ["diabetes"],
            {"cgm": {"sufficient": True, "tir": 86.0, "tbr70": 5.7, "tbr54": 2.1}},
            {"diabetes": "red"},
        ),
        (
            ["diabetes"],
            {"cgm": {"sufficient": True, "tir": 60.0, "tbr70": 1.0, "tbr54": 0.0}},
            {"diabetes": "amber"},
        ),
        # Fingerstick-only diabetes is assessed (it was always grey).
        (
            ["diabetes"],
            {"smbg": {"sufficient": True, "pct_fasting_in_target": 80.0, "n_fasting": 12}},
            {"diabetes": "green"},
        ),
        (
            ["hypertension", "hyperlipidaemia"],
            {},
            {"hypertension": "grey", "hyperlipidaemia": "grey"},
        ),
    ],
)
def test_condition_lights_follow_the_control_block(
    conditions: list[str], indicators: dict[str, Any], lights: dict[str, str]
) -> None:
    from scoring.control import control_block

    ind = {**indicators, "control": control_block(conditions, 60, indicators)}
    assert condition_lights(conditions, ind) == lights


def test_bp_view_carries_the_control_reason_with_a_missed_hypoglycaemia_target_first(
    client: TestClient, world: World, conn: psycopg.Connection[Any]
) -> None:
    """The patient page's header shows each own condition's control status and reason;
    the over-treated member is "not controlled" with the hypoglycaemia reason."""
    from scoring.control import control_block

    cgm = {"sufficient": True, "tir": 86.0, "tbr70": 5.7, "tbr54": 2.1, "hypo_l2_events": 16}
    ind: dict[str, Any] = {"cgm": cgm}
    ind["control"] = control_block(["diabetes", "hypertension"], 68, ind)
    today = datetime.now(UTC).date()
    add_score(conn, "m1", today - timedelta(days=14), today, ind)
    body = _get(client, world, "/clinic/patients/m1/bp?days=30")
    dm = body["control"]["diabetes"]
    assert dm["status"] == "not_controlled" and dm["hypo_target_missed"] is True
    assert "16 level-2 events" in dm["reason_en"] and "低血糖" in dm["reason_zh"]
    assert body["lights"]["diabetes"] == "red"
    assert body["control"]["hypertension"]["status"] == "insufficient"


def test_the_clinic_alert_list_is_episodes_criticals_first_acknowledged_at_once(
    client: TestClient, world: World, conn: psycopg.Connection[Any]
) -> None:
    """Open alerts of the clinic's patients grouped per member, kind and local day, with
    values, criticals before warnings; one request acknowledges an episode; another
    clinic's alerts are neither listed nor acknowledgeable."""
    at = world.now - timedelta(hours=2)
    for sec, kind, sev, sys_ in ((0, "bp_grade3", "critical", 182), (60, "bp_grade3", "critical",
                                 190), (90, "bp_grade3_unvalidated", "warning", 185)):  # fmt: skip
        conn.execute(
            "INSERT INTO alerts (member_id, kind, severity, observed_at, detail)"
            " VALUES ('m3', %s, %s, %s, %s)",
            (kind, sev, at + timedelta(seconds=sec), Jsonb({"systolic": sys_, "diastolic": 100})),
        )
    body = _get(client, world, "/clinic/alerts")
    kinds = [(e["member_id"], e["kind"], e["severity"], e["n"]) for e in body["items"]]
    assert ("m3", "bp_grade3", "critical", 2) in kinds
    assert [e["severity"] for e in body["items"]] == sorted(
        (e["severity"] for e in body["items"]), key=lambda s: s != "critical"
    )  # criticals first
    assert all(e["member_id"] != "m2" for e in body["items"])  # another clinic's patient
    ep = next(e for e in body["items"] if e["member_id"] == "m3" and e["kind"] == "bp_grade3")
    assert ep["details"][0]["systolic"] == 190 and len(ep["alert_ids"]) == 2
    warn = _get(client, world, "/clinic/alerts?severity=warning")["items"]
    assert [e["kind"] for e in warn] == ["bp_grade3_unvalidated"]
    ack = client.post(
        "/clinic/alerts/acknowledge", json={"alert_ids": ep["alert_ids"]},
        headers=world.auth("clinic"),
    )  # fmt: skip
    assert ack.status_code == 200 and ack.json()["acknowledged"] == 2
    left = _get(client, world, "/clinic/alerts")["items"]
    assert all(not (e["member_id"] == "m3" and e["kind"] == "bp_grade3") for e in left)
    assert len(audit_rows(conn, action="clinic.alert.acknowledge")) == 2
    other = conn.execute("SELECT alert_id FROM alerts WHERE member_id = 'm2' LIMIT 1").fetchone()
    if other is not None:
        resp = client.post(
            "/clinic/alerts/acknowledge", json={"alert_ids": [other[0]]},
            headers=world.auth("clinic"),
        )  # fmt: skip
        assert resp.status_code == 404


def test_visit_report_compares_with_the_score_at_the_last_visit(
    client: TestClient, world: World, conn: psycopg.Connection[Any]
) -> None:
    today = datetime.now(UTC).date()
    day = timedelta(days=1)
    add_score(conn, "m1", today - 90 * day, today, {}, composite=64.0)  # the current score
    add_score(conn, "m1", today - 160 * day, today - 70 * day, {}, composite=40.0)
    add_score(conn, "m1", today - 130 * day, today - 40 * day, {}, composite=55.0)
    prev = _get(client, world, "/clinic/patients/m1")["previous"]
    # No visit recorded: a month before the window's end -> the score ended 40 days ago.
    assert (prev["basis"], prev["day"]) == ("month", (today - 30 * day).isoformat())
    assert prev["score"]["composite"] == 55.0
    # An HbA1c taken at the clinic 50 days ago (noon, Beijing) is the last visit.
    visit = today - 50 * day
    conn.execute(
        "INSERT INTO lab_results (member_id, loinc, value, unit, taken_at, uploaded_by)"
        " VALUES ('m1', '4548-4', 7.4, '%%', %s::date + time '12:00' - interval '8 hours',"
        " 'clinic-a')",
        (visit,),
    )
    prev = _get(client, world, "/clinic/patients/m1")["previous"]
    assert (prev["basis"], prev["day"]) == ("visit", visit.isoformat())
    assert prev["score"]["composite"] == 40.0
    # A measurement today is this visit, not the last one.
    conn.execute(
        "INSERT INTO lab_results (member_id, loinc, value, unit, taken_at, uploaded_by)"
        " VALUES ('m1', '4548-4', 7.1, '%', now(), 'clinic-a')"
    )
    assert _get(client, world, "/clinic/patients/m1")["previous"]["day"] == visit.isoformat()
