"""What every venue adapter provides, and the small helpers they share.

An adapter is thin and stateful: it knows one venue's wire format (the frames to subscribe,
the heartbeat, how to turn one raw message into normalised ``Quote`` events) and keeps only
the per-instrument state needed to merge partial updates into a full view. It does no I/O:
the shared ``FeedRunner`` owns the socket, and replay feeds it lines from a file.

The hot path is :meth:`Adapter.decode`: one raw frame in, zero or more quotes handed to
``emit``, the count returned (0 means "nothing for us": a control message, another channel,
a symbol we did not ask for). Malformed input raises; the caller counts and drops it.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from core.events import Kind, Quote
from core.feeds.validate import Sequencer

Emit = Callable[[Quote], None]

H8_MS = 8 * 3600 * 1000

#: The largest frame (live) or line (replay) read: beyond it the connection is closed by us
#: and a replayed line is skipped, rather than held in memory.
MAX_FRAME_BYTES = 2**23


# A dated contract's expiry in each venue's naming: BTCUSDU23 (Bybit: month code + year),
# BTCUSD_230929 (Binance), BTC-USD-230929 (OKX), BTC-29SEP23 (Deribit).
_DATED = re.compile(r"(USD[FGHJKMNQUVXZ]\d{2}|[_-]\d{6}|-\d{1,2}[A-Z]{3}\d{2})$")
_LINEAR = re.compile(r"(USDT|USDC|PERP)$|-USD[TC]-|_USDC")


@lru_cache(maxsize=4096)
def contract_kind(symbol: str, socket: str) -> Kind:
    """What a venue-native ``symbol`` on ``socket`` ("inverse" or "spot") prices: the same
    rule for every venue, cached per symbol so that the hot path pays one dict lookup.

    Linear (USDT/USDC-margined) contracts travel on the same layouts (Bybit's linear socket,
    OKX's swap channels) and are labelled as such rather than passed off as inverse."""
    if socket == "spot":
        return Kind.SPOT
    if symbol.endswith("_PERP") or symbol.endswith("-USD-SWAP") or symbol.endswith("-PERPETUAL"):
        return Kind.LINEAR if "_USDC" in symbol else Kind.INVERSE_PERP
    if _LINEAR.search(symbol):
        return Kind.LINEAR
    if _DATED.search(symbol):
        return Kind.INVERSE_FUTURE
    return Kind.INVERSE_PERP


class MergedState:
    """The latest full view of one instrument, merged from a venue's partial updates (floats;
    None where the venue gave no value). The adapters that merge keep one per symbol."""

    __slots__ = (
        "ask",
        "bid",
        "funding_interval_ms",
        "funding_rate",
        "index",
        "last",
        "mark",
        "next_funding_ms",
    )

    def __init__(self, index: float | None = None) -> None:
        self.mark: float | None = None
        self.index = index
        self.last: float | None = None
        self.bid: float | None = None
        self.ask: float | None = None
        self.funding_rate: float | None = None
        self.next_funding_ms: int | None = None
        self.funding_interval_ms: int | None = None

    def quote(
        self, venue: str, symbol: str, kind: Kind, exchange_ms: int | None, received_ms: int
    ) -> Quote:
        return Quote(
            venue=venue,
            symbol=symbol,
            kind=kind,
            mark=self.mark,
            index=self.index,
            last=self.last,
            bid=self.bid,
            ask=self.ask,
            funding_rate=self.funding_rate,
            next_funding_ms=self.next_funding_ms,
            funding_interval_ms=self.funding_interval_ms,
            exchange_ms=exchange_ms,
            received_ms=received_ms,
        )


class FeedParseError(ValueError):
    """A message that is not what the venue's protocol says it should be."""


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """How a venue wants the client to keep the connection alive.

    ``frame`` is sent every ``interval_s`` seconds, or only after ``interval_s`` seconds
    without any incoming message when ``only_when_idle`` (OKX's text ``ping``).
    """

    frame: str
    interval_s: float
    only_when_idle: bool = False


def num(text: str | None) -> float | None:
    """A venue's decimal string as float; absent or empty (``""``) is None, never 0."""
    if not text:
        return None
    return float(text)


def whole(text: str | None) -> int | None:
    """A venue's integer string (a timestamp in ms); absent, empty or ``"0"`` is None."""
    if not text:
        return None
    value = int(text)
    return value or None


class Adapter(ABC):
    """One venue's wire protocol on one socket (``inverse`` or ``spot``)."""

    venue: str
    socket: str
    heartbeat: Heartbeat | None = None

    def __init__(self, socket: str = "inverse") -> None:
        if socket not in ("inverse", "spot"):
            raise ValueError(f"socket must be 'inverse' or 'spot', not {socket!r}")
        self.socket = socket
        self.only: frozenset[str] | None = None
        # Frames the adapter wants sent back (e.g. Deribit's answer to a test_request);
        # the runner drains it after each decode.
        self.outbox: list[str] = []
        # The venue's last refusal or error reply (a refused subscription...), for display.
        self.last_error: str | None = None
        # Error replies to our requests (a refused subscription): counted, the runner logs them.
        self.sub_errors = 0
        # Old and repeated messages, dropped before they are merged (``Sequencer``).
        self.order = Sequencer()

    # --- connection life cycle -------------------------------------------------------------

    def url_for(self, base_url: str, symbols: Sequence[str]) -> str:
        """The URL to connect to for ``symbols`` (Binance puts its streams in the URL)."""
        return base_url

    @abstractmethod
    def subscribe_frames(self, symbols: Sequence[str]) -> list[str]:
        """Frames to send right after connecting (subscriptions, heartbeat set-up)."""

    def reset(self) -> None:
        """Forget merged state: called on every (re)connect, before subscribing, so that a
        delta from a new connection is never merged into an old snapshot (and the new
        connection's stamps are not compared with the old one's)."""
        self.outbox.clear()
        self.order.forget()

    def refused(self, error: str) -> None:
        """Note an error reply from the venue (kept for display, counted)."""
        self.last_error = error
        self.sub_errors += 1

    def restrict(self, symbols: Iterable[str] | None) -> None:
        """Emit quotes only for ``symbols`` (venue-native); None: every symbol seen."""
        self.only = None if symbols is None else frozenset(symbols)

    def normalise_symbol(self, symbol: str) -> str:
        """The venue-native spelling of a symbol typed by a user (case, separators)."""
        return symbol.strip().upper()

    # --- hot path --------------------------------------------------------------------------

    @abstractmethod
    def decode(self, raw: str | bytes, received_ms: int, emit: Emit) -> int:
        """Turn one raw message into quotes passed to ``emit``; return how many.

        0 means the message was understood but carries nothing for us (ignored). Raises
        (``FeedParseError``, ``msgspec`` errors, ``ValueError``) on malformed input.
        """
