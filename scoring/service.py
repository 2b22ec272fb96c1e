"""Score a window for a whole book: runs split into chunks that workers claim and score.

Why chunks in a table: memory must not grow with the book, and several worker processes
(replicas, hosts) split one book through the database (``FOR UPDATE SKIP LOCKED``); a
worker that dies leaves its chunk to the others, with no coordinator of our own. Each
chunk is scored by ``scoring.chunk.score_chunk`` and committed with its ``done`` mark in
one transaction. Windows are member-local calendar days (``scoring.window``).
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from core import db
from core.settings import Settings
from scoring import repository as repo
from scoring.chunk import score_chunk
from scoring.config import ScoringConfig, load_config
from scoring.version import ALGORITHM_VERSION
from scoring.window import Window, window

log = logging.getLogger(__name__)

# What a worker reports: summed over the chunks it scored.
_STATS = (
    "members", "scored", "insufficient", "readings", "alerts", "load_ms", "compute_ms",
    "write_ms",
)  # fmt: skip


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

    A second worker creating the same named run adds nothing; the same name for another
    window or algorithm version is an error.
    """
    window(window_start, window_end)
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


def _open_run(conn: repo.Conn, run_id: str) -> Window:
    """The window of a registered run of this algorithm version."""
    start, end, version = repo.run_window(conn, run_id) or (None, None, None)
    if start is None or end is None:
        raise LookupError(f"no scoring run {run_id!r}")
    if version != ALGORITHM_VERSION:
        raise ValueError(f"run {run_id!r} is for algorithm {version}, this is {ALGORITHM_VERSION}")
    conn.commit()
    return window(start, end)


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
    stats = dict.fromkeys(_STATS, 0)
    with db.connect(url) as conn:
        w = _open_run(conn, run_id)
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=repo.run_size(conn, run_id), unit="member", desc="score", leave=True)
            conn.commit()
        while (claimed := _claim_and_score(conn, run_id, w, cfg, me)) is not None:
            got, claimed_members = claimed
            for k, v in got.items():
                stats[k] += v
            if bar is not None:
                bar.update(claimed_members)
        if bar is not None:
            bar.close()
        with conn.transaction():
            repo.finish_run_if_done(conn, run_id)
    out: dict[str, Any] = dict(stats)
    out["seconds"] = round(time.perf_counter() - began, 3)
    out["algorithm_version"] = ALGORITHM_VERSION
    out["run_id"] = run_id
    log.info("worker %s scored run %s (%s..%s): %s", me, run_id, w.start, w.end, out)
    return out


def _claim_and_score(
    conn: repo.Conn, run_id: str, w: Window, cfg: ScoringConfig, me: str
) -> tuple[dict[str, int], int] | None:
    """Score the next unclaimed chunk in one transaction: its counts and how many members
    it listed; None when no chunk is left."""
    with conn.transaction():
        claim = repo.claim_chunk(conn, run_id)
        if claim is None:
            return None
        chunk_no, ids = claim
        got = score_chunk(conn, repo.members(conn, ids), w, cfg)
        repo.finish_chunk(conn, run_id, chunk_no, me, got)
    return got, len(ids)


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
