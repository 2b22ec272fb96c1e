"""The disclosure report: quarterly indicators and loss ratio by age band and condition."""

from __future__ import annotations

from datetime import date
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from api.pricing import service
from api.pricing.quoting import get_rulebook
from tests.factories import add_consent

Conn = psycopg.Connection[Any]


def _member(conn: Conn, mid: str, birth: date, conds: list[str], paid_fen: int) -> None:
    conn.execute(
        "INSERT INTO members (member_id, birth_date, sex, conditions) VALUES (%s, %s, 'F', %s)",
        (mid, birth, conds),
    )
    add_consent(conn, mid, "insurer_pricing", "demo-city")  # the report reads under it
    conn.execute(
        "INSERT INTO enrollments (member_id, product_id, plan_year, enrolled_on, premium_paid_fen)"
        " VALUES (%s, 'demo-city', 2027, '2027-01-01', %s)",
        (mid, paid_fen),
    )


def _score(conn: Conn, mid: str, end: date, composite: float, controlled: bool) -> None:
    conn.execute(
        "INSERT INTO scores (member_id, window_start, window_end, algorithm_version, composite,"
        " components, indicators) VALUES (%s, '2027-01-01', %s, 't', %s, '{}', %s)",
        (mid, end, composite, Jsonb({"bp": {"sufficient": True, "controlled": controlled}})),
    )


def test_quarters_by_cell_with_small_cells_suppressed(conn: Conn) -> None:
    for i in range(12):  # 12 hypertensive members aged 65: a cell that is shown
        mid = f"h{i}"
        _member(conn, mid, date(1961, 6, 1), ["hypertension"], 15_900)
        _score(conn, mid, date(2027, 4, 1), 60.0 + i, controlled=i < 3)  # Q1: 3 of 12
        _score(conn, mid, date(2027, 7, 1), 70.0, controlled=i < 6)  # Q2: 6 of 12
    for i in range(3):  # 3 young members: suppressed
        _member(conn, f"y{i}", date(1995, 1, 1), [], 9_900)
    conn.execute(
        "INSERT INTO hospitalisations (claim_id, member_id, admitted_on, amount_yuan)"
        " VALUES ('k1', 'h0', '2027-05-10', 954.00), ('k2', 'y0', '2027-05-11', 50.00)"
    )
    rep = service.disclosure_report(conn, "demo-city", 2027)
    assert rep["members"] == 15
    bands = {c["cell"]: c for c in rep["by_age_band"]}
    assert bands["0-49"] == {"cell": "0-49", "members": None, "suppressed": True}
    old = bands["60-69"]
    assert old["members"] == 12 and old["premium_yuan"] == 1908.0
    q1, q2, q3, _ = old["quarters"]
    assert q1["bp_controlled_share"] == 25.0 and q2["bp_controlled_share"] == 50.0
    assert q1["mean_composite"] == 65.5 and q2["mean_composite"] == 70.0
    assert q3["scored"] == 0 and q3["mean_composite"] is None
    # A 954-yuan bill is under the deductible: the product paid nothing on it.
    assert q2["claims_paid_yuan"] == 0.0 and q2["loss_ratio"] == 0.0
    assert q1["loss_ratio"] == 0.0
    conds = {c["cell"]: c for c in rep["by_condition"]}
    assert conds["none"]["suppressed"] and conds["hypertension"]["members"] == 12


def test_claims_paid_are_the_products_payout_quarter_by_quarter(conn: Conn) -> None:
    """Bills go through the version's deductible, rate and cap; the deductible is met by
    the year's first admissions, so a later quarter is paid at the full rate."""
    for i in range(12):
        _member(conn, f"h{i}", date(1961, 6, 1), ["hypertension"], 15_900)
    for i in range(3):  # 3 young members: a suppressed cell
        _member(conn, f"y{i}", date(1995, 1, 1), [], 9_900)
    conn.execute(  # J18 (pneumonia) is not a pre-existing hypertension claim
        "INSERT INTO hospitalisations (claim_id, member_id, admitted_on, amount_yuan, diagnosis)"
        " VALUES ('k1', 'h1', '2027-05-10', 30000.00, 'J18.9'),"
        " ('k2', 'h1', '2027-08-01', 20000.00, 'J18.9'),"
        " ('k3', 'y0', '2027-06-01', 40000.00, 'S72.0')"
    )
    rb = get_rulebook(conn, "demo-city", 2027)
    b = rb.versions[0].benefits
    assert b is not None and b.deductible_fen < 3_000_000 and b.cap_fen > 5_000_000
    rate = b.rate_in_list_bp / 10_000
    rep = service.disclosure_report(conn, "demo-city", 2027)
    _, q2, q3, q4 = rep["total"]["quarters"]
    h1_q2 = round((30_000 - b.deductible_fen / 100) * rate, 2)
    y0_q2 = round((40_000 - b.deductible_fen / 100) * rate, 2)
    # The suppressed cell's payout still counts in the total.
    assert q2["claims_paid_yuan"] == round(h1_q2 + y0_q2, 2)
    bands = {c["cell"]: c for c in rep["by_age_band"]}
    assert bands["0-49"]["suppressed"]
    assert bands["60-69"]["quarters"][1]["claims_paid_yuan"] == h1_q2
    assert q3["claims_paid_yuan"] == round(20_000 * rate, 2)
    assert q4["claims_paid_yuan"] == 0.0
    assert h1_q2 < 30_000  # not the gross bill


def test_windows_after_a_pricing_consent_withdrawal_are_left_out(conn: Conn) -> None:
    """PIPL (finding 8): the report reads score windows only inside a pricing consent."""
    for i in range(12):
        _member(conn, f"h{i}", date(1961, 6, 1), ["hypertension"], 15_900)
        _score(conn, f"h{i}", date(2027, 4, 1), 60.0, controlled=True)
        _score(conn, f"h{i}", date(2027, 7, 1), 70.0, controlled=True)
    conn.execute("UPDATE consents SET withdrawn_at = '2027-05-01Z' WHERE member_id LIKE 'h%'")
    q1, q2, _, _ = service.disclosure_report(conn, "demo-city", 2027)["total"]["quarters"]
    assert q1["scored"] == 12 and q2["scored"] == 0
