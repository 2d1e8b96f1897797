"""Contract specs refreshed from the venues (off the simulator): margin tiers, tick, lot and
funding interval through ``core.markets`` (fresh disk cache, else ccxt, else stale cache,
else the built-in table), loaded in a thread and applied on the loop. Failures are reported
lines, never a crash: the built-in table serves until, and whenever, the refresh fails."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from core.engine import Engine
from core.instruments import ContractSpec
from core.session.broker import tier_credentials
from core.session.threads import in_daemon_thread

SpecLoader = Callable[..., Mapping[tuple[str, str], ContractSpec]]


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
