"""The clinic dashboard in real headless Chromium against the running app (uvicorn).

Signs in, opens the list, opens a patient with the keyboard, checks that the charts drew
what the database holds (BP points, AGP bins, the TIR bar's labels against the stored
score, fingerstick points, step bars), acknowledges an alert, switches unit and language,
opens the overview, and checks that another clinic's patient is refused. Screenshots go to
``artifacts/dashboard/``. Skips, saying why, when chromium, chromedriver or selenium are
missing (``.ci/run`` installs the Debian packages).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import uvicorn
from psycopg.types.json import Jsonb

from api.app import create_app
from api.auth.service import create_principal
from core.settings import Settings
from tests.api.conftest import CLINIC_A_PASSWORD, World
from tests.api.test_dashboard import FULL_CGM, _cgm_days, add_members

webdriver = pytest.importorskip(
    "selenium.webdriver", reason="selenium is not installed (dev extra)"
)
from selenium.common.exceptions import (  # noqa: E402
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
)
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

CHROMEDRIVER = os.environ.get("WELLRATE_CHROMEDRIVER", "/usr/bin/chromedriver")
CHROMIUM = next(
    (p for p in ("/usr/lib/chromium/chromium", "/usr/bin/chromium") if os.path.exists(p)),
    shutil.which("chromium") or shutil.which("chromium-browser"),
)
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "dashboard"
WAIT_S = 15

if not CHROMIUM or not os.path.exists(CHROMEDRIVER):
    pytest.skip(
        "headless Chromium tests need Debian's chromium and chromium-driver"
        f" (chromium: {CHROMIUM or 'missing'}, chromedriver: {CHROMEDRIVER} missing?);"
        " apt-get install chromium chromium-driver",
        allow_module_level=True,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_url(api_settings: Settings) -> Iterator[str]:
    """The app served by uvicorn in a thread on a free loopback port."""
    port = _free_port()
    config = uvicorn.Config(
        create_app(api_settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ws="none",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-e2e", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,1800",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(options=opts, service=service)
    try:
        yield driver
    finally:
        driver.quit()


def _seed(conn: psycopg.Connection[Any], world: World) -> dict[str, int]:
    """A patient with 14 days of CGM, 30 days of BP, fingersticks and a recent score."""
    now = world.now
    today = datetime.now(UTC).date()
    n_cgm = _cgm_days(conn, "m1", now, 14)
    # A daily curve (peak in the local afternoon) with a spread, so the AGP bands show.
    conn.execute(
        "UPDATE glucose_readings SET value = round((125 + 55 * sin(2 * pi() *"
        " (extract(epoch FROM measured_at) + 28800) / 86400 - 2.2)"
        " + (floor(extract(epoch FROM measured_at) / 86400)::bigint % 9) * 9 - 36)::numeric, 1)"
        " WHERE member_id = 'm1' AND method = 'cgm'"
    )
    for i in range(20):
        conn.execute(
            "INSERT INTO bp_readings (device_id, measured_at, member_id, utc_offset_min,"
            " systolic, diastolic, pulse, validated) VALUES ('cuff-m1', %s, 'm1', 480, %s, %s,"
            " 70, %s)",
            (now - timedelta(days=4 + i, hours=3), 128 + i, 78 + i % 5, i != 5),
        )
    conn.execute(
        "INSERT INTO glucose_readings (device_id, measured_at, member_id, utc_offset_min,"
        " value, unit, censored, method, meal_context) VALUES"
        " ('meter-m1', %s, 'm1', 480, 6.0, 'mmol/L', NULL, 'smbg', 'fasting'),"
        " ('meter-m1', %s, 'm1', 480, 190, 'mg/dL', NULL, 'smbg', 'after_lunch'),"
        " ('meter-m1', %s, 'm1', 480, 7.5, 'mmol/L', NULL, 'smbg', 'before_sleep')",
        (now - timedelta(days=3), now - timedelta(days=2), now - timedelta(days=1, hours=5)),
    )
    bp = {
        "sufficient": True,
        "controlled": False,
        "home_mean_sys": 141.0,
        "home_mean_dia": 84.0,
        "target_sys": 130.0,
        "target_dia": 80.0,
        "protocol_days": 12,
    }
    components = {
        "bp": {
            "score": 52.0,
            "weight": 0.3,
            "sufficient": True,
            "reason_en": "home BP 141/84 above 130/80",
            "reason_zh": "家庭血压141/84高于目标130/80",
        },
        "glucose": {
            "score": 59.0,
            "weight": 0.3,
            "sufficient": True,
            "reason_en": "GRI 41",
            "reason_zh": "GRI 41",
        },
    }
    conn.execute(
        "INSERT INTO scores (member_id, window_start, window_end, algorithm_version, composite,"
        " improvement, components, indicators) VALUES ('m1', %s, %s, 'test-1', 64.5, 2.0, %s,"
        " %s)",
        (
            today - timedelta(days=30),
            today,
            Jsonb(components),
            Jsonb(
                _with_control(
                    {
                        "bp": bp,
                        "cgm": FULL_CGM,
                        "activity": {"sufficient": True, "step_target": 7000},
                    }
                )
            ),
        ),
    )
    add_members(conn, "c1", 60)
    create_principal(conn, role="insurer", tenant_id="ins1", name="ins-web", password="pw-insurer")
    n_bp = conn.execute("SELECT count(*) FROM bp_readings WHERE member_id = 'm1'").fetchone()
    n_days = conn.execute(
        "SELECT count(*) FROM daily_readings WHERE member_id = 'm1' AND kind = 'activity'"
        " AND day >= now() - interval '30 days'"
    ).fetchone()
    assert n_bp is not None and n_days is not None
    # Two more grade-3 readings beside the fixture's alert (one episode of three, with
    # values) and an unvalidated-device warning, which must come after the criticals.
    at = now - timedelta(hours=3)
    for sec, kind, sev, sys_, dia in (
        (-10, "bp_grade3", "critical", 182, 121),
        (-20, "bp_grade3", "critical", 185, 112),
        (10, "bp_grade3_unvalidated", "warning", 190, 100),
    ):
        conn.execute(
            "INSERT INTO alerts (member_id, kind, severity, observed_at, detail)"
            " VALUES ('m1', %s, %s, %s, %s)",
            (kind, sev, at + timedelta(seconds=sec), Jsonb({"systolic": sys_, "diastolic": dia})),
        )
    return {"cgm": n_cgm, "bp": int(n_bp[0]), "step_days": int(n_days[0])}


def _with_control(ind: dict[str, Any]) -> dict[str, Any]:
    """The control block scoring writes, for m1 (68, hypertension and diabetes): at 68 the
    consensus limit for time below 70 mg/dL is 1 %, so FULL_CGM's 3 % is a missed
    hypoglycaemia target."""
    from scoring.control import control_block

    return {**ind, "control": control_block(["hypertension", "diabetes"], 68, ind)}


def _shot(driver: Any, name: str, width: int = 1280) -> None:
    """A whole-page screenshot at ``width``: the window grows to the page's height for the
    shot, then returns to ``width`` x 1800."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    driver.set_window_size(width, min(max(height, 800), 8000))
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))
    driver.set_window_size(width, 1800)


