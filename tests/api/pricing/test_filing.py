"""The filing outputs against the real database: expected claims in the product's payout,
the projection against the target, the cost-band disclosure with small cells suppressed."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest

from api.pricing import filing, service
from tests.api.pricing.helpers import add_member

Conn = psycopg.Connection[Any]


def test_the_memorandum_counts_claims_in_payout_and_suppresses_small_cells(
    conn: Conn, tmp_path: Path
) -> None:
    ids = [f"f{i:02d}" for i in range(24)]
    for m in ids:
        add_member(conn, m, conditions=("hypertension",))
    service.upsert_enrollments(conn, [
        SimpleNamespace(member_id=m, product_id="demo-city", plan_year=2026,
                        enrolled_on=date(2025, 12, 1), premium_paid_yuan=None,
                        product_version="standard")
        for m in ids
    ])  # fmt: skip
    # 2026 claims: 12 members with a 30,000-yuan fracture (standard version: (30,000 -
    # 15,000) x 80 % = 12,000 paid each), one with 120,000 yuan for hypertension (I10,
    # pre-existing: 105,000 x 40 % = 42,000).
    for i, m in enumerate(ids[:12]):
        conn.execute(
            "INSERT INTO hospitalisations (claim_id, member_id, admitted_on, discharged_on,"
            " amount_yuan, diagnosis) VALUES (%s, %s, '2026-05-01', '2026-05-08', 30000, 'S72')",
            (f"k{i}", m),
        )
    conn.execute(
        "INSERT INTO hospitalisations (claim_id, member_id, admitted_on, amount_yuan, diagnosis)"
        " VALUES ('big', %s, '2026-09-01', 120000, 'I10')",
        (ids[20],),
    )
    for m in ids:
        service.quote_member(conn, m, "demo-city", 2027)
    memo = filing.memorandum(conn, "demo-city", 2027)
    exp = memo["experience"]
    assert exp["claims"] == 13 and exp["gross_yuan"] == 12 * 30_000 + 120_000
    assert exp["paid_yuan"] == pytest.approx(12 * 12_000 + 42_000)
    assert exp["paid_per_member_year"] == pytest.approx((12 * 12_000 + 42_000) / 24)
    assert memo["expected_claims_yuan"] == pytest.approx(12 * 12_000 + 42_000)  # same book
    assert memo["projected_loss_ratio"] == pytest.approx(
        memo["expected_claims_yuan"] / memo["premiums_yuan"], rel=1e-3
    )
    bands = {c["cell"]: c for c in memo["disclosure"]["by_cost_band"]}
    assert bands["10,000-50,000"]["claims"] == 12 and bands["10,000-50,000"]["paid_yuan"] == 144_000
    assert bands["10,000-50,000"]["median_days_discharge_to_claim"] is not None
    assert bands["100,000+"] == {"cell": "100,000+", "suppressed": True}  # one member
    files = filing.write(memo, tmp_path)
    text = files[0].read_text(encoding="utf-8")
    assert "Actuarial memorandum: demo-city 2027" in text and "< 10" in text
    assert files[1].read_bytes()[:4] == b"\x89PNG"


def test_the_provincial_view_standardises_and_its_transfers_balance(conn: Conn) -> None:
    """Two cities, the same cell mix; one has twice the claims: its observed / expected is
    above 1, the other's below, and the provincial pool's transfers sum to zero."""
    for product, n_claims in (("demo-city", 8), ("river-city", 4)):
        ids = [f"{product[:1]}{i:02d}" for i in range(20)]
        for m in ids:
            add_member(conn, m, conditions=("hypertension",))
        service.upsert_enrollments(conn, [
            SimpleNamespace(member_id=m, product_id=product, plan_year=2026,
                            enrolled_on=date(2025, 12, 1), premium_paid_yuan="90.00",
                            product_version=None)
            for m in ids
        ])  # fmt: skip
        for i, m in enumerate(ids[:n_claims]):
            conn.execute(
                "INSERT INTO hospitalisations (claim_id, member_id, admitted_on, amount_yuan,"
                " diagnosis) VALUES (%s, %s, '2026-06-01', 40000, 'S72')",
                (f"{product}-{i}", m),
            )
    got = filing.provincial(conn, ["demo-city", "river-city"], 2026)
    cities = {c["product_id"]: c for c in got["cities"]}
    demo, river = cities["demo-city"], cities["river-city"]
    assert demo["premiums_yuan"] == river["premiums_yuan"] == 20 * 90
    assert demo["observed_over_expected"] > 1 > river["observed_over_expected"]
    assert demo["loss_ratio"] > river["loss_ratio"]
    assert sum(c["pool_transfer_yuan"] for c in got["cities"]) == pytest.approx(0, abs=0.05)
    assert demo["pool_transfer_yuan"] > 0 > river["pool_transfer_yuan"]
