from __future__ import annotations

from typing import Any

import psycopg

from core import db as core_db
from tests.conftest import make_settings


def test_upgrade_is_idempotent(db_url: str) -> None:
    again = core_db.upgrade(db_url, make_settings(db_url))
    assert again["applied"] == []


def test_plain_path_has_every_table_and_the_daily_view(conn: psycopg.Connection[Any]) -> None:
    tables = {
        r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname='public'")
    }
    assert {
        "bp_readings",
        "glucose_readings",
        "activity_readings",
        "dead_letters",
        "device_bindings",
        "members",
        "devices",
        "hospitalisations",
    } <= tables
    conn.execute("SELECT member_id, kind, day, n, mean_a, mean_b FROM daily_readings").fetchall()


def test_statement_splitter_keeps_statements_whole() -> None:
    script = "-- c\nSELECT 1\n;\nSELECT ';' \n;\n-- only comment\n;\n"
    assert core_db._statements(script) == ["-- c\nSELECT 1", "SELECT ';'"]


def test_migration_versions_are_unique_and_ordered() -> None:
    versions = [m.version for m in core_db.load_migrations()]
    assert versions == sorted(versions)
    assert len(versions) == len(set(versions))


def test_api_sessions_run_without_jit_and_keep_the_urls_options(db_url: str) -> None:
    with psycopg.connect(core_db.without_jit(db_url)) as c:
        assert c.execute("SHOW jit").fetchone() == ("off",)
    sep = "&" if "?" in db_url else "?"
    url = db_url + sep + "options=-c%20application_name%3Dwr-test"
    with psycopg.connect(core_db.without_jit(url)) as c:
        assert c.execute("SHOW jit").fetchone() == ("off",)
        assert c.execute("SHOW application_name").fetchone() == ("wr-test",)
