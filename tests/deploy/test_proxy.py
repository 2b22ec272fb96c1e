"""deploy/compose.yaml exposes the API only through the TLS proxy (deploy/nginx).

The compose file is rendered (``${VAR}`` from deploy/env.example, YAML merge keys) and
parsed: only the proxy (443) and the broker (8883) publish ports beyond the host's
loopback, both TLS, and the API publishes none and sits on an internal network only.
Then the shipped nginx.conf is checked by ``nginx -t`` and run for real, in front of a
stand-in API, with a test CA: HTTPS reaches the API with the client's address in
X-Forwarded-For (never one the client sent), plain HTTP gets nothing.
"""

from __future__ import annotations

import getpass
import http.server
import json
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.test_mosquitto_tls import _free_port, _make_certs

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
needs_nginx = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (Debian: apt-get install nginx-light)"
)


def _env_example() -> dict[str, str]:
    lines = (DEPLOY / "env.example").read_text().splitlines()
    return dict(ln.split("=", 1) for ln in lines if "=" in ln and not ln.startswith("#"))


def _render() -> dict[str, Any]:
    """What ``docker compose config`` would see: variables filled in, merge keys applied."""
    env = _env_example()
    text = (DEPLOY / "compose.yaml").read_text()

    def fill(m: re.Match[str]) -> str:
        name = m.group(1)
        assert name in env, f"compose needs ${name}, which deploy/env.example does not list"
        return env[name]

    text = re.sub(r"\$\{([A-Z0-9_]+)(?::?[?-][^}]*)?\}", fill, text)
    doc: dict[str, Any] = yaml.safe_load(text)
    return doc


def _published(svc: dict[str, Any]) -> list[tuple[str, int]]:
    """(host address, container port) of each published port ("[ip:]host:container")."""
    out = []
    for spec in svc.get("ports") or []:
        parts = str(spec).split(":")
        ip = parts[0] if len(parts) == 3 else "0.0.0.0"
        out.append((ip, int(parts[-1].split("/")[0])))
    return out


def test_only_tls_ports_are_published_and_the_api_is_internal() -> None:
    doc = _render()
    services, networks = doc["services"], doc["networks"]
    exposed = {
        (name, port)
        for name, svc in services.items()
        for ip, port in _published(svc)
        if ip not in ("127.0.0.1", "::1")
    }
    assert exposed == {("proxy", 443), ("mosquitto", 8883)}
    api = services["api"]
    assert not api.get("ports") and not api.get("network_mode")
    assert api["networks"] == ["backend"] and networks["backend"]["internal"] is True
    for name in ("timescaledb", "migrate", "ingest-1", "ingest-2"):
        assert services[name]["networks"] == ["backend"], name
    assert "backend" in services["proxy"]["networks"]  # it can reach the API
    # Both published ports are TLS: the proxy terminates it, the broker listens with a cert.
    conf = (DEPLOY / "nginx" / "nginx.conf").read_text()
    assert re.search(r"^\s*listen 443 ssl;", conf, re.MULTILINE)
    assert not re.search(r"^\s*listen (?!443 ssl;)", conf, re.MULTILINE)  # no plain listener
    mounts = {v.split(":")[1] for v in services["proxy"]["volumes"]}
    for path in re.findall(r"ssl_certificate(?:_key)? (\S+);", conf):
        assert path in mounts, path
    broker = (DEPLOY / "mosquitto" / "mosquitto.conf").read_text()
    assert "listener 8883" in broker and "certfile" in broker
    # The API trusts X-Forwarded-For because the proxy is its only client.
    assert api["environment"]["FORWARDED_ALLOW_IPS"] == "*"


class _Echo(http.server.BaseHTTPRequestHandler):
    """A stand-in API: answers with the request line and headers it received."""

    def do_GET(self) -> None:  # http.server's naming
        body = json.dumps({"path": self.path, "headers": dict(self.headers)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """The shipped nginx.conf with temporary paths, a free port and the stand-in API."""
    _make_certs(tmp_path)
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    port = _free_port()
    conf = (DEPLOY / "nginx" / "nginx.conf").read_text()
    for old, new in (
        ("/etc/nginx/certs/api.crt", str(tmp_path / "server.crt")),
        ("/etc/nginx/certs/api.key", str(tmp_path / "server.key")),
        ("listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;"),
        ("http://api:8000", f"http://127.0.0.1:{upstream.server_address[1]}"),
        ("http {", f"http {{\n    client_body_temp_path {tmp_path}/body;\n"
                   f"    proxy_temp_path {tmp_path}/proxy;"),
    ):  # fmt: skip
        assert old in conf, old
        conf = conf.replace(old, new)
    path = tmp_path / "nginx.conf"
    path.write_text(conf)
    assert NGINX is not None
    main = f"daemon off; pid {tmp_path}/nginx.pid; user {getpass.getuser()};"
    check = subprocess.run(
        [NGINX, "-t", "-q", "-c", str(path), "-p", str(tmp_path), "-g", main],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen(
        [NGINX, "-c", str(path), "-p", str(tmp_path), "-g", main],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.05)
        yield port, tmp_path / "ca.crt"
    finally:
        proc.terminate()
        proc.wait(10)
        upstream.shutdown()
        upstream.server_close()


@needs_nginx
def test_the_proxy_terminates_tls_and_forwards_to_the_api(proxy: tuple[int, Path]) -> None:
    port, ca = proxy
    ctx = ssl.create_default_context(cafile=str(ca))
    req = urllib.request.Request(
        f"https://localhost:{port}/clinic/worklist?x=1",
        headers={"X-Forwarded-For": "6.6.6.6", "Authorization": "Bearer wr_x_y"},
    )
    with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
        got = json.loads(resp.read())
        assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
        assert "nginx/" not in (resp.headers.get("Server") or "")  # no version
    assert got["path"] == "/clinic/worklist?x=1"
    headers = {k.lower(): v for k, v in got["headers"].items()}
    assert headers["x-forwarded-for"] == "127.0.0.1"  # the client's address, not its claim
    assert headers["x-forwarded-proto"] == "https"
    assert headers["authorization"] == "Bearer wr_x_y"
    # Plain HTTP on the TLS port is answered with an error, never proxied.
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET /clinic/worklist HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = s.recv(4096)
    assert b" 400 " in answer and b"worklist" not in answer
    # TLS 1.2 clients (older devices and phones) are still served; the certificate chains
    # to the CA shared with the broker.
    tls12 = ssl.create_default_context(cafile=str(ca))
    tls12.maximum_version = ssl.TLSVersion.TLSv1_2
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        tls12.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        assert tls.version() == "TLSv1.2"