def _wait(driver: Any, css: str) -> Any:
    try:
        return WebDriverWait(driver, WAIT_S).until(
            ec.presence_of_element_located((By.CSS_SELECTOR, css))
        )
    except TimeoutException:
        _shot(driver, "failure")
        logs = driver.get_log("browser")
        pytest.fail(f"{css!r} did not appear; browser log: {logs}")


def _until(driver: Any, check: Any) -> None:
    """Wait for ``check(driver)``; elements replaced by a re-render are simply retried."""
    WebDriverWait(
        driver, WAIT_S, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)
    ).until(check)


def _use_language(driver: Any, lang: str) -> None:
    """Switch the dashboard to ``lang`` (``zh-CN`` or ``en``) with its toggle, if needed."""
    if driver.execute_script("return document.documentElement.lang") != lang:
        driver.find_element(By.ID, "lang-toggle").click()
        _until(driver, lambda d: d.execute_script("return document.documentElement.lang") == lang)


def _sign_in(driver: Any, base: str, name: str, password: str) -> None:
    driver.get(base + "/dashboard/")
    _wait(driver, "#signin-form")
    driver.find_element(By.ID, "signin-name").send_keys(name)
    driver.find_element(By.ID, "signin-password").send_keys(password + Keys.ENTER)


# Accessibility checks run in the page: every form control has a label, every button a
# name, and text meets WCAG 2.1 AA contrast (4.5:1) against its effective background.
A11Y_JS = """
const lum = (c) => {
  const [r, g, b] = c.match(/[\\d.]+/g).slice(0, 3).map(Number).map((v) => {
    v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
};
const bg = (el) => {
  for (let n = el; n; n = n.parentElement) {
    const c = getComputedStyle(n).backgroundColor;
    if (c && !c.startsWith("rgba(0, 0, 0, 0)") && c !== "transparent") return c;
  }
  return "rgb(255, 255, 255)";
};
const problems = [];
for (const el of document.querySelectorAll("input, select")) {
  if (!el.labels || el.labels.length === 0) problems.push("unlabelled " + el.id);
}
for (const el of document.querySelectorAll("button")) {
  if (!(el.textContent.trim() || el.getAttribute("aria-label"))) problems.push("unnamed button");
}
const texts = document.querySelectorAll(
  "main h2, main h3, main p, main td, main th, main a, main button, main label, main span,"
  + " header *");
for (const el of texts) {
  if (!el.textContent.trim() || el.closest("[hidden], .sr-only, [aria-hidden='true']")) continue;
  const a = lum(getComputedStyle(el).color), b = lum(bg(el));
  const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  if (ratio < 4.5) problems.push(el.tagName + "." + el.className + " " + ratio.toFixed(2));
}
return problems;
"""


