"""score_window against the real database: bulk load, exclusions, idempotency, alerts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest

from core.settings import Settings
from scoring.service import score_window
from scoring.version import ALGORITHM_VERSION
from tests.factories import add_device, add_member

CST = timedelta(hours=8)
W0, W1 = date(2026, 3, 1), date(2026, 3, 29)  # 28 days


def _local(d: date, hour: int, minute: int = 0) -> datetime:
    """An instant given as member-local (UTC+08:00) wall time."""
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=UTC) - CST


def _bp(
    conn: psycopg.Connection[Any],
    dev: str,
    mid: str,
    at: datetime,
    s: int,
    d: int,
    validated: bool = True,
) -> None:
    conn.execute(
        "INSERT INTO bp_readings (device_id, measured_at, member_id, utc_offset_min, systolic,"
        " diastolic, pulse, validated) VALUES (%s, %s, %s, 480, %s, %s, 70, %s)",
        (dev, at, mid, s, d, validated),
    )


def _arrange(conn: psycopg.Connection[Any]) -> None:
    add_member(conn, "m1", conditions=("hypertension",), birth_date=date(1960, 5, 1))
    add_device(conn, "cuff1")
    add_device(conn, "watch1", "bp_cuffless", validated=False)
    add_device(conn, "band1", "activity_tracker")
    for i in range(28):
        d = W0 + timedelta(days=i)
        _bp(conn, "cuff1", "m1", _local(d, 7), 150 if i == 0 else 128, 82)
        _bp(conn, "cuff1", "m1", _local(d, 19), 150 if i == 0 else 130, 84)
        _bp(conn, "watch1", "m1", _local(d, 12), 190, 115, validated=False)  # cuffless
        for h in range(8, 19):  # 11 worn hours
            conn.execute(
                "INSERT INTO activity_readings (device_id, start_at, duration_s, member_id,"
                " utc_offset_min, steps, active_minutes, vigorous_minutes)"
                " VALUES ('band1', %s, 3600, 'm1', 480, 800, 3, 0)",
                (_local(d, h),),
            )
    # Outside the window by local day, inside it by UTC day: must not count.
    _bp(conn, "cuff1", "m1", _local(W1, 7), 200, 120)
    # One grade-3 reading inside the window raises one alert.
    _bp(conn, "cuff1", "m1", _local(W0 + timedelta(days=5), 21), 182, 95)
    conn.execute(
        "INSERT INTO hospitalisations (claim_id, member_id, admitted_on) VALUES ('c1', 'm1', %s)",
        (W0 + timedelta(days=3),),
    )


def test_scores_a_window_with_the_stored_contract(
    conn: psycopg.Connection[Any], db_url: str, settings: Settings
) -> None:
    _arrange(conn)
    add_member(conn, "m2")  # no data at all
    out = score_window(db_url, settings, W0, W1)
    assert out["members"] == 2 and out["scored"] == 1 and out["insufficient"] == 1
    # One validated grade-3 reading (critical) + 28 daily cuffless 190/115 readings (warning).
    assert out["alerts"] == 29
    row = conn.execute(
        "SELECT composite, improvement, components, indicators, algorithm_version FROM scores"
        " WHERE member_id = 'm1'"
    ).fetchone()
    assert row is not None
    composite, improvement, comps, ind, version = row
    assert version == ALGORITHM_VERSION and improvement is None
    bp = ind["bp"]
    # Cuffless excluded; the out-of-window reading excluded; day 1 (150s) discarded.
    assert bp["n_readings"] == 57 and bp["protocol_days"] == 28
    # 27 mornings at 128, 27 evenings at 130, and the 182 taken at 21:00 (an evening reading).
    assert bp["home_mean_sys"] == pytest.approx((128 * 27 + 130 * 27 + 182) / 55, abs=1e-9)
    assert bp["controlled"] is True and bp["severe_count"] == 1
    assert bp["target_sys"] == 135.0  # age 65, hypertension only
    act = ind["activity"]
    assert act["valid_days"] == 28 and act["median_steps"] == 8800.0
    assert act["mvpa_min_per_week"] == pytest.approx(33 * 7)
    assert ind["hospitalisation"]["events"] == 1
    assert ind["cgm"]["sufficient"] is False and ind["smbg"]["n_readings"] == 0
    assert set(comps) == {"bp", "activity", "engagement"}
    assert 0 <= composite <= 100
    kinds = conn.execute(
        "SELECT kind, severity, count(*) FROM alerts GROUP BY 1, 2 ORDER BY 1"
    ).fetchall()
    assert kinds == [("bp_grade3", "critical", 1), ("bp_grade3_unvalidated", "warning", 28)]
    none_row = conn.execute(
        "SELECT composite, components FROM scores WHERE member_id = 'm2'"
    ).fetchone()
    assert none_row is not None and none_row[0] is None


def test_rescoring_is_idempotent_and_improvement_uses_the_first_window(
    conn: psycopg.Connection[Any], db_url: str, settings: Settings
) -> None:
    _arrange(conn)
    first = score_window(db_url, settings, W0, W1)
    again = score_window(db_url, settings, W0, W1)
    assert again["alerts"] == 0 and first["alerts"] == 29
    assert conn.execute("SELECT count(*) FROM scores").fetchone() == (1,)
    assert conn.execute("SELECT count(*) FROM alerts").fetchone() == (29,)
    base = conn.execute("SELECT composite FROM scores").fetchone()
    assert base is not None
    # A later window where the member stopped wearing the band: improvement is negative.
    conn.execute(
        "DELETE FROM activity_readings WHERE start_at >= %s", (_local(W0 + timedelta(days=14), 0),)
    )
    score_window(db_url, settings, W0 + timedelta(days=14), W1)
    later = conn.execute(
        "SELECT composite, improvement FROM scores WHERE window_start = %s",
        (W0 + timedelta(days=14),),
    ).fetchone()
    assert later is not None and later[1] == pytest.approx(later[0] - base[0], abs=0.01)
    assert later[1] < 0


def test_data_after_consent_withdrawal_is_not_used(
    conn: psycopg.Connection[Any], db_url: str, settings: Settings
) -> None:
    _arrange(conn)
    conn.execute(  # scoring reads under the clinic-care consent (migration 0052)
        "UPDATE consents SET withdrawn_at = %s WHERE member_id = 'm1'",
        (_local(W0 + timedelta(days=3), 0),),
    )
    score_window(db_url, settings, W0, W1, member_ids=["m1"])
    ind = conn.execute("SELECT indicators FROM scores").fetchone()
    assert ind is not None
    assert ind[0]["bp"]["n_readings"] == 6 and ind[0]["bp"]["sufficient"] is False


def test_chunking_does_not_change_results(
    conn: psycopg.Connection[Any], db_url: str, settings: Settings
) -> None:
    _arrange(conn)
    for i in range(5):
        add_member(conn, f"x{i}")
    score_window(db_url, settings, W0, W1, chunk=2)
    a = conn.execute("SELECT member_id, composite, indicators FROM scores ORDER BY 1").fetchall()
    score_window(db_url, settings, W0, W1, chunk=1000)
    b = conn.execute("SELECT member_id, composite, indicators FROM scores ORDER BY 1").fetchall()
    assert a == b and len(a) == 6


def test_hypo_level2_alerts_once_per_cgm_run_and_per_fingerstick(
    conn: psycopg.Connection[Any], db_url: str, settings: Settings
) -> None:
    add_member(conn, "d1", conditions=("diabetes",))
    add_device(conn, "cgm1", "cgm")
    add_device(conn, "meter1", "glucometer")
    start = _local(W0 + timedelta(days=20), 3)  # CGM is read for the last 14 days
    values = [100, 60, 50, 48, 52, 70, 90, 53, 40]  # two runs below 54 (readings 2-3, 7-8)
    for i, v in enumerate(values):
        conn.execute(
            "INSERT INTO glucose_readings (device_id, measured_at, member_id, utc_offset_min,"
            " value, unit, method) VALUES ('cgm1', %s, 'd1', 480, %s, 'mg/dL', 'cgm')",
            (start + timedelta(minutes=5 * i), v),
        )
    for k, mmol in enumerate([2.9, 3.0]):  # only 2.9 mmol/L is level 2
        conn.execute(
            "INSERT INTO glucose_readings (device_id, measured_at, member_id, utc_offset_min,"
            " value, unit, method, meal_context) VALUES ('meter1', %s, 'd1', 480, %s,"
            " 'mmol/L', 'smbg', 'fasting')",
            (_local(W0 + timedelta(days=4 + k), 7), mmol),
        )
    out = score_window(db_url, settings, W0, W1)
    assert out["alerts"] == 3
    rows = conn.execute("SELECT detail->>'method', count(*) FROM alerts GROUP BY 1").fetchall()
    assert dict(rows) == {"cgm": 2, "smbg": 1}


def test_workers_split_a_named_run_and_a_failed_chunk_is_redone(
    conn: psycopg.Connection[Any],
    db_url: str,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threading

    from scoring import chunk, service

    _arrange(conn)
    for i in range(9):
        add_member(conn, f"x{i}")
    rid = service.create_run(db_url, settings, W0, W1, run_id="book-1", chunk=2)
    # Creating the same run again (a second worker starting) adds nothing.
    assert service.create_run(db_url, settings, W0, W1, run_id="book-1", chunk=2) == rid
    assert conn.execute("SELECT count(*) FROM score_run_chunks").fetchone() == (5,)
    with pytest.raises(ValueError, match="another window"):
        service.create_run(db_url, settings, W0, W1 + timedelta(days=1), run_id="book-1")

    # A worker that fails inside a chunk rolls it back: nothing of that chunk is written.
    real = chunk.score_chunk
    calls = {"n": 0}

    def flaky(*a: Any, **k: Any) -> dict[str, int]:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker died")
        return real(*a, **k)

    with monkeypatch.context() as patch:
        patch.setattr(service, "score_chunk", flaky)
        with pytest.raises(RuntimeError):
            service.work_run(db_url, settings, rid, worker="w0")
    assert conn.execute("SELECT count(*) FROM scores").fetchone() == (2,)

    results: list[dict[str, Any]] = []
    threads = [
        threading.Thread(
            target=lambda n=n: results.append(
                service.work_run(db_url, settings, rid, worker=f"w{n}")
            )
        )
        for n in (1, 2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r["members"] for r in results) == 8  # the 4 chunks left, each once
    assert conn.execute("SELECT count(*) FROM scores").fetchone() == (10,)
    assert conn.execute(
        "SELECT count(*) FROM score_run_chunks WHERE done_at IS NULL"
    ).fetchone() == (0,)
    assert conn.execute("SELECT finished_at IS NOT NULL FROM score_runs").fetchone() == (True,)


def test_chunks_are_cut_by_readings_as_well_as_members() -> None:
    from scoring.service import LIGHT_MEMBER_READINGS, pack_chunks

    ids = [f"m{i}" for i in range(10)]
    heavy = {"m0": 26_000, "m1": 26_000, "m2": 26_000}  # three CGM wearers
    chunks = pack_chunks(ids, heavy, max_members=6, max_readings=60_000)
    assert [len(c) for c in chunks] == [2, 6, 2]
    assert [m for c in chunks for m in c] == ids  # every member once, in order
    for c in chunks:
        load = sum(heavy.get(m, 0) + LIGHT_MEMBER_READINGS for m in c)
        assert load <= 60_000 or len(c) == 1


def test_stored_glucose_indicators_equal_the_per_member_definitions(
    conn: psycopg.Connection[Any], db_url: str, settings: Settings
) -> None:
    """The chunk's grouped CGM path stores what cgm_indicators gives member by member.

    Three wearers in one chunk: 14 days at UTC+8, one who flew to UTC-5 halfway (the
    window follows the median offset), and one with fingersticks only; the first two end
    and start low, so a change of member must also split the level-2 alert runs.
    """
    import numpy as np

    from core.payload_format import MEAL_CONTEXTS
    from scoring.indicators.cgm import cgm_indicators
    from scoring.indicators.smbg import smbg_indicators

    for mid in ("g1", "g2", "g3"):
        add_member(conn, mid, conditions=("diabetes",))
    add_device(conn, "cgmA", "cgm")
    add_device(conn, "cgmB", "cgm")
    add_device(conn, "meterC", "glucometer")
    first = W1 - timedelta(days=14)
    rows: dict[str, list[tuple[datetime, int, float]]] = {"g1": [], "g2": [], "g3": []}
    for i in range(14 * 288):
        at = _local(first, 0) + timedelta(minutes=5 * i)
        wave = 150 + 100 * np.sin(i / 40.0)
        rows["g1"].append((at, 480, float(round(wave))))
        off = 480 if i < 7 * 288 else -300
        rows["g2"].append((at + timedelta(minutes=2), off, float(round(0.8 * wave))))
    rows["g1"][-1] = (rows["g1"][-1][0], 480, 45.0)  # g1 ends low ...
    rows["g2"][0] = (rows["g2"][0][0], 480, 40.0)  # ... and g2 starts low
    for mid, dev in (("g1", "cgmA"), ("g2", "cgmB")):
        with conn.cursor().copy(
            "COPY glucose_readings (device_id, measured_at, member_id, utc_offset_min, value,"
            " unit, method) FROM STDIN"
        ) as cp:
            for at, off, v in rows[mid]:
                cp.write_row((dev, at, mid, off, v, "mg/dL", "cgm"))
    checks = [(2 + d, 7, 6.1 + d / 10, "fasting") for d in range(10)] + [(3, 9, 11.2, None)]
    for d, h, v, meal in checks:
        conn.execute(
            "INSERT INTO glucose_readings (device_id, measured_at, member_id, utc_offset_min,"
            " value, unit, method, meal_context) VALUES ('meterC', %s, 'g3', 480, %s,"
            " 'mmol/L', 'smbg', %s)",
            (_local(W0 + timedelta(days=d), h), v, meal),
        )
    score_window(db_url, settings, W0, W1)
    stored = dict(conn.execute("SELECT member_id, indicators FROM scores").fetchall())

    epoch = date(1970, 1, 1)
    c0, d1 = (first - epoch).days * 86_400, (W1 - epoch).days * 86_400
    for mid in ("g1", "g2"):
        t = np.array([int(at.timestamp()) for at, _, _ in rows[mid]], dtype=np.int64)
        offs = np.array([o for _, o, _ in rows[mid]])
        values = np.array([x for _, _, x in rows[mid]])
        local_day = (t + offs * 60) // 86_400
        keep = local_day >= (first - epoch).days  # the window's last 14 local days
        off = int(np.median(offs[keep]))
        want = cgm_indicators(
            t[keep], values[keep], np.zeros(int(keep.sum()), bool),
            window_start_s=c0 - off * 60, window_end_s=d1 - off * 60,
        )  # fmt: skip
        got = stored[mid]["cgm"]
        assert got.keys() == want.keys()
        for k in want:
            if isinstance(want[k], float):
                assert got[k] == pytest.approx(want[k], rel=1e-12), (mid, k)
            else:
                assert got[k] == want[k], (mid, k)
        assert got["sufficient"] is True and got["hypo_events"] > 0  # numbers, not Nones
    assert stored["g3"]["cgm"]["n_readings"] == 0
    meals = [m if m in MEAL_CONTEXTS else None for _, _, _, m in checks]
    want_smbg = smbg_indicators(np.array([c[2] for c in checks]), np.ones(len(checks), bool), meals)
    assert stored["g3"]["smbg"] == pytest.approx(want_smbg)
    lows = set(
        conn.execute(
            "SELECT member_id, observed_at FROM alerts WHERE kind = 'hypo_level2'"
        ).fetchall()
    )
    # g2's first reading is low right after g1's last: still a new run, g2's own alert.
    assert ("g1", rows["g1"][-1][0]) in lows and ("g2", rows["g2"][0][0]) in lows
    assert {m for m, _ in lows} == {"g1", "g2"}  # 2.9+ mmol/L fingersticks are not level 2


def test_stored_composites_equal_the_per_member_composite(
    conn: psycopg.Connection[Any], db_url: str, settings: Settings
) -> None:
    """The chunk's columnar composite stores what composite_score gives each stored row.

    A hypertensive member with BP and activity, a diabetic member with fingersticks only,
    one with both conditions and no data, one aged 85 (relaxed target): every stored row's
    composite and components equal composite_score over its own stored indicators.
    """
    from scoring.composite import composite_score
    from scoring.config import load_config

    _arrange(conn)
    add_member(conn, "d1", conditions=("diabetes",))
    add_member(conn, "d2", conditions=("diabetes", "hypertension"))
    add_member(conn, "o1", conditions=("hypertension",), birth_date=date(1940, 1, 1))
    add_device(conn, "meterD", "glucometer")
    add_device(conn, "cuffO")
    for i in range(20):
        d = W0 + timedelta(days=i)
        conn.execute(
            "INSERT INTO glucose_readings (device_id, measured_at, member_id, utc_offset_min,"
            " value, unit, method, meal_context) VALUES ('meterD', %s, 'd1', 480, %s,"
            " 'mmol/L', 'smbg', %s)",
            (_local(d, 7), 5.5 + (i % 5) / 2, "fasting" if i % 3 else "after_lunch"),
        )
        _bp(conn, "cuffO", "o1", _local(d, 7), 138 + i % 4, 80)
        _bp(conn, "cuffO", "o1", _local(d, 20), 141, 83)
    score_window(db_url, settings, W0, W1)
    rows = conn.execute(
        "SELECT s.member_id, s.composite, s.components, s.indicators, m.conditions"
        " FROM scores s JOIN members m USING (member_id) ORDER BY 1"
    ).fetchall()
    assert [r[0] for r in rows] == ["d1", "d2", "m1", "o1"]
    cfg = load_config(settings.scoring_config)
    for mid, composite, comps, ind, conditions in rows:
        want = composite_score(
            ind, conditions=tuple(conditions), window_days=(W1 - W0).days, config=cfg
        )
        assert composite == want.composite, mid
        assert comps == want.components, mid
    by_id = {r[0]: r for r in rows}
    assert by_id["o1"][3]["bp"]["target_sys"] == 145.0  # relaxed target at 85
    assert by_id["d1"][2]["glucose"]["sufficient"] is True
    assert by_id["d2"][1] is None  # no data at all: insufficient, not zero


def test_cgm_active_percent_uses_the_registered_models_nominal_interval(
    conn: psycopg.Connection[Any], db_url: str, settings: Settings
) -> None:
    """Readings every 15 minutes for 14 days: 100 % active from a FreeStyle Libre 2 (a
    15-minute sensor in the device-model registry), a third from an unknown model (counted
    as a 5-minute sensor), whatever the member's own sampling interval is."""
    from tests.factories import bind

    start = _local(W1 - timedelta(days=14), 0)
    for mid, dev, model in (("l1", "libre", "FreeStyle Libre 2"), ("u1", "other", "X-1")):
        add_member(conn, mid, conditions=("diabetes",))
        add_device(conn, dev, "cgm")
        conn.execute("UPDATE devices SET model = %s WHERE device_id = %s", (model, dev))
        bind(conn, dev, mid, start - timedelta(days=30))
        with conn.cursor().copy(
            "COPY glucose_readings (device_id, measured_at, member_id, utc_offset_min, value,"
            " unit, method) FROM STDIN"
        ) as cp:
            for k in range(14 * 96):
                cp.write_row(
                    (dev, start + timedelta(minutes=15 * k), mid, 480, 110, "mg/dL", "cgm")
                )
    score_window(db_url, settings, W0, W1)
    got = dict(conn.execute("SELECT member_id, indicators->'cgm' FROM scores").fetchall())
    assert got["l1"]["active_pct"] == 100.0 and got["l1"]["sufficient"] is True
    assert abs(got["u1"]["active_pct"] - 100 / 3) < 1e-9 and got["u1"]["sufficient"] is False


