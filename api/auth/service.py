"""Who is calling: bearer tokens, dashboard passwords and the sign-in lockout.

Tokens are ``wr_<token_id>_<secret>`` (API) or ``ws_<session_id>_<secret>`` (a dashboard
session from password sign-in). The id part finds the row; ``sha256(secret)`` is compared
with :func:`hmac.compare_digest`, so response time does not depend on how much of a
guessed secret was right, and the database never sees the secret or its hash in a WHERE.
Passwords are hashed with argon2id (RFC 9106 parameters); older scrypt hashes still verify
and are rehashed on the next successful sign-in.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import argon2
import psycopg

from api.auth import repository as repo
from api.errors import Unauthenticated
from core.errors import Conflict, InvalidInput
from core.settings import Settings

Conn = psycopg.Connection[Any]

ROLES = ("insurer", "clinic", "member", "admin")
_API_PREFIX = "wr"
_SESSION_PREFIX = "ws"
# Passwords: argon2id with RFC 9106's second recommended parameters ("low memory"):
# t=3 passes over m=64 MiB with p=4 lanes, a 16-byte salt and a 32-byte tag (about 0.2 s
# per guess on the development machine). argon2-cffi encodes them in the stored string
# ($argon2id$v=19$m=65536,t=3,p=4$...), so raising them later rehashes on sign-in.
_HASHER = argon2.PasswordHasher.from_parameters(argon2.profiles.RFC_9106_LOW_MEMORY)
# Hashes written before argon2id: scrypt$n$r$p$salt$key (n=2^14, r=8, p=1). They still
# verify, and the next successful sign-in replaces them with an argon2id hash.
_SCRYPT_MAXMEM = 64 * 1024 * 1024


DEFAULT_TOKEN_TTL_S = 90 * 24 * 3600  # Settings.api_token_ttl_s's default


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. ``tenant_id``: insurer id, clinic_id or member_id.

    ``credential_id`` and ``credential_kind`` (``token`` or ``session``) name the
    credential the request came with, so sign-out and rotation act on that one."""

    principal_id: int
    role: str
    tenant_id: str | None
    name: str
    credential_id: str | None = None
    credential_kind: str | None = None


@dataclass(frozen=True)
class Issued:
    """A new bearer credential: shown once, stored only hashed."""

    token: str
    expires_at: datetime
    kind: str


