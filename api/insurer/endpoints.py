"""``/insurer``: quotes, what-if, batch jobs, uploads, portfolio, member scores."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, model_validator

from api.auth.service import Principal
from api.deps import (
    SettingsDep,
    TxDep,
    get_pool,
    in_transaction,
    require,
    require_bearer,
)
from api.insurer import service, uploads
from api.insurer.schemas import (
    BatchStatusOut,
    BudgetCheckOut,
    DisclosureOut,
    EnrollmentUpload,
    MemberScoreOut,
    PortfolioOut,
    QuoteOut,
)

router = APIRouter(prefix="/insurer", tags=["insurer"])
Insurer = Annotated[Principal, Depends(require("insurer"))]
MemberIdStr = Annotated[str, Field(min_length=1, max_length=128)]
ProductId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$")]
PlanYear = Annotated[int, Field(ge=2000, le=2100)]

_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object", "properties": {"rows": {"type": "array"}}}
            },
            "text/csv": {"schema": {"type": "string"}},
        },
    }
}


class QuoteIn(BaseModel):
    member_id: MemberIdStr
    product_id: ProductId | None = None
    plan_year: PlanYear | None = None


class WhatIfIn(QuoteIn):
    what_if: dict[str, float | bool | None] = Field(
        min_length=1,
        max_length=20,
        description='Indicator overrides, e.g. {"cgm.tir": 75} ("if time in range reaches 75%").',
    )


class BatchIn(BaseModel):
    product_id: ProductId | None = None
    plan_year: PlanYear | None = None
    member_ids: list[MemberIdStr] | None = Field(
        default=None, max_length=1_000_000, description="Omit to quote the whole book."
    )


class BatchOut(BaseModel):
    job_id: str
    status_url: str
    results_url: str


class ClaimIn(BaseModel):
    claim_id: str = Field(min_length=1, max_length=128)
    member_id: MemberIdStr
    admitted_on: date
    discharged_on: date | None = None
    amount_yuan: Decimal = Field(default=Decimal(0), ge=0, max_digits=12, decimal_places=2)
    diagnosis: str | None = Field(default=None, pattern=r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")

    @model_validator(mode="after")
    def _order(self) -> ClaimIn:
        if self.discharged_on is not None and self.discharged_on < self.admitted_on:
            raise ValueError("discharged_on is before admitted_on")
        return self


class UploadOut(BaseModel):
    rows: int


def _product(settings: Any, product_id: str | None, plan_year: int | None) -> tuple[str, int]:
    return (product_id or settings.api_default_product, plan_year or settings.api_default_plan_year)


@router.post(
    "/quotes",
    status_code=201,
    response_model=QuoteOut,
    response_model_exclude_unset=True,
    openapi_extra={"security": [{"bearer": []}]},
)
async def create_quote(body: QuoteIn, request: Request) -> dict[str, Any]:
    """Quote one member's next-year premium (stored, with its reasons, for audit).

    The hot path insurers call per member: one worker-thread hop (``in_transaction``). No
    dependencies but the body: FastAPI resolves each one per request, and on this path the
    token and settings dependencies cost ~60 us of the event loop's CPU (docs/api.md); the
    missing-token check runs inline, still before any thread or connection is taken.
    """
    require_bearer(request)
    product, year = _product(request.app.state.settings, body.product_id, body.plan_year)
    return await in_transaction(
        request,
        ("insurer",),
        lambda tx, who: service.quote(tx, who, body.member_id, product, year),
    )


@router.get("/quotes/{quote_id}", response_model=QuoteOut, response_model_exclude_unset=True)
def get_quote(
    quote_id: Annotated[str, Path(min_length=1, max_length=64)], tx: TxDep, who: Insurer
) -> dict[str, Any]:
    return service.get_quote(tx, who, quote_id)


@router.post("/what-if", response_model=QuoteOut, response_model_exclude_unset=True)
def what_if(body: WhatIfIn, tx: TxDep, who: Insurer, settings: SettingsDep) -> dict[str, Any]:
    """Simulate a quote with modified indicators; nothing is stored."""
    product, year = _product(settings, body.product_id, body.plan_year)
    return service.quote(tx, who, body.member_id, product, year, what_if=body.what_if)


@router.get(
    "/members/{member_id}/score",
    response_model=MemberScoreOut,
    response_model_exclude_unset=True,
)
def member_score(
    member_id: Annotated[str, Path(min_length=1, max_length=128)], tx: TxDep, who: Insurer
) -> dict[str, Any]:
    """The member's latest score (composite, components, indicator summaries; no readings)."""
    return service.member_score(tx, who, member_id)


