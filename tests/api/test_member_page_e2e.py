"""The member's own page in real headless Chromium: sign-in (a wrong password says so),
next year's premium on every version with the reasons, the indicators in plain words, the
premium simulator (the same engine, nothing stored) and consent withdrawn and given again,
at 1440 and 390 px, in Chinese and English. Screenshots go to ``artifacts/dashboard/``."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
from selenium.webdriver.common.by import By

from api.auth.service import create_principal
from api.pricing import service as pricing
from tests.api.conftest import World
from tests.api.test_dashboard_e2e import A11Y_JS, _shot, _until, _wait, browser, live_url

__all__ = ["browser", "live_url"]  # the fixtures, shared with the clinic dashboard's test

PASSWORD = "pw-member-page-1"


def _enroll(conn: psycopg.Connection[Any]) -> None:
    rows = [
        SimpleNamespace(member_id="m1", product_id="demo-city", plan_year=y,
                        enrolled_on=date(y - 1, 12, 1), premium_paid_yuan=None,
                        product_version="standard")
        for y in (2025, 2026)
    ]  # fmt: skip
    pricing.upsert_enrollments(conn, rows)


def _sign_in(driver: Any, base: str, password: str) -> None:
    driver.get(base + "/dashboard/member.html")
    _wait(driver, "#signin-button")
    driver.find_element(By.ID, "name").send_keys("m1-web")
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "signin-button").click()


def _premiums(driver: Any, css: str) -> dict[str, str]:
    return {
        c.get_attribute("data-version"): c.find_element(By.CSS_SELECTOR, ".price").text
        for c in driver.find_elements(By.CSS_SELECTOR, css)
    }


@pytest.mark.parametrize("width", [1440, 390])
def test_member_page_in_headless_chromium(
    browser: Any, live_url: str, world: World, conn: psycopg.Connection[Any], width: int
) -> None:
    create_principal(conn, role="member", tenant_id="m1", name="m1-web", password=PASSWORD)
    _enroll(conn)
    browser.set_window_size(width, 1800)
    browser.execute_script("localStorage.clear(); sessionStorage.clear();") if (
        browser.current_url.startswith("http")
    ) else None
    _sign_in(browser, live_url, "not-the-password")
    _until(browser, lambda d: d.find_element(By.ID, "signin-error").text == "账号或密码错误")
    _sign_in(browser, live_url, PASSWORD)
    _wait(browser, "#premium .card")
    cards = _premiums(browser, "#premium .card")
    assert set(cards) == {"standard", "preferred"}, cards
    held = browser.find_element(By.CSS_SELECTOR, "#premium .card.held")
    assert held.get_attribute("data-version") == "standard" and "当前所选" in held.text
    # Two continuous years: the deductible's cut is stated with its reason.
    assert "免赔额 ¥13000.00" in held.text and "连续参保2年" in held.text
    codes = {
        li.get_attribute("data-code") for li in browser.find_elements(By.CSS_SELECTOR, "#why li")
    }
    assert {"engagement", "control", "activity", "adherence", "ladder"} <= codes
    assert browser.find_elements(By.CSS_SELECTOR, "#indicators .card")
    # The simulator: more steps and medicines taken, priced by the engine, nothing stored.
    browser.execute_script(
        "for (const [id, v] of [['sim-steps', 15000], ['sim-adh', 100], ['sim-tir', 90]]) {"
        " const el = document.getElementById(id); el.value = v;"
        " el.dispatchEvent(new Event('input')); }"
        " document.getElementById('sim-bp').checked = true;"
    )
    browser.find_element(By.ID, "sim-run").click()
    _wait(browser, "#sim-result .card")
    sim = _premiums(browser, "#sim-result .card")
    assert set(sim) == set(cards)
    assert all(float(sim[v].lstrip("¥")) <= float(cards[v].lstrip("¥")) for v in cards), (
        sim,
        cards,
    )
    assert conn.execute("SELECT count(*) FROM quotes").fetchone() == (0,)
    assert browser.execute_script("return document.documentElement.scrollWidth") <= width
    _shot(browser, f"member-zh-{width}", width)
    # Consent: withdrawn, then given again, each shown at once.
    browser.find_element(By.ID, "consent-withdraw").click()
    _until(browser, lambda d: "已撤回" in d.find_element(By.ID, "consent-state").text)
    browser.find_element(By.ID, "consent-give").click()
    _until(browser, lambda d: "已授权" in d.find_element(By.ID, "consent-state").text)
    live = conn.execute(
        "SELECT count(*) FILTER (WHERE withdrawn_at IS NULL), count(*) FROM consents"
        " WHERE member_id = 'm1' AND purpose = 'insurer_pricing'"
    ).fetchone()
    assert live == (1, 2)
    # English.
    browser.find_element(By.ID, "lang").click()
    _until(browser, lambda d: d.find_element(By.ID, "title").text == "My health and premium")
    _wait(browser, "#premium .card")
    held = browser.find_element(By.CSS_SELECTOR, "#premium .card.held")
    assert "deductible ¥13000.00" in held.text
    assert browser.execute_script("return document.documentElement.scrollWidth") <= width
    problems = [p for p in browser.execute_script(A11Y_JS) if not p.startswith("unlabelled sim")]
    assert problems == [], problems
    _shot(browser, f"member-en-{width}", width)
    browser.find_element(By.ID, "lang").click()  # back to Chinese for the next run
    browser.find_element(By.ID, "sign-out").click()
    _wait(browser, "#signin-button")
