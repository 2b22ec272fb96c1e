"""The engine's arithmetic: integer fen and basis points (1 % = 100 bp), exact to the fen.

Indicator values (floats from scoring) only decide an *attainment* in [0, 1], taken as an
exact ``Decimal`` of the float's repr, so identical inputs give the identical premium.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

ONE = Decimal(1)
ZERO = Decimal(0)


def dec(x: float | int) -> Decimal:
    return Decimal(repr(x)) if isinstance(x, float) else Decimal(x)


def clamp01(x: Decimal) -> Decimal:
    return max(ZERO, min(ONE, x))


def fen_of(base_fen: int, bp: int) -> int:
    """``base × bp / 10000`` rounded half away from zero to the fen (integer arithmetic)."""
    q, r = divmod(abs(base_fen * bp), 10000)
    q += 2 * r >= 10000
    return q if base_fen * bp >= 0 else -q


@lru_cache(maxsize=16384)
def money(fen: int) -> str:
    """Integer fen as a yuan string with 2 decimals, e.g. -1234 -> "-12.34"."""
    return f"{'-' if fen < 0 else ''}{abs(fen) // 100}.{abs(fen) % 100:02d}"


@lru_cache(maxsize=4096)
def fmt_bp(bp: int) -> str:
    sign = "−" if bp < 0 else "+" if bp > 0 else "±"
    s = f"{abs(bp) / 100:.2f}".rstrip("0").rstrip(".")
    return f"{sign}{s}%"


def earn(max_bp: int, att: Decimal) -> int:
    return int((max_bp * att).quantize(ONE, rounding=ROUND_HALF_UP))
