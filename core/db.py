"""Connections, the pool lifecycle, migrations and TimescaleDB detection.

Migrations are numbered SQL files in ``core/migrations``:

* ``NNNN_name.sql`` runs once, in one transaction, everywhere;
* ``NNNN_name.plain.sql`` runs with it when TimescaleDB is absent (ordinary indexes and views);
* ``NNNN_name.timescale.sql`` runs statement by statement in autocommit (continuous
  aggregates refuse transactions) when the extension is present, even if the base
  migration ran earlier on plain PostgreSQL: installing TimescaleDB later upgrades the
  schema in place on the next ``wellrate db upgrade``.

The ``.plain.sql`` and ``.timescale.sql`` parts are ``str.format`` templates filled from
Settings (:func:`_template_values`: ``{timezone}``, ``{retention_days}``,
``{compress_after_days}``); base scripts are run as written. With the extension, every
upgrade then lets ``core.timescale`` refresh the continuous aggregates a migration created
over their whole history, and match chunk intervals and refresh policies to the settings.

Concurrent upgrades (two ingestor replicas starting together) serialise on an advisory lock.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any, Generic, TypeVar

import psycopg
from psycopg_pool import ConnectionPool

from core.settings import Settings

log = logging.getLogger(__name__)

_MIGRATION_LOCK_KEY = 0x57E11_2A7E  # arbitrary constant: "wellrate migrations"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


T = TypeVar("T")


class Pending(Generic[T]):
    """A statement already sent whose rows are read later, by :meth:`result`.

    Why: inside ``conn.pipeline()`` a statement that is sent but not yet read costs no round
    trip; the first read sends them all with one sync. A single quote's dozen reads then
    cost the client and the server one wait instead of twelve (see bench/api_bench.py).
    Outside a pipeline it behaves like an ordinary execute-then-fetch.
    """

    __slots__ = ("_cur", "_read")

    def __init__(self, cur: psycopg.Cursor[Any], read: Callable[[psycopg.Cursor[Any]], T]) -> None:
        self._cur, self._read = cur, read

    def result(self) -> T:
        with self._cur:
            return self._read(self._cur)


def first_text(cur: psycopg.Cursor[Any]) -> str | None:
    """The first column of the first row as text, or None without a row (a Pending read)."""
    row = cur.fetchone()
    return None if row is None else str(row[0])


class TextArray(str):
    """A PostgreSQL ``text[]`` literal, built in one ``join`` and bound as one text parameter.

    Why: psycopg's list dumper quotes a list element by element (a regex each); a pricing
    batch chunk binds its 2,000 member ids to eight reads (the integrity flags' among them)
    and writes 2,000 condition lists, which was ~8 % of a batch's Python time. Bound as
    text and cast with ``::text[]`` on the server: no SQL is ever built from the values.
    """


def text_array(values: Iterable[str]) -> TextArray:
    """Each element double-quoted, with ``\\`` and ``"`` backslash-escaped (array syntax)."""
    return TextArray(
        "{"
        + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
        + "}"
    )


class DatabaseNotConfigured(RuntimeError):
    """No database URL was given and no embedded server is running."""


def require_url(settings: Settings) -> str:
    if not settings.database_url:
        raise DatabaseNotConfigured(
            "WELLRATE_DATABASE_URL is not set (run `wellrate demo` for an embedded database)"
        )
    return settings.database_url


def connect(url: str, *, autocommit: bool = False) -> psycopg.Connection[Any]:
    """One connection. The caller owns it and its transaction."""
    return psycopg.connect(url, autocommit=autocommit)


def without_jit(url: str) -> str:
    """``url`` with PostgreSQL's JIT compilation turned off for its sessions.

    JIT pays off on long analytic scans; the API's queries are short, yet the clinic
    lists' plans cost past ``jit_above_cost`` and spent ~30 ms of ~110 ms compiling
    expressions for 5,000 patients (bench/dashboard_bench.py). Options already in the URL
    are kept.
    """
    options = psycopg.conninfo.conninfo_to_dict(url).get("options") or ""
    return psycopg.conninfo.make_conninfo(url, options=f"{options} -c jit=off".strip())


def make_pool(settings: Settings, *, name: str = "wellrate") -> ConnectionPool:
    """A closed pool: open it in the owner's start-up (lifespan / main) and close it there."""
    return ConnectionPool(
        require_url(settings),
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
        open=False,
        name=name,
        check=ConnectionPool.check_connection,
    )


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    base: str
    plain: str | None
    timescale: str | None


def load_migrations() -> list[Migration]:
    folder = resources.files("core").joinpath("migrations")
    files = {f.name: f.read_text(encoding="utf-8") for f in folder.iterdir() if f.is_file()}
    found: list[Migration] = []
    for filename, text in files.items():
        m = _NAME.match(filename)
        if not m or filename.endswith((".plain.sql", ".timescale.sql")):
            continue
        stem = filename[: -len(".sql")]
        found.append(
            Migration(
                version=m.group(1),
                name=m.group(2),
                base=text,
                plain=files.get(f"{stem}.plain.sql"),
                timescale=files.get(f"{stem}.timescale.sql"),
            )
        )
    found.sort(key=lambda mig: mig.version)
    versions = [mig.version for mig in found]
    if len(versions) != len(set(versions)):
        raise RuntimeError(f"duplicate migration versions in {versions}")
    return found


def timescale_available(conn: psycopg.Connection[Any]) -> bool:
    """True when the extension is installed in this database, creating it if we can.

    Creating it fails when the library is not in ``shared_preload_libraries`` or the role
    lacks the privilege; then we run on plain PostgreSQL and say why in the log. A server
    that has the extension's files but did not preload the library answers
    ``CREATE EXTENSION`` with FATAL and ends the session (TimescaleDB 2.x), so we look at
    ``shared_preload_libraries`` first and never try when it is readable and lacks the
    library; when it is not readable (no privilege) we try, and the caller must be ready to
    lose ``conn`` (``upgrade`` probes on a connection of its own for that reason).
    """
    row = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
    if row:
        return True
    row = conn.execute(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
    ).fetchone()
    if not row:
        return False
    if _preloaded(conn) is False:
        log.warning(
            "timescaledb is installed but not in shared_preload_libraries; using plain PostgreSQL"
        )
        return False
    try:
        with conn.transaction():
            conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    except psycopg.Error as exc:
        log.warning(
            "timescaledb is installed but cannot be enabled (%s); using plain PostgreSQL",
            exc.diag.message_primary or str(exc).splitlines()[0] or type(exc).__name__,
        )
        return False
    return True


def _preloaded(conn: psycopg.Connection[Any]) -> bool | None:
    """Whether the server preloads timescaledb; None when the setting is hidden from this role.

    ``pg_settings`` shows ``shared_preload_libraries`` only to superusers and members of
    ``pg_read_all_settings``; entries may carry a path (``$libdir/timescaledb``).
    """
    row = conn.execute(
        "SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries'"
    ).fetchone()
    if row is None:
        return None
    libs = [lib.strip().strip('"').rsplit("/", 1)[-1] for lib in str(row[0]).split(",")]
    return any(lib == "timescaledb" or lib.startswith("timescaledb-") for lib in libs)


def _probe_timescale(url: str) -> bool:
    """``timescale_available`` on a throwaway connection, so a FATAL cannot end the caller's."""
    try:
        with connect(url, autocommit=True) as probe:
            return timescale_available(probe)
    except psycopg.OperationalError as exc:
        log.warning("timescaledb probe failed (%s); using plain PostgreSQL", type(exc).__name__)
        return False


def _statements(script: str) -> list[str]:
    parts = re.split(r"^\s*;\s*$", script, flags=re.MULTILINE)
    return [p.strip() for p in parts if p.strip() and not _only_comments(p)]


def _only_comments(chunk: str) -> bool:
    return all(not ln.strip() or ln.strip().startswith("--") for ln in chunk.splitlines())


def upgrade(url: str, settings: Settings) -> dict[str, Any]:
    """Apply pending migrations; return what was done (for the CLI and the demo).

    ``applied``: migrations (and TimescaleDB parts) that ran; ``changed``: what
    ``core.timescale`` refreshed or reconciled with the settings.
    """
    applied: list[str] = []
    changed: list[str] = []
    with connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK_KEY,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version text PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now(),"
                " timescale boolean NOT NULL DEFAULT false)"
            )
            ts = _probe_timescale(url)  # under the lock: one replica creates it
            done = {
                r[0]: r[1] for r in conn.execute("SELECT version, timescale FROM schema_migrations")
            }
            values = _template_values(settings)
            for mig in load_migrations():
                if mig.version not in done:
                    with conn.transaction():
                        conn.execute(mig.base)
                        if mig.plain and not ts:
                            conn.execute(mig.plain.format(**values))
                        conn.execute(
                            "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                            (mig.version, mig.name),
                        )
                    applied.append(f"{mig.version}_{mig.name}")
                if ts and mig.timescale and not done.get(mig.version, False):
                    script = mig.timescale.format(**values)
                    for stmt in _statements(script):
                        conn.execute(stmt)
                    conn.execute(
                        "UPDATE schema_migrations SET timescale = true WHERE version = %s",
                        (mig.version,),
                    )
                    applied.append(f"{mig.version}_{mig.name} (timescale)")
            if ts:
                changed = _timescale_after(conn, settings)
            _check_timezone(conn, settings)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK_KEY,))
    if applied:
        log.info("migrations applied: %s", ", ".join(applied))
    if changed:
        log.info("timescaledb: %s", ", ".join(changed))
    return {"timescale": ts, "applied": applied, "changed": changed}


