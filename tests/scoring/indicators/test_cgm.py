"""CGM tests: bands, window indicators, events, AGP; hand-computed and property-based."""

from __future__ import annotations

import doctest
import itertools
import math
import statistics
from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.units import MGDL_PER_MMOLL
from scoring.indicators import cgm
from scoring.indicators.cgm import cgm_indicators, cgm_many
from tests.scoring.indicators.books import cgm_book, same


@pytest.mark.parametrize(
    ("value", "mmol", "band"),
    [
        (10.0, True, "tir"),
        (181.0, False, "tar180"),
        (180.0, False, "tir"),
        (3.9, True, "tir"),
        (69.0, False, "tbr70"),
        (13.9, True, "tar180"),
        (250.4, False, "tar250"),
    ],
)
def test_exact_thresholds(value: float, mmol: bool, band: str) -> None:
    assert cgm.time_in_ranges([value], [mmol])[band] == 100.0


def test_empty_is_insufficient() -> None:
    assert all(v is None for v in cgm.time_in_ranges([], []).values())


@given(st.lists(st.tuples(st.floats(1, 40), st.booleans()), min_size=1, max_size=60))
def test_bands_partition_to_100(rows: list[tuple[float, bool]]) -> None:
    r = cgm.time_in_ranges([v for v, _ in rows], [m for _, m in rows])
    total = r["tbr70"] + r["tir"] + r["tar180"]  # type: ignore[operator]
    assert total == pytest.approx(100.0)


def test_doctests() -> None:
    result = doctest.testmod(cgm)
    assert result.attempted > 0 and result.failed == 0


# --- cgm_indicators: hand-computed fixtures ---------------------------------------------

DAY = 86_400
STEP = 300
N14 = 14 * 288  # readings in 14 days every 5 minutes
W14 = {"window_start_s": 0, "window_end_s": 14 * DAY}
INF = float("inf")


