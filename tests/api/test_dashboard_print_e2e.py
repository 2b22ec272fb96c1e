"""The one-page visit report: the patient page printed to PDF by headless Chromium (A4)
is one page, in Chinese and in English, without the navigation; the PDF is saved in
``artifacts/dashboard/``."""

from __future__ import annotations

import base64
import re
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb
from selenium.webdriver.common.by import By
from selenium.webdriver.common.print_page_options import PrintOptions

from tests.api.conftest import CLINIC_A_PASSWORD, World
from tests.api.test_dashboard_e2e import (
    ARTIFACTS,
    _seed,
    _sign_in,
    _until,
    _use_language,
    _wait,
    browser,
    live_url,
)

__all__ = ["browser", "live_url"]


def _pages(pdf: bytes) -> int:
    """Pages in a PDF: its page objects (``/Type /Page``, not ``/Pages``)."""
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))


def test_the_visit_report_prints_on_one_a4_page(
    browser: Any, live_url: str, world: World, conn: psycopg.Connection[Any]
) -> None:
    _seed(conn, world)
    # What the report compares and lists: a score before the last visit (an office HbA1c
    # 20 days ago), and dispensing-based adherence in the current score.
    conn.execute(
        "INSERT INTO scores (member_id, window_start, window_end, algorithm_version, composite,"
        " components, indicators) VALUES ('m1', current_date - 120, current_date - 30,"
        " 'test-1', 58.0, '{}', %s)",
        (Jsonb({"bp": {"home_mean_sys": 150.0, "home_mean_dia": 90.0}, "cgm": {"tir": 55.0}}),),
    )
    conn.execute(
        "INSERT INTO lab_results (member_id, loinc, value, unit, taken_at, uploaded_by)"
        " VALUES ('m1', '4548-4', 7.6, '%', now() - interval '20 days', 'clinic-a')"
    )
    conn.execute(
        "UPDATE scores SET indicators = indicators || %s WHERE member_id = 'm1'"
        " AND window_end = current_date",
        (Jsonb({"adherence": {
            "antihypertensive": {"pdc": 0.92, "adherent": True, "sufficient": True},
            "statin": {"pdc": 0.55, "adherent": False, "sufficient": True},
        }}),),
    )  # fmt: skip
    d = browser
    d.set_window_size(1280, 1800)
    _sign_in(d, live_url, "clinic-a", CLINIC_A_PASSWORD)
    _wait(d, "#patients tbody tr")
    opts = PrintOptions()
    opts.page_width, opts.page_height = 21.0, 29.7  # A4, in centimetres
    for lang, period in (("zh-CN", "随访报告"), ("en", "Visit report")):
        _use_language(d, lang)
        d.get(live_url + "/dashboard/#/patient/m1")
        _wait(d, "#print-report")
        _wait(d, "#bp svg")

        def shown(_: Any, want: str = period) -> bool:
            text = d.find_element(By.ID, "report-period").get_attribute("textContent")
            return want in (text or "")

        _until(d, shown)
        changed = {
            r.get_attribute("data-key"): r.get_attribute("class")
            for r in d.find_elements(By.CSS_SELECTOR, "#changes-table tbody tr")
        }
        assert changed["bp_sys"] == "chg-better" and changed["tir"] == "chg-better", changed
        assert changed["composite"] == "chg-better"  # 58 -> 64.5
        statin = d.find_element(By.CSS_SELECTOR, "#adherence-table tr[data-class=statin]")
        assert "55" in statin.text and statin.get_attribute("class") == "chg-worse"
        pdf = base64.b64decode(d.print_page(opts))
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / f"visit-report-{lang}.pdf").write_bytes(pdf)
        assert pdf.startswith(b"%PDF")
        assert _pages(pdf) == 1, (lang, _pages(pdf))
    _use_language(d, "zh-CN")  # back to Chinese


def test_page_counting_counts_pages() -> None:
    two = b"%PDF-1.4 /Type /Pages /Kids [1 0 R 2 0 R] /Type /Page /Type/Page"
    assert _pages(two) == 2
    pytest.importorskip("selenium")
