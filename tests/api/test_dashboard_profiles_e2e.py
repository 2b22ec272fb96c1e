"""The patient page's AGP daily profiles and the HBPM report's grade-3 readings and weekly
means, in headless Chromium at 1440 and 390 px, Chinese and English; screenshots in
``artifacts/dashboard/``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import psycopg
from selenium.webdriver.common.by import By

from tests.api.conftest import CLINIC_A_PASSWORD, World
from tests.api.test_dashboard_e2e import (
    _seed,
    _shot,
    _sign_in,
    _until,
    _use_language,
    _wait,
    browser,
    live_url,
)

__all__ = ["browser", "live_url"]


def test_daily_profiles_grade3_readings_and_weekly_means(
    browser: Any, live_url: str, world: World, conn: psycopg.Connection[Any]
) -> None:
    _seed(conn, world)
    conn.execute(  # one grade-3 reading (diastolic 112), one just under (179/109)
        "INSERT INTO bp_readings (device_id, measured_at, member_id, utc_offset_min, systolic,"
        " diastolic, pulse, validated) VALUES ('cuff-m1', %s, 'm1', 480, 150, 112, 70, true),"
        " ('cuff-m1', %s, 'm1', 480, 179, 109, 70, true)",
        (world.now - timedelta(days=2, hours=1), world.now - timedelta(days=3, hours=1)),
    )
    days = conn.execute(
        "SELECT count(DISTINCT ((measured_at + interval '8 hours') AT TIME ZONE 'UTC')::date)"
        " FROM glucose_readings WHERE member_id = 'm1' AND method = 'cgm'"
        " AND measured_at > now() - interval '14 days'"
    ).fetchone()
    assert days is not None
    d = browser
    d.set_window_size(1440, 1800)
    _sign_in(d, live_url, "clinic-a", CLINIC_A_PASSWORD)
    _wait(d, "#patients tbody tr")
    for lang, title in (("zh-CN", "每日葡萄糖曲线"), ("en", "Daily glucose profiles")):
        _use_language(d, lang)
        for width in (1440, 390):
            d.set_window_size(width, 1800)
            d.get(live_url + "/dashboard/#/patient/m1")
            _wait(d, "#daily-profiles svg")
            _until(d, lambda drv, want=title: want in drv.find_element(
                By.CSS_SELECTOR, "#daily-profiles h4").text)  # fmt: skip
            charts = d.find_elements(By.CSS_SELECTOR, "#daily-profiles svg.daily-chart")
            assert len(charts) == min(14, int(days[0])), len(charts)
            assert all(int(c.get_attribute("data-bins")) > 0 for c in charts)
            bp = d.find_element(By.CSS_SELECTOR, "#bp svg")
            assert bp.get_attribute("data-grade3") == "1"  # 150/112, not 179/109
            assert len(d.find_elements(By.CSS_SELECTOR, "#bp svg circle.grade3")) == 1
            assert "1" in d.find_element(By.ID, "bp-grade3").text
            weeks = d.find_elements(By.CSS_SELECTOR, "#bp-weekly tbody tr")
            assert len(weeks) >= 3  # 20 readings over 3 weeks and more
            grid = d.find_element(By.CSS_SELECTOR, "#daily-profiles .daily-grid")
            assert grid.size["width"] <= width
            _shot(d, f"patient-daily-{lang}-{width}", width)
    _use_language(d, "zh-CN")  # back to Chinese for the next test