def trace(
    values: list[float] | np.ndarray, mmol: bool | np.ndarray = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A 5-minute trace from t = 0 with the given values."""
    v = np.asarray(values, dtype=np.float64)
    t = np.arange(v.size, dtype=np.int64) * STEP
    m = np.broadcast_to(np.asarray(mmol, dtype=np.bool_), v.shape).copy()
    return t, v, m


def flat(n: int = N14, g: float = 100.0) -> np.ndarray:
    return np.full(n, g)


def run(t: np.ndarray, v: np.ndarray, m: np.ndarray, **window: int) -> dict[str, object]:
    return cgm.cgm_indicators(t, v, m, **(window or W14))


def test_returns_exactly_the_contract_keys() -> None:
    keys = [
        "n_readings", "active_pct", "tir", "tbr70", "tbr54", "tar180", "tar250", "titr",
        "mean_mgdl", "sd_mgdl", "cv", "gmi", "gri", "gri_zone", "lbgi", "hbgi",
        "hypo_events", "hypo_l1_events", "hypo_l2_events", "hypo_extended_events",
        "hyper_events", "sufficient",
    ]  # fmt: skip
    assert list(run(*trace(flat())).keys()) == keys
    assert list(run(*trace([])).keys()) == keys


def test_empty_input_is_insufficient() -> None:
    r = run(*trace([]))
    assert r["n_readings"] == 0 and r["active_pct"] == 0.0 and r["sufficient"] is False
    assert all(
        v is None for k, v in r.items() if k not in ("n_readings", "active_pct", "sufficient")
    )


def test_mean_sd_cv_gmi_by_hand() -> None:
    # 100, 200 alternating: mean 150; deviations +-50 so sample variance = 2500 n/(n-1).
    r = run(*trace(np.tile([100.0, 200.0], N14 // 2)))
    sd = 50.0 * math.sqrt(N14 / (N14 - 1))
    assert r["sufficient"] is True and r["active_pct"] == 100.0
    assert r["mean_mgdl"] == pytest.approx(150.0)
    assert r["sd_mgdl"] == pytest.approx(sd)
    assert r["cv"] == pytest.approx(100.0 * sd / 150.0)  # 33.34 %
    assert r["gmi"] == pytest.approx(3.31 + 0.02392 * 150.0)  # 6.898 %
    assert r["tir"] == 50.0 and r["tar180"] == 50.0 and r["titr"] == 50.0


def test_lbgi_hbgi_by_hand() -> None:
    # Hand: ln 70 = 4.2485, 4.2485^1.084 = 4.7974, f = 1.509 (4.7974 - 5.381) = -0.8806,
    # r = 10 f^2 = 7.755; ln 250 = 5.5215, ^1.084 = 6.3736, f = 1.4979, r = 22.436.
    r = run(*trace(np.tile([70.0, 250.0], N14 // 2)))
    assert r["lbgi"] == pytest.approx(7.755 / 2, abs=1e-3)
    assert r["hbgi"] == pytest.approx(22.436 / 2, abs=1e-3)
    r = run(*trace(flat(g=112.5)))  # the transform's neutral point: f ~ 0
    assert r["lbgi"] == pytest.approx(0.0, abs=1e-5) and r["hbgi"] == pytest.approx(0.0, abs=1e-5)


def test_gri_and_zone_by_hand() -> None:
    v = flat()
    v[:40] = 50.0  # VLow (< 54)
    v[40:120] = 60.0  # Low (54-69)
    v[120:320] = 260.0  # VHigh (> 250)
    v[320:1120] = 200.0  # High (181-250)
    r = run(*trace(v))
    # GRI = (3.0*40 + 2.4*80 + 1.6*200 + 0.8*800) / 4032 * 100 = 1272 / 40.32 = 31.548
    assert r["gri"] == pytest.approx(1272 / 40.32)
    assert r["gri_zone"] == "B"
    assert r["tbr54"] == pytest.approx(100 * 40 / N14)
    assert r["tbr70"] == pytest.approx(100 * 120 / N14)
    assert r["tar250"] == pytest.approx(100 * 200 / N14)
    assert r["tar180"] == pytest.approx(100 * 1000 / N14)


def test_gri_capped_at_100_zone_e() -> None:
    r = run(*trace(flat(g=50.0)))  # 3.0 * 100 % = 300 -> 100
    assert r["gri"] == 100.0 and r["gri_zone"] == "E"


@pytest.mark.parametrize(
    ("gri", "zone"), [(0.0, "A"), (20.0, "A"), (20.5, "B"), (40.0, "B"), (60.0, "C"),
                      (61.0, "D"), (80.0, "D"), (80.01, "E")],
)  # fmt: skip
def test_gri_zone_edges(gri: float, zone: str) -> None:
    assert cgm.gri_zone(gri) == zone


def test_threshold_values_in_own_unit() -> None:
    # 10.0 mmol/L in range; 181 mg/dL above; 13.9 mmol/L is not > 13.9; 180 mg/dL in range.
    v = np.array([10.0, 181.0, 13.9, 180.0] * (N14 // 4))
    m = np.array([True, False, True, False] * (N14 // 4))
    r = run(*trace(v, m))
    assert r["tir"] == 50.0 and r["tar180"] == 50.0 and r["tar250"] == 0.0
    # 3.9 mmol/L is in range, 3.89 below; 54 mg/dL is not < 54, 53.9 is.
    v = np.array([3.9, 3.89, 54.0, 53.9] * (N14 // 4))
    m = np.array([True, True, False, False] * (N14 // 4))
    r = run(*trace(v, m))
    assert r["tir"] == 25.0 and r["tbr70"] == 75.0 and r["tbr54"] == 25.0


def test_mixed_units_mean_in_mgdl() -> None:
    v = np.tile([100.0, 100.0 / MGDL_PER_MMOLL], N14 // 2)
    m = np.tile([False, True], N14 // 2)
    r = run(*trace(v, m))
    assert r["mean_mgdl"] == pytest.approx(100.0)
    assert r["sd_mgdl"] == pytest.approx(0.0, abs=1e-9)


def test_censored_count_in_bands_not_in_mean() -> None:
    v = flat()
    v[:10] = -INF  # LO
    v[10:30] = INF  # HI
    r = run(*trace(v))
    assert r["tbr54"] == pytest.approx(100 * 10 / N14)
    assert r["tar250"] == pytest.approx(100 * 20 / N14)
    assert r["mean_mgdl"] == 100.0 and r["sd_mgdl"] == 0.0 and r["cv"] == 0.0
    # LO/HI runs are beyond the thresholds: 50 minutes LO, then 100 minutes HI.
    assert r["hypo_events"] == 1 and r["hyper_events"] == 1


def test_duplicates_are_averaged() -> None:
    t, v, m = trace(flat())
    # Add a second reading at t[5] (200 -> average 150) and a mmol duplicate at t[6]
    # (10.0 mmol/L with 180 mg/dL -> (10.0 + 180/18.01559) / 2 = 9.9957 mmol/L, in range).
    t2 = np.insert(t, [6, 7], [t[5], t[6]])
    v2 = np.insert(v, [6, 7], [200.0, 180.0])
    m2 = np.insert(m, [6, 7], [False, False])
    v2[7] = 10.0
    m2[7] = True
    r = run(t2, v2, m2)
    assert r["n_readings"] == N14
    assert r["mean_mgdl"] == pytest.approx(
        (100.0 * (N14 - 2) + 150.0 + 9.9957 * MGDL_PER_MMOLL) / N14, rel=1e-6
    )
    assert r["tir"] == 100.0


def test_duplicate_lo_and_hi_is_dropped_lo_and_number_stays_lo() -> None:
    t = np.array([0, 0, 300, 300], dtype=np.int64)
    v = np.array([-INF, INF, -INF, 80.0])
    ts, g, _, first = cgm._dedupe(t, v, np.zeros(4, dtype=bool))
    assert ts.tolist() == [300] and g.tolist() == [-INF] and first.tolist() == [2]


def test_insufficient_short_window_or_low_activity() -> None:
    t, v, m = trace(flat(13 * 288))
    r = cgm.cgm_indicators(t, v, m, window_start_s=0, window_end_s=13 * DAY)
    assert r["active_pct"] == 100.0 and r["sufficient"] is False
    assert all(r[k] is None for k in ("tir", "mean_mgdl", "gri", "gri_zone", "hypo_events"))
    # 70 % of 4032 possible readings is 2822.4: 2823 present is enough, 2822 is not.
    for n, ok in ((2823, True), (2822, False)):
        t, v, m = trace(flat())
        r = run(t[:n], v[:n], m[:n])
        assert r["sufficient"] is ok
        assert r["active_pct"] == pytest.approx(100 * n / N14)
        assert (r["tir"] is None) is not ok


def test_active_pct_uses_the_nominal_interval_and_caps() -> None:
    t, v, m = trace(flat(2 * N14))  # 28 days of data passed for a 14-day window
    assert run(t, v, m)["active_pct"] == 100.0
    t15 = np.arange(14 * 96, dtype=np.int64) * 900  # a 15-minute sensor, full coverage
    r = cgm.cgm_indicators(t15, flat(t15.size), np.zeros(t15.size, bool), **W14, nominal_s=900)
    assert r["active_pct"] == 100.0 and r["sufficient"] is True
    # The same readings from a 5-minute sensor are a third of what it should have sent.
    r = cgm.cgm_indicators(t15, flat(t15.size), np.zeros(t15.size, bool), **W14)
    assert r["active_pct"] == pytest.approx(100 / 3) and r["sufficient"] is False


def test_sparse_data_does_not_vouch_for_itself() -> None:
    """One reading a day for 14 days is 14 of 4,032 expected readings, not 100 % active;
    a 5-minute sensor that missed every other reading is 50 % active (both insufficient)."""
    daily = np.arange(14, dtype=np.int64) * DAY
    r = cgm.cgm_indicators(daily, flat(14), np.zeros(14, bool), **W14)
    assert r["active_pct"] == pytest.approx(100 * 14 / N14) and r["sufficient"] is False
    t, v, m = trace(flat(N14))
    r = run(t[::2], v[::2], m[::2])
    assert r["active_pct"] == pytest.approx(50.0) and r["sufficient"] is False
    many = cgm.cgm_many(
        np.zeros(14, np.int32), daily, flat(14), np.zeros(14, bool),
        np.array([0]), np.array([14 * DAY]),
    )[0]  # fmt: skip
    assert many["active_pct"] == pytest.approx(100 * 14 / N14) and many["sufficient"] is False


def _with(values: dict[int, float], n: int = N14, base: float = 100.0) -> np.ndarray:
    v = flat(n, base)
    for i, g in values.items():
        v[i] = g
    return v


@pytest.mark.parametrize(
    ("lows", "events"),
    [
        ([10, 11], 0),  # 10 minutes: not an event
        ([10, 11, 12], 1),  # 15 minutes
        ([10, 11, 12, 15, 16, 17], 1),  # 10 minutes back inside does not end it
        ([10, 11, 12, 16, 17, 18], 2),  # 15 minutes back inside ends it
        ([10, 11, 12, 14, 16, 17, 18], 1),  # a short dip inside the return restarts the count
    ],
)
def test_hypo_events_by_hand(lows: list[int], events: int) -> None:
    r = run(*trace(_with(dict.fromkeys(lows, 60.0))))
    assert r["hypo_events"] == events and r["hyper_events"] == 0


def _gap_trace(gap_readings_missing: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # 4 lows (20 min), a gap, 4 lows; removing k readings makes a (k + 1) x 5 min gap.
    t, v, m = trace(_with(dict.fromkeys(range(100, 100 + 8 + gap_readings_missing), 60.0)))
    keep = np.ones(t.size, dtype=bool)
    keep[104 : 104 + gap_readings_missing] = False
    return t[keep], v[keep], m[keep]


def test_gap_longer_than_45_minutes_splits_an_event() -> None:
    assert run(*_gap_trace(9))["hypo_events"] == 2  # 50-minute gap
    assert run(*_gap_trace(8))["hypo_events"] == 1  # exactly 45 minutes: not a gap


def test_gap_shortens_runs_no_interpolation() -> None:
    # 2 lows, 50-minute gap, 2 lows: neither side reaches 15 minutes.
    t, v, m = trace(_with(dict.fromkeys(range(100, 113), 60.0)))
    keep = np.ones(t.size, dtype=bool)
    keep[102:111] = False
    assert run(t[keep], v[keep], m[keep])["hypo_events"] == 0


def test_hyper_events_own_unit_thresholds() -> None:
    m = np.zeros(N14, dtype=bool)
    m[200:203] = m[400:403] = True
    v = _with({10: 181.0, 11: 181.0, 12: 181.0,  # > 180 mg/dL: event
               50: 180.0, 51: 180.0, 52: 180.0,  # = 180: not beyond
               200: 10.0, 201: 10.0, 202: 10.0,  # = 10.0 mmol/L: not beyond
               400: 10.1, 401: 10.1, 402: 10.1})  # fmt: skip
    r = run(*trace(v, m))
    assert r["hyper_events"] == 2


def test_hypo_events_mmol_and_lo() -> None:
    m = np.zeros(N14, dtype=bool)
    m[10:13] = m[50:53] = True
    v = _with({10: 3.9, 11: 3.9, 12: 3.9, 50: 3.8, 51: 3.8, 52: 3.8,
               90: -INF, 91: 65.0, 92: -INF})  # fmt: skip
    assert run(*trace(v, m))["hypo_events"] == 2


# --- properties ----------------------------------------------------------------------

glucose = st.one_of(st.floats(20, 600), st.sampled_from([-INF, INF, 54.0, 70.0, 180.0, 250.0]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(glucose, st.booleans()), min_size=1, max_size=50))
def test_bands_add_up_and_gri_bounded(rows: list[tuple[float, bool]]) -> None:
    pattern = np.array([g / MGDL_PER_MMOLL if mm else g for g, mm in rows])
    mm = np.array([mm for _, mm in rows])
    reps = -(-N14 // len(rows))
    t, v, m = trace(np.tile(pattern, reps)[:N14], np.tile(mm, reps)[:N14])
    r = run(t, v, m)
    assert r["tbr70"] + r["tir"] + r["tar180"] == pytest.approx(100.0)  # type: ignore[operator]
    assert 0.0 <= r["gri"] <= 100.0  # type: ignore[operator]
    assert r["gri_zone"] in {"A", "B", "C", "D", "E"}


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(40, 400), min_size=2, max_size=30).filter(lambda x: np.ptp(x) > 1),
    st.floats(0.1, 10.0),
)
def test_cv_is_scale_free(pattern: list[float], k: float) -> None:
    base = np.resize(np.asarray(pattern), N14)
    a = run(*trace(base))
    b = run(*trace(base * k))
    assert b["cv"] == pytest.approx(a["cv"], rel=1e-9)
    assert b["mean_mgdl"] == pytest.approx(k * a["mean_mgdl"], rel=1e-9)  # type: ignore[operator]


# --- agp_profile ---------------------------------------------------------------------


def _agp(
    t: list[int],
    v: list[float],
    mmol: list[bool] | None = None,
    off: list[int] | None = None,
    **kw: int,
) -> dict[str, list[object]]:
    n = len(t)
    return cgm.agp_profile(
        np.asarray(t, dtype=np.int64),
        np.asarray(v, dtype=np.float64),
        np.asarray(mmol or [False] * n, dtype=np.bool_),
        np.asarray(off or [0] * n, dtype=np.int16),
        **kw,
    )


def test_agp_shape_default_15_minute_bins() -> None:
    p = _agp([], [])
    assert set(p) == {"minute_of_day", "p05", "p25", "p50", "p75", "p95", "n"}
    assert len(p["minute_of_day"]) == 96 and p["minute_of_day"][:3] == [0, 15, 30]
    assert p["n"] == [0] * 96 and p["p50"] == [None] * 96


def test_agp_percentiles_by_hand() -> None:
    # 20 readings 10, 20, ..., 200 at 06:05 UTC on 20 days. Type-7 percentile q sits at
    # rank q/100 * 19: p05 -> 0.95 -> 19.5; p25 -> 4.75 -> 57.5; p50 -> 9.5 -> 105.0;
    # p75 -> 14.25 -> 152.5; p95 -> 18.05 -> 190.5.
    t = [d * DAY + 6 * 3600 + 300 for d in range(20)]
    p = _agp(t, [10.0 * (k + 1) for k in range(20)])
    i = 6 * 4  # 06:00-06:15 bin
    assert p["n"][i] == 20
    got = [p[k][i] for k in ("p05", "p25", "p50", "p75", "p95")]
    assert got == pytest.approx([19.5, 57.5, 105.0, 152.5, 190.5])


def test_agp_local_time_from_each_offset() -> None:
    # The same UTC instant lands in different local bins: UTC+8 -> 09:00, UTC-5 -> 20:00.
    t = [d * DAY + 3600 for d in range(10)]
    p = _agp(t, [100.0] * 10, off=[480] * 5 + [-300] * 5, bin_minutes=60)
    assert p["n"][9] == 5 and p["n"][20] == 5 and sum(p["n"]) == 10  # type: ignore[arg-type]
    assert p["p50"][9] == 100.0 and p["p50"][20] == 100.0


def test_agp_few_readings_is_none_and_censored_at_limits() -> None:
    t = [d * DAY for d in range(4)]
    p = _agp(t, [100.0] * 4)
    assert p["n"][0] == 4 and p["p50"][0] is None
    # LO, 100, 100, 100, HI -> 40, 100, 100, 100, 400: p05 rank 0.2 -> 40 + 0.2 * 60 = 52;
    # p95 rank 3.8 -> 100 + 0.8 * 300 = 340.
    t = [d * DAY for d in range(5)]
    p = _agp(t, [-INF, 100.0, 100.0, 100.0, INF])
    assert p["p05"][0] == pytest.approx(52.0) and p["p95"][0] == pytest.approx(340.0)
    assert p["p50"][0] == 100.0


def test_agp_mmol_converted_and_duplicates_averaged() -> None:
    t = [d * DAY for d in range(5)] + [0]
    p = _agp(t, [5.5] * 5 + [7.5], mmol=[True] * 6)
    assert p["n"][0] == 5  # the duplicate at t = 0 is averaged into one reading of 6.5
    assert p["p95"][0] == pytest.approx((5.5 + 0.8 * 1.0) * MGDL_PER_MMOLL)
    assert p["p50"][0] == pytest.approx(5.5 * MGDL_PER_MMOLL)


@pytest.mark.parametrize("bad", [0, 7, -15, 1441])
def test_agp_rejects_bins_that_do_not_divide_a_day(bad: int) -> None:
    with pytest.raises(ValueError, match="divide a day"):
        _agp([0], [100.0], bin_minutes=bad)


# --- against an independent plain-Python implementation on a simulated 14-day trace ------


def _reference(
    t: list[int], g: list[float], mmol: list[bool], w0: int, w1: int
) -> dict[str, object]:
    """iglu-style formulas written out loop by loop, from the papers, not from cgm.py."""
    n = len(t)
    diffs = sorted(b - a for a, b in itertools.pairwise(t))
    dt = float(statistics.median(diffs))
    active = min(100.0, 100.0 * sum(w0 <= x < w1 for x in t) / ((w1 - w0) / dt))
    mg = [x * 18.01559 if m else x for x, m in zip(g, mmol, strict=True) if math.isfinite(x)]
    mean = sum(mg) / len(mg)
    sd = math.sqrt(sum((x - mean) ** 2 for x in mg) / (len(mg) - 1))
    fs = [1.509 * (math.log(x) ** 1.084 - 5.381) for x in mg]
    cnt = dict.fromkeys(("vlow", "low", "tir", "titr", "high", "vhigh"), 0)
    hypo, hyper = [], []
    for x, m in zip(g, mmol, strict=True):
        e54, e70, e140, e180, e250 = (3.0, 3.9, 7.8, 10.0, 13.9) if m else (54, 70, 140, 180, 250)
        if x < e54:
            cnt["vlow"] += 1
        elif x < e70:
            cnt["low"] += 1
        elif x <= e180:
            cnt["tir"] += 1
            cnt["titr"] += x <= e140
        elif x <= e250:
            cnt["high"] += 1
        else:
            cnt["vhigh"] += 1
        hypo.append(x < e70)
        hyper.append(x > e180)
    pct = {k: 100.0 * v / n for k, v in cnt.items()}

    def events(beyond: list[bool]) -> int:
        count, open_, state, start, prev = 0, False, None, 0, None
        for ti, bi in zip(t, beyond, strict=True):
            if prev is not None and ti - prev > 45 * 60:
                open_, state = False, None
            if state is None or bi != state:
                state, start = bi, ti
            long_enough = ti - start + dt >= 15 * 60
            if state and not open_ and long_enough:
                count, open_ = count + 1, True
            elif not state and open_ and long_enough:
                open_ = False
            prev = ti
        return count

    gri = 3.0 * pct["vlow"] + 2.4 * pct["low"] + 1.6 * pct["vhigh"] + 0.8 * pct["high"]
    return {
        "n_readings": n,
        "active_pct": active,
        "tir": pct["tir"],
        "tbr70": pct["vlow"] + pct["low"],
        "tbr54": pct["vlow"],
        "tar180": pct["high"] + pct["vhigh"],
        "tar250": pct["vhigh"],
        "titr": pct["titr"],
        "mean_mgdl": mean,
        "sd_mgdl": sd,
        "cv": 100 * sd / mean,
        "gmi": 3.31 + 0.02392 * mean,
        "gri": min(gri, 100.0),
        "lbgi": sum(10 * f * f for f in fs if f < 0) / len(fs),
        "hbgi": sum(10 * f * f for f in fs if f > 0) / len(fs),
        "hypo_events": events(hypo),
        "hyper_events": events(hyper),
    }


@pytest.mark.parametrize(("unit", "seed"), [("mg/dL", 11), ("mmol/L", 12), ("mg/dL", 13)])
def test_matches_independent_implementation_on_simulated_trace(unit: str, seed: int) -> None:
    from device_sim.cohort import SimMember
    from device_sim.physiology import glucose

    member = SimMember(
        "m", date(1960, 1, 1), "F", ("diabetes",), None, "M", adherence=0.95,
        hypo_prone=True, seed=seed,
    )  # fmt: skip
    start = date(2026, 3, 2)
    tr = glucose.trace(member, start, 14)
    series = glucose.cgm_readings(member, tr)
    shown = glucose.render(series.mgdl, "mmol/L" if unit == "mmol/L" else "mg/dL")
    g = [-INF if s == "LO" else INF if s == "HI" else float(s) for s in shown]
    mmol = [unit == "mmol/L"] * len(g)
    t = series.t.astype(np.int64)
    w0 = tr.day0
    w1 = w0 + 14 * DAY
    ref = _reference(t.tolist(), g, mmol, w0, w1)
    got = cgm.cgm_indicators(t, np.asarray(g), np.asarray(mmol), window_start_s=w0, window_end_s=w1)
    assert got["sufficient"] is True
    for k, v in ref.items():
        assert got[k] == pytest.approx(v, rel=1e-9, abs=1e-9), k
    assert got["hypo_events"] + got["hyper_events"] > 0


# --- many members at once ----------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), members=st.integers(1, 8))
def test_cgm_many_equals_the_reference(seed: int, members: int) -> None:
    b, ws, we = cgm_book(seed, members)
    many = cgm_many(b["idx"], b["t"], b["v"], b["mmol"], ws, we)
    assert len(many) == members
    assert cgm_many(b["idx"], b["t"], b["v"], b["mmol"], ws, we, block_rows=500) == many
    for k in range(members):
        sel = b["idx"] == k
        ref = cgm_indicators(
            b["t"][sel], b["v"][sel], b["mmol"][sel],
            window_start_s=int(ws[k]), window_end_s=int(we[k]),
        )  # fmt: skip
        same(many[k], ref)


def test_cgm_many_book_has_sufficient_and_eventful_members() -> None:
    """The random books above do exercise the interesting branches, not only None."""
    seen = {"sufficient": 0, "hypo": 0, "hyper": 0, "insufficient": 0}
    for seed in range(30):
        b, ws, we = cgm_book(seed, 6)
        for d in cgm_many(b["idx"], b["t"], b["v"], b["mmol"], ws, we):
            seen["sufficient" if d["sufficient"] else "insufficient"] += 1
            seen["hypo"] += bool(d["hypo_events"])
            seen["hyper"] += bool(d["hyper_events"])
    assert all(v > 0 for v in seen.values()), seen


def test_a_single_low_reading_is_never_an_event() -> None:
    """One low reading among normal ones was a 15-minute event when the member's median
    interval was 15 minutes; now it stands for one nominal interval, and one reading never
    makes an event on its own, even from a 15-minute sensor."""
    t15 = np.arange(14 * 96, dtype=np.int64) * 900
    v = flat(t15.size)
    v[500] = 50.0
    r = cgm.cgm_indicators(t15, v, np.zeros(t15.size, bool), **W14, nominal_s=900)
    assert r["sufficient"] is True
    assert (r["hypo_l1_events"], r["hypo_l2_events"], r["hypo_extended_events"]) == (0, 0, 0)
    v[501] = 50.0  # two consecutive 15-minute readings: 30 minutes below 54
    r = cgm.cgm_indicators(t15, v, np.zeros(t15.size, bool), **W14, nominal_s=900)
    assert (r["hypo_l1_events"], r["hypo_l2_events"]) == (1, 1)


def test_lows_with_missing_readings_between_are_not_consecutive_minutes() -> None:
    """Three lows 20 minutes apart (3 of every 4 readings missing) are 15 minutes of
    readings but not 15 consecutive minutes: no event."""
    t, v, m = trace(_with({100: 60.0, 104: 60.0, 108: 60.0}))
    keep = np.ones(t.size, dtype=bool)
    keep[[101, 102, 103, 105, 106, 107]] = False
    assert run(t[keep], v[keep], m[keep])["hypo_events"] == 0


@pytest.mark.parametrize(
    ("values", "l1", "l2", "extended"),
    [
        ({i: 60.0 for i in range(100, 103)}, 1, 0, 0),  # 15 min at 60: level 1 only
        ({i: 50.0 for i in range(100, 103)}, 1, 1, 0),  # 15 min at 50: both levels
        ({i: 60.0 for i in range(100, 124)}, 1, 0, 0),  # exactly 120 min: not extended
        ({i: 60.0 for i in range(100, 125)}, 1, 0, 1),  # 125 min: extended
        ({**{i: 60.0 for i in range(100, 103)}, **{i: 50.0 for i in range(110, 113)}}, 2, 1, 0),
    ],
)
def test_level_1_level_2_and_extended_hypoglycaemia(
    values: dict[int, float], l1: int, l2: int, extended: int
) -> None:
    t, v, m = trace(_with(values))
    r = run(t, v, m)
    got = (r["hypo_l1_events"], r["hypo_l2_events"], r["hypo_extended_events"])
    assert got == (l1, l2, extended) and r["hypo_events"] == l1
    many = cgm.cgm_many(np.zeros(t.size, np.int32), t, v, m, np.array([0]), np.array([14 * DAY]))
    keys = ("hypo_events", "hypo_l1_events", "hypo_l2_events", "hypo_extended_events")
    assert [many[0][k] for k in keys] == [r[k] for k in keys]
