"""Single-quote latency under concurrent load, next to a /health baseline in the same run.

    python bench/api_bench.py --rate 500 --duration 10

What it does:
1. creates a fresh database (``wellrate_bench_<pid>``) on the maintenance URL, migrates it,
   seeds clinics, members, one score per member and an insurer principal (plus whatever the
   pricing engine needs to quote them, through its public functions);
2. starts ``wellrate serve`` (uvicorn) on 127.0.0.1 and a free port, in its own process;
3. drives it from a separate process with an open-loop load generator: requests are
   *scheduled* at the stated rate, and latency is measured from each request's scheduled
   time to its last byte, so a stalled server is charged for the queue it builds
   (no coordinated omission). The client is a minimal asyncio HTTP/1.1 keep-alive client,
   far cheaper per request than a full HTTP library, so it disturbs the server less on a
   small machine;
4. prints p50/p90/p99/max and the achieved rate for ``GET /health`` (baseline: framework
   and loopback only) and ``POST /insurer/quotes`` (auth, tenancy, audit, pricing, store).

If the pricing engine is absent the quote phase measures ``GET /insurer/members/{id}/score``
instead and says so.

``--db-delay-ms D``: the server reaches PostgreSQL through a TCP relay (the tests'
``TcpProxy``, threads in this process) that holds every chunk D ms in each direction,
i.e. a database one network hop away, where each wait for the server costs about 2·D
more. This machine's kernel has no ``netem``, so the relay stands in for it; it costs
some CPU of its own (not counted in the server's or the database's figures).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import resource
import socket
import statistics
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.types.json import Jsonb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ADMIN_URL = os.environ.get(
    "WELLRATE_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


# --------------------------------------------------------------------------- load generator
class _Conn:
    """One keep-alive HTTP/1.1 connection; responses must carry Content-Length."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def send(self, raw: bytes) -> int:
        self.writer.write(raw)
        status = int((await self.reader.readline()).split(b" ", 2)[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length:
            await self.reader.readexactly(length)
        return status


def _raw(method: str, path: str, token: str | None, body: Any | None) -> bytes:
    data = json.dumps(body).encode() if body is not None else b""
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(data)}"]
    if token:
        head.append(f"Authorization: Bearer {token}")
    if body is not None:
        head.append("Content-Type: application/json")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + data


async def _drive(port: int, requests: list[bytes], rate: float, connections: int) -> dict[str, Any]:
    free: asyncio.Queue[_Conn] = asyncio.Queue()
    for _ in range(connections):
        free.put_nowait(_Conn(*await asyncio.open_connection("127.0.0.1", port)))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    loop = asyncio.get_running_loop()
    t0 = loop.time() + 0.05

    async def one(raw: bytes, scheduled: float) -> None:
        conn = await free.get()
        try:
            status = await conn.send(raw)
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            status = -1
            conn = _Conn(*await asyncio.open_connection("127.0.0.1", port))
        latencies.append(loop.time() - scheduled)
        statuses[status] = statuses.get(status, 0) + 1
        free.put_nowait(conn)

    tasks = []
    for i, raw in enumerate(requests):
        scheduled = t0 + i / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(raw, scheduled)))
    await asyncio.gather(*tasks)
    wall = loop.time() - t0
    while not free.empty():
        free.get_nowait().writer.close()
    latencies.sort()
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "requests": len(latencies),
        "achieved_rps": round(len(latencies) / wall, 1),
        "p50_ms": round(q[49] * 1000, 2),
        "p90_ms": round(q[89] * 1000, 2),
        "p99_ms": round(q[98] * 1000, 2),
        "max_ms": round(latencies[-1] * 1000, 2),
        "statuses": statuses,
    }


def driver_main(spec_path: str) -> None:
    """Entry point of the load-generator process: read the plan, run it, print JSON."""
    spec = json.loads(Path(spec_path).read_text())
    reqs = [_raw(r["method"], r["path"], spec["token"], r.get("body")) for r in spec["requests"]]
    # No collector pauses in the load generator: a pause delays sends, and since latency is
    # measured from each request's schedule, it would be charged to the server. Memory is
    # bounded by the request count (at most 50,000 per phase).
    gc.collect()
    gc.freeze()
    gc.disable()
    result = asyncio.run(_drive(spec["port"], reqs, spec["rate"], spec["connections"]))
    print(json.dumps(result))


