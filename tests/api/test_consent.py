"""PIPL consent (finding 8): records per purpose, the member's API, and every read path.

Each read path is attacked the same way: the member withdraws, readings keep arriving (a
device still worn), and the path must neither serve nor use what was taken after the
withdrawal, while what was taken before stays (a withdrawal is not retroactive).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg.types.multirange import Multirange
from psycopg.types.range import Range

from api.consent import service as consent
from tests.api.conftest import World, audit_rows

Conn = psycopg.Connection[Any]


def _withdraw_care(client: TestClient, world: World, conn: Conn, hours_ago: float) -> datetime:
    """m1 withdraws clinic-care consent through the API; the withdrawal is then dated
    ``hours_ago`` so the world's recent readings (2 h, 26 h, 50 h old) straddle it."""
    mine = client.get("/member/me/consents", headers=world.auth("member")).json()
    care = next(c for c in mine if c["purpose"] == "clinic_care" and c["withdrawn_at"] is None)
    resp = client.post(
        f"/member/me/consents/{care['consent_id']}/withdraw", headers=world.auth("member")
    )
    assert resp.status_code == 200 and resp.json()["withdrawn_at"], resp.text
    at = world.now - timedelta(hours=hours_ago)
    conn.execute("UPDATE consents SET withdrawn_at = %s WHERE consent_id = %s",
                 (at, care["consent_id"]))  # fmt: skip
    return at


def test_a_member_gives_lists_and_withdraws_consents(
    client: TestClient, world: World, conn: Conn
) -> None:
    h = world.auth("member")
    listed = client.get("/member/me/consents", headers=h).json()
    assert {(c["purpose"], c["product_id"]) for c in listed} == {
        ("clinic_care", None),
        ("insurer_pricing", "demo-city"),
    }
    body = {"purpose": "research", "notice_version": "2026.1"}
    given = client.post("/member/me/consents", json=body, headers=h)
    assert given.status_code == 201, given.text
    assert client.post("/member/me/consents", json=body, headers=h).status_code == 200
    assert client.post("/member/me/consents", json={**body, "notice_version": "2027.1"},
                       headers=h).status_code == 409  # fmt: skip
    # Pricing consent is per product, and only for a product that exists.
    for bad in ({"purpose": "insurer_pricing"}, {"purpose": "research", "product_id": "demo-city"},
                {"purpose": "insurer_pricing", "product_id": "no-such-product"}):  # fmt: skip
        assert client.post("/member/me/consents", json={**bad, "notice_version": "1"},
                           headers=h).status_code == 422  # fmt: skip
    cid = given.json()["consent_id"]
    # Another member cannot withdraw it; it answers like an unknown id.
    other = client.post(f"/member/me/consents/{cid}/withdraw", headers=world.auth("member_m2"))
    unknown = client.post("/member/me/consents/999999/withdraw", headers=world.auth("member_m2"))
    assert other.status_code == unknown.status_code == 404 and other.json() == unknown.json()
    out = client.post(f"/member/me/consents/{cid}/withdraw", headers=h)
    assert out.status_code == 200 and out.json()["withdrawn_at"] is not None
    assert client.post(f"/member/me/consents/{cid}/withdraw", headers=h).status_code == 404
    # Giving again after a withdrawal is a new record: the history keeps both.
    again = client.post("/member/me/consents", json=body, headers=h)
    assert again.status_code == 201 and again.json()["consent_id"] != cid
    actions = [(r["action"], r["member_id"]) for r in audit_rows(conn, role="member")
               if r["action"].startswith("consent.")]  # fmt: skip
    assert actions == [("consent.give", "m1"), ("consent.withdraw", "m1"), ("consent.give", "m1")]


def test_csv_and_fhir_exports_serve_nothing_taken_after_a_withdrawal(
    client: TestClient, world: World, conn: Conn
) -> None:
    """The attack: the clinic CSV export served readings taken after the withdrawal."""
    h = world.auth("clinic")
    before = client.get("/clinic/patients/m1/observations.csv", headers=h)
    assert len(list(csv.DictReader(io.StringIO(before.text)))) == 10
    at = _withdraw_care(client, world, conn, hours_ago=30)
    rows = list(csv.DictReader(io.StringIO(
        client.get("/clinic/patients/m1/observations.csv", headers=h).text)))  # fmt: skip
    assert len(rows) == 3  # the readings of 50 hours ago, one of each kind
    assert all(datetime.fromisoformat(r["time"]) < at for r in rows), rows
    bundle = client.get("/clinic/patients/m1/observations.fhir", headers=h).json()
    times = [e["resource"].get("effectiveDateTime") or e["resource"]["effectivePeriod"]["start"]
             for e in bundle.get("entry", [])
             if e["resource"]["resourceType"] == "Observation"]  # fmt: skip
    assert times and all(datetime.fromisoformat(t) < at for t in times)


def test_clinic_views_serve_nothing_taken_after_a_withdrawal(
    client: TestClient, world: World, conn: Conn
) -> None:
    h = world.auth("clinic")
    at = _withdraw_care(client, world, conn, hours_ago=30)
    detail = client.get("/clinic/patients/m1", headers=h).json()
    assert detail["recent_glucose"]
    assert all(datetime.fromisoformat(g["measured_at"]) < at for g in detail["recent_glucose"])
    for kind, days in detail["trends"].items():
        for d in days:  # a day counts only when it ended before the withdrawal
            assert datetime.fromisoformat(d["day"]) + timedelta(days=1) <= at, (kind, d)
    bp = client.get("/clinic/patients/m1/bp", headers=h).json()
    assert bp["readings"] and all(datetime.fromisoformat(r["t"]) < at
                                  for r in bp["readings"])  # fmt: skip
    worklist = client.get("/clinic/worklist", headers=h).json()["items"]
    last = next(p for p in worklist if p["member_id"] == "m1")["last_data_at"]
    assert datetime.fromisoformat(last) < at
    # Clinic B's patient, who did not withdraw, is unaffected.
    b = client.get("/clinic/patients/m2/observations.csv", headers=world.auth("clinic_b"))
    assert len(list(csv.DictReader(io.StringIO(b.text)))) == 10


