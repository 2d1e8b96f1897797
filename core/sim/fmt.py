"""Number and JSON formatting shared by every venue's wire code (the venues print numbers as
strings, each with its own number of decimals)."""

from __future__ import annotations

import json
from typing import Any


def dumps(obj: Any) -> str:
    """Compact JSON, as the venues send it."""
    return json.dumps(obj, separators=(",", ":"))


def tick_decimals(tick: float) -> int:
    """Decimals needed to print multiples of ``tick`` exactly (0.5 -> 1, 0.0001 -> 4)."""
    text = f"{tick:.10f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def fmt_fixed(x: float, decimals: int) -> str:
    return f"{x:.{decimals}f}"


def fmt_trim(x: float, decimals: int) -> str:
    """Fixed decimals, then trailing zeros removed (Bybit spot and rates print like this)."""
    text = f"{x:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text


def coin_str(x: float) -> str:
    """A coin amount to 8 decimals (satoshi), trailing zeros kept off."""
    return fmt_trim(x, 8)
