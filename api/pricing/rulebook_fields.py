"""Reading a rulebook's TOML by field path, collecting every problem with its path.

Why a module of its own: the rulebook and its product versions both read fields this way,
and an actuary fixes a file in one pass only if every error names its field.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from core.errors import FieldError


class Fields:
    """Reads values by field path, recording an error for each bad one."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.errors: list[FieldError] = []

    def fail(self, path: str, message: str) -> None:
        self.errors.append({"field": path, "message": message})

    def get(self, path: str) -> Any:
        node: Any = self.data
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                self.fail(path, "is required")
                return None
            node = node[part]
        return node

    def text(self, path: str) -> str:
        v = self.get(path)
        if v is None:
            return ""
        if not isinstance(v, str) or not v.strip():
            self.fail(path, "must be a non-empty string")
            return ""
        return v

    def integer(self, path: str, lo: int, hi: int, value: Any = None) -> int:
        v = self.get(path) if value is None else value
        if v is None:
            return lo
        if isinstance(v, bool) or not isinstance(v, int):
            self.fail(path, "must be an integer")
            return lo
        if not lo <= v <= hi:
            self.fail(path, f"must be between {lo} and {hi}")
            return lo
        return v

    def number(self, path: str, lo: Decimal, hi: Decimal, value: Any = None) -> Decimal:
        v = self.get(path) if value is None else value
        if v is None:
            return lo
        if isinstance(v, bool) or not isinstance(v, int | float | str):
            self.fail(path, "must be a number")
            return lo
        try:
            d = Decimal(str(v))
        except InvalidOperation:
            self.fail(path, "must be a number")
            return lo
        if not d.is_finite() or not lo <= d <= hi:
            self.fail(path, f"must be between {lo} and {hi}")
            return lo
        return d

    def pct_bp(self, path: str, lo: int = 0, hi: int = 100, value: Any = None) -> int:
        d = self.number(path, Decimal(lo), Decimal(hi), value)
        bp = d * 100
        if bp != bp.to_integral_value():
            self.fail(path, "at most 2 decimal places")
            return 0
        return int(bp)

    def yuan_fen(self, path: str, value: Any = None, hi: int = 1_000_000) -> int:
        v = self.get(path) if value is None else value
        if v is None:
            return 0
        if not isinstance(v, str):
            self.fail(path, 'must be a string of yuan, e.g. "99.00" (no floats for money)')
            return 0
        try:
            d = Decimal(v)
        except InvalidOperation:
            self.fail(path, "must be an amount of yuan")
            return 0
        if not d.is_finite() or d < 0 or d > hi or d * 100 != (d * 100).to_integral_value():
            self.fail(path, f"must be 0..{hi} yuan with at most 2 decimals")
            return 0
        return int(d * 100)

    def boolean(self, path: str) -> bool:
        v = self.get(path)
        if v is not None and not isinstance(v, bool):
            self.fail(path, "must be true or false")
            return False
        return bool(v)
