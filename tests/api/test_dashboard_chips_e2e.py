"""The patient list's sufficiency chips in headless Chromium, at 1440 and 390 px, Chinese
and English: a chip for each domain the patient has a device for or sent data in, none
for the domains they have no device for; screenshots in ``artifacts/dashboard/``."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
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


def test_sufficiency_chips_only_for_the_patients_own_devices(
    browser: Any, live_url: str, world: World, conn: psycopg.Connection[Any]
) -> None:
    _seed(conn, world)
    empty = {"sufficient": False, "n_readings": 0}
    conn.execute(  # p0001 has no device; its score measured every domain, all empty
        "INSERT INTO scores (member_id, window_start, window_end, algorithm_version,"
        " components, indicators) VALUES ('p0001', %s, %s, 'test-1', '{}', %s)",
        (date.today() - timedelta(days=30), date.today(), Jsonb({
            "bp": {**empty, "valid_days": 0}, "cgm": empty, "smbg": empty,
            "activity": {"sufficient": False, "valid_days": 0},
        })),
    )  # fmt: skip
    d = browser
    d.set_window_size(1440, 1800)
    _sign_in(d, live_url, "clinic-a", CLINIC_A_PASSWORD)
    _wait(d, "#patients tbody tr")
    for lang, cgm in (("zh-CN", "动态血糖"), ("en", "CGM")):
        _use_language(d, lang)
        for width in (1440, 390):
            d.set_window_size(width, 1800)
            d.get(live_url + "/dashboard/#/patients?q=p0001")
            _until(d, lambda drv: drv.find_elements(By.CSS_SELECTOR, "tr[data-member=p0001]"))
            row = d.find_element(By.CSS_SELECTOR, "tr[data-member=p0001]")
            assert row.find_elements(By.CSS_SELECTOR, ".suff") == []
            d.get(live_url + "/dashboard/#/patients?q=m1")
            _until(d, lambda drv: drv.find_elements(By.CSS_SELECTOR, "tr[data-member=m1] .suff"))
            chips = [c.text for c in d.find_elements(By.CSS_SELECTOR, "tr[data-member=m1] .suff")]
            assert any(cgm in c for c in chips), chips  # m1 wears a CGM
            _shot(d, f"list-chips-{lang}-{width}", width)
    _use_language(d, "zh-CN")  # back to Chinese for the next test
