"""The input reads give a member the same rows whether asked alone or in a chunk.

A single quote's reads use ``member_id = %s`` and a batch chunk's ``= ANY(array)``
(``api.pricing.repository.inputs._for_one``, and likewise scoring's and the integrity
flags' reads); both must see exactly the same data, for every read.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

import psycopg

from api.pricing import service
from api.pricing.repository import inputs as repo
from scoring import repository as scoring_repo
from scoring.integrity import repository as integrity_repo
from tests.api.pricing.helpers import add_member, add_score, indicators

Conn = psycopg.Connection[Any]
Y0, Y1 = date(2026, 1, 1), date(2027, 1, 1)


def _world(conn: Conn) -> None:
    """Two members with something in every table the reads touch, one with nothing."""
    for m in ("m1", "m2", "m3"):
        add_member(conn, m, conditions=("hypertension", "diabetes"))
    for m in ("m1", "m2"):
        add_score(conn, m, indicators(tir=70.5, steps=6000.0), composite=61.25)
        add_score(conn, m, indicators(tir=72.0, steps=6500.0), start=date(2026, 7, 1))
        enrolled = SimpleNamespace(
            member_id=m,
            product_id="demo-city",
            plan_year=2026,
            enrolled_on=date(2025, 12, 1),
            premium_paid_yuan="99.50",
        )
        assert service.upsert_enrollments(conn, [enrolled]) == 1
        claim = SimpleNamespace(
            claim_id=f"c-{m}",
            member_id=m,
            admitted_on=date(2026, 3, 2),
            discharged_on=date(2026, 3, 5),
            amount_yuan="1200.00",
            diagnosis="I10",
        )
        assert service.upsert_claims(conn, [claim]) == 1
        for month in (2, 5):
            conn.execute(
                "INSERT INTO bp_readings (device_id, measured_at, member_id, utc_offset_min,"
                " systolic, diastolic, validated, source)"
                " VALUES (%s, %s, %s, 480, 128, 82, true, 'clinic')",
                (f"clinic-cuff-{m}", datetime(2026, month, 10, 1, 0, tzinfo=UTC), m),
            )
        conn.execute(
            "INSERT INTO integrity_flags (member_id, kind, source, period_start, period_end,"
            " evidence) VALUES (%s, 'bp_duplicate_days', 'rule', %s, %s, '{}')",
            (m, date(2026, 4, 1), date(2026, 4, 15)),
        )
    with psycopg.connect(conn.info.dsn) as quoting:  # a stored quote for m1 (plan year 2027)
        service.quote_member(quoting, "m1", "demo-city", 2027)


def _read(conn: Conn, ids: list[str]) -> repo.InputRows:
    with conn.pipeline():
        # "previous plan year" 2027: the year m1's stored quote is for, so that read has a row
        read = repo.send_inputs(conn, ids, Y0, Y1, "demo-city", 2027)
    return read()


def _scores(conn: Conn, ids: list[str]) -> scoring_repo.LatestScores:
    with conn.pipeline():
        pending = scoring_repo.send_latest_scores(conn, ids, Y0, Y1)
    return pending.result()


def test_one_member_alone_reads_what_a_chunk_reads_for_it(conn: Conn) -> None:
    _world(conn)
    chunk = _read(conn, ["m1", "m2", "m3"])
    chunk_scores = _scores(conn, ["m1", "m2", "m3"])
    for m in ("m1", "m2", "m3"):
        alone = _read(conn, [m])
        assert alone.members == [p for p in chunk.members if p["member_id"] == m]
        for field in ("enrolled", "claims", "quoted", "clinic"):
            mine = getattr(alone, field)
            assert set(mine) <= {m}, (field, mine)
            assert mine.get(m) == getattr(chunk, field).get(m), (m, field)
        scores = _scores(conn, [m])
        assert set(scores.by_member) <= {m}
        assert scores.by_member.get(m) == chunk_scores.by_member.get(m)
        assert scores.model_version == chunk_scores.model_version
    m1 = _read(conn, ["m1"])  # and the data is really there, so the comparison means something
    assert m1.enrolled["m1"] == {2026: 9950}
    assert m1.claims["m1"] == [2026] and m1.clinic["m1"] == 2 and m1.quoted["m1"] > 0
    windows = [(s["window_start"], s["window_end"]) for s in chunk_scores.by_member["m1"]]
    assert windows == sorted(windows) and len(windows) == 2  # in window order
    assert chunk_scores.by_member.get("m3") is None  # no scores: no rows, no null row


def test_the_score_read_carries_the_model_in_force_even_without_scores(conn: Conn) -> None:
    add_member(conn, "m9")
    assert _scores(conn, ["m9"]) == scoring_repo.LatestScores({}, None)
    conn.execute(
        "INSERT INTO models (model_version, kind, sha256, artifact, trained_on_year, manifest,"
        " metrics) VALUES ('risk-test', 'risk', 'x', '\\x00', 2025, '{}', '{}')"
    )
    assert _scores(conn, ["m9"]).model_version == "risk-test"
    assert _scores(conn, ["m9", "m1"]).model_version == "risk-test"


def test_integrity_flags_read_the_same_alone_and_in_a_chunk(conn: Conn) -> None:
    _world(conn)
    statuses = ("open", "upheld")
    chunk = integrity_repo.flags_for(conn, ["m1", "m2", "m3"], statuses)
    for m in ("m1", "m2", "m3"):
        assert integrity_repo.flags_for(conn, [m], statuses) == (
            {m: chunk[m]} if m in chunk else {}
        )
    assert len(chunk["m1"]) == 1
