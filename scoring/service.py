"""Score a window for many members at once: load in chunks, compute, store idempotently.

Why chunks: memory must not grow with the book. Members are scored ``chunk`` at a time;
each chunk's readings arrive as numpy arrays (``scoring.repository``), each member's slice
goes through the pure indicator functions, and the chunk's rows and alerts are written in
one transaction, so a crash loses at most the chunk in flight and a re-run replaces rows
rather than doubling them.

Windows are member-local calendar days: ``window_start`` inclusive, ``window_end``
exclusive, judged by the offset each reading carries (readings are loaded with a 14-hour
margin either side, the widest UTC offsets, and filtered per reading).
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from core import db
from core.payload_format import MEAL_CONTEXTS
from core.settings import Settings
from scoring import repository as repo
from scoring.composite import composite_many
from scoring.config import ScoringConfig, load_config
from scoring.indicators.activity import activity_table
from scoring.indicators.bp import home_bp_table
from scoring.indicators.cgm import cgm_indicators, cgm_many
from scoring.indicators.grouped import medians
from scoring.indicators.hospitalisation import hospitalisation_indicators
from scoring.indicators.rules import CGM_DAYS, level2_alert_rows, severe_mask
from scoring.indicators.smbg import smbg_indicators
from scoring.version import ALGORITHM_VERSION

log = logging.getLogger(__name__)

DAY_S = 86_400
MARGIN = timedelta(hours=14)  # the widest UTC offsets (UTC-12 .. UTC+14)


@dataclass(frozen=True)
class _Window:
    start: date
    end: date
    d0: int  # local day numbers (days since 1970-01-01)
    d1: int

    @property
    def days(self) -> int:
        return self.d1 - self.d0


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _bounds(idx: npt.NDArray[np.int32], n: int) -> npt.NDArray[np.int64]:
    """Row offsets of members 0..n in an array sorted by member index."""
    return np.searchsorted(idx, np.arange(n + 1), side="left").astype(np.int64)


def _utc(ts: int) -> datetime:
    return datetime.fromtimestamp(int(ts), UTC)


def _bp_alerts_many(ids: Sequence[str], b: npt.NDArray[Any]) -> list[repo.AlertOut]:
    """Grade-3 readings of the whole chunk (rare: a loop over them only)."""
    sev = severe_mask(b["sys"], b["dia"])
    out = []
    for r in b[sev]:
        member_id = ids[int(r["idx"])]
        validated = bool(r["ok"])
        out.append(
            repo.AlertOut(
                member_id,
                "bp_grade3" if validated else "bp_grade3_unvalidated",
                "critical" if validated else "warning",
                _utc(r["t"]),
                {"systolic": int(r["sys"]), "diastolic": int(r["dia"]), "validated": validated},
            )
        )
    return out


def _hypo_alerts_many(ids: Sequence[str], g: npt.NDArray[Any]) -> list[repo.AlertOut]:
    """Level-2 hypoglycaemia alerts of the whole chunk (rows grouped by member).

    The rule is :func:`scoring.indicators.rules.level2_alert_rows`. Each member's rows are
    taken in their loaded order (CGM, then fingersticks); a change of member acts like a
    gap, so runs never span two members.
    """
    start = level2_alert_rows(g["t"], g["v"], g["mmol"], g["cgm"], g["idx"])
    out = []
    for r in g[start]:
        unit = "mmol/L" if r["mmol"] else "mg/dL"
        value = None if np.isinf(r["v"]) else float(r["v"])
        out.append(
            repo.AlertOut(
                ids[int(r["idx"])],
                "hypo_level2",
                "critical",
                _utc(r["t"]),
                {
                    "value": value,
                    "censored": "LO" if value is None else None,
                    "unit": unit,
                    "method": "cgm" if r["cgm"] else "smbg",
                },
            )
        )
    return out


# The indicator columns the composite reads from the CGM and fingerstick dicts (numbers as
# float64 with NaN for None, whole counts as int64, the GRI zone letter as an object).
_CGM_FLOAT = ("active_pct", "tir", "tbr70", "gri")
_SMBG_FLOAT = ("pct_fasting_in_target", "pct_postprandial_in_target", "hypo_l2")


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


def _glucose_many(
    w: _Window, glu: npt.NDArray[Any], n: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], repo.Columns, repo.Columns]:
    """CGM (last 14 days of the window) and fingerstick indicators of a chunk's members.

    CGM for everyone at once (``indicators.cgm.cgm_many``); fingersticks member by member,
    only for members who have them. A member's CGM window is cut at local midnight by the
    median of the offsets their readings carry (UTC+8 without readings). Members without
    readings share one (never mutated) empty dict each: copying it per member cost more
    than the CGM arithmetic of a chunk. Returns the dicts, then their columns.
    """
    c0 = max(w.d0, w.d1 - CGM_DAYS)
    # CGM rows are loaded from local day c0 on (repository.load_glucose). Column by column
    # with one mask: copying whole records of a structured array twice (CGM rows, then
    # their last 14 days) was a fifth of the CGM time.
    sel = glu["cgm"]
    ci = glu["idx"][sel].astype(np.int64)
    has = np.bincount(ci, minlength=n) > 0
    cgm_out = [_EMPTY_CGM] * n
    cgm_at: list[int] = np.flatnonzero(has).tolist()
    if cgm_at:
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
        )
        for i, doc in zip(cgm_at, docs, strict=True):
            cgm_out[i] = doc
    smbg_out = [_EMPTY_SMBG] * n
    smbg = glu[~glu["cgm"]]
    smbg_at: list[int] = []
    if smbg.size:
        b = _bounds(smbg["idx"], n)
        smbg_at = np.flatnonzero(b[1:] > b[:-1]).tolist()
        for k in smbg_at:
            s = smbg[b[k] : b[k + 1]]
            meals = [MEAL_CONTEXTS[j - 1] if j > 0 else None for j in s["meal"].tolist()]
            smbg_out[k] = smbg_indicators(s["v"], s["mmol"], meals)
    return (
        cgm_out,
        smbg_out,
        _doc_columns(cgm_out, cgm_at, _CGM_FLOAT, ("gri_zone",)),
        _doc_columns(smbg_out, smbg_at, _SMBG_FLOAT),
    )


_NO_T = np.zeros(0, dtype=np.int64)
_NO_V = np.zeros(0, dtype=np.float64)
_NO_B = np.zeros(0, dtype=np.bool_)
_EMPTY_CGM = cgm_indicators(_NO_T, _NO_V, _NO_B, window_start_s=0, window_end_s=CGM_DAYS * DAY_S)
_EMPTY_SMBG = smbg_indicators(_NO_V, _NO_B, [])


def _window(window_start: date, window_end: date) -> _Window:
    if window_end <= window_start:
        raise ValueError("window_end must be after window_start")
    epoch = date(1970, 1, 1)
    return _Window(window_start, window_end, (window_start - epoch).days, (window_end - epoch).days)


def score_chunk(
    conn: repo.Conn, members: Sequence[repo.MemberRow], w: _Window, cfg: ScoringConfig
) -> dict[str, int]:
    """Load, score and write one chunk of members inside the caller's transaction.

    BP, activity and CGM are computed for the whole chunk at once (the columnar forms in
    ``indicators.bp``, ``.activity`` and ``.cgm``); fingersticks member by member, only for
    members who have them.
    """
    t0 = datetime(w.start.year, w.start.month, w.start.day, tzinfo=UTC) - MARGIN
    t1 = datetime(w.end.year, w.end.month, w.end.day, tzinfo=UTC) + MARGIN
    ids = [m.member_id for m in members]
    n = len(ids)
    clock = time.perf_counter()
    bp = repo.load_bp(conn, ids, t0, t1, w.d0, w.d1)
    glu = repo.load_glucose(conn, ids, t0, t1, w.d0, w.d1, max(w.d0, w.d1 - CGM_DAYS))
    act = repo.load_activity(conn, ids, t0, t1, w.d0, w.d1)
    hosp = repo.hospitalisations(conn, ids, w.start, w.end)
    base = repo.baselines(conn, ids, ALGORITHM_VERSION, w.start)
    loaded = time.perf_counter()
    last_day = w.end - timedelta(days=1)
    ages = np.array([_age(m.birth_date, last_day) for m in members], dtype=np.int64)
    conditions = [m.conditions for m in members]
    targets = cfg.bp_targets.for_members(ages, conditions)
    ok = bp["ok"]  # validated devices only (ESH 2022); column masks, not row copies
    bp_ind, bp_cols = home_bp_table(
        bp["idx"][ok], bp["t"][ok], bp["off"][ok], bp["sys"][ok], bp["dia"][ok], targets
    )
    act_ind, act_cols = activity_table(
        act["idx"],
        act["t"],
        act["off"],
        act["dur"],
        act["steps"],
        act["act"],
        act["vig"],
        window_days=w.days,
        ages=ages,
    )
    cgm_ind, smbg_ind, cgm_cols, smbg_cols = _glucose_many(w, glu, n)
    composite, components = composite_many(
        bp_cols, cgm_cols, smbg_cols, act_cols,
        conditions=conditions, window_days=w.days, config=cfg,
    )  # fmt: skip
    no_stay = hospitalisation_indicators(0, w.days)  # shared, like the empty glucose dicts
    rows: list[repo.ScoreOut] = []
    alerts = _hypo_alerts_many(ids, glu)
    for i, mid in enumerate(ids):
        stays = hosp.get(mid, 0)
        ind: dict[str, Any] = {
            "bp": bp_ind[i],
            "cgm": cgm_ind[i],
            "smbg": smbg_ind[i],
            "activity": act_ind[i],
            "hospitalisation": hospitalisation_indicators(stays, w.days) if stays else no_stay,
        }
        c = composite[i]
        b = base.get(mid)
        imp = None if c is None or b is None else round(c - b, 2)
        rows.append(repo.ScoreOut(mid, c, imp, components[i], ind))
    alerts.extend(_bp_alerts_many(ids, bp))
    computed = time.perf_counter()
    repo.upsert_scores(conn, w.start, w.end, ALGORITHM_VERSION, rows)
    scored = sum(r.composite is not None for r in rows)
    new_alerts = repo.insert_alerts(conn, alerts)
    done = time.perf_counter()
    return {
        "members": len(rows),
        "scored": scored,
        "insufficient": len(rows) - scored,
        "readings": int(bp.size + glu.size + act.size),
        "alerts": new_alerts,
        # Where the time goes (ms): reading from the database, computing, writing.
        "load_ms": round(1000 * (loaded - clock)),
        "compute_ms": round(1000 * (computed - loaded)),
        "write_ms": round(1000 * (done - computed)),
    }


# Readings a member without a CGM brings to a window (BP twice a day, hourly activity for
# a 90-day window is ~2,000; a rough weight is enough to bound a chunk).
LIGHT_MEMBER_READINGS = 500


def pack_chunks(
    ids: Sequence[str], glucose: dict[str, int], max_members: int, max_readings: int
) -> list[list[str]]:
    """Consecutive members, cut when a chunk reaches ``max_members`` or ``max_readings``.

    >>> pack_chunks(["a", "b", "c", "d"], {"b": 9_600}, 3, 10_000)
    [['a'], ['b'], ['c', 'd']]
    """
    out: list[list[str]] = []
    cur: list[str] = []
    load = 0
    for m in ids:
        w = glucose.get(m, 0) + LIGHT_MEMBER_READINGS
        if cur and (len(cur) >= max_members or load + w > max_readings):
            out.append(cur)
            cur, load = [], 0
        cur.append(m)
        load += w
    if cur:
        out.append(cur)
    return out


def create_run(
    url: str,
    settings: Settings,
    window_start: date,
    window_end: date,
    *,
    run_id: str | None = None,
    member_ids: Sequence[str] | None = None,
    chunk: int | None = None,
) -> str:
    """Register a scoring run and its chunks; idempotent for a named ``run_id``.

    Why a table of chunks: several worker processes (replicas, hosts) split one book
    through the database (``FOR UPDATE SKIP LOCKED``), and a worker that dies leaves its
    chunk to the others; no coordinator of our own (issue #8).
    """
    _window(window_start, window_end)
    rid = run_id or uuid.uuid4().hex[:16]
    size = chunk or settings.score_chunk_members
    with db.connect(url) as conn, conn.transaction():
        if repo.insert_run(conn, rid, window_start, window_end, ALGORITHM_VERSION):
            ids = repo.member_ids(conn, member_ids)
            heavy = repo.glucose_counts(
                conn, window_start - timedelta(days=1), window_end + timedelta(days=1)
            )
            repo.insert_chunks(
                conn, rid, pack_chunks(ids, heavy, size, settings.score_chunk_readings)
            )
        else:
            known = repo.run_window(conn, rid)
            if known != (window_start, window_end, ALGORITHM_VERSION):
                raise ValueError(f"run {rid!r} exists for another window or version: {known}")
    return rid


def work_run(
    url: str,
    settings: Settings,
    run_id: str,
    *,
    worker: str | None = None,
    progress: bool = False,
    config: ScoringConfig | None = None,
) -> dict[str, Any]:
    """Claim and score chunks of ``run_id`` until none is left; returns this worker's counts.

    Each chunk's scores, alerts and its ``done`` mark commit in one transaction, so a crash
    rolls the chunk back and another worker (or a re-run) scores it again.
    """
    cfg = config or load_config(settings.scoring_config)
    me = worker or f"{socket.gethostname()}:{os.getpid()}"
    began = time.perf_counter()
    stats = dict.fromkeys(
        (
            "members",
            "scored",
            "insufficient",
            "readings",
            "alerts",
            "load_ms",
            "compute_ms",
            "write_ms",
        ),
        0,
    )
    with db.connect(url) as conn:
        start, end, version = repo.run_window(conn, run_id) or (None, None, None)
        if start is None or end is None:
            raise LookupError(f"no scoring run {run_id!r}")
        if version != ALGORITHM_VERSION:
            raise ValueError(
                f"run {run_id!r} is for algorithm {version}, this is {ALGORITHM_VERSION}"
            )
        conn.commit()
        w = _window(start, end)
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=repo.run_size(conn, run_id), unit="member", desc="score", leave=True)
            conn.commit()
        while True:
            with conn.transaction():
                claim = repo.claim_chunk(conn, run_id)
                if claim is None:
                    break
                chunk_no, ids = claim
                part = repo.members(conn, ids)
                got = score_chunk(conn, part, w, cfg)
                repo.finish_chunk(conn, run_id, chunk_no, me, got)
            for k, v in got.items():
                stats[k] += v
            if bar is not None:
                bar.update(len(ids))
        if bar is not None:
            bar.close()
        with conn.transaction():
            repo.finish_run_if_done(conn, run_id)
    out: dict[str, Any] = dict(stats)
    out["seconds"] = round(time.perf_counter() - began, 3)
    out["algorithm_version"] = ALGORITHM_VERSION
    out["run_id"] = run_id
    log.info("worker %s scored run %s (%s..%s): %s", me, run_id, start, end, out)
    return out


def score_window(
    url: str,
    settings: Settings,
    window_start: date,
    window_end: date,
    *,
    member_ids: Sequence[str] | None = None,
    progress: bool = False,
    chunk: int | None = None,
    config: ScoringConfig | None = None,
) -> dict[str, Any]:
    """Score every member (or ``member_ids``) over [window_start, window_end); idempotent.

    One process: a fresh run, worked to the end by this worker. Returns counts: members,
    scored (composite not None), insufficient, readings, new alerts, seconds, the algorithm
    version and the run id.
    """
    rid = create_run(url, settings, window_start, window_end, member_ids=member_ids, chunk=chunk)
    return work_run(url, settings, rid, progress=progress, config=config)
