"""``/auth``: dashboard sign-in and sign-out, who am I, and one's own credentials.

Every sign-in (success or failure), sign-out, rotation and revocation writes an audit row
in the request's transaction (a failed sign-in's commits with its failure counter).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import BaseModel, Field

from api.audit import repository as audit_repo
from api.audit import service as audit
from api.auth import service
from api.deps import PrincipalDep, SettingsDep, TxDep
from api.errors import Unauthenticated, problem
from core.errors import NotFound

router = APIRouter(prefix="/auth", tags=["auth"])


class SessionOut(BaseModel):
    token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 scheme name, not a secret
    expires_at: datetime
    role: str
    tenant_id: str | None


class MeOut(BaseModel):
    name: str
    role: str
    tenant_id: str | None


class CredentialOut(BaseModel):
    credential_id: str
    kind: Literal["token", "session"]
    created_at: datetime
    expires_at: datetime
    current: bool


class IssuedOut(BaseModel):
    token: str = Field(description="Shown once; only its hash is stored.")
    kind: Literal["token", "session"]
    expires_at: datetime


_BASIC = HTTPBasic(auto_error=False, scheme_name="password", realm="wellrate")


async def basic_credentials(
    creds: Annotated[HTTPBasicCredentials | None, Depends(_BASIC)],
) -> tuple[str, str]:
    """``Authorization: Basic`` name and password; 401 when absent or malformed."""
    if creds is None or not creds.username or not creds.password:
        raise Unauthenticated("HTTP Basic credentials (name:password) are required")
    return creds.username, creds.password


@router.post(
    "/sessions",
    response_model=SessionOut,
    responses={401: {"description": "bad credentials"}, 429: {"description": "locked"}},
)
def create_session(
    creds: Annotated[tuple[str, str], Depends(basic_credentials)],
    request: Request,
    tx: TxDep,
    settings: SettingsDep,
) -> SessionOut | JSONResponse:
    """Sign in with a password. Repeated failures throttle the client address, then lock the
    account with growing backoff (429 with Retry-After)."""
    client = request.client.host if request.client else "-"
    outcome = service.sign_in(tx.conn, settings, creds[0], creds[1], client)
    # The audit row names the account by id, never by the name typed (it may be a password
    # typed in the wrong field); an unknown name is recorded as such.
    # A failure is an unauthenticated attempt (principal_id NULL) against the account named
    # in ``detail``; a success is the account signing in.
    who = outcome.principal
    audit_repo.insert(
        tx.conn,
        principal_id=who.principal_id if who else None,
        role=who.role if who else None,
        tenant_id=who.tenant_id if who else None,
        action="auth.signin",
        member_id=None,
        outcome="allowed" if outcome.ok else "denied",
        detail={
            "account_id": outcome.account_id,
            "locked": outcome.retry_after_s is not None and not outcome.throttled,
            "throttled": outcome.throttled,
        },
    )
    if outcome.ok and outcome.token and outcome.expires_at and outcome.principal:
        return SessionOut(
            token=outcome.token,
            expires_at=outcome.expires_at,
            role=outcome.principal.role,
            tenant_id=outcome.principal.tenant_id,
        )
    # Returned, not raised: the failure counter must commit with this request.
    if outcome.retry_after_s is not None:
        return problem(
            429,
            "Too many attempts",
            "too many failed sign-ins from this address; retry later"
            if outcome.throttled
            else "sign-in is locked for this account; retry later",
            code="too-many-attempts",
            headers={"Retry-After": str(outcome.retry_after_s)},
        )
    # No "WWW-Authenticate: Basic" (finding 15): that challenge makes a browser open its own
    # password dialog over the dashboard; the page shows "wrong user name or password".
    return problem(
        401,
        "Authentication required",
        "wrong name or password",
        code="unauthenticated",
        headers={"WWW-Authenticate": 'Bearer realm="wellrate"'},
    )


@router.delete("/sessions", status_code=204)
def delete_session(tx: TxDep, who: PrincipalDep) -> None:
    """Sign out: the session this request carries ends now, on the server."""
    service.sign_out(tx.conn, who)
    audit.record(tx.conn, who, "auth.signout", None, detail={"session": who.credential_id})


@router.get("/me", response_model=MeOut)
def me(principal: PrincipalDep) -> MeOut:
    return MeOut(name=principal.name, role=principal.role, tenant_id=principal.tenant_id)


@router.get("/credentials", response_model=list[CredentialOut])
def list_credentials(tx: TxDep, who: PrincipalDep) -> list[CredentialOut]:
    """Your live API tokens and sessions (ids and expiry, never a secret)."""
    return [
        CredentialOut(**c, current=c["credential_id"] == who.credential_id)
        for c in service.credentials(tx.conn, who.principal_id)
    ]


@router.post("/credentials/rotate", response_model=IssuedOut, status_code=201)
def rotate_credential(tx: TxDep, who: PrincipalDep, settings: SettingsDep) -> IssuedOut:
    """Replace the token or session this request carries by a new one; the old one stops
    working at once."""
    issued = service.rotate(tx.conn, settings, who)
    audit.record(
        tx.conn,
        who,
        "auth.credential.rotate",
        None,
        detail={"kind": issued.kind, "credential_id": who.credential_id},
    )
    return IssuedOut(token=issued.token, kind=issued.kind, expires_at=issued.expires_at)  # type: ignore[arg-type]


@router.delete("/credentials/{credential_id}", status_code=204)
def revoke_credential(
    credential_id: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9a-f]+$")],
    tx: TxDep,
    who: PrincipalDep,
) -> None:
    """Revoke one of your own tokens or end one of your sessions."""
    if not service.revoke(tx.conn, who.principal_id, credential_id):
        raise NotFound("no such credential")
    audit.record(
        tx.conn, who, "auth.credential.revoke", None, detail={"credential_id": credential_id}
    )
