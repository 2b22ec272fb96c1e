"""deploy/postgres/roles.sql and the migrations, the way production runs them.

A private PostgreSQL cluster (roles belong to a whole server, so never the shared one):
a superuser runs roles.sql with psql, the non-superuser ``wellrate_owner`` runs every
migration, and the three application logins get exactly their grants.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from core import db
from tests.conftest import make_settings
from tests.faults.services import PG_BIN, PrivatePostgres
from tests.roles import as_user

ROLES_SQL = Path(__file__).resolve().parents[2] / "deploy" / "postgres" / "roles.sql"
pytestmark = pytest.mark.skipif(
    not (PG_BIN / "initdb").exists() or shutil.which("psql") is None,
    reason=f"needs PostgreSQL's initdb in {PG_BIN} and psql",
)


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """The database ``wellrate`` on a private cluster, roles created, migrated by the owner."""
    pg = PrivatePostgres()
    try:
        with psycopg.connect(pg.admin_url, autocommit=True) as c:
            c.execute("CREATE DATABASE wellrate")
        passwords = [f"-v{n}_password=pw-{n}-0123456789abcdef" for n in
                     ("owner", "api", "ingest", "reporting")]  # fmt: skip
        res = subprocess.run(
            ["psql", pg.url("wellrate"), "-v", "ON_ERROR_STOP=1", "-v", "db=wellrate",
             *passwords, "-f", str(ROLES_SQL)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert res.returncode == 0, res.stderr
        owner = as_user(pg.url("wellrate"), "wellrate_owner")
        result = db.upgrade(owner, make_settings(owner))
        assert "0056_audit_chain" in result["applied"]
        yield pg.url("wellrate")
    finally:
        pg.close()


def _try(url: str, user: str, sql: str) -> str | None:
    """None when ``sql`` runs as ``user``, else the SQLSTATE it failed with."""
    with psycopg.connect(as_user(url, user), autocommit=True) as c:
        try:
            c.execute(sql)
        except psycopg.Error as exc:
            return exc.sqlstate
    return None


def test_no_login_is_a_superuser_and_the_owner_owns_everything(cluster: str) -> None:
    with psycopg.connect(cluster, autocommit=True) as c:
        roles = c.execute(
            "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolcanlogin FROM pg_roles"
            " WHERE rolname LIKE 'wellrate\\_%' ORDER BY 1"
        ).fetchall()
        owners = c.execute(
            "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'"
        ).fetchall()
    assert [r[0] for r in roles] == [
        "wellrate_api", "wellrate_ingest", "wellrate_owner", "wellrate_reporting",
    ]  # fmt: skip
    assert all(r[4] and not any(r[1:4]) for r in roles)
    assert owners == [("wellrate_owner",)]


@pytest.mark.parametrize(
    ("user", "sql", "refused"),
    [
        ("wellrate_api", "INSERT INTO clinics (clinic_id, name) VALUES ('c1', 'One')", False),
        ("wellrate_api", "INSERT INTO audit_log (action, outcome) VALUES ('x', 'allowed')", False),
        ("wellrate_api", "UPDATE audit_log SET outcome = 'allowed'", True),
        ("wellrate_api", "DELETE FROM audit_log", True),
        ("wellrate_api", "TRUNCATE audit_log", True),
        ("wellrate_api", "DELETE FROM bp_readings", True),
        ("wellrate_api", "CREATE TABLE t (a int)", True),
        ("wellrate_api", "CREATE TEMP TABLE t (a int)", False),
        ("wellrate_ingest", "SELECT * FROM device_bindings", False),
        ("wellrate_ingest", "SELECT * FROM members", True),
        ("wellrate_ingest", "CREATE TEMP TABLE t (a int)", False),
        ("wellrate_reporting", "SELECT * FROM audit_log, scores, quotes", False),
        ("wellrate_reporting", "SELECT * FROM api_principals", True),
        ("wellrate_reporting", "CREATE TEMP TABLE t (a int)", True),
        ("wellrate_owner", "UPDATE audit_log SET outcome = 'allowed'", True),  # the trigger
    ],
)
def test_each_login_gets_its_grants(cluster: str, user: str, sql: str, refused: bool) -> None:
    state = _try(cluster, user, sql)
    assert (state == "42501") if refused else (state is None), state


def test_only_the_four_roles_and_the_superuser_may_connect(cluster: str) -> None:
    with psycopg.connect(cluster, autocommit=True) as c:
        c.execute("CREATE ROLE stranger LOGIN")
    with pytest.raises(psycopg.OperationalError, match="CONNECT"):
        psycopg.connect(as_user(cluster, "stranger")).close()


def test_audit_rows_written_by_the_api_login_verify(cluster: str) -> None:
    from api.audit.verify import verify

    with psycopg.connect(as_user(cluster, "wellrate_api"), autocommit=True) as c:
        c.execute("INSERT INTO audit_log (action, outcome) VALUES ('a', 'allowed')")
        c.execute("INSERT INTO audit_log (action, outcome) VALUES ('b', 'denied')")
    with psycopg.connect(as_user(cluster, "wellrate_reporting")) as c:
        c.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with c.transaction():
            verdict = verify(c)
    assert verdict.ok and verdict.links >= 2