# --------------------------------------------------------------------------- set-up
def _with_db(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _seed(url: str, members: int, product: str, year: int) -> tuple[str, list[str]]:
    from api.auth.service import create_principal
    from api.devices import repository as devices
    from api.insurer.repository import assign_product

    rng = random.Random(7)
    ids = [f"bm{i:06d}" for i in range(members)]
    with psycopg.connect(url) as conn:
        for c in range(10):
            devices.upsert_clinic(conn, f"bc{c}", f"Bench clinic {c}")
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO members (member_id, clinic_id, birth_date, sex, conditions)"
                " VALUES (%s, %s, %s, %s, %s)",
                [
                    (
                        m,
                        f"bc{i % 10}",
                        date(1940 + rng.randrange(45), 1 + rng.randrange(12), 1),
                        rng.choice("FM"),
                        rng.choice(
                            [[], ["hypertension"], ["diabetes"], ["hypertension", "diabetes"]]
                        ),
                    )
                    for i, m in enumerate(ids)
                ],
            )
            cur.executemany(
                "INSERT INTO scores (member_id, window_start, window_end, algorithm_version,"
                " composite, improvement, components, indicators)"
                " VALUES (%s, %s, %s, 'bench', %s, %s, %s, %s)",
                [_score_row(m, rng, w) for m in ids for w in range(2)],
            )
        token = create_principal(conn, role="insurer", tenant_id="bench-ins", name="bench-ins")
        # the insurer acts only on its own products (migration 0022): give it this one
        assert assign_product(conn, "bench-ins", product), f"{product} belongs to another insurer"
        _seed_enrollments(conn, ids, product, year)
        conn.execute(  # each member consented to pricing for the product (PIPL records)
            "INSERT INTO consents (member_id, purpose, product_id, notice_version, given_at)"
            " SELECT m, 'insurer_pricing', %s, 'bench', '2000-01-01Z' FROM unnest(%s::text[]) m",
            (product, ids),
        )
    return token, ids


def _score_row(member_id: str, rng: random.Random, window: int) -> tuple[Any, ...]:
    comp = rng.uniform(30, 95)
    controlled = comp > 60
    indicators = {
        "bp": {
            "sufficient": True,
            "controlled": controlled,
            "n_readings": 120,
            "home_mean_sys": 125 + rng.uniform(0, 25),
            "home_mean_dia": 78.0,
            "pct_in_target": rng.uniform(20, 95),
            "months_controlled": rng.randrange(13),
            "months_assessed": 12,
            "valid_days": 200,
        },
        "cgm": {"sufficient": False, "tir": None},
        "smbg": {"sufficient": False},
        "activity": {
            "sufficient": True,
            "median_steps": rng.randrange(2000, 11000),
            "valid_days": 300,
            "meets_who": rng.random() > 0.5,
        },
        "hospitalisation": {"events": 0, "member_years": 1.0, "per_member_year": 0.0},
    }
    components = {
        k: {
            "score": rng.uniform(20, 100),
            "weight": w,
            "sufficient": True,
            "reason_en": "bench",
            "reason_zh": "测试",
        }
        for k, w in (("bp", 0.4), ("activity", 0.3), ("engagement", 0.3))
    }
    start = date(2025 + window, 1, 1)
    return (
        member_id,
        start,
        date(2026 + window, 1, 1),
        comp,
        rng.uniform(-5, 10) if window else None,
        Jsonb(components),
        Jsonb(indicators),
    )


def _seed_enrollments(
    conn: psycopg.Connection[Any], ids: list[str], product: str, year: int
) -> None:
    """Enroll every member through the pricing engine's own upload function."""
    from api.insurer.schemas import EnrollmentUpload
    from api.pricing import service as pricing

    rows = [
        EnrollmentUpload(
            member_id=m, product_id=product, plan_year=year - 1, enrolled_on=date(year - 3, 1, 1)
        )
        for m in ids
    ]
    pricing.upsert_enrollments(conn, rows)


def _stat_cpu_s(stat: str) -> float:
    """User+system CPU seconds from the text of a ``/proc/<pid>/stat`` file."""
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int) -> float:
    """User+system CPU seconds of a process and its children (uvicorn workers)."""
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    return sum(_stat_cpu_s(Path(f"/proc/{p}/stat").read_text()) for p in pids)


def _postgres_cpu_s() -> float:
    """CPU seconds of every postgres process on this machine (backends, WAL writer...).

    Only meaningful when nothing else uses the server during a phase, as here.
    """
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended while we looked
            continue
        if text.partition(" (")[2].startswith("postgres"):
            total += _stat_cpu_s(text)
    return total


