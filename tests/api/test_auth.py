"""Tokens are stored hashed; password sign-in works and locks after repeated failures."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.auth import service
from core.errors import Conflict, InvalidInput
from core.settings import Settings
from tests.api.conftest import CLINIC_A_PASSWORD, World


def _basic(name: str, password: str) -> dict[str, str]:
    raw = base64.b64encode(f"{name}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def test_tokens_and_passwords_are_never_stored_in_clear(
    conn: psycopg.Connection[Any], world: World
) -> None:
    rows = conn.execute(
        "SELECT name, token_id, token_hash, password_hash FROM api_principals"
    ).fetchall()
    dump = repr(rows)
    for token in world.tokens.values():
        secret = token.split("_", 2)[2]
        assert secret not in dump
        assert hashlib.sha256(secret.encode()).digest() in {bytes(r[2]) for r in rows}
    assert CLINIC_A_PASSWORD not in dump
    clinic = next(r for r in rows if r[0] == "clinic-a")
    assert clinic[3].startswith("scrypt$")
    assert service.verify_password(CLINIC_A_PASSWORD, clinic[3])
    assert not service.verify_password(CLINIC_A_PASSWORD + "!", clinic[3])


def test_create_principal_refuses_bad_tenancy_and_duplicates(
    conn: psycopg.Connection[Any], world: World
) -> None:
    with pytest.raises(InvalidInput):
        service.create_principal(conn, role="clinic", tenant_id=None, name="no-tenant")
    with pytest.raises(InvalidInput):
        service.create_principal(conn, role="admin", tenant_id="c1", name="tenant-admin")
    with pytest.raises(InvalidInput):
        service.create_principal(conn, role="clinic", tenant_id="", name="empty-tenant")
    with pytest.raises(InvalidInput):
        service.create_principal(conn, role="clinic", tenant_id="no-such-clinic", name="ghost")
    with pytest.raises(InvalidInput):
        service.create_principal(conn, role="member", tenant_id="no-such-member", name="ghost-m")
    with pytest.raises(Conflict):
        service.create_principal(conn, role="insurer", tenant_id="i", name="ins1")


def test_sign_in_gives_a_session_token_for_the_dashboard(client: TestClient, world: World) -> None:
    resp = client.post("/auth/sessions", headers=_basic("clinic-a", CLINIC_A_PASSWORD))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["role"] == "clinic" and body["tenant_id"] == "c1"
    assert body["token"].startswith("ws_")
    me = client.get("/auth/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.json() == {"name": "clinic-a", "role": "clinic", "tenant_id": "c1"}
    patients = client.get("/clinic/patients", headers={"Authorization": f"Bearer {body['token']}"})
    assert {p["member_id"] for p in patients.json()["items"]} == {"m1", "m3"}


def test_expired_sessions_are_refused(
    client: TestClient, world: World, conn: psycopg.Connection[Any]
) -> None:
    token = client.post("/auth/sessions", headers=_basic("clinic-a", CLINIC_A_PASSWORD)).json()[
        "token"
    ]
    conn.execute("UPDATE api_sessions SET expires_at = now() - interval '1 second'")
    assert client.get("/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_unknown_name_and_principal_without_password_fail_alike(
    client: TestClient, world: World
) -> None:
    for name in ("nobody", "ins1"):  # ins1 exists but has no password
        resp = client.post("/auth/sessions", headers=_basic(name, "whatever-password"))
        assert resp.status_code == 401
        assert resp.json()["detail"] == "wrong name or password"


def test_repeated_failures_lock_the_account_with_backoff(
    client: TestClient, world: World, api_settings: Settings, conn: psycopg.Connection[Any]
) -> None:
    bad = _basic("clinic-a", "not the password")
    limit = api_settings.api_signin_max_failures
    for _ in range(limit - 1):
        assert client.post("/auth/sessions", headers=bad).status_code == 401
    locking = client.post("/auth/sessions", headers=bad)
    assert locking.status_code == 429
    first_wait = int(locking.headers["Retry-After"])
    assert 0 < first_wait <= api_settings.api_signin_lockout_s + 1
    # While locked, even the right password is refused (guessing gains nothing).
    right = client.post("/auth/sessions", headers=_basic("clinic-a", CLINIC_A_PASSWORD))
    assert right.status_code == 429
    assert right.headers["content-type"].startswith("application/problem+json")
    failed = conn.execute(
        "SELECT failed_signins FROM api_principals WHERE name = 'clinic-a'"
    ).fetchone()
    assert failed == (limit,)
    # After the lock expires, one more failure doubles the wait.
    conn.execute("UPDATE api_principals SET locked_until = now() - interval '1 second'")
    again = client.post("/auth/sessions", headers=bad)
    assert again.status_code == 429
    assert int(again.headers["Retry-After"]) > first_wait
    # And a success after expiry resets the counter.
    conn.execute("UPDATE api_principals SET locked_until = now() - interval '1 second'")
    assert (
        client.post("/auth/sessions", headers=_basic("clinic-a", CLINIC_A_PASSWORD)).status_code
        == 200
    )
    assert conn.execute(
        "SELECT failed_signins, locked_until FROM api_principals WHERE name = 'clinic-a'"
    ).fetchone() == (0, None)


@pytest.mark.parametrize(
    "header", ["Basic", "Basic !!!", "Basic " + base64.b64encode(b"x").decode()]
)
def test_malformed_basic_credentials_are_401(client: TestClient, header: str) -> None:
    resp = client.post("/auth/sessions", headers={"Authorization": header})
    assert resp.status_code == 401
