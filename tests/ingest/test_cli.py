"""`wellrate ingest` refuses to start without its two URLs, and says which."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ingest_without_urls_exits_2_with_a_message() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WELLRATE_")}
    res = subprocess.run(
        [sys.executable, "-m", "wellrate.cli", "ingest"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert res.returncode == 2
    assert "WELLRATE_DATABASE_URL" in res.stderr
