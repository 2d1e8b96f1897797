"""Feed recorded raw messages (one JSON object per line) through an adapter.

The same adapter code as live: what replays correctly here decodes correctly on the wire.
A line that is not valid for the venue is a parse error, counted, and the replay goes on; a
line longer than the live frame cap is counted and skipped without being held in memory
(``bounded_lines``); every quote passes the same ``QuoteGate`` as a live one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from core.events import Quote
from core.feeds.base import MAX_FRAME_BYTES, Adapter
from core.feeds.validate import QuoteGate


@dataclass(slots=True)
class FeedCounters:
    """Message accounting of one feed (live or replayed).

    ``rejected``: quotes refused by the ``QuoteGate`` (bad numbers); ``out_of_order`` and
    ``duplicates``: messages older than (or identical to) the last of their stream, dropped
    before merging; ``oversize``: frames or lines over ``MAX_FRAME_BYTES``; ``resubscribes``:
    subscriptions sent again because a symbol got no data; ``sub_errors``: error replies from
    the venue (a refused subscription)."""

    messages: int = 0
    quotes: int = 0
    parse_errors: int = 0
    ignored: int = 0
    reconnects: int = 0
    stale_periods: int = 0
    rejected: int = 0
    out_of_order: int = 0
    duplicates: int = 0
    oversize: int = 0
    resubscribes: int = 0
    sub_errors: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "messages": self.messages,
            "quotes": self.quotes,
            "parse_errors": self.parse_errors,
            "ignored": self.ignored,
            "reconnects": self.reconnects,
            "stale_periods": self.stale_periods,
            "rejected": self.rejected,
            "out_of_order": self.out_of_order,
            "duplicates": self.duplicates,
            "oversize": self.oversize,
            "resubscribes": self.resubscribes,
            "sub_errors": self.sub_errors,
        }


class _ConsumerError(Exception):
    pass


def bounded_lines(
    fh: BinaryIO, counters: FeedCounters, limit: int = MAX_FRAME_BYTES
) -> Iterator[bytes]:
    """The lines of ``fh``, each read with a bounded ``readline``: a line longer than
    ``limit`` bytes (the live feed's frame cap) is counted in ``counters.oversize`` and skipped
    in pieces, never held whole in memory."""
    while True:
        line = fh.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith(b"\n"):
            counters.oversize += 1
            while True:
                rest = fh.readline(_SKIP_CHUNK)
                if not rest or rest.endswith(b"\n"):
                    break
            continue
        yield line


_SKIP_CHUNK = 2**20


def replay_lines(
    adapter: Adapter,
    lines: Iterable[str | bytes],
    on_quote: Callable[[Quote], None],
    *,
    received_ms: Callable[[], int],
    counters: FeedCounters | None = None,
) -> FeedCounters:
    """Decode every non-blank line with ``adapter``; quotes go to ``on_quote``.

    ``received_ms`` stamps each quote (a replay has no receive time of its own). Frames the
    adapter would send back (heartbeat answers) are discarded. Every quote passes the same
    ``QuoteGate`` as live: a rejected one is counted and never reaches ``on_quote``.
    """
    counters = counters if counters is not None else FeedCounters()
    gate = QuoteGate(adapter.venue)
    order = adapter.order

    def emit(q: Quote) -> None:
        if gate.check(q) is not None:
            counters.rejected += 1
            return
        counters.quotes += 1
        try:
            on_quote(q)
        except Exception as exc:  # the consumer's failure is not a parse error
            raise _ConsumerError from exc

    dropped = order.older + order.duplicates
    for line in lines:
        raw = line.strip()
        if not raw:
            continue
        counters.messages += 1
        try:
            n = adapter.decode(raw, received_ms(), emit)
        except _ConsumerError as exc:
            raise exc.__cause__ from None  # type: ignore[misc]
        except Exception:  # malformed input of any shape: counted and dropped
            counters.parse_errors += 1
            continue
        finally:
            adapter.outbox.clear()
        if n == 0:
            now_dropped = order.older + order.duplicates
            if now_dropped != dropped:  # old or repeated: counted there, not as ignored
                dropped = now_dropped
            else:
                counters.ignored += 1
    counters.out_of_order = order.older
    counters.duplicates = order.duplicates
    counters.sub_errors = adapter.sub_errors
    return counters
