"""Consent: give, withdraw, list, and the one question every read path asks.

``allows(conn, member_id, purpose, product_id, at)`` answers whether data taken at ``at``
may be served or used for a purpose; in SQL the same rule is ``at <@ consent_span(member,
purpose, product)`` (migration 0052), which scoring, pricing and the clinic's reads use so
a whole range of readings is filtered in one statement. :func:`covers` is the rule for a
period (a score window): every instant of it must be inside one consent period.

Which purpose each read path needs (docs/threat-model.md, "Consent"): clinic views,
exports, scoring and alerts ``clinic_care``; quotes, the insurer's score view, enrolment
and the risk model ``insurer_pricing`` (for the product). A member always sees their own.
No HTTP here: pricing calls it too.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import psycopg
from psycopg.types.multirange import Multirange

from api.consent import repository as repo
from core.errors import Conflict, InvalidInput, NotFound

Conn = psycopg.Connection[Any]

PURPOSES = ("clinic_care", "insurer_pricing", "research")
NO_CONSENT = "no such consent"


def allows(conn: Conn, member_id: str, purpose: str, product_id: str | None, at: datetime) -> bool:
    """Whether data of ``member_id`` taken at ``at`` may be used for ``purpose``."""
    return any(_contains(r, at, at) for r in repo.span(conn, member_id, purpose, product_id))


def _instant(d: date | datetime) -> datetime:
    return d if isinstance(d, datetime) else datetime.combine(d, time(), UTC)


def _contains(r: Any, start: datetime, end: datetime) -> bool:
    lower, upper = r.lower, r.upper
    after_start = lower is None or (lower <= start if r.lower_inc else lower < start)
    if upper is None:
        return bool(after_start)
    before_end = end < upper if start == end else end <= upper
    return bool(after_start and before_end)


def covers(span: Multirange[Any] | None, start: date | datetime, end: date | datetime) -> bool:
    """Whether [start, end) lies inside one consent period of ``span`` (dates are UTC
    midnights). Pricing uses a score window only when it does."""
    s, e = _instant(start), _instant(end)
    return any(_contains(r, s, e) for r in span or ())


def withdrawn_on(span: Multirange[Any] | None) -> datetime | None:
    """When the last consent period ended, if none is in force now (else None)."""
    ranges = list(span or ())
    if not ranges or ranges[-1].upper is None:
        return None
    last: datetime = ranges[-1].upper
    return last


def history(conn: Conn, member_id: str) -> list[dict[str, Any]]:
    return repo.for_member(conn, member_id)


def give(
    conn: Conn,
    member_id: str,
    purpose: str,
    product_id: str | None,
    notice_version: str,
    *,
    recorded_by: int | None,
) -> tuple[dict[str, Any], bool]:
    """Record a consent given now; (record, True), or (the consent in force, False)."""
    if purpose not in PURPOSES:
        raise InvalidInput(
            "unknown purpose", errors=[{"field": "purpose", "message": f"one of {PURPOSES}"}]
        )
    if (purpose == "insurer_pricing") != (product_id is not None):
        raise InvalidInput(
            "insurer pricing is consented per product; the other purposes have none",
            errors=[{"field": "product_id", "message": "required for insurer_pricing only"}],
        )
    if product_id is not None and not repo.product_exists(conn, product_id):
        raise InvalidInput(
            "no such product", errors=[{"field": "product_id", "message": "no such product"}]
        )
    current = repo.in_force(conn, member_id, purpose, product_id or "")
    if current is not None:
        if current["notice_version"] != notice_version:
            raise Conflict(
                "a consent for this purpose is in force under another notice version;"
                " withdraw it first",
                errors=[{"field": "notice_version", "message": "another version is in force"}],
            )
        return current, False
    row = repo.give(
        conn,
        member_id=member_id,
        purpose=purpose,
        product_id=product_id or "",
        notice_version=notice_version,
        recorded_by=recorded_by,
    )
    return row, True


def withdraw(conn: Conn, member_id: str, consent_id: int) -> dict[str, Any]:
    row = repo.withdraw(conn, member_id, consent_id)
    if row is None:
        raise NotFound(NO_CONSENT)
    return row