def _template_values(settings: Settings) -> dict[str, Any]:
    """What the ``.plain.sql`` / ``.timescale.sql`` templates may name (validated settings:
    the zone name is checked against ``_ZONE_NAME`` and zoneinfo, the rest are integers)."""
    return {
        "timezone": settings.product_timezone,
        "retention_days": settings.retention_days,
        "compress_after_days": settings.compress_after_days,
    }


def _timescale_after(conn: psycopg.Connection[Any], settings: Settings) -> list[str]:
    """Refresh the continuous aggregates a migration just created over their whole history,
    then match chunk intervals and refresh policies to the settings.

    "Just created" is "has no refresh policy yet": a migration creates an aggregate without
    one and ``apply_settings`` adds it, so an upgrade interrupted in between refreshes on
    the next run, and the scheduler's first policy run cannot collide with this refresh.
    """
    from core import timescale

    done: list[str] = []
    new = timescale.caggs_without_policy(conn)
    if new:
        timescale.refresh_full_history(conn, new)
        done.append(f"{', '.join(new)} refreshed over their whole history")
    done += timescale.apply_settings(conn, settings)
    return done


def _check_timezone(conn: psycopg.Connection[Any], settings: Settings) -> None:
    """The daily views keep the zone they were built with; say so when settings differ."""
    from core import timescale

    built = timescale.daily_timezone(conn)
    if built is not None and built != settings.product_timezone:
        log.warning(
            "daily_readings counts days in %s but WELLRATE_PRODUCT_TIMEZONE is %s;"
            " rebuild the daily views to change it (docs/timescaledb.md)",
            built,
            settings.product_timezone,
        )
