"""Score one chunk of members: load its readings, compute, write its score rows and alerts.

Why a chunk at a time: memory must not grow with the book. A chunk's readings arrive as
numpy arrays (``scoring.repository``); BP, activity and CGM go through the columnar
indicator paths for the whole chunk at once (``indicators.bp``, ``.activity``, ``.cgm``),
fingersticks member by member for the few members who have them, and the composite
through ``composite.composite_many``. The rows and alerts are written in the caller's
transaction, so a crash loses at most the chunk in flight and a re-run replaces rows
rather than doubling them.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from core.payload_format import MEAL_CONTEXTS
from scoring import clinic_data
from scoring import repository as repo
from scoring.alerts import bp_alerts, control_alerts, hypo_alerts
from scoring.composite import composite_many
from scoring.config import ScoringConfig
from scoring.control import control_block
from scoring.indicators.activity import activity_table
from scoring.indicators.bp import home_bp_table
from scoring.indicators.cgm import cgm_indicators, cgm_many
from scoring.indicators.grouped import medians, offsets
from scoring.indicators.hospitalisation import hospitalisation_indicators
from scoring.indicators.rules import CGM_DAYS, CGM_NOMINAL_INTERVAL_S, DAY_S
from scoring.indicators.smbg import smbg_indicators
from scoring.version import ALGORITHM_VERSION
from scoring.window import Window, age

# The indicator columns the composite reads from the CGM and fingerstick dicts (numbers as
# float64 with NaN for None, whole counts as int64, the GRI zone letter as an object).
_CGM_FLOAT = ("active_pct", "tir", "tbr70", "tbr54", "gri")
_SMBG_FLOAT = ("pct_fasting_in_target", "pct_postprandial_in_target", "hypo_l2")

_NO_T = np.zeros(0, dtype=np.int64)
_NO_V = np.zeros(0, dtype=np.float64)
_NO_B = np.zeros(0, dtype=np.bool_)
# What members without readings get: one shared (never mutated) dict each, since copying
# it per member cost more than the CGM arithmetic of a chunk.
_EMPTY_CGM = cgm_indicators(_NO_T, _NO_V, _NO_B, window_start_s=0, window_end_s=CGM_DAYS * DAY_S)
_EMPTY_SMBG = smbg_indicators(_NO_V, _NO_B, [])


class _Loaded(NamedTuple):
    """A chunk's readings (structured arrays sorted by member index) and claims."""

    bp: npt.NDArray[Any]
    glucose: npt.NDArray[Any]
    activity: npt.NDArray[Any]
    stays: dict[str, int]  # admissions in the window, per member
    baselines: dict[str, float | None]  # each member's first composite (improvement)
    nominal: npt.NDArray[np.float64]  # each member's CGM nominal interval, seconds
    labs: dict[str, Any]  # member -> LOINC -> results (scoring.clinic_data)
    fills: dict[str, Any]  # member -> drug class -> dispensing fills


def _load(conn: repo.Conn, ids: list[str], w: Window) -> _Loaded:
    t0, t1 = w.utc_range()
    nominal = repo.cgm_nominal_intervals(conn, ids, t0, t1)
    labs, fills = clinic_data.load(conn, ids, w)
    return _Loaded(
        repo.load_bp(conn, ids, t0, t1, w.d0, w.d1),
        repo.load_glucose(conn, ids, t0, t1, w.d0, w.d1, max(w.d0, w.d1 - CGM_DAYS)),
        repo.load_activity(conn, ids, t0, t1, w.d0, w.d1),
        repo.hospitalisations(conn, ids, w.start, w.end),
        repo.baselines(conn, ids, ALGORITHM_VERSION, w.start),
        np.array([nominal.get(i, CGM_NOMINAL_INTERVAL_S) for i in ids], dtype=np.float64),
        labs,
        fills,
    )


@contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """Run the block with Python's cyclic garbage collector paused.

    A chunk's score rows are about ten small dicts a member, built at once and never in a
    cycle (reference counting frees them); the collector walked them again and again while
    they were built, ~10 % of the compute (``python -m bench.score_bench --members 10000
    --cgm-members 200``, old and new code interleaved, 3 runs each: the service's compute
    0.56 -> 0.50 s on average). Whatever cycle the block makes is collected
    when the collector runs again after it; the pause lasts one chunk.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def score_chunk(
    conn: repo.Conn, members: Sequence[repo.MemberRow], w: Window, cfg: ScoringConfig
) -> dict[str, int]:
    """Load, score and write one chunk of members inside the caller's transaction."""
    ids = [m.member_id for m in members]
    clock = time.perf_counter()
    data = _load(conn, ids, w)
    loaded = time.perf_counter()
    with _without_cycle_collection():
        rows = _score_rows(data, members, w, cfg)
        alerts = hypo_alerts(ids, data.glucose) + bp_alerts(ids, data.bp)
        alerts += control_alerts(rows, datetime.combine(w.end, datetime.min.time(), UTC))
    computed = time.perf_counter()
    repo.upsert_scores(conn, w.start, w.end, ALGORITHM_VERSION, rows)
    scored = sum(r.composite is not None for r in rows)
    new_alerts = repo.insert_alerts(conn, alerts)
    done = time.perf_counter()
    return {
        "members": len(rows),
        "scored": scored,
        "insufficient": len(rows) - scored,
        "readings": int(data.bp.size + data.glucose.size + data.activity.size),
        "alerts": new_alerts,
        # Where the time goes (ms): reading from the database, computing, writing.
        "load_ms": round(1000 * (loaded - clock)),
        "compute_ms": round(1000 * (computed - loaded)),
        "write_ms": round(1000 * (done - computed)),
    }


def _score_rows(
    data: _Loaded, members: Sequence[repo.MemberRow], w: Window, cfg: ScoringConfig
) -> list[repo.ScoreOut]:
    """Every member's indicators, composite, components and improvement: the score rows."""
    last = w.last_day  # a property: computed once, not once a member
    ages = np.array([age(m.birth_date, last) for m in members], dtype=np.int64)
    conditions = [m.conditions for m in members]
    bp, act = data.bp, data.activity
    # Home BP: validated devices only (ESH 2022), and not the readings taken at a clinic
    # (office BP, with its own threshold: scoring.clinic_data). Column masks, not row copies.
    ok = bp["ok"] & ~bp["clinic"]
    bp_ind, bp_cols = home_bp_table(
        bp["idx"][ok], bp["t"][ok], bp["off"][ok], bp["sys"][ok], bp["dia"][ok],
        cfg.bp_targets.for_members(ages, conditions),
    )  # fmt: skip
    act_ind, act_cols = activity_table(
        act["idx"], act["t"], act["off"], act["dur"], act["steps"], act["act"], act["vig"],
        window_days=w.days, ages=ages, device=act["dev"],
    )  # fmt: skip
    cgm_ind, smbg_ind, cgm_cols, smbg_cols = _glucose(w, data.glucose, data.nominal)
    composite, components = composite_many(
        bp_cols, cgm_cols, smbg_cols, act_cols,
        conditions=conditions, window_days=w.days, config=cfg,
    )  # fmt: skip
    no_stay = hospitalisation_indicators(0, w.days)  # shared, like the empty glucose dicts
    ids = [m.member_id for m in members]
    measured = clinic_data.indicators(ids, ages, conditions, bp, data.labs, data.fills, w)
    rows: list[repo.ScoreOut] = []
    for i, m in enumerate(members):
        stays = data.stays.get(m.member_id, 0)
        ind: dict[str, Any] = {
            "bp": bp_ind[i],
            "cgm": cgm_ind[i],
            "smbg": smbg_ind[i],
            "activity": act_ind[i],
            "hospitalisation": hospitalisation_indicators(stays, w.days) if stays else no_stay,
        }
        ind.update(measured[i])
        ind["control"] = control_block(m.conditions, int(ages[i]), ind)
        c = composite[i]
        b = data.baselines.get(m.member_id)
        imp = None if c is None or b is None else round(c - b, 2)
        rows.append(repo.ScoreOut(m.member_id, c, imp, components[i], ind))
    return rows


