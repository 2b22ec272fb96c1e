"""The one-page visit report: the patient page printed to PDF by headless Chromium (A4)
is one page, in Chinese and in English, without the navigation; the PDF is saved in
``artifacts/dashboard/``."""

from __future__ import annotations

import base64
import re
from typing import Any

import psycopg
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.print_page_options import PrintOptions

from tests.api.conftest import CLINIC_A_PASSWORD, World
from tests.api.test_dashboard_e2e import (
    ARTIFACTS,
    _seed,
    _sign_in,
    _until,
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
    d = browser
    d.set_window_size(1280, 1800)
    _sign_in(d, live_url, "clinic-a", CLINIC_A_PASSWORD)
    _wait(d, "#patients tbody tr")
    opts = PrintOptions()
    opts.page_width, opts.page_height = 21.0, 29.7  # A4, in centimetres
    for lang, period in (("zh-CN", "随访报告"), ("en", "Visit report")):
        if d.execute_script("return document.documentElement.lang") != lang:
            d.find_element(By.ID, "lang-toggle").click()
        d.get(live_url + "/dashboard/#/patient/m1")
        _wait(d, "#print-report")
        _wait(d, "#bp svg")

        def shown(_: Any, want: str = period) -> bool:
            text = d.find_element(By.ID, "report-period").get_attribute("textContent")
            return want in (text or "")

        _until(d, shown)
        pdf = base64.b64decode(d.print_page(opts))
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / f"visit-report-{lang}.pdf").write_bytes(pdf)
        assert pdf.startswith(b"%PDF")
        assert _pages(pdf) == 1, (lang, _pages(pdf))
    d.find_element(By.ID, "lang-toggle").click()  # back to Chinese


def test_page_counting_counts_pages() -> None:
    two = b"%PDF-1.4 /Type /Pages /Kids [1 0 R 2 0 R] /Type /Page /Type/Page"
    assert _pages(two) == 2
    pytest.importorskip("selenium")
