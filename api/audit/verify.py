"""Check the audit log's hash chains (migration 0056) and report the first broken link.

Why chains: the application roles cannot change the audit log at all, but its owner (or
a superuser) can disable the refusing trigger and rewrite rows, as the penetration test
did with 1,018 rows. Every link stores the hash of its row and of the link before it on
its chain, so a changed, deleted or slipped-in row breaks a chain at that point.
Rewriting a chain after a change, or cutting links off its end, is caught by an anchor:
the heads (chain, ``seq``, ``row_hash``) a previous check printed, kept outside the
database. There are several chains only so that concurrent commits need not queue for
one (see the migration).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any

import psycopg

from api.audit import repository as repo

GENESIS = bytes(32)  # the prev_hash of each chain's first link

Heads = dict[int, tuple[int, bytes]]  # chain -> (seq, row_hash) of its last link


@dataclass(frozen=True)
class Verdict:
    """``ok`` and the number of intact links; ``anchor``, the heads of the chains (pass it
    back later); when not ok, where the first break is and why."""

    ok: bool
    links: int
    anchor: str
    broken_chain: int | None = None
    broken_seq: int | None = None
    audit_id: int | None = None
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def format_anchor(heads: Heads) -> str:
    """``CHAIN:SEQ:HEX`` per chain, comma-separated."""
    return ",".join(f"{c}:{seq}:{h.hex()}" for c, (seq, h) in sorted(heads.items()))


def parse_anchor(text: str) -> Heads:
    """The ``anchor`` a previous verification printed."""
    heads: Heads = {}
    for part in text.split(","):
        try:
            chain, seq, digest = part.split(":")
            c, n, h = int(chain), int(seq), bytes.fromhex(digest)
        except ValueError:
            raise ValueError("an anchor is CHAIN:SEQ:HEX[,...], e.g. 3:1042:9f86d0...") from None
        if not 0 <= c <= 15 or n < 1 or len(h) != 32 or c in heads:
            raise ValueError("each anchor part names a chain 0-15 once, a link >= 1, a sha256")
        heads[c] = (n, h)
    return heads


def verify(conn: psycopg.Connection[Any], anchor: Heads | None = None) -> Verdict:
    """Walk every chain in ``conn``'s open transaction (REPEATABLE READ: one snapshot)."""
    heads: Heads = {}
    links = 0
    expect = anchor or {}

    def broken(chain: int | None, seq: int | None, audit_id: int | None, why: str) -> Verdict:
        return Verdict(False, links, format_anchor(heads), chain, seq, audit_id, why)

    for chain, seq, audit_id, prev_hash, content, row_hash, actual in repo.chain_links(conn):
        last_seq, prev = heads.get(chain, (0, GENESIS))
        if seq != last_seq + 1:
            return broken(chain, seq, audit_id, f"links {last_seq + 1}..{seq - 1} are missing")
        if prev_hash != prev:
            return broken(chain, seq, audit_id, "the link does not follow the previous one")
        if hashlib.sha256(prev_hash + content).digest() != row_hash:
            return broken(chain, seq, audit_id, "the link's own hash is wrong")
        if actual is None:
            return broken(chain, seq, audit_id, "the audit row was deleted")
        if actual != content:
            return broken(chain, seq, audit_id, "the audit row was changed")
        if expect.get(chain, (0, b""))[0] == seq and expect[chain][1] != row_hash:
            return broken(chain, seq, audit_id, "the chain differs from the recorded anchor")
        heads[chain] = (seq, row_hash)
        links += 1
    for chain, (seq, _h) in sorted(expect.items()):
        if heads.get(chain, (0, b""))[0] < seq:
            return broken(chain, None, None, f"the chain ends before the recorded anchor {seq}")
    count, first = repo.unchained(conn)
    if count:
        return broken(
            None, None, first, f"{count} audit rows have no link (written with the trigger off)"
        )
    return Verdict(True, links, format_anchor(heads))
