"""A quote as the engine prices it and as it is stored: its components with their
reasons, and every version the member may choose with its premium and benefits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from api.pricing import benefits, engine
from api.pricing.inputs import QuoteInputs
from api.pricing.money import fen_of, money
from api.pricing.rulebook import Rulebook


def yuan(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class QuoteComponent:
    code: str
    pct: Decimal
    yuan: Decimal
    reason_en: str
    reason_zh: str
    data_dependent: bool


@dataclass(frozen=True)
class Quote:
    quote_id: str | None  # None for a what-if (never stored)
    member_id: str
    product_id: str
    plan_year: int
    rulebook_version: str
    rulebook_sha256: str
    base_premium: Decimal
    unsmoothed_premium: Decimal
    premium: Decimal
    premium_fen: int
    components: tuple[QuoteComponent, ...]
    smoothing: dict[str, Any]
    created_at: datetime | None
    inputs: QuoteInputs | None = field(default=None, repr=False)
    # The risk model in force when the quote was made: it does not change the
    # premium, it is what the discount-budget check of this quote's cohort used.
    model_version: str | None = None
    # The version priced above (the one held last year, else the default), its benefits,
    # and every version the member may choose with its premium and benefits.
    version_id: str | None = None
    benefits: dict[str, Any] | None = None
    versions: tuple[dict[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "quote_id": self.quote_id,
            "member_id": self.member_id,
            "product_id": self.product_id,
            "plan_year": self.plan_year,
            "rulebook_version": self.rulebook_version,
            "rulebook_sha256": self.rulebook_sha256,
            # JSON numbers for display (what FastAPI makes of a Decimal anyway); the exact
            # amounts are the integer fen fields, computed and stored without floats.
            "base_premium": float(self.base_premium),
            "unsmoothed_premium": float(self.unsmoothed_premium),
            "premium": float(self.premium),
            "base_premium_fen": int(self.base_premium * 100),
            "premium_fen": self.premium_fen,
            "components": [c.__dict__.copy() for c in self.components],
            "smoothing": self.smoothing,
            "created_at": self.created_at,
            "stored": self.quote_id is not None,
            "model_version": self.model_version,
            "integrity_holds": list(self.inputs.integrity_holds) if self.inputs else [],
            "version_id": self.version_id,
            "benefits": self.benefits,
            "versions": list(self.versions),
        }


def components_json(
    rb: Rulebook, p: engine.Priced, inp: QuoteInputs | None = None
) -> list[dict[str, Any]]:
    """Each priced line; with open integrity flags, data-dependent lines are marked held.

    A hold neither cuts nor silently grants: the amount is shown, marked as waiting for a
    reviewer's decision on the flagged data.
    """
    held = bool(inp is not None and inp.integrity_holds)
    flags = ", ".join(f"#{h['flag_id']}" for h in inp.integrity_holds) if inp and held else ""
    return [
        {
            "code": ln.code,
            "pct": money(ln.bp),  # basis points -> percent with 2 decimals
            "yuan": money(fen_of(p.base_fen, ln.bp)),
            "reason_en": ln.reason_en
            + (f" [held for review of data flags {flags}]" if held and ln.data_dependent else ""),
            "reason_zh": ln.reason_zh
            + (f"［数据核查中：{flags}］" if held and ln.data_dependent else ""),
            "data_dependent": ln.data_dependent,
            "held": held and ln.data_dependent,
        }
        for ln in p.lines
    ]


def versions_json(
    rb: Rulebook, inp: QuoteInputs, every: list[engine.Priced]
) -> list[dict[str, Any]]:
    """Every version the member may choose: its premium next year and its benefits, the
    deductible cut for continuous enrollment with its reason (zh-CN and en)."""
    held = rb.version_named(inp.held_version).id
    out = []
    for p in every:
        ver = rb.version_named(p.version_id)
        out.append(
            {
                "version_id": ver.id,
                "name_en": ver.name_en,
                "name_zh": ver.name_zh,
                "held": ver.id == held,
                "base_premium_fen": p.base_fen,
                "base_premium": money(p.base_fen),
                "premium_fen": p.premium_fen,
                "premium": money(p.premium_fen),
                "unsmoothed_fen": p.unsmoothed_fen,
                "smoothing_applied": bool(p.smoothing.get("applied")),
                "benefits": benefits.terms(rb, ver, inp),
            }
        )
    return out


def _components(docs: list[dict[str, Any]]) -> tuple[QuoteComponent, ...]:
    return tuple(
        QuoteComponent(
            c["code"], Decimal(c["pct"]), Decimal(c["yuan"]), c["reason_en"], c["reason_zh"],
            bool(c.get("data_dependent", True)),
        )
        for c in docs
    )  # fmt: skip


def quote_from_row(row: dict[str, Any]) -> Quote:
    versions = tuple(row.get("versions") or ())
    held = next((v for v in versions if v.get("held")), None)
    return Quote(
        quote_id=row["quote_id"],
        member_id=row["member_id"],
        product_id=row["product_id"],
        plan_year=row["plan_year"],
        rulebook_version=row["rulebook_version"],
        rulebook_sha256=row["rulebook_sha256"],
        base_premium=yuan(row["base_fen"]),
        unsmoothed_premium=yuan(row["unsmoothed_fen"]),
        premium=yuan(row["premium_fen"]),
        premium_fen=row["premium_fen"],
        components=_components(row["components"]),
        smoothing=row["smoothing"],
        created_at=row["created_at"],
        inputs=QuoteInputs.from_json(row["inputs"]),
        model_version=row.get("model_version"),
        version_id=row.get("version_id"),
        benefits=held["benefits"] if held else None,
        versions=versions,
    )


def priced_quote(
    rb: Rulebook,
    inp: QuoteInputs,
    p: engine.Priced,
    quote_id: str | None,
    created_at: datetime | None,
    model_version: str | None,
    every: list[engine.Priced] | None = None,
    docs: tuple[list[dict[str, Any]], list[dict[str, Any]]] | None = None,
) -> Quote:
    """The quote a pricing returns: its components with their reasons (held ones marked).
    ``docs``: :func:`quote_docs` already built for the stored row (built once per quote)."""
    comps, vers = docs or quote_docs(rb, p, inp, every)
    held = next((v for v in vers if v["version_id"] == p.version_id), None)
    return Quote(
        quote_id=quote_id,
        member_id=inp.member_id,
        product_id=inp.product_id,
        plan_year=inp.plan_year,
        rulebook_version=rb.version,
        rulebook_sha256=rb.sha256,
        base_premium=yuan(p.base_fen),
        unsmoothed_premium=yuan(p.unsmoothed_fen),
        premium=yuan(p.premium_fen),
        premium_fen=p.premium_fen,
        components=_components(comps),
        smoothing=p.smoothing,
        created_at=created_at,
        inputs=inp,
        model_version=model_version,
        version_id=p.version_id,
        benefits=held["benefits"] if held else None,
        versions=tuple(vers),
    )


def quote_docs(
    rb: Rulebook, p: engine.Priced, inp: QuoteInputs, every: list[engine.Priced] | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The components and versions documents, shared by the stored row and the response."""
    return components_json(rb, p, inp), versions_json(rb, inp, every or [p])