def test_repeated_level2_lows_are_stored_as_not_controlled_with_an_alert(
    conn: psycopg.Connection[Any], db_url: str, settings: Settings
) -> None:
    """The review's over-treated member: TIR 94 %, an 80-minute low at 50 mg/dL each night.
    Before, glucose scored 100/100 and the clinic showed 达标; now the stored control block
    says not controlled with the hypoglycaemia reason, the glucose score is capped and the
    clinic gets a window alert besides the per-run level-2 ones."""
    add_member(conn, "ot", conditions=("diabetes",))
    add_device(conn, "cgmO", "cgm")
    start = _local(W1 - timedelta(days=14), 0)
    with conn.cursor().copy(
        "COPY glucose_readings (device_id, measured_at, member_id, utc_offset_min, value,"
        " unit, method) FROM STDIN"
    ) as cp:
        for k in range(14 * 288):
            v = 50 if 24 <= k % 288 < 40 else 120  # 02:00-03:20 local every night
            cp.write_row(("cgmO", start + timedelta(minutes=5 * k), "ot", 480, v, "mg/dL", "cgm"))
    score_window(db_url, settings, W0, W1)
    row = conn.execute("SELECT indicators, components FROM scores").fetchone()
    assert row is not None
    ind, comps = row
    assert ind["cgm"]["hypo_l2_events"] == 14 and ind["cgm"]["hypo_extended_events"] == 0
    d = ind["control"]["diabetes"]
    assert (d["status"], d["attainment"], d["hypo_target_missed"]) == ("not_controlled", 0.0, True)
    assert "14 level-2 events" in d["reason_en"]
    assert comps["glucose"]["score"] <= 50.0
    kinds = dict(conn.execute("SELECT kind, count(*) FROM alerts GROUP BY 1").fetchall())
    assert kinds == {"hypo_level2": 14, "hypo_targets_missed": 1}
