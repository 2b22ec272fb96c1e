"""Scan a period for integrity flags; review them; tell pricing which periods are held."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from core.db import Pending
from scoring.integrity import repository as repo
from scoring.integrity.detector import model_hits
from scoring.integrity.features import activity_days, bp_weeks
from scoring.integrity.rules import Hit, activity_hits, bp_hits

EPOCH = date(1970, 1, 1)


def _day(n: int) -> date:
    return EPOCH + timedelta(days=n)


def scan(conn: repo.Conn, start: date, end: date, *, seed: int = 0) -> dict[str, Any]:
    """Rules over every member's activity days and each cuff's weeks, then the model."""
    t0 = datetime(start.year, start.month, start.day, tzinfo=UTC) - timedelta(hours=14)
    t1 = datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(hours=14)
    found: list[tuple[str, str, Hit]] = []
    days_by_member = {}
    for member, (t, off, steps, hr) in repo.activity(conn, t0, t1).items():
        days = activity_days(t, off, steps, hr)
        days_by_member[member] = days
        found += [(member, "rule", h) for h in activity_hits(days)]
    for (member, device), (t, off, s, d, p) in repo.bp_by_device(conn, t0, t1).items():
        for h in bp_hits(bp_weeks(t, off, s, d, p)):
            h.evidence["device_id"] = device
            found.append((member, "rule", h))
    found += [(m, "model", h) for m, h in model_hits(days_by_member, seed).items()]
    new = 0
    for member, source, h in found:
        a = max(_day(h.first_day), start)
        b = min(_day(h.last_day) + timedelta(days=1), end)
        if b <= a:
            continue
        new += repo.upsert_flag(conn, member, h.kind, source, a, b, h.evidence)
    return {"members_scanned": len(days_by_member), "hits": len(found), "new_flags": new}


def review_flag(
    conn: repo.Conn, flag_id: int, outcome: str, reviewer: str, note: str | None = None
) -> None:
    """Record a person's decision: 'upheld' (the data is not the member's) or 'dismissed'."""
    if outcome not in ("upheld", "dismissed"):
        raise ValueError("outcome must be 'upheld' or 'dismissed'")
    if not reviewer.strip():
        raise ValueError("a review names its reviewer")
    if not repo.review(conn, flag_id, outcome, reviewer, note):
        raise LookupError(f"no open flag {flag_id}")


def held_periods(conn: repo.Conn, member_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Open and upheld flags per member: what pricing must hold or leave out."""
    return send_held_periods(conn, member_ids).result()


HELD_STATUSES = ("open", "upheld")


def send_held_periods(
    conn: repo.Conn, member_ids: Sequence[str]
) -> Pending[dict[str, list[dict[str, Any]]]]:
    """:func:`held_periods`, sent now and read later (pricing pipelines it with its reads)."""
    return repo.send_flags_for(conn, member_ids, HELD_STATUSES)
