"""The randomised holdout: who is in the control arm for a product and plan year.

Why: whether the premium incentive lowers claims can only be measured against members who
were offered the same product without it. For each product and plan year a share of the
book (the rulebook's ``[holdout] share_pct``, default 10 %) is drawn into a control arm:
they keep every clinic service and pay the version's price with the lines that need no
data (base, declared loading, claim-free ladder, the fund's recovery), but no
performance-linked discount. Nobody in either arm pays more than the version's base and
those lines would charge: the incentive only lowers a premium.

The rule, so anyone with the stored key can re-derive an arm: the member is in the control
arm when ``HMAC-SHA256(key, "{product}|{plan_year}|{member_id}")``, its first 8 bytes read
as a big-endian integer, is below ``share × 2**64`` (share in basis points ÷ 10,000). The
key is 32 random bytes drawn once per product and plan year and stored with the draw; each
arm is stored once (``holdout_assignments``) and never re-drawn, whatever changes later.
Members who join after the draw are not randomised: they are in the incentive arm and are
left out of the effect's estimate (intention to treat is over the drawn book).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

CONTROL, INCENTIVE = "control", "incentive"


def in_control(key: bytes, product_id: str, plan_year: int, member_id: str, share_bp: int) -> bool:
    """The documented rule (module docstring): True for the control arm."""
    msg = f"{product_id}|{plan_year}|{member_id}".encode()
    u = int.from_bytes(hmac.new(key, msg, hashlib.sha256).digest()[:8], "big")
    return u * 10_000 < share_bp * 2**64


def arms(
    key: bytes, product_id: str, plan_year: int, member_ids: Sequence[str], share_bp: int
) -> list[str]:
    return [
        CONTROL if in_control(key, product_id, plan_year, m, share_bp) else INCENTIVE
        for m in member_ids
    ]
