"""Fuzzing the insurer upload parser (``api.insurer.uploads``): JSON and CSV tables.

Uploads are payloads too: whatever bytes arrive under either content type must become rows
or a ``DomainError`` (a 4xx naming a field), never an exception that the app renders as 500.
Found here: a deeply nested JSON body raised ``RecursionError`` (fixed: one line), and two
CSV inputs escaped as ``csv.Error`` (fixed: the reader's errors name the row and line).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from api.insurer import uploads
from api.insurer.endpoints import ClaimIn
from core.errors import DomainError
from tests.api.conftest import World
from tests.fuzz.test_openapi import client  # noqa: F401  # fixture, used by name

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=12),
              st.floats(allow_nan=False, allow_infinity=False)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=10,
)  # fmt: skip
claim_like = st.fixed_dictionaries(
    {},
    optional={
        "claim_id": json_values, "member_id": json_values, "admitted_on": json_values,
        "discharged_on": json_values, "amount_yuan": json_values, "diagnosis": json_values,
    },
)  # fmt: skip


def _outcome(body: bytes, content_type: str) -> list[Any] | DomainError:
    try:
        return uploads.parse(ClaimIn, body, content_type)
    except DomainError as exc:
        assert 400 <= exc.status < 500
        assert exc.errors or exc.status == 415, exc.detail
        assert all(e["field"] and e["message"] for e in exc.errors)
        return exc


@settings(max_examples=300, deadline=None)
@given(
    doc=st.one_of(
        json_values,
        st.lists(claim_like, max_size=4),
        st.builds(lambda rows: {"rows": rows}, st.lists(claim_like, max_size=4)),
    )
)
def test_any_json_upload_is_rows_or_a_named_4xx(doc: Any) -> None:
    _outcome(json.dumps(doc).encode(), "application/json")


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=300),
    header=st.sampled_from(["", "claim_id,member_id,admitted_on\n", "member_id;x\n"]),
)
def test_any_csv_upload_is_rows_or_a_named_4xx(text: str, header: str) -> None:
    _outcome((header + text).encode(), "text/csv")


@settings(max_examples=100, deadline=None)
@given(
    body=st.binary(max_size=200),
    ct=st.sampled_from(["text/csv", "application/json", "", "text/plain", "application/csv"]),
)
def test_any_bytes_are_rows_or_a_4xx(body: bytes, ct: str) -> None:
    _outcome(body, ct)


def test_deeply_nested_json_is_a_400_not_a_500(client: TestClient, world: World) -> None:  # noqa: F811
    """Was RecursionError out of json.loads -> 500; an 8 MiB body limit allows far deeper."""
    body = b"[" * 30_000 + b"]" * 30_000  # under the tests' 64 KiB body limit
    r = client.post("/insurer/claims", content=body, headers={
        **world.auth("insurer"), "content-type": "application/json"})  # fmt: skip
    assert r.status_code == 400, r.text
    assert r.json()["errors"][0]["field"] == "body"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (b"claim_id\n" + b"x" * 200_000 + b"\n", "rows[0]", "line 2: field larger than"),
        (b'claim_id\nk1\n"a\rb"\rc\n', "rows[1]", "line 3: new-line character seen"),
        (
            b"claim_id,member_id\nk1,m1\nk2,m\x002\n",
            "rows[1].member_id",
            "line 3: must not contain the NUL character",
        ),
    ],
    ids=["field-over-csv-limit", "cr-in-unquoted-field", "nul-in-a-cell"],
)
def test_csv_reader_errors_are_422_naming_the_row(body: bytes, field: str, message: str) -> None:
    """Were csv.Error escaping as 500 (a field over 131,072 characters, CR in a bare field)."""
    exc = _outcome(body, "text/csv")
    assert isinstance(exc, DomainError) and exc.status == 422, exc
    assert [e["field"] for e in exc.errors] == [field]
    assert exc.errors[0]["message"].startswith(message), exc.errors


def test_a_csv_reader_error_is_a_problem_over_http(client: TestClient, world: World) -> None:  # noqa: F811
    r = client.post("/insurer/claims", content=b'claim_id\n"a\rb"\rc\n', headers={
        **world.auth("insurer"), "content-type": "text/csv"})  # fmt: skip
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["field"] == "rows[0]"
