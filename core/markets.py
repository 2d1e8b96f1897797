"""Contract specs from ccxt markets (online, cached on disk), the built-in table otherwise.

``fetch_specs(venue)`` asks ccxt for the venue's markets and turns every coin-margined
(inverse) perpetual into a ``ContractSpec``; ``load_specs(venue, symbols, ...)`` answers for the
configured symbols from a fresh cache, else from ccxt, else from a stale cache, else from
``core.instruments``' built-in table — so hedgetop starts offline.

Units differ per venue and ccxt does not hide it:

- Bybit inverse: one contract is 1 USD and quantities are USD. ccxt's ``contractSize`` there is
  the *minimum order quantity*, not a face value, so it is ignored; the lot step is
  ``qtyStep`` USD.
- Deribit: quantities are USD too, in multiples of ``contract_size`` (10 USD for BTC, 1 USD for
  ETH), which ccxt reports as ``contractSize``: that is the face value of one contract.
- Binance COIN-M and OKX: quantities are contracts of ``contractSize`` USD (100 USD for BTC,
  10 USD for the others); OKX says so in ``ctValCcy`` = ``USD``.

Funding intervals: Bybit publishes ``fundingInterval`` (minutes); Binance COIN-M and OKX
inverse perpetuals settle every 8 h; Deribit funds continuously (None).

ccxt is imported lazily (it is slow to import). ``transport`` replaces ccxt's HTTP layer (one
call per request URL, returning the decoded JSON body): tests hand it recorded responses.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from core.instruments import (
    BUILTIN_SPECS,
    ContractSpec,
    QtyUnit,
    UnknownInstrument,
    lookup,
    parse_coin,
)

Transport = Callable[[str], Any]

H8_MS = 8 * 3600 * 1000
DAY_MS = 24 * 3600 * 1000
CACHE_VERSION = 1

_CCXT_OPTIONS: dict[str, dict[str, Any]] = {
    # Only what we need: each extra market type is another request.
    "bybit": {"fetchMarkets": {"types": ["inverse"]}},
    "binance": {"fetchMarkets": {"types": ["inverse"]}},
    "okx": {"fetchMarkets": {"types": ["swap"]}},
    "deribit": {"fetchMarkets": {"fetchAllMarkets": True}},
}


class MarketsError(RuntimeError):
    """ccxt could not provide markets (network, venue error, unexpected answer)."""


def ccxt_exchange(venue: str, *, transport: Transport | None = None) -> Any:
    """A ccxt exchange object for ``venue`` limited to the market types we read. With
    ``transport``, every HTTP request goes to ``transport(url)`` instead of the network."""
    import ccxt

    if venue not in _CCXT_OPTIONS:
        raise UnknownInstrument(f"unknown venue {venue!r} (known: {', '.join(_CCXT_OPTIONS)})")
    exchange = getattr(ccxt, venue)({"options": dict(_CCXT_OPTIONS[venue]), "timeout": 15_000})
    if transport is not None:

        def fetch(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
            return transport(url)

        exchange.fetch = fetch
    return exchange


def fetch_markets(venue: str, *, transport: Transport | None = None) -> list[dict[str, Any]]:
    """The venue's markets in ccxt's unified form (network, unless ``transport``)."""
    exchange = ccxt_exchange(venue, transport=transport)
    try:
        markets = exchange.fetch_markets()
    except Exception as exc:
        raise MarketsError(f"{venue}: cannot fetch markets: {type(exc).__name__}: {exc}") from exc
    return [m for m in markets if isinstance(m, dict)]


def _number(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) and x > 0 else None


def _with_builtin_risk(spec: ContractSpec) -> ContractSpec:
    """Markets do not carry margin tiers and the venue's liquidation details: keep those of
    the built-in row for the same coin, if there is one."""
    for builtin in BUILTIN_SPECS:
        if builtin.venue == spec.venue and builtin.coin == spec.coin:
            return replace(
                builtin,
                symbol=spec.symbol,
                face_value_usd=spec.face_value_usd,
                tick_size=spec.tick_size,
                lot_contracts=spec.lot_contracts,
                qty_unit=spec.qty_unit,
                funding_interval_ms=spec.funding_interval_ms,
                source=spec.source,
            )
    return spec


def spec_from_market(venue: str, market: Mapping[str, Any]) -> ContractSpec | None:
    """A ``ContractSpec`` from one unified ccxt market, or None when the market is not a
    coin-margined (inverse) perpetual or lacks what a spec needs."""
    if not (market.get("swap") and market.get("inverse")):
        return None
    info = market.get("info") or {}
    coin = str(market.get("base") or "").upper()
    symbol = market.get("id")
    precision = market.get("precision") or {}
    tick = _number(precision.get("price"))
    step = _number(precision.get("amount"))
    size = _number(market.get("contractSize"))
    if not coin or not symbol or tick is None:
        return None
    if venue == "bybit":
        face = 1.0  # 1 USD per contract; ccxt's contractSize is the minimum order here
        unit = QtyUnit.USD
        lot = max(1, round((step or 1.0) / face))
        minutes = _number(info.get("fundingInterval"))
        interval: int | None = int(minutes * 60_000) if minutes else H8_MS
    elif venue == "deribit":
        if size is None:
            return None
        face = size  # USD per contract: amounts are USD in multiples of it
        unit = QtyUnit.USD
        minimum = _number(info.get("min_trade_amount")) or face
        lot = max(1, round(minimum / face))
        interval = None  # continuous funding
    elif venue in ("binance", "okx"):
        if size is None:
            return None
        if venue == "okx" and str(info.get("ctValCcy", "USD")).upper() != "USD":
            return None
        face = size
        unit = QtyUnit.CONTRACTS
        lot = max(1, round(step or 1.0))
        interval = H8_MS
    else:
        return None
    spec = ContractSpec(
        venue=venue,
        symbol=str(symbol),
        coin=coin,
        face_value_usd=face,
        tick_size=tick,
        lot_contracts=lot,
        qty_unit=unit,
        funding_interval_ms=interval,
        source=f"ccxt {venue} markets",
    )
    return _with_builtin_risk(spec)


def specs_from_markets(venue: str, markets: Iterable[Mapping[str, Any]]) -> list[ContractSpec]:
    """Every inverse perpetual among ``markets`` as a spec (one per coin, first wins)."""
    out: dict[str, ContractSpec] = {}
    for m in markets:
        spec = spec_from_market(venue, m)
        if spec is not None and spec.coin not in out:
            out[spec.coin] = spec
    return list(out.values())


def fetch_specs(venue: str, *, transport: Transport | None = None) -> list[ContractSpec]:
    """Every inverse perpetual spec the venue lists, through ccxt (blocking network I/O)."""
    return specs_from_markets(venue, fetch_markets(venue, transport=transport))


# --- the on-disk cache ---------------------------------------------------------------------


def default_cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("hedgetop"))


def cache_file(cache_dir: Path, venue: str) -> Path:
    return cache_dir / f"specs-{venue}.json"


def _spec_to_json(spec: ContractSpec) -> dict[str, Any]:
    return {
        "venue": spec.venue,
        "symbol": spec.symbol,
        "coin": spec.coin,
        "face_value_usd": spec.face_value_usd,
        "tick_size": spec.tick_size,
        "lot_contracts": spec.lot_contracts,
        "qty_unit": spec.qty_unit.value,
        "funding_interval_ms": spec.funding_interval_ms,
    }


def _spec_from_json(d: Mapping[str, Any]) -> ContractSpec:
    venue, coin = str(d["venue"]), str(d["coin"])
    interval = d.get("funding_interval_ms")
    spec = ContractSpec(
        venue=venue,
        symbol=str(d["symbol"]),
        coin=coin,
        face_value_usd=float(d["face_value_usd"]),
        tick_size=float(d["tick_size"]),
        lot_contracts=int(d["lot_contracts"]),
        qty_unit=QtyUnit(d["qty_unit"]),
        funding_interval_ms=None if interval is None else int(interval),
        source=f"ccxt {venue} markets (cached)",
    )
    return _with_builtin_risk(spec)


def write_cache(path: Path, specs: Iterable[ContractSpec], fetched_ms: int) -> None:
    """Write atomically (a reader never sees half a file)."""
    body = {
        "version": CACHE_VERSION,
        "fetched_ms": fetched_ms,
        "specs": [_spec_to_json(s) for s in specs],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(body, fh, indent=1)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_cache(path: Path) -> tuple[int, list[ContractSpec]] | None:
    """``(fetched_ms, specs)``, or None when the file is missing, unreadable or not ours."""
    try:
        body = json.loads(path.read_text())
        if body.get("version") != CACHE_VERSION:
            return None
        return int(body["fetched_ms"]), [_spec_from_json(d) for d in body["specs"]]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _find(specs: Iterable[ContractSpec], symbol: str) -> ContractSpec | None:
    wanted = symbol.strip().upper()
    try:
        coin = parse_coin(symbol)
    except UnknownInstrument:
        coin = None
    for spec in specs:
        if spec.symbol.upper() == wanted or spec.coin == coin:
            return spec
    return None


def load_specs(
    venue: str,
    symbols: Iterable[str],
    *,
    now_ms: int,
    cache_dir: Path | None = None,
    online: bool = True,
    max_age_ms: int = DAY_MS,
    transport: Transport | None = None,
    on_error: Callable[[str], None] | None = None,
) -> dict[str, ContractSpec]:
    """Specs for ``symbols`` (generic ``BTCUSD`` or venue-native), keyed by the symbol asked.

    Order of preference: the cache if younger than ``max_age_ms``; ccxt (when ``online``),
    whose answer refreshes the cache; the cache however old; the built-in table. A symbol no
    source knows raises ``UnknownInstrument``. ``on_error`` hears why ccxt was not used.
    Blocking (network): call it off the UI's event loop.
    """
    wanted = list(symbols)
    path = cache_file(cache_dir, venue) if cache_dir is not None else None
    cached = read_cache(path) if path is not None else None
    specs: list[ContractSpec] = []
    if cached is not None and now_ms - cached[0] <= max_age_ms:
        specs = cached[1]
    elif online:
        try:
            specs = fetch_specs(venue, transport=transport)
        except MarketsError as exc:
            if on_error is not None:
                on_error(str(exc))
        else:
            if path is not None and specs:
                try:
                    write_cache(path, specs, now_ms)
                except OSError as exc:
                    if on_error is not None:
                        on_error(f"cannot write {path}: {exc}")
    if not specs and cached is not None:
        specs = cached[1]
    out: dict[str, ContractSpec] = {}
    for symbol in wanted:
        found = _find(specs, symbol)
        out[symbol] = found if found is not None else lookup(venue, symbol)
    return out


def load_specs_for(
    pairs: Iterable[tuple[str, str]],
    *,
    now_ms: int,
    cache_dir: Path | None = None,
    online: bool = True,
    max_age_ms: int = DAY_MS,
    transport: Transport | None = None,
    on_error: Callable[[str], None] | None = None,
) -> dict[tuple[str, str], ContractSpec]:
    """``load_specs`` for many ``(venue, symbol)`` pairs (one ccxt call per venue), keyed the
    way ``Engine``/``LiveSession`` take their ``specs``. Blocking: run it in a thread."""
    by_venue: dict[str, list[str]] = {}
    for venue, symbol in pairs:
        by_venue.setdefault(venue, []).append(symbol)
    out: dict[tuple[str, str], ContractSpec] = {}
    for venue, symbols in by_venue.items():
        found = load_specs(
            venue,
            symbols,
            now_ms=now_ms,
            cache_dir=cache_dir,
            online=online,
            max_age_ms=max_age_ms,
            transport=transport,
            on_error=on_error,
        )
        out.update({(venue, s): spec for s, spec in found.items()})
    return out
