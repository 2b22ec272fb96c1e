"""TimescaleDB operations: the settings the schema follows, full refreshes, the policy jobs.

``core.db.upgrade`` decides whether the extension is used and runs the migrations; this
module does what SQL migrations cannot, because it depends on settings that may change
after a migration ran or must happen outside any transaction:

* :func:`apply_settings`: chunk intervals (``*_chunk_days``) and the window of the
  continuous aggregates' refresh policies, reconciled on every ``wellrate db upgrade``;
* :func:`refresh_full_history`: materialise a continuous aggregate over all of its data
  (``refresh_continuous_aggregate`` refuses to run inside a transaction block);
* :func:`maintain`: ``wellrate db maintain``, every Wellrate policy job run once in the
  foreground with ``CALL run_job``, for a cron or Kubernetes CronJob, because the
  background scheduler of TimescaleDB 2.28.3 fails every job on PostgreSQL 15.20
  (docs/timescaledb.md, "Background jobs on PostgreSQL 15.20");
* :func:`failing_jobs` and :func:`status`: what the readiness report and
  ``wellrate db status`` say about those jobs.

Every function is a no-op (or says "not TimescaleDB") on plain PostgreSQL.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import psycopg

from core.settings import Settings

log = logging.getLogger(__name__)

# Hypertable -> its time column.
READINGS = {
    "bp_readings": "measured_at",
    "glucose_readings": "measured_at",
    "activity_readings": "start_at",
}
CAGGS = ("daily_bp", "daily_glucose", "daily_activity")
# The refresh policies keep the 15-minute cadence and 1-hour end offset they always had.
REFRESH_EVERY = "15 minutes"
REFRESH_END_OFFSET = "1 hour"
# run_job order in `maintain`: drop what expired, materialise, then compress what aged.
_PROC_ORDER = {
    "policy_retention": 0,
    "policy_refresh_continuous_aggregate": 1,
    "policy_compression": 2,
}
# `maintain` runs one at a time per database: a cron that fires again while the previous
# run is still compressing skips instead of queueing behind it.
_MAINTAIN_LOCK_KEY = 0x57E11_3A17  # arbitrary constant: "wellrate maintain"
# A refresh that meets another refresh of the same aggregate (the scheduler's policy run)
# is refused with LockNotAvailable rather than queued; wait it out this long.
_LOCK_WAIT_S = 120.0

Conn = psycopg.Connection[Any]


def enabled(conn: Conn) -> bool:
    """True when this database has the extension (``core.db.upgrade`` decided to use it)."""
    row = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
    return row is not None


def chunk_days(settings: Settings) -> dict[str, int]:
    """The configured chunk interval, in days, of each readings hypertable."""
    return {
        "bp_readings": settings.bp_chunk_days,
        "glucose_readings": settings.glucose_chunk_days,
        "activity_readings": settings.activity_chunk_days,
    }


def refresh_window_days(settings: Settings) -> int:
    """How far back the refresh policies look: as far as ingest accepts a late reading.

    A reading older than the window would reach the raw table and the invalidation log but
    never the aggregate. Not beyond retention, though: there the raw chunks are gone and a
    refresh would empty the aggregate's days instead. One day more covers a reading that
    is exactly ``ingest_max_age_days`` old at the end of a local day.
    """
    return min(settings.ingest_max_age_days, settings.retention_days) + 1


def _refresh_policies(conn: Conn) -> dict[str, tuple[int, str]]:
    """Aggregate -> (job id, start offset) of its refresh policy."""
    return {
        r[0]: (int(r[1]), str(r[2]))
        for r in conn.execute(
            "SELECT hypertable_name, job_id, config->>'start_offset'"
            " FROM timescaledb_information.jobs"
            " WHERE proc_name = 'policy_refresh_continuous_aggregate'"
            "   AND hypertable_schema = 'public' AND hypertable_name = ANY(%s)",
            (list(CAGGS),),
        )
    }


def _existing_caggs(conn: Conn) -> set[str]:
    return {
        r[0]
        for r in conn.execute(
            "SELECT view_name FROM timescaledb_information.continuous_aggregates"
            " WHERE view_schema = 'public' AND view_name = ANY(%s)",
            (list(CAGGS),),
        )
    }


def caggs_without_policy(conn: Conn) -> tuple[str, ...]:
    """Wellrate's aggregates that have no refresh policy yet: created by a migration and
    not refreshed by ``upgrade`` so far (it adds the policy right after the refresh)."""
    policies = _refresh_policies(conn)
    existing = _existing_caggs(conn)
    return tuple(c for c in CAGGS if c in existing and c not in policies)


def apply_settings(conn: Conn, settings: Settings) -> list[str]:
    """Make chunk intervals and refresh policies match ``settings``; return what changed.

    A new chunk interval applies to chunks created from now on; existing chunks keep theirs
    (TimescaleDB does not re-chunk). Needs an autocommit connection (policies are jobs).
    """
    changed: list[str] = []
    current = {
        r[0]: r[1]
        for r in conn.execute(
            "SELECT hypertable_name, extract(epoch FROM time_interval)::bigint"
            " FROM timescaledb_information.dimensions"
            " WHERE hypertable_schema = 'public' AND hypertable_name = ANY(%s)",
            (list(READINGS),),
        )
    }
    for table, days in chunk_days(settings).items():
        if table in current and current[table] != days * 86_400:
            conn.execute(
                "SELECT set_chunk_time_interval(%s::regclass, make_interval(days => %s))",
                (table, days),
            )
            changed.append(f"{table} chunks {days} days")
    window = f"{refresh_window_days(settings)} days"
    policies = _refresh_policies(conn)
    existing = _existing_caggs(conn)
    for cagg in CAGGS:
        if cagg not in existing:
            continue
        if cagg not in policies:
            conn.execute(
                "SELECT add_continuous_aggregate_policy(%s::regclass,"
                " start_offset => %s::interval, end_offset => %s::interval,"
                " schedule_interval => %s::interval)",
                (cagg, window, REFRESH_END_OFFSET, REFRESH_EVERY),
            )
            changed.append(f"{cagg} refresh policy over {window}")
        elif policies[cagg][1] != window:
            conn.execute(
                "SELECT alter_job(%s, config => (SELECT jsonb_set(config, '{start_offset}',"
                " to_jsonb(%s::text)) FROM timescaledb_information.jobs WHERE job_id = %s))",
                (policies[cagg][0], window, policies[cagg][0]),
            )
            changed.append(f"{cagg} refresh policy over {window}")
    return changed


def _call(conn: Conn, sql: str, params: tuple[Any, ...], wait_s: float) -> None:
    """``sql`` outside a transaction block, retried while another refresh holds the lock."""
    if not conn.autocommit:
        raise RuntimeError("TimescaleDB refreshes and jobs need an autocommit connection")
    deadline = time.monotonic() + wait_s
    while True:
        try:
            conn.execute(sql, params)
            return
        except psycopg.errors.LockNotAvailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def refresh_full_history(conn: Conn, caggs: tuple[str, ...] = CAGGS) -> None:
    """Materialise each aggregate over all of its raw data, up to where the policy stops.

    From the beginning (NULL) to ``now() - REFRESH_END_OFFSET``, like the policy: a refresh
    to NULL would also materialise today's bucket and move the watermark past it, and the
    real-time aggregate would then not show today's later readings until the next refresh.
    Regions already materialised and not invalidated since cost nothing, so calling this on
    an aggregate that is up to date is cheap.
    """
    for cagg in caggs:
        began = time.perf_counter()
        _call(
            conn,
            "CALL refresh_continuous_aggregate(%s::regclass, NULL, now() - %s::interval)",
            (cagg, REFRESH_END_OFFSET),
            _LOCK_WAIT_S,
        )
        log.info("refreshed %s over its whole history in %.1f s", cagg, time.perf_counter() - began)


def daily_timezone(conn: Conn) -> str | None:
    """The zone ``daily_readings`` was built with (its comment), None when unknown."""
    row = conn.execute(
        "SELECT obj_description(to_regclass('daily_readings'), 'pg_class')"
    ).fetchone()
    prefix = "day: calendar day in "
    if row is None or row[0] is None or not str(row[0]).startswith(prefix):
        return None
    return str(row[0])[len(prefix) :]


@dataclass(frozen=True)
class Job:
    job_id: int
    proc_name: str
    target: str


def wellrate_jobs(conn: Conn) -> list[Job]:
    """The policy jobs on Wellrate's hypertables and aggregates, in ``maintain`` order."""
    rows = conn.execute(
        "SELECT job_id, proc_name, hypertable_name FROM timescaledb_information.jobs"
        " WHERE hypertable_schema = 'public' AND hypertable_name = ANY(%s) ORDER BY job_id",
        (list(READINGS) + list(CAGGS),),
    ).fetchall()
    jobs = [Job(int(r[0]), str(r[1]), str(r[2])) for r in rows]
    return sorted(jobs, key=lambda j: (_PROC_ORDER.get(j.proc_name, 9), j.job_id))


