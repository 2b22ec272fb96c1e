"""Every SQL statement pricing runs. The caller owns the transaction; nothing here commits.

Reads are bulk (``member_id = ANY(%s::text[])``, :class:`core.db.TextArray`) so a batch chunk of
thousands of members costs a handful of round trips; quotes are written with COPY.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb, set_json_loads

from core.db import Pending, text_array
from scoring.models.repository import CURRENT_VERSION_SQL

Conn = psycopg.Connection[Any]


# --- rulebooks ---------------------------------------------------------------------------
_RULEBOOK = "r.product_id, r.plan_year, r.version, r.sha256, r.content, r.loaded_at, r.locked_at"


def get_rulebook(conn: Conn, product_id: str, plan_year: int) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"SELECT {_RULEBOOK} FROM rulebooks r"  # noqa: S608 (a constant column list)
            " WHERE r.product_id = %s AND r.plan_year = %s",
            (product_id, plan_year),
        ).fetchone()


def send_rulebook_and_model(
    conn: Conn, product_id: str, plan_year: int
) -> Pending[tuple[dict[str, Any] | None, str | None]]:
    """The rulebook row (None when not stored) and the risk model in force, in one statement:
    a quote needs both, and a statement fewer is ~45 us less CPU per quote (docs/api.md)."""
    cur = conn.cursor(row_factory=dict_row)
    cur.execute(
        f"SELECT {_RULEBOOK}, ({CURRENT_VERSION_SQL}) AS model_version"  # noqa: S608
        " FROM (SELECT 1) AS one LEFT JOIN rulebooks r"
        " ON r.product_id = %s AND r.plan_year = %s",
        (product_id, plan_year),
    )
    return Pending(cur, _rulebook_and_model)


def _rulebook_and_model(
    cur: psycopg.Cursor[dict[str, Any]],
) -> tuple[dict[str, Any] | None, str | None]:
    row = cur.fetchone()
    assert row is not None
    model = row.pop("model_version")
    return (row if row["product_id"] is not None else None), model


def insert_rulebook(
    conn: Conn, product_id: str, plan_year: int, version: str, sha256: str, content: str
) -> None:
    conn.execute(
        "INSERT INTO rulebooks (product_id, plan_year, version, sha256, content)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (product_id, plan_year) DO NOTHING",
        (product_id, plan_year, version, sha256, content),
    )


def replace_rulebook(
    conn: Conn, product_id: str, plan_year: int, version: str, sha256: str, content: str
) -> None:
    """Refused by the table's trigger once the rulebook is locked."""
    conn.execute(
        "UPDATE rulebooks SET version = %s, sha256 = %s, content = %s, loaded_at = now()"
        " WHERE product_id = %s AND plan_year = %s",
        (version, sha256, content, product_id, plan_year),
    )


def lock_rulebook(conn: Conn, product_id: str, plan_year: int) -> None:
    conn.execute(
        "UPDATE rulebooks SET locked_at = now() WHERE product_id = %s AND plan_year = %s"
        " AND locked_at IS NULL",
        (product_id, plan_year),
    )


def rulebook_by_sha(conn: Conn, sha256: str) -> str | None:
    row = conn.execute("SELECT content FROM rulebooks WHERE sha256 = %s", (sha256,)).fetchone()
    return str(row[0]) if row else None


