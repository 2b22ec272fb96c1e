"""``wellrate demo``: the whole pipeline on one machine, with nothing to configure.

Services come from ``core.embedded`` (embedded PostgreSQL and a local broker) unless
``WELLRATE_DATABASE_URL`` / ``WELLRATE_MQTT_URL`` say otherwise. Then: migrations, a
simulated cohort registered with its clinics and devices, the ingestor in this process,
months of history through MQTT, scores, next year's quotes, a clinic login, and the API.

Part of the composition root (``wellrate``): it names ``ingest``, ``scoring``, ``api`` and
``device_sim``, and imports them inside the step that uses them, so ``--help`` and a failed
start stay fast.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import secrets
import sys
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from core import db
from core.embedded import EmbeddedError, Services, services
from core.settings import Settings, get_settings
from wellrate import demo_pricing
from wellrate.demo_steps import PRODUCT, Steps
from wellrate.demo_steps import say as _say

if TYPE_CHECKING:
    from device_sim.cohort import SimClinic, SimMember
    from ingest.service import Ingestor

log = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wellrate demo", description=__doc__)
    parser.add_argument("--members", type=int, default=300, help="cohort size (default 300)")
    parser.add_argument("--days", type=int, default=120, help="days of history (default 120)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--no-serve", action="store_true", help="stop after the sample quote")
    parser.add_argument("--host", help="API bind address (default WELLRATE_API_HOST)")
    parser.add_argument("--port", type=int, help="API port (default WELLRATE_API_PORT)")
    args = parser.parse_args(list(argv or []))
    settings = get_settings()
    steps = Steps()
    try:
        with services(settings) as svc:
            return _run(args, svc.apply(settings), svc, steps)
    except EmbeddedError as exc:
        print(f"wellrate demo: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        _say("\ninterrupted: everything stopped cleanly")
        return 130


def _run(args: argparse.Namespace, settings: Settings, svc: Services, steps: Steps) -> int:
    for line in _describe(svc):
        _say(line)
    url = db.require_url(settings)
    result = db.upgrade(url, settings)
    steps.done.append(f"migrations ({len(result['applied'])} applied)")

    from device_sim import modes
    from device_sim.cohort import generate

    start = modes.history_start(args.days)
    end = start + timedelta(days=args.days)
    members, clinics = generate(args.members, seed=args.seed, start=start)
    _register(url, members, clinics, start, steps)
    demo_pricing.enroll(url, members, steps)
    ingestor = _ingest(settings, members, start, args.days, steps)
    try:
        _score(url, settings, start, end, steps)
        sample = demo_pricing.quote(url, settings, members, steps)
        demo_pricing.memorandum(url, svc.data_dir, steps)
        login = _login(url, svc.data_dir, clinics[0].clinic_id, steps)
        _summary(sample, login)
        if not args.no_serve:
            _serve(settings, args, steps)
        return _finish(steps)
    finally:
        ingestor.stop(timeout=10)


def _describe(svc: Services) -> list[str]:
    """Which services the demo uses; never their passwords (the terminal may be shared)."""
    return [
        f"database: {svc.database} ({_redact(svc.database_url)})",
        f"broker:   {svc.broker} ({_redact(svc.mqtt_url)}, MQTT {svc.mqtt_protocol})",
    ]


def _redact(url: str) -> str:
    """``url`` with the password (``user:pass@`` and a ``password=`` parameter) as ``***``."""
    parts = urlsplit(url)
    if parts.password is not None:
        user, _, host = parts.netloc.rpartition("@")
        url = url.replace(f"//{parts.netloc}", f"//{user.split(':', 1)[0]}:***@{host}", 1)
    return re.sub(r"([?&]password=)[^&#]*", r"\1***", url)


def _register(
    url: str, members: list[SimMember], clinics: list[SimClinic], start: date, steps: Steps
) -> None:
    from api.consent import repository as consents
    from api.devices import repository as repo
    from device_sim.clock import local_midnight

    bound_from = datetime.fromtimestamp(local_midnight(start), UTC)
    with db.connect(url) as conn, conn.transaction():
        for c in clinics:
            repo.upsert_clinic(conn, c.clinic_id, c.name, c.name_zh)
        for m in members:
            repo.upsert_member(
                conn,
                m.member_id,
                clinic_id=m.clinic_id,
                birth_date=m.birth_date,
                sex=m.sex,
                conditions=list(m.conditions),
                display_name=m.display_name,
            )
            for d in m.devices:
                repo.register_device(
                    conn,
                    d.device_id,
                    d.device_type,
                    model=d.model,
                    validated=d.validated,
                    clinic_id=m.clinic_id,
                )
                current = repo.open_binding(conn, d.device_id)
                if current is None or (
                    current["member_id"] != m.member_id and current["valid_from"] < bound_from
                ):
                    repo.bind_device(conn, d.device_id, m.member_id, bound_from)
        # The simulated cohort consented to clinic care and to pricing for the demo product
        # when it joined (PIPL consent records, docs/threat-model.md).
        ids = [m.member_id for m in members]
        for purpose, product in (("clinic_care", ""), ("insurer_pricing", PRODUCT)):
            consents.ensure(
                conn, member_ids=ids, purpose=purpose, product_id=product,
                notice_version="demo-1", given_at=bound_from,
            )  # fmt: skip
    n_dev = sum(len(m.devices) for m in members)
    steps.done.append(f"registered {len(clinics)} clinics, {len(members)} members, {n_dev} devices")
    _say(steps.done[-1])


def _ingest(
    settings: Settings, members: list[SimMember], start: date, days: int, steps: Steps
) -> Ingestor:
    from device_sim import modes
    from ingest.service import Ingestor

    settings = settings.model_copy(update={"mqtt_client_id": "wellrate-demo-ingest"})
    ingestor = Ingestor(settings)
    ingestor.start()
    if not ingestor.wait_ready(30):
        ingestor.stop(timeout=1)
        raise EmbeddedError("the ingestor could not subscribe to the broker within 30 s")

    def consumed() -> int:
        s = ingestor.stats()
        return int(s["received"] - s["pending"])

    began = time.perf_counter()
    try:
        stats = modes.backfill(settings, members, start, days, consumed=consumed, progress=True)
        deadline = time.monotonic() + 120
        while consumed() < stats.messages and time.monotonic() < deadline:
            time.sleep(0.05)
        ingestor.wait_idle(60)
    except BaseException:
        ingestor.stop(timeout=10)
        raise
    s = ingestor.stats()
    took = time.perf_counter() - began
    steps.done.append(
        f"ingested {s['stored']} readings from {stats.messages} messages in {took:.1f} s "
        f"({s['duplicates']} duplicates, {s['rejected']} dead letters)"
    )
    _say(steps.done[-1])
    return ingestor


def _score(url: str, settings: Settings, start: date, end: date, steps: Steps) -> None:
    from scoring.service import score_window

    # First the baseline (the first 30 days of history: what "improvement" is measured
    # against), then the assessment window: the last 90 days (or all of it, if shorter).
    window_start = max(start, end - timedelta(days=90))
    windows = [(window_start, end)]
    if window_start - start >= timedelta(days=14):
        windows.insert(0, (start, min(start + timedelta(days=30), window_start)))
    for a, b in windows:
        out = score_window(url, settings, a, b, progress=True)
        steps.done.append(f"scored {a}..{b}: {json.dumps(out)}")
        _say(steps.done[-1])


def _login(url: str, data_dir: Path, clinic_id: str, steps: Steps) -> dict[str, str]:
    """A clinic user for the dashboard; the password is kept in the data directory (0600)."""
    from api.auth.service import create_principal

    saved = data_dir / "demo-login.json"
    name = f"demo-{clinic_id}"
    if saved.exists():
        login: dict[str, str] = json.loads(saved.read_text())
        if login.get("name") == name:
            steps.done.append("clinic login (from a previous run)")
            return login
    password = secrets.token_urlsafe(12)
    with db.connect(url) as conn, conn.transaction():
        token = create_principal(
            conn, role="clinic", tenant_id=clinic_id, name=name, password=password
        )
    login = {"name": name, "password": password, "token": token, "clinic_id": clinic_id}
    saved.touch(mode=0o600)
    saved.write_text(json.dumps(login))
    steps.done.append("clinic login created")
    return login


def _summary(sample: dict[str, Any], login: dict[str, str]) -> None:
    _say(f"clinic login: user {login['name']!r} password {login['password']!r}")
    _say(f"clinic API token: {login['token']}")
    _say("sample quote:")
    _say(json.dumps(sample, default=str, ensure_ascii=False, indent=2))
    for line in demo_pricing.plain(sample):
        _say(line)


def _serve(settings: Settings, args: argparse.Namespace, steps: Steps) -> None:
    import uvicorn

    from api.app import create_app

    host = args.host or settings.api_host
    port = args.port or settings.api_port
    base = f"http://{host}:{port}"
    _say(f"API:       {base}/docs  (health {base}/health)")
    _say(f"dashboard: {base}/dashboard/  (sign in with the clinic login above)")
    _say(f"clinic API: {base}/clinic/patients  (bearer: the clinic API token above)")
    _say("Ctrl-C stops the API, the ingestor, the broker and the database.")
    steps.done.append(f"served {base}")
    # log_config=None keeps core.logs' configuration; uvicorn handles Ctrl-C itself.
    uvicorn.run(create_app(settings), host=host, port=port, log_config=None, access_log=False)


def _finish(steps: Steps) -> int:
    _say("\nsteps done:")
    for s in steps.done:
        _say(f"  done     {s}")
    return 0
