"""Fixtures against the real services: PostgreSQL and Mosquitto on this machine.

* One database per test session (named after the process, so parallel runs and several
  developers never share one), migrated once; every table truncated after each test.
* A unique MQTT topic prefix per test, so concurrent tests never see each other's messages.
* The TimescaleDB path gets its own database and skips, saying why, when the extension
  cannot be enabled on the server.

Override the servers with WELLRATE_TEST_DATABASE_URL (a URL to a maintenance database),
WELLRATE_TEST_TIMESCALE_URL and WELLRATE_TEST_MQTT_URL.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from core import db as core_db
from core.settings import Settings

ADMIN_URL = os.environ.get(
    "WELLRATE_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
TIMESCALE_ADMIN_URL = os.environ.get("WELLRATE_TEST_TIMESCALE_URL", ADMIN_URL)
MQTT_URL = os.environ.get("WELLRATE_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")


def _with_db(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + dbname))


def _create_db(admin_url: str, prefix: str) -> tuple[str, str]:
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, _with_db(admin_url, name)


def _drop_db(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_settings(database_url: str | None, **overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "mqtt_url": MQTT_URL,
        "metrics_port": 0,
    }
    base.update(overrides)
    return Settings(**base)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A migrated database for this test session (plain PostgreSQL path)."""
    try:
        name, url = _create_db(ADMIN_URL, "wellrate_test")
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is required for the tests and is not reachable at {ADMIN_URL}: {exc}"
        )
    core_db.upgrade(url, make_settings(url))
    yield url
    _drop_db(ADMIN_URL, name)


# Reference data the migrations seed, kept between tests like the migration ledger.
REFERENCE_TABLES = ("schema_migrations", "device_models")


def _truncate_all(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public'"
                " AND tablename <> ALL(%s)",
                (list(REFERENCE_TABLES),),
            )
        ]
        if tables:
            conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")


@pytest.fixture
def db_url(pg_url: str) -> Iterator[str]:
    """The session database, emptied after the test."""
    yield pg_url
    _truncate_all(pg_url)


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection for arranging and asserting (the code under test owns its own)."""
    with psycopg.connect(db_url, autocommit=True) as c:
        yield c


@pytest.fixture
def settings(db_url: str, topic_prefix: str) -> Settings:
    return make_settings(
        db_url, mqtt_topic_prefix=topic_prefix, mqtt_client_id=f"wr-test-{uuid.uuid4().hex[:10]}"
    )


@pytest.fixture(scope="session")
def mqtt_broker() -> str:
    parts = urlsplit(MQTT_URL)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or 1883), timeout=2
        ):
            pass
    except OSError as exc:
        pytest.fail(
            f"an MQTT broker is required for the tests and is not reachable at {MQTT_URL}: {exc}"
        )
    return MQTT_URL


@pytest.fixture
def topic_prefix() -> str:
    return f"wr-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def timescale_url() -> Iterator[str]:
    """A migrated database with TimescaleDB enabled; skips, with the reason, when it cannot be."""
    try:
        name, url = _create_db(TIMESCALE_ADMIN_URL, "wellrate_tsdb")
    except psycopg.OperationalError as exc:
        pytest.skip(f"TimescaleDB server not reachable at {TIMESCALE_ADMIN_URL}: {exc}")
    try:
        with psycopg.connect(url, autocommit=True) as c:
            avail = c.execute(
                "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
            ).fetchone()
            if not avail:
                pytest.skip("the timescaledb extension is not installed on this PostgreSQL server")
            try:
                c.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
            except psycopg.Error as exc:
                pytest.skip(
                    "timescaledb is installed but cannot be enabled: " + str(exc).splitlines()[0]
                )
        result = core_db.upgrade(url, make_settings(url))
        assert result["timescale"] is True
        yield url
    finally:
        _drop_db(TIMESCALE_ADMIN_URL, name)
