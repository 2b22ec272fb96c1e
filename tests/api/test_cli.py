"""``wellrate serve`` runs the app under uvicorn on the configured host and port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_on_loopback_and_stops_on_sigterm(db_url: str, tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "WELLRATE_DATABASE_URL": db_url,
        "WELLRATE_API_PORT": str(port),
        "WELLRATE_API_HOST": "127.0.0.1",
        "WELLRATE_LOG_LEVEL": "WARNING",
    }
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "wellrate.cli", "serve"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 20
            while True:
                try:
                    ready = httpx.get(f"{base}/ready", timeout=1)
                    break
                except httpx.TransportError:
                    assert proc.poll() is None, log_path.read_text()
                    assert time.monotonic() < deadline, "server did not start"
                    time.sleep(0.1)
            assert ready.status_code == 200 and ready.json()["status"] == "ready"
            anon = httpx.post(f"{base}/insurer/quotes", json={"member_id": "m1"}, timeout=5)
            assert anon.status_code == 401
            assert anon.headers["content-type"].startswith("application/problem+json")
            assert httpx.get(f"{base}/docs", timeout=5).status_code == 200
        finally:
            proc.send_signal(signal.SIGTERM)
            # uvicorn shuts down gracefully, then re-raises the signal it caught.
            assert proc.wait(timeout=20) in (0, -signal.SIGTERM)
