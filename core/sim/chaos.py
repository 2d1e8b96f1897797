"""Fault injection for the simulator, parsed from a comma list such as ``drop=2,garbage=0.01``.

- ``drop=N``      close every open connection every N seconds (wall time); drops alternate
                  between an abrupt TCP abort and a clean close frame (code 1001).
- ``stall=N``     after N seconds, accept connections but send nothing (no data, no replies);
  ``stall=N:D``   ... for D seconds, then resume.
- ``garbage=P``   each data frame is, with probability P, replaced by a malformed frame.
- ``reorder``     repeat or swap data frames now and then (probability 0.05);
  ``reorder=P``   ... with probability P.
- ``refuse=SYM``  refuse the subscription of SYM (a coin such as ``BTC`` or a venue symbol such
                  as ``BTCUSD``); may be given more than once, or as ``refuse=BTC+ETH``.

REST (every simulated REST host; draws from a seeded random source of their own):

- ``http500=P``   answer a request, with probability P, with HTTP 500 before doing anything.
- ``slow=MS``     answer every request MS milliseconds late.
- ``ratelimit``   answer a request, with probability 0.1, with the venue's rate-limit reply
  ``ratelimit=P`` (Bybit ``retCode`` 10006, Binance HTTP 429 ``-1003`` with ``Retry-After``) ...
                  with probability P. The venues' real per-endpoint limits apply regardless.
- ``drop-response=P``  do the request (the order is placed), then close the connection without
                  the reply, with probability P: the case a client must survive without doubling
                  the order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


class ChaosSpecError(ValueError):
    """A chaos spec that cannot be read; the message names the item and what was expected."""


@dataclass(frozen=True, slots=True)
class ChaosSpec:
    drop_every_s: float | None = None
    stall_after_s: float | None = None
    stall_for_s: float | None = None  # None: stalled for good
    garbage_p: float = 0.0
    reorder_p: float = 0.0
    refuse: frozenset[str] = frozenset()
    http500_p: float = 0.0
    slow_ms: float = 0.0
    ratelimit_p: float = 0.0
    drop_response_p: float = 0.0

    def refuses(self, coin: str, symbol: str) -> bool:
        """Whether a subscription to ``symbol`` (of ``coin``) is to be refused."""
        return coin.upper() in self.refuse or symbol.upper() in self.refuse

    def stalled(self, elapsed_s: float) -> bool:
        """Whether the server is stalled ``elapsed_s`` seconds after it started."""
        if self.stall_after_s is None or elapsed_s < self.stall_after_s:
            return False
        return self.stall_for_s is None or elapsed_s < self.stall_after_s + self.stall_for_s

    def describe(self) -> str:
        parts: list[str] = []
        if self.drop_every_s is not None:
            parts.append(f"drop={self.drop_every_s:g}")
        if self.stall_after_s is not None:
            tail = f":{self.stall_for_s:g}" if self.stall_for_s is not None else ""
            parts.append(f"stall={self.stall_after_s:g}{tail}")
        if self.garbage_p:
            parts.append(f"garbage={self.garbage_p:g}")
        if self.reorder_p:
            parts.append(f"reorder={self.reorder_p:g}")
        parts.extend(f"refuse={s}" for s in sorted(self.refuse))
        if self.http500_p:
            parts.append(f"http500={self.http500_p:g}")
        if self.slow_ms:
            parts.append(f"slow={self.slow_ms:g}")
        if self.ratelimit_p:
            parts.append(f"ratelimit={self.ratelimit_p:g}")
        if self.drop_response_p:
            parts.append(f"drop-response={self.drop_response_p:g}")
        return ",".join(parts) or "none"


DEFAULT_REORDER_P = 0.05
DEFAULT_RATELIMIT_P = 0.1
_KEYS = (
    "drop=N, stall=N[:D], garbage=P, reorder[=P], refuse=SYMBOL, "
    "http500=P, slow=MS, ratelimit[=P], drop-response=P"
)


def _seconds(item: str, key: str, text: str, unit: str = "seconds") -> float:
    try:
        v = float(text)
    except ValueError:
        raise ChaosSpecError(
            f"chaos item {item!r}: {key} needs a number of {unit}, got {text!r}"
        ) from None
    if not math.isfinite(v) or v <= 0:
        raise ChaosSpecError(f"chaos item {item!r}: {key} needs {unit} > 0, got {text!r}")
    return v


def _probability(item: str, key: str, text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise ChaosSpecError(
            f"chaos item {item!r}: {key} needs a probability between 0 and 1, got {text!r}"
        ) from None
    if not (0.0 <= v <= 1.0):
        raise ChaosSpecError(
            f"chaos item {item!r}: {key} needs a probability between 0 and 1, got {text!r}"
        )
    return v


def parse_chaos(spec: str) -> ChaosSpec:
    """Read a comma list of faults (see the module doc). An empty spec means no faults.
    Raises ChaosSpecError naming the bad item."""
    drop: float | None = None
    stall_after: float | None = None
    stall_for: float | None = None
    garbage = 0.0
    reorder = 0.0
    refuse: set[str] = set()
    rest: dict[str, float] = {}
    for raw in spec.split(","):
        item = raw.strip()
        if not item:
            continue
        key, eq, value = item.partition("=")
        key = key.strip().lower()
        value = value.strip()
        if key == "reorder":
            reorder = _probability(item, key, value) if eq else DEFAULT_REORDER_P
            continue
        if key == "ratelimit":
            rest["ratelimit_p"] = _probability(item, key, value) if eq else DEFAULT_RATELIMIT_P
            continue
        if not eq or not value:
            raise ChaosSpecError(f"chaos item {item!r}: expected KEY=VALUE ({_KEYS})")
        if key == "drop":
            drop = _seconds(item, key, value)
        elif key == "stall":
            after, colon, dur = value.partition(":")
            stall_after = _seconds(item, key, after)
            stall_for = _seconds(item, key, dur) if colon else None
        elif key == "garbage":
            garbage = _probability(item, key, value)
        elif key == "http500":
            rest["http500_p"] = _probability(item, key, value)
        elif key == "drop-response":
            rest["drop_response_p"] = _probability(item, key, value)
        elif key == "slow":
            rest["slow_ms"] = _seconds(item, key, value, "milliseconds")
        elif key == "refuse":
            for sym in value.split("+"):
                s = sym.strip().upper()
                if not s or not s.replace("_", "").replace("-", "").isalnum():
                    raise ChaosSpecError(f"chaos item {item!r}: refuse needs a symbol, got {sym!r}")
                refuse.add(s)
        else:
            raise ChaosSpecError(f"chaos item {item!r}: unknown fault {key!r} (known: {_KEYS})")
    return ChaosSpec(
        drop_every_s=drop,
        stall_after_s=stall_after,
        stall_for_s=stall_for,
        garbage_p=garbage,
        reorder_p=reorder,
        refuse=frozenset(refuse),
        **rest,
    )
