"""The feed runners of a session: one per (venue, socket) the engine subscribes to, each at
the first URL that names it (explicit override, the config's, the simulator's, the venue's)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from core.events import Quote

if TYPE_CHECKING:
    from core.feeds.runner import FeedRunner

SocketKey = tuple[str, str]  # (venue, socket)


def feed_urls(
    subscriptions: Mapping[SocketKey, object],
    *layers: Mapping[SocketKey, str],
) -> dict[SocketKey, str]:
    """The URL of every subscribed (venue, socket): the first of ``layers`` that names it,
    then the real venue's default."""
    from core.feeds import DEFAULT_URLS

    out: dict[SocketKey, str] = {}
    for key in subscriptions:
        url = next((layer[key] for layer in layers if layer.get(key)), DEFAULT_URLS.get(key))
        if url is not None:
            out[key] = url
    return out


def build_runners(
    subscriptions: Mapping[SocketKey, Sequence[str]],
    urls: Mapping[SocketKey, str],
    on_quote: Callable[[Quote], None],
    *,
    stale_after_ms: int,
    wall_clock: Callable[[], int],
    on_missing: Callable[[str], None],
) -> list[tuple[SocketKey, FeedRunner]]:
    """One runner per subscribed socket that has a URL (not started); a socket without one
    is reported through ``on_missing``."""
    from core.feeds import make_adapter
    from core.feeds.runner import FeedRunner

    out: list[tuple[SocketKey, FeedRunner]] = []
    for key, symbols in subscriptions.items():
        url = urls.get(key)
        if url is None:
            on_missing(f"no feed URL for {key[0]} {key[1]}")
            continue
        runner = FeedRunner(
            make_adapter(*key),
            url,
            symbols,
            on_quote,
            stale_after_ms=stale_after_ms,
            now_ms=wall_clock,
        )
        out.append((key, runner))
    return out
