"""Slow and vanishing clients against the real server (uvicorn on a loopback port).

Findings 5 and 12: twelve slow ``text/csv`` uploads with a valid insurer token used to hold
every pooled database connection while their bodies trickled in, so every other request
answered 503; a client hanging up mid-body was logged as a 500 with a traceback. The
attacks here are real sockets that send headers and then a few bytes at a time, or hang up.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn

from api.app import create_app
from core.settings import Settings
from tests.api.conftest import World

CSV_HEAD = "member_id,product_id,plan_year,enrolled_on\n"


@dataclass
class Live:
    port: int
    app: object

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(settings: Settings) -> Iterator[Live]:
    port = _free_port()
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            ws="none",
            timeout_keep_alive=settings.api_timeout_keep_alive_s,
        )
    )
    thread = threading.Thread(target=server.run, name="uvicorn-slow", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield Live(port, app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def live(api_settings: Settings) -> Iterator[Live]:
    # A small pool that would run dry at once if waiting bodies held connections.
    yield from _serve(
        api_settings.model_copy(
            update={
                "db_pool_max": 4,
                "api_db_wait_s": 1.0,
                "api_body_timeout_s": 3.0,
                "api_client_max_bodies": 64,
            }
        )
    )


def _slow_upload(port: int, token: str, declared: int = 4096) -> socket.socket:
    """Start an upload: headers and the first bytes of the body, the rest never (yet)."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(
        (
            "POST /insurer/enrollments HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: text/csv\r\n"
            f"Content-Length: {declared}\r\n\r\n{CSV_HEAD}"
        ).encode()
    )
    return sock


def _answer(sock: socket.socket, timeout: float) -> bytes:
    sock.settimeout(timeout)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except TimeoutError:
        pass
    return data


def test_slow_uploads_hold_no_database_connection(live: Live, world: World) -> None:
    slow = [_slow_upload(live.port, world.tokens["insurer"]) for _ in range(12)]
    try:
        time.sleep(0.3)  # every upload is now waiting for its body
        with httpx.Client(base_url=live.url, timeout=10) as client:
            for _ in range(8):  # more requests than the pool has connections
                started = time.monotonic()
                resp = client.get("/clinic/worklist", headers=world.auth("clinic"))
                assert resp.status_code == 200, resp.text
                assert time.monotonic() - started < 1.0
        # The server closes the slow ones itself once their time is up (408, then EOF).
        for sock in slow:
            answer = _answer(sock, timeout=10)
            assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
            assert b"connection: close" in answer.lower()
    finally:
        for sock in slow:
            sock.close()


def test_one_client_gets_only_so_many_bodies_at_once(api_settings: Settings, world: World) -> None:
    settings = api_settings.model_copy(
        update={"api_body_timeout_s": 3.0, "api_client_max_bodies": 2}
    )
    for live in _serve(settings):
        slow = [_slow_upload(live.port, world.tokens["insurer"]) for _ in range(2)]
        try:
            time.sleep(0.3)
            third = _slow_upload(live.port, world.tokens["insurer"])
            answer = _answer(third, timeout=5)
            assert answer.startswith(b"HTTP/1.1 429"), answer[:200]
            assert b"retry-after: 1" in answer.lower()
            third.close()
            # A complete upload from the same client still goes through once one finished.
            for sock in slow:
                assert _answer(sock, timeout=10).startswith(b"HTTP/1.1 408")
            with httpx.Client(base_url=live.url, timeout=10) as client:
                ok = client.post(
                    "/insurer/enrollments",
                    content=CSV_HEAD + "m1,demo-city,2027,2027-01-01\n",
                    headers={**world.auth("insurer"), "content-type": "text/csv"},
                )
                assert ok.status_code == 200, ok.text
        finally:
            for sock in slow:
                sock.close()


def test_a_client_hanging_up_mid_body_is_a_client_abort(
    live: Live, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    sock = _slow_upload(
        live.port, world.tokens["insurer"], declared=50_000
    )  # under the 64 KiB limit
    time.sleep(0.2)
    sock.close()
    deadline = time.monotonic() + 5
    with httpx.Client(base_url=live.url, timeout=10) as client:
        while time.monotonic() < deadline:
            metrics = client.get("/metrics").text
            if "wellrate_api_client_aborts_total" in metrics and 'status="499"' in metrics:
                break
            time.sleep(0.1)
    assert 'wellrate_api_requests_total{method="POST",route="unmatched",status="499"} 1.0' in (
        metrics
    ), metrics
    assert 'status="500"' not in metrics
    assert 'wellrate_api_client_aborts_total{method="POST",route="unmatched"} 1.0' in metrics
    assert "Traceback" not in caplog.text and "unhandled error" not in caplog.text
    assert any("client closed the connection" in r.getMessage() for r in caplog.records)
