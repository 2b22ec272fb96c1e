"""The clinic's alerts worklist and the list's triage controls in headless Chromium, at
1440 and 390 px, in Chinese and English: episodes with values, criticals in their own
section before warnings, one click acknowledges an episode; the condition filter, the BP
sort and the page jump; the overview's critical chip in red. Screenshots in
``artifacts/dashboard/``."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

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


@pytest.mark.parametrize("width", [1440, 390])
def test_alerts_worklist_and_triage(
    browser: Any, live_url: str, world: World, conn: psycopg.Connection[Any], width: int
) -> None:
    _seed(conn, world)
    d = browser
    d.set_window_size(width, 1800)
    _sign_in(d, live_url, "clinic-a", CLINIC_A_PASSWORD)
    _wait(d, "#patients tbody tr")
    _use_language(d, "zh-CN")
    d.get(live_url + "/dashboard/#/alerts")
    crit = _wait(d, "#critical-episodes li")
    assert "危急" in crit.text and "mmHg" in crit.text  # the readings' values, in words
    other = d.find_elements(By.CSS_SELECTOR, "#other-episodes li")
    assert any(li.get_attribute("data-kind") == "bp_grade3_unvalidated" for li in other)
    y_crit = d.find_element(By.ID, "alerts-critical").location["y"]
    assert y_crit < d.find_element(By.ID, "alerts-other").location["y"]  # criticals first
    assert d.execute_script("return document.documentElement.scrollWidth") <= width
    _shot(d, f"alerts-zh-{width}", width)
    n_open = conn.execute(
        "SELECT count(*) FROM alerts WHERE acknowledged_at IS NULL AND member_id = 'm1'"
        " AND kind = 'bp_grade3'"
    ).fetchone()
    crit.find_element(By.CSS_SELECTOR, "button.ack").click()
    _until(d, lambda _: crit.find_element(By.CSS_SELECTOR, "button.ack").text == "已确认")
    left = conn.execute(
        "SELECT count(*) FROM alerts WHERE acknowledged_at IS NULL AND member_id = 'm1'"
        " AND kind = 'bp_grade3'"
    ).fetchone()
    assert n_open is not None and n_open[0] >= 2 and left == (0,)  # the episode at once
    # English.
    _use_language(d, "en")
    _until(d, lambda _: d.find_element(By.ID, "alerts-other-h").text.startswith("Other"))
    _shot(d, f"alerts-en-{width}", width)
    # Triage on the list: by condition, by the latest BP, a page jump.
    d.get(live_url + "/dashboard/#/patients")
    _wait(d, "#patients tbody tr")
    Select(d.find_element(By.ID, "condition")).select_by_value("diabetes")
    _until(d, lambda _: "condition=diabetes" in d.current_url)
    _wait(d, "#patients tbody tr")
    members = [
        r.get_attribute("data-member")
        for r in d.find_elements(By.CSS_SELECTOR, "#patients tbody tr")
    ]
    assert members and "m1" in members
    Select(d.find_element(By.ID, "sort")).select_by_value("bp")
    _until(d, lambda _: "sort=bp" in d.current_url)
    _wait(d, "#patients tbody tr")
    assert d.find_element(By.CSS_SELECTOR, "#patients tbody tr td.bp-tir").text != ""
    assert d.find_element(By.ID, "page-jump").get_attribute("type") == "number"
    row = d.find_element(By.CSS_SELECTOR, "#patients tbody tr")
    if width <= 480:  # phones: a card per patient, each value under its label
        assert row.value_of_css_property("display") == "block"
        assert (
            d.find_element(By.CSS_SELECTOR, "#patients thead").value_of_css_property("display")
            == "none"
        )
    else:
        assert row.value_of_css_property("display") == "table-row"
    assert d.execute_script("return document.documentElement.scrollWidth") <= width
    _shot(d, f"list-{width}", width)
    _use_language(d, "zh-CN")  # back to Chinese for the next run
    # The overview's critical chip is red, unlike the other reasons (a new critical for m3:
    # the episode above was acknowledged).
    conn.execute(
        "INSERT INTO alerts (member_id, kind, severity, observed_at, detail) VALUES"
        " ('m3', 'bp_grade3', 'critical', now() - interval '1 hour',"
        ' \'{"systolic": 186, "diastolic": 112}\')'
    )
    d.get(live_url + "/dashboard/#/overview")
    chip = _wait(d, ".chip.reason-critical_alert")
    bg = chip.value_of_css_property("background-color")
    plain = d.find_elements(By.CSS_SELECTOR, ".chip:not(.reason-critical_alert)")
    assert bg not in ("rgba(0, 0, 0, 0)", "transparent")
    assert all(c.value_of_css_property("background-color") != bg for c in plain)
