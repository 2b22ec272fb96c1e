"""``wellrate provision-device``: register a device and create its broker credentials.

Prints one JSON line to stdout with the generated password: the only time it is shown.
An id that is already provisioned is refused unless ``--rotate`` is given; ids starting
with ``wellrate-`` are reserved for the services' own broker logins and always refused.
Reload the broker afterwards (``kill -HUP <mosquitto pid>``; compose:
``docker compose kill -s HUP mosquitto``) so it reads the new password file.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from api.devices.provision import DEVICE_TYPES, ProvisionError, provision
from core import db
from core.settings import Settings, get_settings


def _aware(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError("--from needs a UTC offset, e.g. 2026-01-01T00:00+08:00")
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="wellrate provision-device", description=__doc__)
    p.add_argument("--device-id", required=True, help="also the broker username")
    p.add_argument("--type", required=True, choices=DEVICE_TYPES, dest="device_type")
    p.add_argument("--model")
    p.add_argument(
        "--not-validated",
        action="store_true",
        help="a device without a clinical validation (e.g. cuffless BP): stored, flagged",
    )
    p.add_argument("--member", help="bind the device to this member")
    p.add_argument("--from", type=_aware, dest="valid_from", help="binding start (default: now)")
    p.add_argument("--passwd-file", type=Path, required=True, help="Mosquitto password file")
    p.add_argument("--acl-file", type=Path, required=True, help="Mosquitto ACL file (checked)")
    p.add_argument(
        "--rotate",
        action="store_true",
        help="the device exists: issue a new password (its registration is left as it is)",
    )
    p.add_argument("--mosquitto-passwd", default="mosquitto_passwd", help="executable to use")
    return p


def run(argv: Sequence[str], settings: Settings) -> int:
    args = _parser().parse_args(list(argv))
    valid_from = args.valid_from or (datetime.now(UTC) if args.member else None)
    try:
        with db.connect(db.require_url(settings)) as conn, conn.transaction():
            result = provision(
                conn,
                args.device_id,
                args.device_type,
                passwd_file=args.passwd_file,
                acl_file=args.acl_file,
                topic_prefix=settings.mqtt_topic_prefix,
                member_id=args.member,
                valid_from=valid_from,
                model=args.model,
                validated=not args.not_validated,
                rotate=args.rotate,
                hash_tool=args.mosquitto_passwd,
            )
    except (ProvisionError, db.DatabaseNotConfigured) as exc:
        print(f"wellrate provision-device: {exc}", file=sys.stderr)
        return 2
    out = {
        "device_id": result.device_id,
        "device_type": result.device_type,
        "binding_id": result.binding_id,
        "mqtt_username": result.username,
        "mqtt_password": result.password,
        "topic": result.topic,
    }
    print(json.dumps(out))
    print(
        "stored in the password file; reload the broker (SIGHUP) so it takes effect. "
        "This password is not shown again.",
        file=sys.stderr,
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return run(list(argv or []), get_settings())