@dataclass(frozen=True)
class JobRun:
    job_id: int
    proc_name: str
    target: str
    ok: bool
    seconds: float
    error: str | None


def maintain(url: str) -> dict[str, Any]:
    """Run every Wellrate policy job once with ``CALL run_job`` and record each outcome.

    One failing job does not stop the others. Returns ``{"timescale": bool, "skipped":
    reason or None, "runs": [...]}``; the CLI exits non-zero when a run failed.
    """
    with psycopg.connect(url, autocommit=True) as conn:
        if not enabled(conn):
            return {"timescale": False, "skipped": "not TimescaleDB", "runs": []}
        got = conn.execute("SELECT pg_try_advisory_lock(%s)", (_MAINTAIN_LOCK_KEY,)).fetchone()
        if not got or not got[0]:
            return {"timescale": True, "skipped": "another maintain is running", "runs": []}
        try:
            runs = [_run_job(conn, job) for job in wellrate_jobs(conn)]
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_MAINTAIN_LOCK_KEY,))
    return {"timescale": True, "skipped": None, "runs": [r.__dict__ for r in runs]}


def _run_job(conn: Conn, job: Job) -> JobRun:
    started = conn.execute("SELECT now()").fetchone()
    began = time.perf_counter()
    error: str | None = None
    try:
        _call(conn, "CALL run_job(%s)", (job.job_id,), _LOCK_WAIT_S)
    except psycopg.Error as exc:
        error = exc.diag.message_primary or str(exc).splitlines()[0] or type(exc).__name__
        log.error("job %s (%s on %s) failed: %s", job.job_id, job.proc_name, job.target, error)
    seconds = time.perf_counter() - began
    conn.execute(
        "INSERT INTO db_maintenance AS m (job_id, proc_name, target, last_started_at, last_ok,"
        " last_error, last_success_at, last_duration_s)"
        " VALUES (%(id)s, %(proc)s, %(target)s, %(at)s, %(ok)s, %(err)s,"
        "  CASE WHEN %(ok)s THEN clock_timestamp() END, %(s)s)"
        " ON CONFLICT (job_id) DO UPDATE SET proc_name = EXCLUDED.proc_name,"
        " target = EXCLUDED.target, last_started_at = EXCLUDED.last_started_at,"
        " last_ok = EXCLUDED.last_ok, last_error = EXCLUDED.last_error,"
        " last_success_at = coalesce(EXCLUDED.last_success_at, m.last_success_at),"
        " last_duration_s = EXCLUDED.last_duration_s",
        {
            "id": job.job_id,
            "proc": job.proc_name,
            "target": job.target,
            "at": started[0] if started else None,
            "ok": error is None,
            "err": error,
            "s": seconds,
        },
    )
    return JobRun(job.job_id, job.proc_name, job.target, error is None, round(seconds, 3), error)


