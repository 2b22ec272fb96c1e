"""Private PostgreSQL and Mosquitto that the fault tests may stop and start at will.

The shared servers (5432, 1883) serve every other test on the machine and must never be
restarted, so each fault that takes a service down gets its own: a PostgreSQL 15 cluster
(``initdb`` as the ``postgres`` user when we are root, since initdb refuses root) in a
``/tmp`` directory on a free loopback port, and a ``mosquitto -c <generated conf>`` child
with persistence in the test's directory, restarted on the same port.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PG_BIN = Path(os.environ.get("WELLRATE_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_port(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return True
        time.sleep(0.02)
    return False


class PrivatePostgres:
    """A throwaway cluster; ``stop(mode)`` / ``start()`` simulate a crash or a restart."""

    def __init__(self) -> None:
        if not (PG_BIN / "initdb").exists():
            raise FileNotFoundError(f"no PostgreSQL binaries in {PG_BIN}")
        self.root = Path(tempfile.mkdtemp(prefix="wr-faults-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self._user = "postgres" if os.geteuid() == 0 else None
        if self._user:
            pw = pwd.getpwnam(self._user)
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        self._run(
            [str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-N"]
        )
        self.start()

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, dbname: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def _run(self, argv: list[str]) -> None:
        subprocess.run(argv, check=True, capture_output=True, user=self._user, timeout=60)

    def start(self) -> None:
        opts = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c max_connections=30 -c shared_buffers=16MB"
        )
        log = str(self.root / "log")
        pg_ctl = str(PG_BIN / "pg_ctl")
        self._run([pg_ctl, "-D", str(self.data), "-o", opts, "-l", log, "-w", "start"])

    def stop(self, mode: str = "fast") -> None:
        """``immediate`` is a crash: no checkpoint, WAL replay on the next start."""
        self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"])

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


class PrivateMosquitto:
    """A persistent, anonymous, loopback-only broker; ``restart()`` keeps port and sessions."""

    def __init__(
        self,
        folder: Path,
        *,
        max_queued: int = 100_000,
        passwd_file: Path | None = None,
        acl_file: Path | None = None,
    ) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.conf = folder / "mosquitto.conf"
        user = pwd.getpwuid(os.geteuid()).pw_name
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            + (
                f"allow_anonymous false\npassword_file {passwd_file}\nacl_file {acl_file}\n"
                if passwd_file and acl_file
                else "allow_anonymous true\n"
            )
            + f"user {user}\n"
            "persistence true\n"
            f"persistence_location {folder}/\n"
            # The tests publish more while a consumer is away than the default 1000.
            f"max_queued_messages {max_queued}\n"
            "max_inflight_messages 100\n"
            f"log_dest file {folder / 'mosquitto.log'}\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        exe = shutil.which("mosquitto")
        if exe is None:
            raise FileNotFoundError("mosquitto is not on PATH")
        self.proc = subprocess.Popen(
            [exe, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        if not wait_port(self.port, 10):
            raise RuntimeError(f"mosquitto did not listen on {self.port}")

    def stop(self) -> None:
        """SIGTERM: mosquitto writes its persistence file (sessions, queued messages) and exits."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)
        self.proc = None

    def restart(self, down_s: float = 0.0) -> None:
        self.stop()
        time.sleep(down_s)
        self.start()

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None