def test_no_consent_no_data(client: TestClient, world: World, conn: Conn) -> None:
    """A member without a clinic-care consent record: nothing of theirs is served."""
    conn.execute("DELETE FROM consents WHERE member_id = 'm1' AND purpose = 'clinic_care'")
    resp = client.get("/clinic/patients/m1/observations.csv", headers=world.auth("clinic"))
    assert resp.status_code == 200 and len(list(csv.DictReader(io.StringIO(resp.text)))) == 0


def test_the_insurer_sees_a_score_only_under_pricing_consent(
    client: TestClient, world: World, conn: Conn
) -> None:
    h = world.auth("insurer")
    assert client.get("/insurer/members/m1/score", headers=h).status_code == 200
    # Withdrawn before the score window (2026-01-01 .. 2026-04-01) ended: no longer shown.
    conn.execute(
        "UPDATE consents SET withdrawn_at = '2026-03-01Z' WHERE member_id = 'm1'"
        " AND purpose = 'insurer_pricing'"
    )
    gone = client.get("/insurer/members/m1/score", headers=h)
    assert gone.status_code == 404 and gone.json()["detail"] == "no score for this member yet"
    # The clinic still sees it: the score is clinical care's, under its own consent.
    assert client.get("/clinic/patients/m1", headers=world.auth("clinic")).json()["score"]


def test_the_rule_for_periods() -> None:
    t = datetime(2026, 1, 1, tzinfo=UTC)
    span = Multirange([Range(t, t + timedelta(days=30)), Range(t + timedelta(days=60), None)])
    assert consent.covers(span, date(2026, 1, 1), date(2026, 1, 31))
    assert not consent.covers(span, date(2026, 1, 1), date(2026, 2, 1))  # past the withdrawal
    assert not consent.covers(span, date(2026, 2, 15), date(2026, 3, 5))  # the gap, and after
    assert consent.covers(span, date(2026, 3, 2), date(2027, 1, 1))  # given again
    assert not consent.covers(Multirange([]), date(2026, 1, 1), date(2026, 1, 2))
    assert consent.withdrawn_on(span) is None
    assert consent.withdrawn_on(Multirange([Range(t, t + timedelta(days=1))])) == t + timedelta(
        days=1
    )


def test_allows_reads_the_records(world: World, conn: Conn) -> None:
    now = datetime.now(UTC)
    assert consent.allows(conn, "m1", "clinic_care", None, now)
    assert consent.allows(conn, "m1", "insurer_pricing", "demo-city", now)
    assert not consent.allows(conn, "m1", "insurer_pricing", "river-city", now)
    assert not consent.allows(conn, "m1", "research", None, now)
    conn.execute("UPDATE consents SET withdrawn_at = %s WHERE member_id = 'm1'",
                 (now - timedelta(hours=1),))  # fmt: skip
    assert not consent.allows(conn, "m1", "clinic_care", None, now)
    assert consent.allows(conn, "m1", "clinic_care", None, now - timedelta(hours=2))


@pytest.mark.parametrize("purpose", ["clinic_care", "insurer_pricing"])
def test_periods_of_one_purpose_never_overlap(world: World, conn: Conn, purpose: str) -> None:
    product = "demo-city" if purpose == "insurer_pricing" else ""
    with pytest.raises(psycopg.errors.ExclusionViolation):
        conn.execute(
            "INSERT INTO consents (member_id, purpose, product_id, notice_version, given_at)"
            " VALUES ('m1', %s, %s, 'x', now())",
            (purpose, product),
        )


def test_clinic_wide_lists_apply_the_same_consent_spans(
    client: TestClient, world: World, conn: Conn
) -> None:
    """The lists over a whole clinic read every span in one pass (clinic_care_spans); they
    must agree with consent_span() member by member, and honour a withdrawal."""
    at = _withdraw_care(client, world, conn, hours_ago=60)  # after it: readings 2, 26, 50 h old
    conn.execute(  # a second period for m3, and nothing for m1's insurer consent to add
        "INSERT INTO consents (member_id, purpose, notice_version, given_at, withdrawn_at)"
        " SELECT 'm3', 'clinic_care', 'test-1', '1990-01-01Z', '1995-01-01Z'"
    )
    rows = conn.execute(
        "SELECT m.member_id, consent_span(m.member_id, 'clinic_care'), s.span FROM members m"
        " LEFT JOIN clinic_care_spans('c1') s USING (member_id) WHERE m.clinic_id = 'c1'"
    ).fetchall()
    assert len(rows) == 2
    for member, one, bulk in rows:
        assert bulk == one, member
    assert any(len(r[1]) == 2 for r in rows)  # m3's two periods
    h = world.auth("clinic")
    lapsed = client.get("/clinic/worklist?status=no_data_7d", headers=h).json()["items"]
    assert "m1" in [p["member_id"] for p in lapsed]  # nothing recent before the withdrawal
    episodes = client.get("/clinic/alerts", headers=h).json()["items"]
    assert all(e["member_id"] != "m1" for e in episodes)  # the 3 h old alert is after it
    assert at < world.now
