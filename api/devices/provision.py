"""Provision a device: register it (and bind it), and give it its own broker credentials.

A device's MQTT username is its device id; the broker ACL rule ``pattern write
<prefix>/%u/#`` (``deploy/mosquitto/acl``) then lets it publish only under its own topics,
so a stolen or cloned device cannot post readings for anyone else (threat model: device
spoofing). The password is random (``secrets``, 192 bits), stored only as Mosquitto's
salted hash in the password file, and handed back once to the caller, which prints it for
the operator to load into the device. It is never logged.

Order: the database writes happen in the caller's transaction; the password file is
written next; the caller commits last. If ``mosquitto_passwd`` fails, nothing is
committed.

Broker logins starting with ``wellrate-`` belong to Wellrate's own services (the ingestor
replicas, simulators and load generators; ``deploy/mosquitto/acl``): a device id may never
take one, or provisioning it would replace that service's password and hand the service's
broker rights (and, for an ingestor, its persistent session) to whoever holds the device.
An id that already has a login is refused too unless the caller asks to ``rotate`` it:
running the command twice must not silently cut off a device in the field, and rotating
never re-registers the device (its type, model and validation stay as they are).

``mosquitto_passwd -b`` takes the password as an argument, so for the few milliseconds it
runs, another local user could read it from ``/proc/<pid>/cmdline``. Run this on the
operator's host or in the broker's container, not on a shared machine.
"""

from __future__ import annotations

import logging
import re
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg

from api.devices import repository as repo

log = logging.getLogger(__name__)

DEVICE_TYPES = ("bp_cuff", "bp_cuffless", "cgm", "glucometer", "activity_tracker")
# Narrower than the API's device ids: a broker username may not contain ':' (the password
# file's separator), and Mosquitto refuses %u substitution for '+', '#' or '/'.
USERNAME_RE = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
PASSWORD_BYTES = 24  # 192 bits, 32 URL-safe characters
# Broker usernames of Wellrate's services (docs/deploy.md, "Broker identities"); compared
# case-insensitively so that no device id can even look like one.
SERVICE_PREFIX = "wellrate-"


class ProvisionError(RuntimeError):
    """The device cannot be provisioned as asked (the message says why and what to do)."""


@dataclass(frozen=True)
class Provisioned:
    device_id: str
    device_type: str
    member_id: str | None
    binding_id: int | None
    username: str
    password: str
    topic: str

    def __repr__(self) -> str:  # the password must not leak through a log of the object
        return f"Provisioned(device_id={self.device_id!r}, username={self.username!r}, ...)"


def generate_password() -> str:
    return secrets.token_urlsafe(PASSWORD_BYTES)


def is_service_identity(username: str) -> bool:
    """True for a name reserved to a Wellrate service account (never a device)."""
    return username.lower().startswith(SERVICE_PREFIX)


def broker_users(passwd_file: Path) -> set[str]:
    """The usernames in Mosquitto's password file (``user:hash`` lines); none if it is absent."""
    try:
        lines = passwd_file.read_text().splitlines()
    except FileNotFoundError:
        return set()
    except OSError as exc:
        raise ProvisionError(f"cannot read {passwd_file}: {exc.strerror}") from None
    return {ln.split(":", 1)[0] for ln in lines if ":" in ln and not ln.startswith("#")}


def acl_rule(prefix: str) -> str:
    return f"pattern write {prefix.rstrip('/')}/%u/#"


def check_acl(acl_file: Path, prefix: str) -> None:
    """Refuse to hand out credentials unless the ACL confines each device to its own topics."""
    topic = f"{prefix.rstrip('/')}/%u/#"
    try:
        lines = acl_file.read_text().splitlines()
    except OSError as exc:
        raise ProvisionError(f"cannot read the ACL file {acl_file}: {exc.strerror}") from None
    for line in lines:
        words = line.split()
        # Comments only start a line ('#' inside a topic is the wildcard).
        if len(words) < 2 or words[0] != "pattern":
            continue
        if words[1] in ("read", "write", "readwrite", "deny"):
            access, rest = words[1], words[2:]
        else:
            access, rest = "readwrite", words[1:]  # `pattern <topic>` grants both
        if access in ("write", "readwrite") and " ".join(rest) == topic:
            return
    raise ProvisionError(
        f"{acl_file} has no `{acl_rule(prefix)}` rule: without it a device could publish "
        "readings under another device's topic. Add it (deploy/mosquitto/acl) and retry."
    )