@dataclass(frozen=True)
class SignIn:
    """The outcome of a password sign-in; ``token`` is set only on success."""

    ok: bool
    token: str | None = None
    expires_at: datetime | None = None
    principal: Principal | None = None
    retry_after_s: int | None = None  # set when the account is locked
    account_id: int | None = None  # the principal named, when one is (for the audit row)
    throttled: bool = False  # the client address, not the account, is refused for now


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def _verify_scrypt(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt_hex, key_hex = stored.split("$")
        key = hashlib.scrypt(
            password.encode(),
            salt=bytes.fromhex(salt_hex),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=_SCRYPT_MAXMEM,
        )
    except ValueError:
        return False
    return hmac.compare_digest(key, bytes.fromhex(key_hex))


def verify_password(password: str, stored: str | None) -> bool:
    """Constant-time check; an absent hash still costs one argon2id (no user enumeration)."""
    return check_password(password, stored)[0]


def check_password(password: str, stored: str | None) -> tuple[bool, bool]:
    """(matches, needs a new hash): legacy scrypt hashes and argon2id hashes with older
    parameters are rehashed by the caller once the password is known to be right."""
    if not stored:
        hash_password(password)  # burn the same time as a real check
        return False, False
    if stored.startswith("scrypt$"):
        return _verify_scrypt(password, stored), True
    try:
        _HASHER.verify(stored, password)
    except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
        return False, False
    return True, _HASHER.check_needs_rehash(stored)


def create_principal(
    conn: Conn,
    *,
    role: str,
    tenant_id: str | None,
    name: str,
    password: str | None = None,
    token_ttl_s: int = DEFAULT_TOKEN_TTL_S,
) -> str:
    """Create a principal and return its bearer token (shown once, stored only hashed)."""
    return create_principal_issued(
        conn, role=role, tenant_id=tenant_id, name=name, password=password, token_ttl_s=token_ttl_s
    )[1].token


def create_principal_issued(
    conn: Conn,
    *,
    role: str,
    tenant_id: str | None,
    name: str,
    password: str | None,
    token_ttl_s: int,
) -> tuple[int, Issued]:
    """:func:`create_principal` returning the new principal's id and its token's expiry."""
    if role not in ROLES:
        raise InvalidInput(
            f"unknown role {role!r}", errors=[{"field": "role", "message": f"one of {ROLES}"}]
        )
    if (role == "admin") != (tenant_id is None):
        raise InvalidInput(
            "admins have no tenant; every other role needs one",
            errors=[{"field": "tenant_id", "message": "required unless role is admin"}],
        )
    if tenant_id is not None and (
        not tenant_id.strip() or not repo.tenant_exists(conn, role, tenant_id)
    ):
        # An empty or unknown tenant would make a principal that sees nothing, or, worse,
        # whatever is created later under that id.
        raise InvalidInput(
            f"no {role} {tenant_id!r} to attach this principal to",
            errors=[{"field": "tenant_id", "message": f"an existing {role} id"}],
        )
    pid = repo.insert_principal(
        conn,
        role=role,
        tenant_id=tenant_id,
        name=name,
        password_hash=hash_password(password) if password else None,
    )
    if pid is None:
        raise Conflict(
            f"a principal named {name!r} already exists",
            errors=[{"field": "name", "message": "already taken"}],
        )
    return pid, issue_token(conn, pid, token_ttl_s)


def issue_token(conn: Conn, principal_id: int, ttl_s: int) -> Issued:
    """A new ``wr_`` API token for the principal, valid ``ttl_s`` seconds."""
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    expires = repo.insert_token(
        conn, token_id=token_id, principal_id=principal_id, token_hash=_digest(secret), ttl_s=ttl_s
    )
    return Issued(f"{_API_PREFIX}_{token_id}_{secret}", expires, "token")


def _issue_session(conn: Conn, principal_id: int, ttl_s: int) -> Issued:
    session_id = secrets.token_hex(12)
    secret = secrets.token_urlsafe(32)
    expires = repo.insert_session(
        conn, session_id=session_id, principal_id=principal_id, token_hash=_digest(secret),
        ttl_s=ttl_s,
    )  # fmt: skip
    return Issued(f"{_SESSION_PREFIX}_{session_id}_{secret}", expires, "session")


def authenticate(conn: Conn, token: str) -> Principal:
    """The principal a bearer token belongs to, or :class:`Unauthenticated`.

    Revoked and expired tokens and sessions are refused like unknown ones."""
    prefix, _, rest = token.partition("_")
    key_id, _, secret = rest.partition("_")
    if not key_id or not secret or prefix not in {_API_PREFIX, _SESSION_PREFIX}:
        raise Unauthenticated("malformed bearer token")
    if prefix == _API_PREFIX:
        row = repo.principal_by_token_id(conn, key_id)
    else:
        row = repo.principal_by_session(conn, key_id)
    # Compare against a dummy when the id is unknown, so both paths cost the same.
    stored = bytes(row["token_hash"]) if row else b"\0" * 32
    if not hmac.compare_digest(stored, _digest(secret)) or row is None:
        raise Unauthenticated("unknown or expired bearer token")
    kind = "token" if prefix == _API_PREFIX else "session"
    return Principal(
        int(row["principal_id"]), row["role"], row["tenant_id"], row["name"], key_id, kind
    )


def sign_out(conn: Conn, who: Principal) -> None:
    """End the session this request came with (an API token is not a session)."""
    if who.credential_kind != "session" or who.credential_id is None:
        raise Conflict(
            "this request carries an API token, not a session: revoke it with"
            " DELETE /auth/credentials/{credential_id}",
            errors=[{"field": "header.authorization", "message": "not a session token"}],
        )
    repo.delete_sessions(conn, who.principal_id, who.credential_id)


def rotate(conn: Conn, settings: Settings, who: Principal) -> Issued:
    """Replace the credential this request came with by a new one of the same kind; the old
    one stops working with this transaction's commit."""
    assert who.credential_id is not None
    if who.credential_kind == "session":
        repo.delete_sessions(conn, who.principal_id, who.credential_id)
        return _issue_session(conn, who.principal_id, settings.api_session_ttl_s)
    repo.revoke_tokens(conn, who.principal_id, who.credential_id)
    return issue_token(conn, who.principal_id, settings.api_token_ttl_s)


def credentials(conn: Conn, principal_id: int) -> list[dict[str, Any]]:
    return repo.credentials(conn, principal_id)


def revoke(conn: Conn, principal_id: int, credential_id: str) -> bool:
    """Revoke one of the principal's own tokens or end one of its sessions; False if it has
    no such live credential."""
    done = repo.revoke_tokens(conn, principal_id, credential_id)
    return bool(done or repo.delete_sessions(conn, principal_id, credential_id))


def principal_named(conn: Conn, name: str) -> Principal | None:
    row = repo.principal_by_name(conn, name)
    if row is None:
        return None
    return Principal(int(row["principal_id"]), row["role"], row["tenant_id"], row["name"])


def revoke_all_tokens(conn: Conn, principal_id: int) -> tuple[int, int]:
    """Revoke every API token of a principal (its sessions stay): (tokens, 0)."""
    return repo.revoke_tokens(conn, principal_id), 0


def revoke_all(conn: Conn, principal_id: int) -> tuple[int, int]:
    """Revoke every token and end every session of a principal: (tokens, sessions)."""
    return repo.revoke_tokens(conn, principal_id), repo.delete_sessions(conn, principal_id)


def sign_in(conn: Conn, settings: Settings, name: str, password: str, client: str = "-") -> SignIn:
    """Check a password; throttle the client address and lock the account after too many
    failures.

    The client check comes first: a throttled address gets 429 without its guess being
    checked or counted against the account, so one address cannot lock someone's account
    (its limit, api_signin_client_max_failures, is below the account's). Returns an outcome
    instead of raising so the caller can commit the counters (raising would roll them
    back, and an attacker could then guess for free).
    """
    blocked = repo.client_blocked_for(conn, client)
    if blocked is not None:
        return SignIn(ok=False, retry_after_s=int(blocked) + 1, throttled=True)
    row = repo.principal_for_signin(conn, name)
    ok, rehash = check_password(password, row["password_hash"] if row else None)
    if row is None or not ok:
        repo.record_client_failure(
            conn,
            client,
            max_failures=settings.api_signin_client_max_failures,
            window_s=settings.api_signin_client_window_s,
            block_s=settings.api_signin_client_block_s,
        )
    if row is None:
        return SignIn(ok=False)
    locked_until: datetime | None = row["locked_until"]
    now: datetime = row["now"]
    account = int(row["principal_id"])
    if locked_until is not None and locked_until > now:
        retry_s = int((locked_until - now).total_seconds()) + 1
        return SignIn(ok=False, retry_after_s=retry_s, account_id=account)
    if not ok:
        after = repo.record_failed_signin(
            conn,
            account,
            max_failures=settings.api_signin_max_failures,
            lockout_s=settings.api_signin_lockout_s,
            lockout_max_s=settings.api_signin_lockout_max_s,
        )
        lock = after["locked_until"]
        retry = int((lock - now).total_seconds()) + 1 if lock is not None and lock > now else None
        return SignIn(ok=False, retry_after_s=retry, account_id=account)
    if rehash:
        repo.set_password_hash(conn, account, hash_password(password))
    repo.forget_client(conn, client)
    repo.reset_failed_signins(conn, int(row["principal_id"]))
    repo.delete_expired_sessions(conn)  # housekeeping, cheap on the expiry index
    issued = _issue_session(conn, int(row["principal_id"]), settings.api_session_ttl_s)
    principal = Principal(int(row["principal_id"]), row["role"], row["tenant_id"], row["name"])
    return SignIn(
        ok=True,
        token=issued.token,
        expires_at=issued.expires_at,
        principal=principal,
        account_id=account,
    )
