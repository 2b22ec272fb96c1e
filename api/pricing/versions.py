"""A product's versions as Huimin Bao sells them: one price each, and the benefits it buys.

Why: city products are sold as versions at one price each (seed: Mianyang 2025, 普惠款 89
yuan and 优选款 129 yuan), and they reward continuous enrollment by cutting the annual
deductible (to 10,000 and 8,000 yuan), not only the premium. A version is its price (one
band for all ages unless the rulebook declares age rating) and its benefits: the annual
deductible and how continuous enrollment cuts it, the reimbursement rates (in-list,
out-of-list, special drugs; a lower rate for pre-existing conditions where the product
says so) and the annual cap.

A rulebook written before versions existed (``[base] bands`` and no ``[[versions]]``) reads
as one version without benefits, so stored rulebooks keep reproducing their quotes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from api.pricing.rulebook_fields import Fields

_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")


@dataclass(frozen=True)
class AgeBand:
    min_age: int
    max_age: int
    base_fen: int


@dataclass(frozen=True)
class Benefits:
    """What a version pays: money in fen, rates in basis points (integers only)."""

    deductible_fen: int  # the annual deductible before any continuous-enrollment cut
    deductible_cut_fen: int  # cut per continuous year counted by the ladder
    deductible_floor_fen: int  # the cuts stop here
    rate_in_list_bp: int  # basic-insurance list (医保目录内)
    rate_out_of_list_bp: int  # outside the list (医保目录外)
    rate_special_drugs_bp: int  # the product's special-drug list (特药)
    rate_preexisting_bp: int | None  # claims for pre-existing conditions, where lower
    cap_fen: int  # annual cap on what the version pays

    def deductible_after(self, years: int) -> int:
        """The deductible after ``years`` counted continuous years, never below the floor."""
        return max(self.deductible_floor_fen, self.deductible_fen - years * self.deductible_cut_fen)


@dataclass(frozen=True)
class Version:
    id: str
    name_en: str
    name_zh: str
    bands: tuple[AgeBand, ...]
    benefits: Benefits | None  # None: a rulebook written before versions (price only)

    def band_for(self, age: int) -> AgeBand | None:
        return next((b for b in self.bands if b.min_age <= age <= b.max_age), None)


def parse_bands(v: Fields, path: str, raw: Any) -> tuple[AgeBand, ...]:
    """Age bands covering 0-130 without gaps or overlaps, each with a price above 0."""
    if raw is None:
        v.fail(path, "is required")
        return ()
    if not isinstance(raw, list) or not raw:
        v.fail(path, "must be a non-empty list of {min_age, max_age, yuan}")
        return ()
    bands = []
    for i, b in enumerate(raw):
        p = f"{path}[{i}]"
        if not isinstance(b, dict):
            v.fail(p, "must be a table {min_age, max_age, yuan}")
            continue
        lo = v.integer(f"{p}.min_age", 0, 130, b.get("min_age", "missing"))
        hi = v.integer(f"{p}.max_age", 0, 130, b.get("max_age", "missing"))
        n_errors = len(v.errors)
        fen = v.yuan_fen(f"{p}.yuan", b.get("yuan", 0))
        if hi < lo:
            v.fail(f"{p}.max_age", "must not be below min_age")
        if fen <= 0 and len(v.errors) == n_errors:
            v.fail(f"{p}.yuan", "must be above 0")
        bands.append(AgeBand(lo, hi, fen))
    bands.sort(key=lambda b: b.min_age)
    expect = 0
    for b in bands:
        if b.min_age != expect:
            v.fail(path, f"ages must be covered without gaps or overlaps (at {expect})")
            break
        expect = b.max_age + 1
    return tuple(bands)


def _benefits(v: Fields, path: str, raw: Any) -> Benefits | None:
    if not isinstance(raw, dict):
        v.fail(path, "is required: deductible_yuan, rates and cap_yuan")
        return None

    def fen(key: str, default: str | None = None) -> int:
        if key not in raw and default is None:
            v.fail(f"{path}.{key}", "is required")
            return 0
        return v.yuan_fen(f"{path}.{key}", raw.get(key, default), hi=100_000_000)

    def rate(key: str) -> int:
        if key not in raw:
            v.fail(f"{path}.{key}", "is required")
            return 0
        return v.pct_bp(f"{path}.{key}", 0, 100, raw[key])

    ded = fen("deductible_yuan")
    b = Benefits(
        deductible_fen=ded,
        deductible_cut_fen=fen("deductible_cut_per_year_yuan", "0"),
        deductible_floor_fen=fen("deductible_floor_yuan", f"{ded / 100:.2f}"),
        rate_in_list_bp=rate("rate_in_list_pct"),
        rate_out_of_list_bp=rate("rate_out_of_list_pct"),
        rate_special_drugs_bp=rate("rate_special_drugs_pct"),
        rate_preexisting_bp=(
            rate("rate_preexisting_pct") if "rate_preexisting_pct" in raw else None
        ),
        cap_fen=fen("cap_yuan"),
    )
    if b.deductible_floor_fen > b.deductible_fen:
        v.fail(f"{path}.deductible_floor_yuan", "must not be above deductible_yuan")
    if b.cap_fen <= 0 and f"{path}.cap_yuan" not in {e["field"] for e in v.errors}:
        v.fail(f"{path}.cap_yuan", "must be above 0")
    if b.rate_preexisting_bp is not None and b.rate_preexisting_bp > b.rate_in_list_bp:
        v.fail(f"{path}.rate_preexisting_pct", "must not be above rate_in_list_pct")
    return b


def _one(v: Fields, i: int, raw: Any, rating: str) -> Version | None:
    path = f"versions[{i}]"
    if not isinstance(raw, dict):
        v.fail(path, "must be a table {id, name_en, name_zh, premium_yuan or bands, benefits}")
        return None
    vid = raw.get("id")
    if not isinstance(vid, str) or not _ID.match(vid):
        v.fail(f"{path}.id", "must be 1-32 lowercase letters, digits or '-'")
        vid = ""
    names = []
    for key in ("name_en", "name_zh"):
        name = raw.get(key)
        if not isinstance(name, str) or not name.strip():
            v.fail(f"{path}.{key}", "must be a non-empty string")
        names.append(name if isinstance(name, str) else "")
    if ("premium_yuan" in raw) == ("bands" in raw):
        v.fail(path, "give premium_yuan (one price for all) or bands (declared age rating)")
        bands: tuple[AgeBand, ...] = ()
    elif "premium_yuan" in raw:
        bands = (AgeBand(0, 130, v.yuan_fen(f"{path}.premium_yuan", raw["premium_yuan"])),)
    else:
        if rating != "age":
            v.fail(f"{path}.bands", 'age bands need base.rating = "age" (declared)')
        bands = parse_bands(v, f"{path}.bands", raw["bands"])
    return Version(
        vid, names[0], names[1], bands, _benefits(v, f"{path}.benefits", raw.get("benefits"))
    )


def parse_versions(v: Fields, rating: str) -> tuple[Version, ...]:
    """The product's versions, the first being the default (a member without an enrollment
    is quoted on it); or one benefit-less version from ``[base]`` in a rulebook without
    ``[[versions]]``."""
    raw = v.data.get("versions")
    if raw is None:
        vid = v.text("base.product_version")
        bands = parse_bands(v, "base.bands", v.get("base.bands"))
        return (Version(vid, vid, vid, bands, None),)
    if not isinstance(raw, list) or not raw:
        v.fail("versions", "must be a non-empty array of tables ([[versions]])")
        return ()
    out = [x for i, r in enumerate(raw) if (x := _one(v, i, r, rating)) is not None]
    ids = [x.id for x in out]
    if len(set(ids)) != len(ids):
        v.fail("versions", "ids must be unique")
    return tuple(out)
