"""``core.db.text_array``, the ``text[]`` literal pricing and integrity bind ids with."""

from __future__ import annotations

from typing import Any

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.db import text_array

# PostgreSQL text cannot hold NUL; everything else must survive, quotes and backslashes too.
_TEXT = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"]))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=st.lists(_TEXT, max_size=8))
def test_text_array_round_trips_through_the_server(
    conn: psycopg.Connection[Any], values: list[str]
) -> None:
    """What the server parses from the literal is exactly the list, whatever it contains."""
    row = conn.execute("SELECT %s::text[]", (text_array(values),)).fetchone()
    assert row is not None and row[0] == values


def test_text_array_matches_ids_and_not_more(conn: psycopg.Connection[Any]) -> None:
    """Bound to ANY(), a literal selects exactly its elements (no pattern, no injection)."""
    conn.execute("CREATE TEMP TABLE t (id text)")
    for v in ("a", 'b"c', "d\\e", "x", "a,b", "NULL"):
        conn.execute("INSERT INTO t VALUES (%s)", (v,))
    want = ['b"c', "d\\e", "a,b", "NULL"]
    got = conn.execute(
        "SELECT id FROM t WHERE id = ANY(%s::text[]) ORDER BY id", (text_array(want),)
    )
    assert [r[0] for r in got] == sorted(want)