_JOB_STATE = """
SELECT j.job_id, j.proc_name, j.hypertable_name, s.last_run_status,
       CASE WHEN isfinite(s.last_run_started_at) THEN s.last_run_started_at END,
       CASE WHEN isfinite(s.last_successful_finish) THEN s.last_successful_finish END,
       s.total_runs, s.total_failures, e.err_message,
       m.last_success_at, m.last_ok, m.last_error,
       coalesce(m.last_success_at > now() - 2 * j.schedule_interval, false),
       j.schedule_interval
  FROM timescaledb_information.jobs j
  LEFT JOIN timescaledb_information.job_stats s ON s.job_id = j.job_id
  LEFT JOIN LATERAL (
       SELECT x.err_message FROM timescaledb_information.job_errors x
        WHERE x.job_id = j.job_id ORDER BY x.start_time DESC LIMIT 1) e ON true
  LEFT JOIN {maintenance} m ON m.job_id = j.job_id
 WHERE j.hypertable_schema = 'public' AND j.hypertable_name = ANY(%s)
 ORDER BY j.job_id
"""
# Before migration 0005 (an API replica newer than the schema): no maintain runs yet.
_NO_MAINTENANCE = (
    "(SELECT NULL::int AS job_id, NULL::timestamptz AS last_success_at,"
    " NULL::boolean AS last_ok, NULL::text AS last_error WHERE false)"
)


