"""Feed recorded raw messages (one JSON object per line) through an adapter.

The same adapter code as live: what replays correctly here decodes correctly on the wire.
A line that is not valid for the venue is a parse error, counted, and the replay goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from core.events import Quote
from core.feeds.base import Adapter


@dataclass(slots=True)
class FeedCounters:
    """Message accounting of one feed (live or replayed)."""

    messages: int = 0
    quotes: int = 0
    parse_errors: int = 0
    ignored: int = 0
    reconnects: int = 0
    stale_periods: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "messages": self.messages,
            "quotes": self.quotes,
            "parse_errors": self.parse_errors,
            "ignored": self.ignored,
            "reconnects": self.reconnects,
            "stale_periods": self.stale_periods,
        }


class _ConsumerError(Exception):
    pass


def replay_lines(
    adapter: Adapter,
    lines: Iterable[str | bytes],
    on_quote: Callable[[Quote], None],
    *,
    received_ms: Callable[[], int],
) -> FeedCounters:
    """Decode every non-blank line with ``adapter``; quotes go to ``on_quote``.

    ``received_ms`` stamps each quote (a replay has no receive time of its own). Frames the
    adapter would send back (heartbeat answers) are discarded.
    """
    counters = FeedCounters()

    def emit(q: Quote) -> None:
        counters.quotes += 1
        try:
            on_quote(q)
        except Exception as exc:  # the consumer's failure is not a parse error
            raise _ConsumerError from exc

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
            counters.ignored += 1
    return counters