def _a11y(driver: Any) -> list[str]:
    problems: list[str] = driver.execute_script(A11Y_JS)
    return problems


def _severe(driver: Any) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_dashboard_in_headless_chromium(
    browser: Any, live_url: str, world: World, conn: psycopg.Connection[Any]
) -> None:
    n = _seed(conn, world)
    d = browser

    # A wrong password is reported in the page (no browser dialog: the 401 carries no
    # Basic challenge).
    _sign_in(d, live_url, "clinic-a", "not the password")
    err = _wait(d, "#signin-error")
    _until(d, lambda _: err.text != "")
    assert err.text == "账号或密码错误"
    # The browser logs the refused request itself; that one is expected.
    assert all("/auth/sessions" in m and "401" in m for m in _severe(d))

    # Only clinic principals may use the dashboard.
    _sign_in(d, live_url, "ins-web", "pw-insurer")
    err = _wait(d, "#signin-error")
    _until(d, lambda _: err.text != "")
    assert err.text == "只有诊所账号可以使用本看板。"
    assert _a11y(d) == []

    _sign_in(d, live_url, "clinic-a", CLINIC_A_PASSWORD)
    _wait(d, "#patients tbody tr")
    assert d.execute_script("return document.documentElement.lang") == "zh-CN"
    rows = d.find_elements(By.CSS_SELECTOR, "#patients tbody tr")
    assert len(rows) == 50  # one server page of 62 patients
    assert rows[0].get_attribute("data-member") == "m1"  # open alerts first
    lights = rows[0].find_elements(By.CSS_SELECTOR, ".light")
    assert [x.text for x in lights] == ["■ 高血压：未达标", "■ 糖尿病：未达标"]
    assert d.find_element(By.ID, "page-info").text == "第 1 / 2 页，共 62 人"
    # The open alerts' count names the criticals among them (3 critical, 1 warning seeded).
    assert rows[0].find_element(By.CSS_SELECTOR, ".badge.critical").text == "4 · 危急 3"
    assert _a11y(d) == []
    _shot(d, "01-patient-list")

    # Next page, then back: the server pages the list.
    d.find_element(By.ID, "next-page").click()
    _until(d, lambda _: d.find_element(By.ID, "page-info").text.startswith("第 2 / 2 页"))
    assert len(d.find_elements(By.CSS_SELECTOR, "#patients tbody tr")) == 12
    d.back()
    _until(d, lambda _: d.find_element(By.ID, "page-info").text.startswith("第 1 / 2 页"))
    _wait(d, "#patients tbody tr[data-member='m1']")

    # Keyboard only: Tab to the first patient link and open it with Enter.
    for _ in range(40):
        active = d.switch_to.active_element
        if "patient-link" in (active.get_attribute("class") or ""):
            break
        active.send_keys(Keys.TAB)
    else:
        pytest.fail("Tab never reached a patient link")
    assert d.switch_to.active_element.text == "Patient m1"
    d.switch_to.active_element.send_keys(Keys.ENTER)
    _until(d, lambda _: d.current_url.endswith("#/patient/m1"))

    agp = _wait(d, "svg.agp-chart")
    # Sex and age in words, not a code and a birth date.
    who = d.find_element(By.ID, "patient-who").text
    assert re.fullmatch(r"m1 · (女|男) · \d+ 岁", who), who
    # The missed hypoglycaemia target is stated first in the header, as an alert.
    control = d.find_elements(By.CSS_SELECTOR, "#patient-control .control")
    assert control[0].get_attribute("data-condition") == "diabetes"
    assert "control-hypo" in (control[0].get_attribute("class") or "")
    assert control[0].get_attribute("role") == "alert" and "低血糖" in control[0].text
    bp = d.find_element(By.CSS_SELECTOR, "svg.bp-chart")
    assert bp.get_attribute("data-points") == str(n["bp"])
    assert len(bp.find_elements(By.CSS_SELECTOR, "circle.bp-sys")) == n["bp"]
    assert len(bp.find_elements(By.CSS_SELECTOR, "circle.bp-sys.unvalidated")) == 1
    assert bp.get_attribute("data-means") == "2"  # the window's home mean: sys and dia
    # AGP: 96 15-minute bins, each with 14 readings, so the median is drawn in every bin.
    assert agp.get_attribute("data-bins") == "96"
    points = sum(
        len(p.get_attribute("points").split())
        for p in agp.find_elements(By.CSS_SELECTOR, "polyline.agp-median")
    )
    assert points == 96
    # The consensus AGP: the target range shaded, the unit on the axis, the y-axis at least
    # 40-350 mg/dL and stretched to the data (never clipped below the 95th percentile).
    assert len(agp.find_elements(By.CSS_SELECTOR, "rect.target-band")) == 1
    assert {x.text for x in agp.find_elements(By.CSS_SELECTOR, "text.axis-label")} >= {"mmol/L"}
    assert int(agp.get_attribute("data-y-max-mgdl")) >= 350
    # The TIR bar's labels are the stored score's numbers.
    labels = {
        x.get_attribute("data-band"): x.text
        for x in d.find_elements(By.CSS_SELECTOR, "svg.tir-chart text.tir-label")
    }
    assert labels == {
        "very_high": "极高 9%",
        "high": "高 26%",
        "in_range": "目标范围 62%",
        "low": "低 2.5%",
        "very_low": "极低 0.5%",
    }
    assert d.find_element(By.ID, "composite").text == "64.5"
    smbg = d.find_element(By.CSS_SELECTOR, "svg.smbg-chart")
    assert smbg.get_attribute("data-points") == "3"
    first_row = d.find_element(By.CSS_SELECTOR, "#smbg-table tbody tr")
    assert first_row.text.split() == ["空腹/餐前", "1", "6.0", "mmol/L", "100%"]
    steps = d.find_element(By.CSS_SELECTOR, "svg.steps-chart")
    assert steps.get_attribute("data-bars") == str(n["step_days"])
    assert _severe(d) == []
    assert _a11y(d) == []
    _shot(d, "02-patient-zh-mmol")

    # Alerts as episodes (kind and day), criticals first, with the readings' values.
    eps = d.find_elements(By.CSS_SELECTOR, "#alerts li.alert")
    assert [e.get_attribute("data-kind") for e in eps] == ["bp_grade3", "bp_grade3_unvalidated"]
    assert [e.get_attribute("data-count") for e in eps] == ["3", "1"]
    assert "182/121 mmHg, 185/112 mmHg" in eps[0].find_element(By.CSS_SELECTOR, ".ep-values").text

    # Acknowledge the critical episode from the page: every alert in it at once.
    ack = eps[0].find_element(By.CSS_SELECTOR, "button.ack")
    ack.send_keys(Keys.ENTER)
    _until(d, lambda _: ack.text == "已确认")
    acked = conn.execute(
        "SELECT acknowledged_by FROM alerts WHERE member_id = 'm1' AND kind = 'bp_grade3'"
    ).fetchall()
    assert len(acked) == 3 and all(r[0] == "clinic-a" for r in acked)
    warn = conn.execute(
        "SELECT acknowledged_at FROM alerts WHERE member_id = 'm1' AND kind <> 'bp_grade3'"
    ).fetchall()
    assert warn and all(r[0] is None for r in warn)

    # mg/dL, then English.
    Select(d.find_element(By.ID, "unit-select")).select_by_value("mgdl")
    _until(d, lambda _: "108 mg/dL" in d.find_element(By.ID, "smbg-table").text)
    _wait(d, "svg.agp-chart")
    _use_language(d, "en")
    label = _wait(d, "svg.tir-chart text.tir-label[data-band='in_range']")
    assert label.text == "In range 62%"
    _shot(d, "03-patient-en-mgdl")

    # The overview: control rate per window and the follow-up list.
    d.find_element(By.CSS_SELECTOR, "#site-nav a[href='#/overview']").click()
    _wait(d, "#follow-table")
    rate = d.find_element(By.CSS_SELECTOR, "#ov-hypertension svg.rate-chart")
    assert rate.get_attribute("data-points") == "2"  # the fixture's window and the seeded one
    follow = [a.text for a in d.find_elements(By.CSS_SELECTOR, "#follow-table tbody th a")]
    assert "Patient m3" in follow and "Patient m1" in follow
    assert _a11y(d) == []
    _shot(d, "04-overview")
    # A phone (390 px): the English overview and a patient page fit the screen's width.
    d.set_window_size(390, 844)
    widths = d.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1]
    d.save_screenshot(str(ARTIFACTS / "04-overview-390.png"))
    d.get(live_url + "/dashboard/#/patient/m1")
    _wait(d, "svg.agp-chart")
    widths2 = d.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths2[0] <= widths2[1]
    d.save_screenshot(str(ARTIFACTS / "02-patient-390.png"))
    d.set_window_size(1280, 1800)
    d.get(live_url + "/dashboard/#/overview")
    _wait(d, "#follow-table")
    assert _severe(d) == []

    # A patient without CGM: the sections the page leaves out leave nothing behind (a
    # literal "null" was printed where the glucose section would be).
    d.get(live_url + "/dashboard/#/patient/m3")
    _wait(d, "#patient-lights")
    assert "null" not in d.find_element(By.TAG_NAME, "main").text

    # The session ends on the server (expiry, revocation): the next page says so on the
    # sign-in form and, once signed in again, returns to the page the doctor was on.
    d.execute_script(
        "await fetch('/auth/sessions', {method: 'DELETE', headers: {Authorization:"
        " 'Bearer ' + sessionStorage.getItem('wr_token')}});"
    )
    d.get(live_url + "/dashboard/#/patient/m1")
    err = _wait(d, "#signin-error")
    _until(d, lambda _: err.text == "Your session expired; please sign in again.")  # en by now
    d.find_element(By.ID, "signin-name").send_keys("clinic-a")
    d.find_element(By.ID, "signin-password").send_keys(CLINIC_A_PASSWORD + Keys.ENTER)
    _until(d, lambda _: d.current_url.endswith("#/patient/m1"))
    _wait(d, "#patient-lights")

    # Another clinic's patient: the API answers 404 and the page says it could not load.
    d.get(live_url + "/dashboard/#/patient/m2")
    err = _wait(d, "main p.error")
    assert "no such member" in err.text
    d.find_element(By.ID, "sign-out").click()
    _wait(d, "#signin-form")
    assert d.execute_script("return sessionStorage.getItem('wr_token')") is None