def job_state(conn: Conn) -> list[dict[str, Any]]:
    """Each Wellrate job: the scheduler's last run and error, and the last ``maintain`` run."""
    row = conn.execute("SELECT to_regclass('public.db_maintenance') IS NOT NULL").fetchone()
    sql = _JOB_STATE.format(maintenance="db_maintenance" if row and row[0] else _NO_MAINTENANCE)
    rows = conn.execute(sql, (list(READINGS) + list(CAGGS),)).fetchall()
    return [
        {
            "job_id": r[0],
            "proc_name": r[1],
            "target": r[2],
            "scheduler": {
                "last_run_status": r[3],
                "last_run_started_at": r[4],  # job_stats' -infinity ("never") is None
                "last_successful_finish": r[5],
                "total_runs": r[6],
                "total_failures": r[7],
                "last_error": r[8],
            },
            "maintain": {"last_ok": r[10], "last_success_at": r[9], "last_error": r[11]},
            # The work was done by `maintain` within two of the job's intervals.
            "covered": bool(r[12]),
            "schedule_interval": str(r[13]),
        }
        for r in rows
    ]


def failing_jobs(conn: Conn) -> list[dict[str, Any]]:
    """Wellrate jobs whose latest scheduler run failed; [] on plain PostgreSQL.

    Each says when ``wellrate db maintain`` last ran it successfully (None: never) and
    whether that was within two of the job's schedule intervals (``covered``: the work is
    being done anyway). No error text: the readiness report that shows this is public;
    ``wellrate db status`` has the messages.
    """
    if not enabled(conn):
        return []
    return [
        {
            "job_id": j["job_id"],
            "proc_name": j["proc_name"],
            "target": j["target"],
            "failed_at": j["scheduler"]["last_run_started_at"],
            "maintained_at": j["maintain"]["last_success_at"],
            "covered": j["covered"],
        }
        for j in job_state(conn)
        if j["scheduler"]["last_run_status"] == "Failed"
    ]


def status(conn: Conn, settings: Settings) -> dict[str, Any]:
    """``wellrate db status``: what the schema runs on and whether its jobs run."""
    if not enabled(conn):
        return {"timescale": False, "daily_timezone": daily_timezone(conn)}
    chunks = {
        r[0]: {"interval_days": r[1], "chunks": r[2], "compressed": r[3]}
        for r in conn.execute(
            "SELECT d.hypertable_name, extract(epoch FROM d.time_interval)::float8 / 86400,"
            " (SELECT count(*) FROM timescaledb_information.chunks c"
            "   WHERE c.hypertable_name = d.hypertable_name),"
            " (SELECT count(*) FROM timescaledb_information.chunks c"
            "   WHERE c.hypertable_name = d.hypertable_name AND c.is_compressed)"
            " FROM timescaledb_information.dimensions d"
            " WHERE d.hypertable_schema = 'public' AND d.hypertable_name = ANY(%s)",
            (list(READINGS),),
        )
    }
    for table, days in chunk_days(settings).items():
        if table in chunks:
            chunks[table]["configured_days"] = days
    jobs = job_state(conn)
    failing = [j for j in jobs if j["scheduler"]["last_run_status"] == "Failed"]
    return {
        "timescale": True,
        "daily_timezone": daily_timezone(conn),
        "configured_timezone": settings.product_timezone,
        "hypertables": chunks,
        "refresh_window_days": refresh_window_days(settings),
        "jobs": jobs,
        "scheduler_failing": [j["job_id"] for j in failing],
        # Failing in the scheduler and not run by `maintain` recently either: nobody does
        # this work. `wellrate db status` exits 1 when this is not empty.
        "uncovered": [j["job_id"] for j in failing if not j["covered"]],
    }