def _glucose(
    w: Window, glu: npt.NDArray[Any], nominal: npt.NDArray[np.float64]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], repo.Columns, repo.Columns]:
    """CGM (last 14 days of the window) and fingerstick indicators of a chunk's members.

    Members without readings share the empty dicts. Returns the dicts, then their columns.
    """
    n = nominal.size
    cgm_out, cgm_at = _cgm(w, glu, nominal)
    smbg_out, smbg_at = _smbg(glu, n)
    return (
        cgm_out,
        smbg_out,
        _doc_columns(cgm_out, cgm_at, _CGM_FLOAT, ("gri_zone",)),
        _doc_columns(smbg_out, smbg_at, _SMBG_FLOAT),
    )


def _cgm(
    w: Window, glu: npt.NDArray[Any], nominal: npt.NDArray[np.float64]
) -> tuple[list[dict[str, Any]], list[int]]:
    """CGM indicators of every wearer at once (``cgm_many``), and who the wearers are.

    A member's CGM window is cut at local midnight by the median of the offsets their
    readings carry. CGM rows are loaded from local day ``c0`` on
    (``repository.load_glucose``). Column by column with one mask: copying whole records of
    a structured array twice (CGM rows, then their last 14 days) was a fifth of the CGM time.
    """
    c0, n = max(w.d0, w.d1 - CGM_DAYS), nominal.size
    sel = glu["cgm"]
    ci = glu["idx"][sel].astype(np.int64)
    has = np.bincount(ci, minlength=n) > 0
    out = [_EMPTY_CGM] * n
    at: list[int] = np.flatnonzero(has).tolist()
    if at:
        pos = (np.cumsum(has) - 1)[ci]  # members with CGM rows, numbered 0..k-1
        # int(np.median(...)) of each wearer's offsets, as the per-member path did.
        off = np.trunc(medians(pos, glu["off"][sel], int(has.sum()))).astype(np.int64)
        docs = cgm_many(
            pos,
            glu["t"][sel],
            glu["v"][sel],
            glu["mmol"][sel],
            c0 * DAY_S - off * 60,
            w.d1 * DAY_S - off * 60,
            nominal[has],
        )
        for i, doc in zip(at, docs, strict=True):
            out[i] = doc
    return out, at


def _smbg(glu: npt.NDArray[Any], n: int) -> tuple[list[dict[str, Any]], list[int]]:
    """Fingerstick indicators member by member, for the members who have fingersticks."""
    out = [_EMPTY_SMBG] * n
    smbg = glu[~glu["cgm"]]
    at: list[int] = []
    if smbg.size:
        b = offsets(smbg["idx"], n)
        at = np.flatnonzero(b[1:] > b[:-1]).tolist()
        for k in at:
            s = smbg[b[k] : b[k + 1]]
            meals = [MEAL_CONTEXTS[j - 1] if j > 0 else None for j in s["meal"].tolist()]
            out[k] = smbg_indicators(s["v"], s["mmol"], meals)
    return out, at


def _doc_columns(
    docs: Sequence[dict[str, Any]],
    at: list[int],
    floats: tuple[str, ...],
    objects: tuple[str, ...] = (),
) -> dict[str, npt.NDArray[Any]]:
    """Columns of the glucose dicts' keys, read from the dicts ``at`` only.

    Only for the glucose dicts, which few members have (one loop over those members).
    Everyone else gets what the composite reads of an empty dict: NaN, False, 0 readings.
    """
    n = len(docs)
    some = [docs[i] for i in at]
    cols: dict[str, npt.NDArray[Any]] = {
        **{k: np.full(n, np.nan) for k in floats},
        "sufficient": np.zeros(n, dtype=np.bool_),
        "n_readings": np.zeros(n, dtype=np.int64),
        **{k: np.full(n, None, dtype=object) for k in objects},
    }
    for k, col in cols.items():
        col[at] = [np.nan if d[k] is None and k in floats else d[k] for d in some]
    return cols
