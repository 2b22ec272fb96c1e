"""``/auth``: dashboard sign-in (HTTP Basic -> session bearer token) and ``/auth/me``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import BaseModel

from api.auth import service
from api.deps import PrincipalDep, SettingsDep, TxDep
from api.errors import Unauthenticated, problem

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
    tx: TxDep,
    settings: SettingsDep,
) -> SessionOut | JSONResponse:
    """Sign in with a password; repeated failures lock the account with growing backoff."""
    outcome = service.sign_in(tx.conn, settings, creds[0], creds[1])
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
            "sign-in is locked for this account; retry later",
            code="too-many-attempts",
            headers={"Retry-After": str(outcome.retry_after_s)},
        )
    return problem(
        401,
        "Authentication required",
        "wrong name or password",
        code="unauthenticated",
        headers={"WWW-Authenticate": 'Basic realm="wellrate"'},
    )


@router.get("/me", response_model=MeOut)
def me(principal: PrincipalDep) -> MeOut:
    return MeOut(name=principal.name, role=principal.role, tenant_id=principal.tenant_id)