def _phase(
    port: int,
    token: str,
    rate: float,
    connections: int,
    requests: list[dict[str, Any]],
    tmp: Path,
    server_pid: int,
) -> dict[str, Any]:
    spec = tmp / f"spec-{uuid.uuid4().hex[:6]}.json"
    spec.write_text(
        json.dumps(
            {
                "port": port,
                "token": token,
                "rate": rate,
                "connections": connections,
                "requests": requests,
            }
        )
    )
    cpu0, db0 = _cpu_s(server_pid), _postgres_cpu_s()
    kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        [sys.executable, __file__, "--drive", str(spec)], capture_output=True, text=True, check=True
    )
    cpu, db = _cpu_s(server_pid) - cpu0, _postgres_cpu_s() - db0
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    client = kids.ru_utime + kids.ru_stime - kids0.ru_utime - kids0.ru_stime
    spec.unlink()
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    n = max(1, result["requests"])
    result["server_cpu_ms_per_req"] = round(cpu * 1000 / n, 2)
    result["db_cpu_ms_per_req"] = round(db * 1000 / n, 2)
    result["client_cpu_ms_per_req"] = round(client * 1000 / n, 2)
    return result


def _sweep(
    rates: list[float], args: argparse.Namespace, token: str, port: int,
    quotes: list[dict[str, Any]], floor: list[dict[str, Any]], tmp: Path, pid: int,
) -> None:  # fmt: skip
    """Quotes and the floor at each rate, interleaved (quote, floor, next rate): this
    machine's speed drifts, so the pair at one rate is measured back to back."""
    rows: list[tuple[float, str, dict[str, Any]]] = []
    for rate in rates:
        n = int(min(rate * args.duration, 50_000))
        for label, reqs in (("POST /insurer/quotes", quotes), ("POST /bench/floor", floor)):
            rows.append(
                (rate, label, _phase(port, token, rate, args.connections, reqs[:n], tmp, pid))
            )
    print(f"\n{'rate':>6} {'endpoint':<22} {'achieved':>9} {'p50 ms':>8} {'p99 ms':>8}"
          f" {'cpu ms/req: server':>18} {'db':>5}  statuses")  # fmt: skip
    for rate, label, r in rows:
        print(
            f"{rate:>6.0f} {label:<22} {r['achieved_rps']:>9} {r['p50_ms']:>8}"
            f" {r['p99_ms']:>8} {r['server_cpu_ms_per_req']:>18} {r['db_cpu_ms_per_req']:>5}"
            f"  {r['statuses']}"
        )

    def sustained(label: str) -> float:
        ok = [rate for rate, lb, r in rows if lb == label and r["p99_ms"] < 25
              and r["achieved_rps"] >= 0.98 * rate]  # fmt: skip
        return max(ok, default=0.0)

    q, f = sustained("POST /insurer/quotes"), sustained("POST /bench/floor")
    print(f"\nsustained at p99 < 25 ms: quotes {q:.0f} req/s, floor {f:.0f} req/s;"
          f" ratio quotes / floor {q / f if f else float('nan'):.2f}")  # fmt: skip


