"""Contract specs refreshed from the venues (off the simulator): margin tiers, tick, lot and
funding interval through ``core.markets`` (fresh disk cache, else ccxt, else stale cache,
else the built-in table), loaded in a thread and applied on the loop. Failures are reported
lines, never a crash: the built-in table serves until, and whenever, the refresh fails.

A venue whose feeds all lead to a simulator (a local ``hedgetop sim``, a LAN box: see
``core.session.endpoints``) is not asked: its prices are not the real venue's, so neither
are its specs, and asking would reach the internet from a session that chose not to.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from core.engine import Engine
from core.events import Venue
from core.instruments import ContractSpec
from core.session.broker import tier_credentials
from core.session.endpoints import Endpoint, EndpointKind, classify
from core.session.threads import in_daemon_thread

SpecLoader = Callable[..., Mapping[tuple[str, str], ContractSpec]]
#: a URL -> where it leads (``core.session.endpoints.classify``; tests stand a closed loopback
#: port in for an offline real venue)
EndpointOf = Callable[[str], Endpoint]


def local_venues(
    feed_urls: Mapping[tuple[str, str], str], endpoint_of: EndpointOf = classify
) -> dict[str, str]:
    """The venues whose every feed URL leads to a simulator, each with one of those URLs
    (for the note): their specs stay the built-in table's."""
    by_venue: dict[str, list[str]] = {}
    for (venue, _socket), url in feed_urls.items():
        by_venue.setdefault(venue, []).append(url)
    return {
        venue: urls[0]
        for venue, urls in by_venue.items()
        if all(endpoint_of(u).kind is EndpointKind.SIMULATOR for u in urls)
    }


def split_local(
    pairs: Sequence[tuple[str, str]],
    feed_urls: Mapping[tuple[str, str], str],
    endpoint_of: EndpointOf = classify,
) -> tuple[list[tuple[str, str]], list[str]]:
    """``pairs`` (venue, symbol) split into those to ask the venues for and one note per
    venue left on the built-in table because its feeds are local."""
    local = local_venues(feed_urls, endpoint_of)
    notes = [
        f"contract specs for {venue}: its feeds are local ({local[venue]}), so the built-in "
        f"table serves; {Venue(venue).value} itself is not asked"
        for venue in dict.fromkeys(v for v, _ in pairs)
        if venue in local
    ]
    return [p for p in pairs if p[0] not in local], notes


async def refresh_specs(
    engine: Engine,
    pairs: Sequence[tuple[str, str]],
    *,
    now_ms: int,
    loader: SpecLoader | None,
    cache_dir: Path | None,
    problem: Callable[[str], None],
) -> str | None:
    """Load specs for ``pairs`` (venue, symbol) off the loop and hand them to
    ``engine.update_specs``. Problems go to ``problem``; returns the line saying which specs
    are in use, or None when nothing was applied. ``loader`` is called in a thread as
    ``loader(pairs, now_ms=..., cache_dir=..., on_error=...)`` (default
    ``core.markets.load_specs_for``, cache in ``core.markets.default_cache_dir()``)."""
    errors: list[str] = []  # appended from the loader's thread

    def load() -> Mapping[tuple[str, str], ContractSpec]:
        nonlocal loader, cache_dir
        if loader is None or cache_dir is None:
            from core import markets  # ccxt itself is imported only when asked

            # margin tiers too; Binance's signed bracket call with the trading keys, if set
            loader = loader or functools.partial(
                markets.load_specs_for, tiers=True, credentials=tier_credentials
            )
            cache_dir = cache_dir or markets.default_cache_dir()
        return loader(list(pairs), now_ms=now_ms, cache_dir=cache_dir, on_error=errors.append)

    try:
        specs = await in_daemon_thread(load, name="hedgetop specs")
        for err in errors:
            problem(f"contract specs: {err} (the cache or built-in table serves)")
        warnings = engine.update_specs(specs)
    except Exception as exc:  # CancelledError is a BaseException: it goes through
        problem(
            f"contract specs not refreshed ({type(exc).__name__}: {exc}); using the built-in table"
        )
        return None
    for warning in warnings:
        problem(f"contract specs: {warning}")
    sources = sorted(
        {
            f"{s.venue} {s.symbol}: {s.source or 'built-in'}, tiers {s.tier_source.describe()}"
            for s in engine.specs().values()
        }
    )
    return "contract specs in use: " + "; ".join(sources)
