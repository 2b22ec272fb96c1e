"""What a quote is computed from, besides scoring's reads: the members, their enrolments,
claims, last year's quote and clinic visits.

Scores and the risk model in force come from ``scoring.repository.send_latest_scores`` and
integrity flags from ``scoring.integrity``; the quoting service pipelines all of them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from psycopg.rows import dict_row

from api.pricing.repository import Conn
from core.db import text_array

# Five reads, each written once below with named parameters: %(m)s the member ids (a
# TextArray), %(s)s/%(e)s the assessment year [start, end), %(p)s the product, %(y)s the
# previous plan year. Sent in a pipeline, the statements cost one wait. Folding the reads
# into one statement of json_agg columns was measured: it saved the client ~170 us per quote
# and cost the server ~190 us more (bench notes in docs/api.md); only the four small integer
# reads are folded, for a single member, as plain rows (_SMALL below).
# pricing_consent: the member's insurer-pricing consent periods for this product (the one
# consent rule, migration 0052; api.consent.service.covers tests a score window against it).
_MEMBERS = (
    "SELECT member_id, birth_date, conditions,"
    " consent_span(member_id, 'insurer_pricing', %(p)s) AS pricing_consent,"
    " (SELECT h.arm FROM holdout_assignments h WHERE h.member_id = members.member_id"
    "  AND h.product_id = %(p)s AND h.plan_year = %(y)s + 1) AS holdout_arm FROM members"
    " WHERE member_id = ANY(%(m)s::text[])"
)
_ENROLLMENTS = (
    "SELECT member_id, plan_year, premium_paid_fen, product_version FROM enrollments"
    " WHERE member_id = ANY(%(m)s::text[]) AND product_id = %(p)s"
)
_CLAIMS = (
    "SELECT member_id, extract(year FROM admitted_on)::int AS year FROM hospitalisations"
    " WHERE member_id = ANY(%(m)s::text[])"
)
_LAST_QUOTED = (
    "SELECT DISTINCT ON (member_id) member_id, premium_fen FROM quotes"
    " WHERE member_id = ANY(%(m)s::text[]) AND product_id = %(p)s AND plan_year = %(y)s"
    " ORDER BY member_id, created_at DESC"
)
# Distinct months in [s, e) with a clinic-taken BP or glucose reading. The dates are UTC
# midnights written so the planner can compute them (a date compared with a timestamptz
# depends on the session's TimeZone): TimescaleDB then plans only the year's chunks.
_CLINIC_MONTHS = (
    "SELECT member_id, count(DISTINCT date_trunc('month', measured_at)) AS months FROM ("
    " SELECT member_id, measured_at FROM bp_readings WHERE source = 'clinic'"
    "  AND member_id = ANY(%(m)s::text[]) AND measured_at >= %(s)s::timestamp AT TIME ZONE 'UTC'"
    "  AND measured_at < %(e)s::timestamp AT TIME ZONE 'UTC'"
    " UNION ALL SELECT member_id, measured_at FROM glucose_readings"
    "  WHERE source = 'clinic' AND member_id = ANY(%(m)s::text[])"
    "  AND measured_at >= %(s)s::timestamp AT TIME ZONE 'UTC'"
    "  AND measured_at < %(e)s::timestamp AT TIME ZONE 'UTC') r"
    " WHERE measured_at <@ consent_span(member_id, 'insurer_pricing', %(p)s)"  # few rows
    " GROUP BY member_id"
)


def _for_one(sql: str) -> str:
    """The same read for a single member: ``member_id = %(one)s`` for the array match.

    Why: PostgreSQL re-planned every ``= ANY($1::text[])`` read on every execution (a generic
    plan cannot know the array holds one id, so it never wins); with a plain equality the
    prepared statement's generic plan is reused. Measured on a quote (interleaved A/B,
    2,400 quotes each): server CPU 925 -> 779 µs, client 1,194 -> 1,154 µs.
    """
    one = sql.replace("member_id = ANY(%(m)s::text[])", "member_id = %(one)s")
    assert one != sql, sql
    return one


# For a single member, the four small reads as one statement: each answers integer pairs,
# so their rows share one shape, tagged by read; composed from the constants above, not
# rewritten. Why: a statement costs the client ~30-35 us of psycopg and the server ~10 us
# even inside a pipeline (docs/api.md). A batch chunk keeps the four reads: for thousands
# of members the statement count is noise.
_SMALL = (
    f"SELECT 'e' AS k, member_id, plan_year::bigint AS a, premium_paid_fen::bigint AS b,"  # noqa: S608
    f" product_version AS v FROM ({_ENROLLMENTS}) x"
    f" UNION ALL SELECT 'h', member_id, year, NULL, NULL FROM ({_CLAIMS}) x"
    f" UNION ALL SELECT 'q', member_id, premium_fen, NULL, NULL FROM ({_LAST_QUOTED}) x"
    f" UNION ALL SELECT 'c', member_id, months, NULL, NULL FROM ({_CLINIC_MONTHS}) x"
)
_READS = (_MEMBERS, _ENROLLMENTS, _CLAIMS, _LAST_QUOTED, _CLINIC_MONTHS)
_READS_FOR_ONE = tuple(_for_one(sql) for sql in (_MEMBERS, _SMALL))


def _params(
    member_ids: Sequence[str], start: date, end: date, product_id: str, prev_year: int
) -> dict[str, Any]:
    ids = {"one": member_ids[0]} if len(member_ids) == 1 else {"m": text_array(member_ids)}
    return {**ids, "s": start, "e": end, "p": product_id, "y": prev_year}


@dataclass(frozen=True)
class InputRows:
    """The reads, shaped for ``quoting._assemble``."""

    members: list[dict[str, Any]]
    enrolled: dict[str, dict[int, int | None]]  # member -> {plan_year: premium_paid_fen}
    held: dict[str, dict[int, str]]  # member -> {plan_year: product version held}
    claims: dict[str, list[int]]  # member -> admission years, one per stay
    quoted: dict[str, int]  # member -> last quoted premium (fen) in the previous year
    clinic: dict[str, int]  # member -> months with a clinic-taken reading


def send_inputs(
    conn: Conn,
    member_ids: Sequence[str],
    start: date,
    end: date,
    product_id: str,
    prev_year: int,
) -> Callable[[], InputRows]:
    """Send the reads now; the function returned reads them (after the pipeline syncs)."""
    args = _params(member_ids, start, end, product_id, prev_year)
    members_sql, *rest = _READS_FOR_ONE if len(member_ids) == 1 else _READS
    people = conn.cursor(row_factory=dict_row)
    people.execute(members_sql, args)
    small = [conn.cursor() for _ in rest]
    for cur, sql in zip(small, rest, strict=True):
        cur.execute(sql, args)

    def read() -> InputRows:
        if len(small) == 1:  # one member: the folded read, rows tagged by the read they answer
            tagged: dict[str, list[Any]] = {"e": [], "h": [], "q": [], "c": []}
            for k, *row in small[0].fetchall():
                tagged[k].append(row)
            enrolled, claims, quoted, clinic = (tagged[k] for k in "ehqc")
        else:
            enrolled, claims, quoted, clinic = (cur.fetchall() for cur in small)
        held: dict[str, dict[int, str]] = defaultdict(dict)
        for m, y, _, version in enrolled:
            if version is not None:
                held[m][int(y)] = version
        rows = InputRows(
            people.fetchall(),
            _years_paid(enrolled),
            held,
            _claim_years((r[0], r[1]) for r in claims),
            {r[0]: int(r[1]) for r in quoted},
            {r[0]: int(r[1]) for r in clinic},
        )
        for cur in (people, *small):
            cur.close()
        return rows

    return read


def _years_paid(rows: Iterable[tuple[Any, ...]]) -> dict[str, dict[int, int | None]]:
    out: dict[str, dict[int, int | None]] = defaultdict(dict)
    for m, y, paid, *_ in rows:
        out[m][int(y)] = None if paid is None else int(paid)
    return out


def _claim_years(rows: Iterable[tuple[Any, ...]]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = defaultdict(list)
    for m, y in rows:
        out[m].append(int(y))
    return out
