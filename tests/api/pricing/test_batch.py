"""Batch jobs end to end (two workers sharing one job), the book, the portfolio report."""

from __future__ import annotations

import csv
import io
import json
import threading
from datetime import date
from types import SimpleNamespace
from typing import Any

import psycopg

from api.pricing import service
from api.pricing.batch import create_batch_job
from core.settings import Settings
from tests.api.pricing.helpers import add_member, add_score, indicators

Conn = psycopg.Connection[Any]


def test_two_workers_share_a_job_and_results_stream_as_csv_and_ndjson(
    conn: Conn, db_url: str, settings: Settings
) -> None:
    ids = [f"b{i:03d}" for i in range(25)]
    for i, m in enumerate(ids):
        add_member(conn, m, conditions=("hypertension",) if i % 2 else ())
        add_score(conn, m, indicators(bp_controlled=bool(i % 3)), composite=60.0 + i)
    job = create_batch_job(conn, "demo-city", 2027, [*ids, "ghost"], chunk_size=4)
    status = service.batch_job_status(conn, job)
    assert status is not None and status["status"] == "queued" and status["total"] == 26
    workers = [
        threading.Thread(target=service.run_batch_job, args=(db_url, settings, job))
        for _ in range(2)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    status = service.batch_job_status(conn, job)
    assert status is not None
    assert (status["status"], status["done"], status["failed"], status["progress"]) == (
        "done",
        25,
        1,
        1.0,
    )
    # Every member quoted exactly once although two workers ran.
    assert conn.execute(
        "SELECT count(*), count(DISTINCT member_id) FROM quotes WHERE job_id = %s", (job,)
    ).fetchone() == (25, 25)
    nd = [json.loads(x) for x in service.iter_batch_results(conn, job, "ndjson")]
    assert [x["member_id"] for x in nd if x["status"] == "quoted"] == ids
    assert [x for x in nd if x["status"] == "failed"] == [
        {"member_id": "ghost", "status": "failed", "reason": "unknown member"}
    ]
    assert all(x["components"] for x in nd if x["status"] == "quoted")
    rows = list(csv.DictReader(io.StringIO("".join(service.iter_batch_results(conn, job, "csv")))))
    assert len(rows) == 26 and rows[0]["member_id"] == "b000"
    stored = service.get_quote(conn, rows[0]["quote_id"])
    assert stored is not None and str(stored.premium) == rows[0]["premium"]


def test_quote_book_takes_the_enrolled_else_every_member(
    db_url: str, conn: Conn, settings: Settings
) -> None:
    for m in ("a1", "a2", "a3"):
        add_member(conn, m)
    out = service.quote_book(db_url, settings, "demo-city", 2027)
    assert (out["book"], out["quoted"], out["status"]) == ("all", 3, "done")
    service.upsert_enrollments(
        conn,
        [
            SimpleNamespace(
                member_id="a2",
                product_id="demo-city",
                plan_year=2027,
                enrolled_on=date(2026, 12, 1),
            )
        ],
    )
    out = service.quote_book(db_url, settings, "demo-city", 2027)
    assert (out["book"], out["quoted"]) == ("enrolled", 1)


def test_portfolio_suppresses_small_cells(conn: Conn) -> None:
    for i in range(12):
        add_member(conn, f"y{i}", birth=date(1980, 1, 1), conditions=())
        add_score(conn, f"y{i}", indicators(), composite=85.0)
    for i in range(3):
        add_member(conn, f"o{i}", birth=date(1950, 1, 1), conditions=("diabetes",))
    for m in [f"y{i}" for i in range(12)] + [f"o{i}" for i in range(3)]:
        service.quote_member(conn, m, "demo-city", 2027)
    report = service.portfolio_report(conn, "demo-city", 2027)
    assert report["members_quoted"] == 15
    bands = {c["cell"]: c for c in report["by_age_band"]}
    assert bands["0-49"]["members"] == 12 and not bands["0-49"]["suppressed"]
    assert bands["70-79"] == {"cell": "70-79", "members": None, "suppressed": True}
    conds = {c["cell"]: c for c in report["by_condition"]}
    assert conds["diabetes"]["suppressed"] and conds["none"]["members"] == 12
    young = conn.execute(
        "SELECT sum(discount_fen)::bigint FROM quotes WHERE member_id LIKE 'y%%'"
    ).fetchone()
    assert young is not None
    assert bands["0-49"]["discount_total"] == f"{young[0] // 100}.{young[0] % 100:02d}"
    assert "o0" not in json.dumps(report)