# --- inputs ------------------------------------------------------------------------------
# Six reads, each written once below with named parameters: %(m)s the member ids (a
# TextArray), %(s)s/%(e)s the assessment year [start, end), %(p)s the product, %(y)s the
# previous plan year. Sent in a pipeline, six statements cost one wait. Folding all six into
# one statement of json_agg columns was measured: it saved the client ~170 us per quote and
# cost the server ~190 us more (bench notes in docs/api.md); only the four small integer
# reads are folded, for a single member, as plain rows (_SMALL below).
_MEMBERS = (
    "SELECT member_id, birth_date, conditions, consent_withdrawn_at FROM members"
    " WHERE member_id = ANY(%(m)s::text[])"
)
_SCORES = (  # per window only the newest computation
    "SELECT DISTINCT ON (member_id, window_start, window_end) member_id, window_start,"
    " window_end, algorithm_version, composite, improvement, indicators FROM scores"
    " WHERE member_id = ANY(%(m)s::text[]) AND window_end > %(s)s AND window_start < %(e)s"
    " ORDER BY member_id, window_start, window_end, computed_at DESC, algorithm_version"
)
_ENROLLMENTS = (
    "SELECT member_id, plan_year, premium_paid_fen FROM enrollments"
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
    "  AND measured_at < %(e)s::timestamp AT TIME ZONE 'UTC') r GROUP BY member_id"
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
# even inside a pipeline, and a single quote ran sixteen (docs/api.md, session 15). A batch
# chunk keeps the four reads: for thousands of members the statement count is noise.
_SMALL = (
    f"SELECT 'e' AS k, member_id, plan_year::bigint AS a, premium_paid_fen::bigint AS b"  # noqa: S608
    f" FROM ({_ENROLLMENTS}) x"
    f" UNION ALL SELECT 'h', member_id, year, NULL FROM ({_CLAIMS}) x"
    f" UNION ALL SELECT 'q', member_id, premium_fen, NULL FROM ({_LAST_QUOTED}) x"
    f" UNION ALL SELECT 'c', member_id, months, NULL FROM ({_CLINIC_MONTHS}) x"
)
_READS = (_MEMBERS, _SCORES, _ENROLLMENTS, _CLAIMS, _LAST_QUOTED, _CLINIC_MONTHS)
_READS_FOR_ONE = tuple(_for_one(sql) for sql in (_MEMBERS, _SCORES, _SMALL))


def _params(
    member_ids: Sequence[str], start: date, end: date, product_id: str, prev_year: int
) -> dict[str, Any]:
    ids = {"one": member_ids[0]} if len(member_ids) == 1 else {"m": text_array(member_ids)}
    return {**ids, "s": start, "e": end, "p": product_id, "y": prev_year}


@dataclass(frozen=True)
class InputRows:
    """The six reads, shaped for ``quoting._assemble``."""

    members: list[dict[str, Any]]
    scores: dict[str, list[dict[str, Any]]]
    enrolled: dict[str, dict[int, int | None]]  # member -> {plan_year: premium_paid_fen}
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
    """Send the six reads now; the function returned reads them (after the pipeline syncs)."""
    args = _params(member_ids, start, end, product_id, prev_year)
    members_sql, scores_sql, *rest = _READS_FOR_ONE if len(member_ids) == 1 else _READS
    people = conn.cursor(row_factory=dict_row)
    people.execute(members_sql, args)
    scores = conn.cursor(row_factory=dict_row)
    set_json_loads(orjson.loads, scores)  # the indicators documents: a batch reads millions
    scores.execute(scores_sql, args)
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
        rows = InputRows(
            people.fetchall(),
            _group(scores.fetchall()),
            _years_paid(enrolled),
            _claim_years((r[0], r[1]) for r in claims),
            {r[0]: int(r[1]) for r in quoted},
            {r[0]: int(r[1]) for r in clinic},
        )
        for cur in (people, scores, *small):
            cur.close()
        return rows

    return read


def _group(rows: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        out[r["member_id"]].append(r)
    return out


def _years_paid(rows: Iterable[tuple[Any, ...]]) -> dict[str, dict[int, int | None]]:
    out: dict[str, dict[int, int | None]] = defaultdict(dict)
    for m, y, paid in rows:
        out[m][int(y)] = None if paid is None else int(paid)
    return out


def _claim_years(rows: Iterable[tuple[Any, ...]]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = defaultdict(list)
    for m, y in rows:
        out[m].append(int(y))
    return out


def existing_members(conn: Conn, member_ids: Sequence[str]) -> set[str]:
    return {
        r[0]
        for r in conn.execute(
            "SELECT member_id FROM members WHERE member_id = ANY(%s::text[])",
            (text_array(member_ids),),
        )
    }


# --- quotes and the ledger --------------------------------------------------------------
QUOTE_COLUMNS = (
    "quote_id",
    "member_id",
    "product_id",
    "plan_year",
    "rulebook_version",
    "rulebook_sha256",
    "job_id",
    "base_fen",
    "unsmoothed_fen",
    "premium_fen",
    "discount_fen",
    "age",
    "conditions",
    "components",
    "smoothing",
    "inputs",
    "model_version",
)


def copy_quotes(conn: Conn, rows: Sequence[tuple[Any, ...]]) -> None:
    """Rows in QUOTE_COLUMNS order; the three jsonb values as JSON text."""
    if len(rows) == 1:  # a single quote: one INSERT is one round trip, COPY is three
        cols = ", ".join(QUOTE_COLUMNS)
        marks = ", ".join(["%s"] * len(QUOTE_COLUMNS))
        conn.execute(f"INSERT INTO quotes ({cols}) VALUES ({marks})", rows[0])  # noqa: S608
        return
    with (
        conn.cursor() as cur,
        cur.copy(f"COPY quotes ({', '.join(QUOTE_COLUMNS)}) FROM STDIN") as cp,
    ):
        for r in rows:
            cp.write_row(r)


_LEDGER_UPSERT = (
    " ON CONFLICT (product_id, plan_year, member_id) DO UPDATE SET"
    " quote_id = EXCLUDED.quote_id, amount_fen = EXCLUDED.amount_fen, booked_at = now()"
)
_QUOTE_AND_LEDGER = (
    f"WITH q AS (INSERT INTO quotes ({', '.join(QUOTE_COLUMNS)})"  # noqa: S608 (constants)
    f" VALUES ({', '.join(['%s'] * len(QUOTE_COLUMNS))}) RETURNING quote_id)"
    " INSERT INTO smoothing_ledger (product_id, plan_year, member_id, quote_id, amount_fen)"
    " SELECT %s, %s, %s, q.quote_id, %s FROM q" + _LEDGER_UPSERT
)


def insert_quote_and_ledger(conn: Conn, row: tuple[Any, ...], ledger_fen: int) -> None:
    """One quote (a row in QUOTE_COLUMNS order) and its ledger entry in one statement: the
    single quote's path (a statement fewer for the client and the server; batches COPY)."""
    _, member_id, product_id, plan_year = row[:4]
    conn.execute(_QUOTE_AND_LEDGER, (*row, product_id, plan_year, member_id, ledger_fen))


def upsert_ledger(conn: Conn, rows: Sequence[tuple[str, int, str, str, int]]) -> None:
    """(product_id, plan_year, member_id, quote_id, amount_fen); a re-quote supersedes.

    COPY into a transaction-scoped staging table, then one upsert: a batch chunk's
    thousands of entries cost two statements.
    """
    if not rows:
        return
    if len(rows) <= 20:  # a few quotes: upserts, no staging table
        sql = (
            "INSERT INTO smoothing_ledger (product_id, plan_year, member_id, quote_id,"
            " amount_fen) VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (product_id, plan_year, member_id) DO UPDATE SET"
            " quote_id = EXCLUDED.quote_id, amount_fen = EXCLUDED.amount_fen,"
            " booked_at = now()"
        )
        if len(rows) == 1:  # a single quote: executemany would enter pipeline mode for it
            conn.execute(sql, rows[0])
            return
        with conn.cursor() as cur:
            cur.executemany(sql, rows)
        return
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS ledger_stage (product_id text, plan_year int,"
        " member_id text, quote_id text, amount_fen bigint) ON COMMIT DELETE ROWS"
    )
    with conn.cursor() as cur:
        with cur.copy(
            "COPY ledger_stage (product_id, plan_year, member_id, quote_id, amount_fen) FROM STDIN"
        ) as cp:
            for r in rows:
                cp.write_row(r)
        cur.execute(
            "INSERT INTO smoothing_ledger (product_id, plan_year, member_id, quote_id, amount_fen)"
            " SELECT DISTINCT ON (product_id, plan_year, member_id) product_id, plan_year,"
            " member_id, quote_id, amount_fen FROM ledger_stage"
            " ORDER BY product_id, plan_year, member_id"
            " ON CONFLICT (product_id, plan_year, member_id)"
            " DO UPDATE SET quote_id = EXCLUDED.quote_id, amount_fen = EXCLUDED.amount_fen,"
            " booked_at = now()"
        )
        cur.execute("TRUNCATE ledger_stage")


def get_quote(conn: Conn, quote_id: str) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute("SELECT * FROM quotes WHERE quote_id = %s", (quote_id,)).fetchone()


def latest_quote(
    conn: Conn, member_id: str, product_id: str, plan_year: int
) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT * FROM quotes WHERE member_id = %s AND product_id = %s AND plan_year = %s"
            " ORDER BY created_at DESC LIMIT 1",
            (member_id, product_id, plan_year),
        ).fetchone()


def fund_balance(conn: Conn, product_id: str) -> int:
    row = conn.execute(
        "SELECT coalesce(sum(amount_fen), 0) FROM smoothing_ledger WHERE product_id = %s",
        (product_id,),
    ).fetchone()
    return int(row[0]) if row else 0


def ledger_for_year(conn: Conn, product_id: str, plan_year: int) -> dict[str, int]:
    row = conn.execute(
        "SELECT coalesce(sum(amount_fen) FILTER (WHERE amount_fen > 0), 0),"
        " coalesce(-sum(amount_fen) FILTER (WHERE amount_fen < 0), 0), count(*)"
        " FROM smoothing_ledger WHERE product_id = %s AND plan_year = %s",
        (product_id, plan_year),
    ).fetchone()
    assert row is not None
    return {"credits_fen": int(row[0]), "debits_fen": int(row[1]), "entries": int(row[2])}


def portfolio_cells(conn: Conn, product_id: str, plan_year: int) -> list[dict[str, Any]]:
    """Latest quote per member: age, conditions, base, discount, premium (aggregated by age)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "WITH q AS (SELECT DISTINCT ON (member_id) member_id, age, conditions, base_fen,"
            " discount_fen, premium_fen FROM quotes"
            " WHERE product_id = %s AND plan_year = %s ORDER BY member_id, created_at DESC)"
            " SELECT age, conditions, count(*) AS n, sum(base_fen) AS base_fen,"
            " sum(discount_fen) AS discount_fen, sum(premium_fen) AS premium_fen"
            " FROM q GROUP BY age, conditions",
            (product_id, plan_year),
        ).fetchall()


# --- enrollments and claims --------------------------------------------------------------
def upsert_enrollments(conn: Conn, rows: Sequence[tuple[str, str, int, date, int | None]]) -> int:
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO enrollments (member_id, product_id, plan_year, enrolled_on,"
            " premium_paid_fen) VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (member_id, product_id, plan_year) DO UPDATE SET"
            " enrolled_on = EXCLUDED.enrolled_on,"
            " premium_paid_fen = coalesce(EXCLUDED.premium_paid_fen, enrollments.premium_paid_fen),"
            " received_at = now()",
            rows,
        )
    return len(rows)


def upsert_claims(conn: Conn, rows: Sequence[tuple[Any, ...]]) -> int:
    """(claim_id, member_id, admitted_on, discharged_on, amount_yuan, diagnosis)."""
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO hospitalisations (claim_id, member_id, admitted_on, discharged_on,"
            " amount_yuan, diagnosis) VALUES (%s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (claim_id) DO UPDATE SET member_id = EXCLUDED.member_id,"
            " admitted_on = EXCLUDED.admitted_on, discharged_on = EXCLUDED.discharged_on,"
            " amount_yuan = EXCLUDED.amount_yuan, diagnosis = EXCLUDED.diagnosis,"
            " received_at = now()",
            rows,
        )
    return len(rows)


# --- batch jobs --------------------------------------------------------------------------
def book_member_ids(conn: Conn, product_id: str, plan_year: int) -> tuple[list[str], str]:
    """The book to quote: enrolled for the plan year, else renewals of the year before, else
    every member (the demo, before any enrollment upload). Returns (ids, which)."""
    for year, which in ((plan_year, "enrolled"), (plan_year - 1, "renewals")):
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT member_id FROM enrollments WHERE product_id = %s AND plan_year = %s"
                " ORDER BY member_id",
                (product_id, year),
            )
        ]
        if ids:
            return ids, which
    return [r[0] for r in conn.execute("SELECT member_id FROM members ORDER BY member_id")], "all"


def insert_job(conn: Conn, job_id: str, product_id: str, plan_year: int, total: int) -> None:
    conn.execute(
        "INSERT INTO batch_jobs (job_id, product_id, plan_year, total) VALUES (%s, %s, %s, %s)",
        (job_id, product_id, plan_year, total),
    )


def insert_chunks(conn: Conn, job_id: str, chunks: Sequence[list[str]]) -> None:
    with (
        conn.cursor() as cur,
        cur.copy("COPY batch_chunks (job_id, chunk_no, member_ids) FROM STDIN") as cp,
    ):
        for i, ids in enumerate(chunks):
            cp.write_row((job_id, i, ids))


def get_job(conn: Conn, job_id: str) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute("SELECT * FROM batch_jobs WHERE job_id = %s", (job_id,)).fetchone()


def start_job(conn: Conn, job_id: str) -> None:
    conn.execute(
        "UPDATE batch_jobs SET status = 'running', started_at = coalesce(started_at, now())"
        " WHERE job_id = %s AND status IN ('queued', 'running')",
        (job_id,),
    )


def claim_chunk(conn: Conn, job_id: str) -> tuple[int, list[str]] | None:
    """A pending chunk, row-locked for this transaction; other workers skip it."""
    row = conn.execute(
        "SELECT chunk_no, member_ids FROM batch_chunks WHERE job_id = %s AND status = 'pending'"
        " ORDER BY chunk_no LIMIT 1 FOR UPDATE SKIP LOCKED",
        (job_id,),
    ).fetchone()
    return (int(row[0]), list(row[1])) if row else None


def finish_chunk(conn: Conn, job_id: str, chunk_no: int, done: int, failed: int) -> None:
    conn.execute(
        "UPDATE batch_chunks SET status = 'done', finished_at = now()"
        " WHERE job_id = %s AND chunk_no = %s",
        (job_id, chunk_no),
    )
    conn.execute(
        "UPDATE batch_jobs SET done = done + %s, failed = failed + %s WHERE job_id = %s",
        (done, failed, job_id),
    )


def record_failures(conn: Conn, job_id: str, rows: Sequence[tuple[str, str]]) -> None:
    if rows:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO batch_failures (job_id, member_id, reason) VALUES (%s, %s, %s)"
                " ON CONFLICT DO NOTHING",
                [(job_id, m, r) for m, r in rows],
            )


def complete_job_if_drained(conn: Conn, job_id: str) -> bool:
    cur = conn.execute(
        "UPDATE batch_jobs SET status = 'done', finished_at = now() WHERE job_id = %s"
        " AND status = 'running' AND NOT EXISTS (SELECT 1 FROM batch_chunks"
        " WHERE job_id = %s AND status = 'pending')",
        (job_id, job_id),
    )
    return cur.rowcount > 0


def fail_job(conn: Conn, job_id: str, error: str) -> None:
    conn.execute(
        "UPDATE batch_jobs SET status = 'failed', error = %s, finished_at = now()"
        " WHERE job_id = %s",
        (error, job_id),
    )


def iter_job_quotes(conn: Conn, job_id: str) -> Iterator[tuple[Any, ...]]:
    """Server-side cursor: a million results never sit in memory."""
    with conn.transaction(), conn.cursor(name=f"results_{job_id}") as cur:
        cur.itersize = 5000
        cur.execute(
            "SELECT member_id, quote_id, base_fen, unsmoothed_fen, premium_fen, discount_fen,"
            " rulebook_version, components, smoothing FROM quotes WHERE job_id = %s"
            " ORDER BY member_id",
            (job_id,),
        )
        yield from cur


def job_failures(conn: Conn, job_id: str) -> list[tuple[str, str]]:
    return [
        (r[0], r[1])
        for r in conn.execute(
            "SELECT member_id, reason FROM batch_failures WHERE job_id = %s ORDER BY member_id",
            (job_id,),
        )
    ]


def jsonb(value: Any) -> Jsonb:
    return Jsonb(value)


def budget_rows(conn: Conn, product_id: str, plan_year: int) -> list[dict[str, Any]]:
    """Each member's newest stored quote for the plan year, with baseline and current scores.

    Baseline: the member's first scored window (any version); current: the newest score
    row among the quote's own stored inputs (what the quote was computed from).
    """
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            """
            WITH q AS (
                SELECT DISTINCT ON (member_id) member_id, age, conditions, components, inputs
                  FROM quotes WHERE product_id = %s AND plan_year = %s
                 ORDER BY member_id, created_at DESC
            ), b AS (
                SELECT DISTINCT ON (s.member_id) s.member_id, s.indicators
                  FROM scores s JOIN q USING (member_id)
                 ORDER BY s.member_id, s.window_start, s.window_end
            )
            SELECT q.member_id, q.age, q.conditions, q.components, q.inputs, m.sex,
                   b.indicators AS baseline
              FROM q JOIN members m USING (member_id) LEFT JOIN b USING (member_id)
             ORDER BY q.member_id
            """,
            (product_id, plan_year),
        ).fetchall()
    for r in rows:
        scores = sorted(
            r.pop("inputs").get("scores", []), key=lambda s: (s["window_end"], s["window_start"])
        )
        r["current"] = scores[-1]["indicators"] if scores else None
    return rows


def disclosure_rows(conn: Conn, product_id: str, year: int) -> list[dict[str, Any]]:
    """Per member enrolled in ``year``: age, conditions, the premium paid (else the newest
    quote's), the discount granted, and per quarter the newest score and the claims paid."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """
            WITH book AS (
                SELECT e.member_id, e.premium_paid_fen, m.birth_date, m.conditions
                  FROM enrollments e JOIN members m USING (member_id)
                 WHERE e.product_id = %(p)s AND e.plan_year = %(y)s
            ), q AS (
                SELECT DISTINCT ON (member_id) member_id, premium_fen, discount_fen
                  FROM quotes WHERE product_id = %(p)s AND plan_year = %(y)s
                 ORDER BY member_id, created_at DESC
            ), s AS (
                SELECT DISTINCT ON (member_id, qtr) member_id, qtr, composite,
                       (indicators->'bp'->>'controlled')::boolean AS bp_controlled,
                       (indicators->'cgm'->>'tir')::float8 AS tir
                  FROM (SELECT sc.*, extract(quarter FROM sc.window_end - 1)::int AS qtr
                          FROM scores sc JOIN book USING (member_id)
                         WHERE sc.window_end > make_date(%(y)s, 1, 1)
                           AND sc.window_end <= make_date(%(y)s + 1, 1, 1)) x
                 ORDER BY member_id, qtr, window_end DESC, computed_at DESC
            ), c AS (
                SELECT h.member_id, extract(quarter FROM h.admitted_on)::int AS qtr,
                       sum(h.amount_yuan)::float8 AS paid
                  FROM hospitalisations h JOIN book USING (member_id)
                 WHERE h.admitted_on >= make_date(%(y)s, 1, 1)
                   AND h.admitted_on < make_date(%(y)s + 1, 1, 1)
                 GROUP BY 1, 2
            )
            SELECT b.member_id, b.birth_date, b.conditions,
                   coalesce(b.premium_paid_fen, q.premium_fen) AS premium_fen,
                   q.discount_fen,
                   coalesce((SELECT jsonb_object_agg(s.qtr, jsonb_build_object(
                       'composite', s.composite, 'bp_controlled', s.bp_controlled, 'tir', s.tir))
                       FROM s WHERE s.member_id = b.member_id), '{}') AS scores,
                   coalesce((SELECT jsonb_object_agg(c.qtr, c.paid)
                       FROM c WHERE c.member_id = b.member_id), '{}') AS claims
              FROM book b LEFT JOIN q USING (member_id)
             ORDER BY b.member_id
            """,
            {"p": product_id, "y": year},
        ).fetchall()