@router.post("/batches", status_code=202, response_model=BatchOut)
def create_batch(
    body: BatchIn, request: Request, tx: TxDep, who: Insurer, settings: SettingsDep
) -> BatchOut:
    """Quote a batch (or the whole book) asynchronously; poll status, then stream results."""
    product, year = _product(settings, body.product_id, body.plan_year)
    job_id = service.start_batch(
        tx, who, settings, request.app.state.batch_threads, product, year, body.member_ids
    )
    return BatchOut(
        job_id=job_id,
        status_url=f"/insurer/batches/{job_id}",
        results_url=f"/insurer/batches/{job_id}/results",
    )


@router.get("/batches/{job_id}", response_model=BatchStatusOut, response_model_exclude_unset=True)
def batch_status(
    job_id: Annotated[str, Path(min_length=1, max_length=64)], tx: TxDep, who: Insurer
) -> dict[str, Any]:
    return service.batch_status(tx, who, job_id)


@router.get(
    "/batches/{job_id}/results",
    responses={200: {"content": {"text/csv": {}, "application/x-ndjson": {}}}},
)
def batch_results(
    job_id: Annotated[str, Path(min_length=1, max_length=64)],
    request: Request,
    tx: TxDep,
    who: Insurer,
    format: Annotated[Literal["csv", "ndjson"], Query()] = "ndjson",
) -> StreamingResponse:
    service.check_batch_results(tx, who, job_id, format)
    media = "text/csv; charset=utf-8" if format == "csv" else "application/x-ndjson"
    return StreamingResponse(
        service.stream_batch_results(get_pool(request), job_id, format), media_type=media
    )


@router.post("/enrollments", response_model=UploadOut, openapi_extra=_UPLOAD_BODY)
async def upload_enrollments(request: Request, tx: TxDep, who: Insurer) -> UploadOut:
    """Enrollment records, as JSON ``{"rows": [...]}`` or CSV with a header line."""
    rows = uploads.parse(
        EnrollmentUpload, await request.body(), request.headers.get("content-type", "")
    )
    n = await run_in_threadpool(service.upload_enrollments, tx, who, rows)
    return UploadOut(rows=n)


@router.post("/claims", response_model=UploadOut, openapi_extra=_UPLOAD_BODY)
async def upload_claims(request: Request, tx: TxDep, who: Insurer) -> UploadOut:
    """Hospitalisation claims, as JSON ``{"rows": [...]}`` or CSV with a header line."""
    rows = uploads.parse(ClaimIn, await request.body(), request.headers.get("content-type", ""))
    n = await run_in_threadpool(service.upload_claims, tx, who, rows)
    return UploadOut(rows=n)


@router.get("/budget-check", response_model=BudgetCheckOut, response_model_exclude_unset=True)
def budget_check(
    tx: TxDep,
    who: Insurer,
    settings: SettingsDep,
    product_id: Annotated[str | None, Query(max_length=64)] = None,
    plan_year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> dict[str, Any]:
    """By cohort: do the risk model's expected claim savings cover the discounts granted?"""
    product, year = _product(settings, product_id, plan_year)
    return service.budget_check(tx, who, product, year, settings.pricing_budget_margin_pct)


@router.get("/disclosure", response_model=DisclosureOut, response_model_exclude_unset=True)
def disclosure(
    tx: TxDep,
    who: Insurer,
    settings: SettingsDep,
    product_id: Annotated[str | None, Query(max_length=64)] = None,
    plan_year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> dict[str, Any]:
    """By age band and condition: quarterly indicators, discounts, loss ratio (small cells
    suppressed), for the members enrolled in the plan year."""
    product, year = _product(settings, product_id, plan_year)
    return service.disclosure(tx, who, product, year)


@router.get("/portfolio", response_model=PortfolioOut, response_model_exclude_unset=True)
def portfolio(
    tx: TxDep,
    who: Insurer,
    settings: SettingsDep,
    product_id: Annotated[str | None, Query(max_length=64)] = None,
    plan_year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> dict[str, Any]:
    """Smoothing-fund balance, total discount, its distribution by age band and condition."""
    product, year = _product(settings, product_id, plan_year)
    return service.portfolio(tx, who, product, year)
