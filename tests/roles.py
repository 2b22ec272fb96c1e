"""Log in as the application's database roles (migration 0055) in tests.

The roles are NOLOGIN groups; a test makes a throwaway login that is a member of one
(the test servers trust loopback logins) and connects as it, so the code under test runs
with exactly the privileges production gives that role.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg


def as_user(url: str, user: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{user}@{host}"))


@contextmanager
def login_as(url: str, group: str) -> Iterator[str]:
    """A URL to ``url``'s database for a fresh login in ``group``; the login is dropped after."""
    name = f"wr_test_{group.removeprefix('wellrate_')}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{name}" LOGIN IN ROLE "{group}"')
    try:
        yield as_user(url, name)
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            gone = "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE usename = %s)"
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                (name,),
            )
            deadline = time.monotonic() + 10  # a backend drops its TEMP tables as it exits
            while not (row := conn.execute(gone, (name,)).fetchone()) or not row[0]:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            conn.execute(f'DROP ROLE IF EXISTS "{name}"')
