"""``wellrate audit verify``: check the audit log's hash chain.

Prints one JSON line: ``ok``, the number of links and ``anchor``, the head of every chain;
when broken, the first bad link (``broken_chain``, ``broken_seq``, ``audit_id``) and what
is wrong with it. Exit code 0 when intact, 1 when broken, 2 when it could not check.
Keep the printed anchor outside the database and pass it back as ``--anchor``: a chain
rewritten from an earlier point, or cut short, no longer contains it. Read-only: the
reporting role (``wellrate_reporting``) is enough.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

import psycopg

from api.audit.verify import parse_anchor, verify
from core import db
from core.settings import get_settings


def _anchor(text: str) -> dict[int, tuple[int, bytes]]:
    try:
        return parse_anchor(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wellrate audit", description=__doc__)
    sub = parser.add_subparsers(dest="action", required=True)
    check = sub.add_parser("verify", help="check the hash chain; print the head")
    check.add_argument("--anchor", type=_anchor, help="the anchor printed earlier")
    args = parser.parse_args(list(argv or []))
    try:
        with db.connect(db.require_url(get_settings())) as conn:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
            with conn.transaction():
                verdict = verify(conn, args.anchor)
    except (db.DatabaseNotConfigured, psycopg.Error) as exc:
        print(f"wellrate audit verify: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(verdict.to_dict()))
    return 0 if verdict.ok else 1