def set_broker_password(
    passwd_file: Path, username: str, password: str, *, exe: str = "mosquitto_passwd"
) -> None:
    """Add or replace ``username`` in Mosquitto's password file (argv, never a shell)."""
    path = shutil.which(exe)
    if path is None:
        raise ProvisionError(f"{exe} not found: install mosquitto-clients or the broker")
    argv = [path, "-b", str(passwd_file), username, password]
    if not passwd_file.exists():
        argv.insert(1, "-c")  # -c creates the file (it would overwrite an existing one)
    res = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)  # noqa: S603  # fixed executable, no shell
    if res.returncode != 0:
        # Its messages name the file, never the password; still, keep only the first line.
        first = (res.stderr or res.stdout).strip().splitlines()[:1]
        raise ProvisionError(f"mosquitto_passwd failed: {first[0] if first else res.returncode}")


def provision(
    conn: psycopg.Connection[Any],
    device_id: str,
    device_type: str,
    *,
    passwd_file: Path,
    acl_file: Path,
    topic_prefix: str,
    member_id: str | None = None,
    valid_from: datetime | None = None,
    model: str | None = None,
    validated: bool = True,
    rotate: bool = False,
    hash_tool: str = "mosquitto_passwd",
) -> Provisioned:
    """Register (and bind) the device in ``conn``'s open transaction, then set its password.

    ``rotate``: the device exists already; give it a new password (and, with ``member_id``,
    bind it) without touching its registration. Without it an existing id is refused.
    The caller commits after this returns; any error leaves the transaction to roll back.
    """
    if not USERNAME_RE.fullmatch(device_id):
        raise ProvisionError(
            "device id must be 1-128 characters of letters, digits, '.', '_' or '-' "
            "(it becomes the broker username and a topic level)"
        )
    if device_type not in DEVICE_TYPES:
        raise ProvisionError(f"device type must be one of {', '.join(DEVICE_TYPES)}")
    if member_id is not None and valid_from is None:
        raise ProvisionError("binding a member needs the time the binding starts")
    if is_service_identity(device_id):
        raise ProvisionError(
            f"device ids starting with {SERVICE_PREFIX!r} are reserved for Wellrate's service"
            " accounts (ingestors, simulators); choose another id"
        )
    check_acl(acl_file, topic_prefix)
    existing = repo.get_device(conn, device_id)
    has_login = device_id in broker_users(passwd_file)
    if rotate:
        if existing is None:
            raise ProvisionError(
                "--rotate: no such registered device"
                + (" (the broker login is not a device's)" if has_login else "")
            )
        if existing["device_type"] != device_type:
            raise ProvisionError(
                f"--rotate: the device is registered as {existing['device_type']}, not"
                f" {device_type}; rotating never changes a registration"
            )
    elif existing is not None or has_login:
        raise ProvisionError(
            "this id is already provisioned; pass --rotate to issue a new password"
            " (the old one stops working when the broker reloads)"
        )
    else:
        repo.register_device(conn, device_id, device_type, model=model, validated=validated)
    binding_id: int | None = None
    if member_id is not None and valid_from is not None:
        exists, _clinic = repo.member_clinic(conn, member_id)
        if not exists:
            raise ProvisionError("no such member")  # the id itself is not echoed (PIPL)
        current = repo.open_binding(conn, device_id)
        if current is not None and current["member_id"] == member_id:
            binding_id = int(current["binding_id"])
        else:
            try:
                binding_id = repo.bind_device(conn, device_id, member_id, valid_from)
            except (psycopg.errors.CheckViolation, psycopg.errors.ExclusionViolation):
                raise ProvisionError(
                    "the binding must start after the device's current binding began and "
                    "must not overlap a later one"
                ) from None
    password = generate_password()
    set_broker_password(passwd_file, device_id, password, exe=hash_tool)
    log.info(
        "device provisioned",
        extra={"device_id": device_id, "bound": binding_id is not None, "rotated": rotate},
    )
    return Provisioned(
        device_id=device_id,
        device_type=device_type,
        member_id=member_id,
        binding_id=binding_id,
        username=device_id,
        password=password,
        topic=f"{topic_prefix.rstrip('/')}/{device_id}/<kind>",
    )