def _wait_ready(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"GET /ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if b" 200 " in s.recv(4096):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the API did not become ready")


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rate", type=float, default=500.0, help="requests per second")
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per phase")
    ap.add_argument("--connections", type=int, default=32, help="client keep-alive connections")
    ap.add_argument("--members", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    ap.add_argument("--pool", type=int, default=10, help="DB connections per worker")
    ap.add_argument("--product", default="demo-city")
    ap.add_argument("--plan-year", type=int, default=2027)
    ap.add_argument(
        "--quotes-only", action="store_true", help="skip the /health and /auth/me phases"
    )
    ap.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run the quote phase this many times; the verdict uses the median p99",
    )
    ap.add_argument(
        "--db-delay-ms",
        type=float,
        default=0.0,
        help="reach PostgreSQL through a relay adding this delay each way (a remote database)",
    )
    ap.add_argument(
        "--rates",
        help="comma-separated rates (e.g. 200,400,500): quotes and the floor endpoint"
        " (bench/floor_server.py) at each, interleaved; reports the rate each sustains at"
        " p99 < 25 ms and their ratio",
    )
    ap.add_argument("--drive", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.drive:
        driver_main(args.drive)
        return 0

    from core import db
    from core.settings import Settings

    count = int(min(args.rate * args.duration, 50_000))
    name = f"wellrate_bench_{os.getpid()}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    url = _with_db(ADMIN_URL, name)
    server: subprocess.Popen[bytes] | None = None
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    try:
        db.upgrade(url, Settings(database_url=url))
        if args.rates:
            from bench.floor_server import TABLE

            with psycopg.connect(url, autocommit=True) as c:
                c.execute(TABLE)
        t = time.perf_counter()
        token, ids = _seed(url, args.members, args.product, args.plan_year)
        print(f"seeded {len(ids)} members with scores in {time.perf_counter() - t:.1f}s")
        port = _free_port()
        server_url = url
        if args.db_delay_ms > 0:
            parts = urlsplit(url)
            from tests.ingest.tcpproxy import TcpProxy

            relay = TcpProxy(
                (parts.hostname or "127.0.0.1", parts.port or 5432), args.db_delay_ms / 1000
            )
            user, at, _ = parts.netloc.rpartition("@")
            server_url = urlunsplit(parts._replace(netloc=f"{user}{at}127.0.0.1:{relay.port}"))
            print(f"the server reaches PostgreSQL through a relay: +{args.db_delay_ms} ms each way")
        env = {
            **os.environ,
            "WELLRATE_DATABASE_URL": server_url,
            "WELLRATE_API_HOST": "127.0.0.1",
            "WELLRATE_API_PORT": str(port),
            "WELLRATE_LOG_LEVEL": "WARNING",
            "WELLRATE_DB_POOL_MIN": str(args.pool),
            "WELLRATE_DB_POOL_MAX": str(args.pool),
        }
        serve = (
            [sys.executable, "bench/floor_server.py"]
            if args.rates
            else [sys.executable, "-m", "wellrate.cli", "serve"]
        )
        server = subprocess.Popen([*serve, "--workers", str(args.workers)], cwd=ROOT, env=env)
        _wait_ready(port)
        rng = random.Random(11)
        label = "POST /insurer/quotes"
        target = [
            {
                "method": "POST",
                "path": "/insurer/quotes",
                "body": {
                    "member_id": rng.choice(ids),
                    "product_id": args.product,
                    "plan_year": args.plan_year,
                },
            }
            for _ in range(count)
        ]
        health = [{"method": "GET", "path": "/health"}] * count
        # Warm-up: connections, pools, first-request imports.
        _phase(port, token, min(args.rate, 200), args.connections, target[:200], tmp, server.pid)
        if args.rates:
            rates = [float(r) for r in args.rates.split(",")]
            floor = [{"method": "POST", "path": "/bench/floor", "body": {}}] * count
            _sweep(rates, args, token, port, target, floor, tmp, server.pid)
            return 0
        me = [{"method": "GET", "path": "/auth/me"}] * count
        results = (
            []
            if args.quotes_only
            else [
                (
                    "GET /health (baseline: framework only)",
                    _phase(port, token, args.rate, args.connections, health, tmp, server.pid),
                ),
                (
                    "GET /auth/me (+ pooled transaction, token check)",
                    _phase(port, token, args.rate, args.connections, me, tmp, server.pid),
                ),
            ]
        )
        # This machine's speed varies between runs by up to a third (docs/api.md): one run
        # near saturation can land either side of the target, so repeat and take the median.
        quote_runs = [
            _phase(port, token, args.rate, args.connections, target, tmp, server.pid)
            for _ in range(max(1, args.repeat))
        ]
        for i, r in enumerate(quote_runs, 1):
            results.append((label if len(quote_runs) == 1 else f"{label} #{i}", r))
        print(
            f"\nrate {args.rate:.0f} req/s, {count} requests per phase, {args.connections}"
            f" connections, {args.workers} uvicorn worker(s), {os.cpu_count()} CPUs (shared)"
        )
        print(
            f"{'endpoint':<58} {'achieved':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8}"
            f" {'max ms':>8} {'cpu ms/req: server':>18} {'db':>5} {'client':>6}  statuses"
        )
        for lbl, r in results:
            print(
                f"{lbl:<58} {r['achieved_rps']:>9} {r['p50_ms']:>8} {r['p90_ms']:>8}"
                f" {r['p99_ms']:>8} {r['max_ms']:>8} {r['server_cpu_ms_per_req']:>18}"
                f" {r['db_cpu_ms_per_req']:>5} {r['client_cpu_ms_per_req']:>6}"
                f"  {r['statuses']}"
            )
        p99 = statistics.median(r["p99_ms"] for r in quote_runs)
        rate = min(r["achieved_rps"] for r in quote_runs)
        bad = sum(
            r["requests"] - sum(v for k, v in r["statuses"].items() if str(k).startswith("2"))
            for r in quote_runs
        )
        met = "MET" if p99 < 25 and rate >= 0.98 * 500 else "NOT MET"
        if bad:  # a fast 404 is not a quote: say so, loudly
            met = f"INVALID RUN ({bad} non-2xx responses)"
        print(
            f"\ntarget: p99 < 25 ms at 500 req/s -> {met} (median p99 of {len(quote_runs)}"
            f" run(s) {p99} ms, lowest achieved rate {rate} req/s)"
        )
        with psycopg.connect(url) as c:
            n = c.execute(
                "SELECT count(*) FROM audit_log WHERE action = 'insurer.quote.create'"
            ).fetchone()
            print(f"audit rows for quotes: {n[0] if n else 0}")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        with psycopg.connect(ADMIN_URL, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
