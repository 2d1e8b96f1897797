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

Margin tiers (``tiers=True``) come through ccxt's own leverage-tier calls: Bybit's public
``/v5/market/risk-limit`` (``category=inverse``), OKX's public ``/api/v5/public/position-tiers``,
Binance COIN-M's signed ``/dapi/v2/leverageBracket`` (with API keys only). What ccxt leaves
venue-shaped for inverse contracts is fixed in one place, ``tiers_from_ccxt`` (its docstring
lists each quirk and why). Deribit has no tiers (a formula: ``core.instruments``). The tiers
are cached with the specs, with the time the venue answered (``TierSource``).

Instrument status (``market_status``): each venue's word for an instrument's life, read from
the market's ``info`` (ccxt's ``active`` only where the venue's own field is missing), and a
perpetual's delisting date. Each mapping cites the venue's documentation.

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

from core.events import InstrumentStatus
from core.instruments import (
    BUILTIN_SPECS,
    VENUE_DEFAULT_TIER_NOTES,
    VENUE_DEFAULT_TIERS,
    VENUE_TAKER_FEE,
    VENUE_TIER_BASIS,
    ContractSpec,
    MarginTier,
    QtyUnit,
    TierOrigin,
    TierSource,
    UnknownInstrument,
    lookup,
    parse_coin,
    with_maintenance_amounts,
)

Transport = Callable[[str], Any]
#: API keys of a venue (ccxt's ``apiKey``/``secret``/``password``), or None without them.
Credentials = Callable[[str], Mapping[str, str] | None]

H8_MS = 8 * 3600 * 1000
DAY_MS = 24 * 3600 * 1000
CACHE_VERSION = 2
#: Venues whose tiers ccxt can fetch, and whether that needs API keys.
TIER_VENUES: dict[str, bool] = {"bybit": False, "okx": False, "binance": True}

_CCXT_OPTIONS: dict[str, dict[str, Any]] = {
    # Only what we need: each extra market type is another request.
    "bybit": {"fetchMarkets": {"types": ["inverse"]}},
    "binance": {"fetchMarkets": {"types": ["inverse"]}},
    "okx": {"fetchMarkets": {"types": ["swap"]}},
    "deribit": {"fetchMarkets": {"fetchAllMarkets": True}},
}


class MarketsError(RuntimeError):
    """ccxt could not provide markets (network, venue error, unexpected answer)."""


def ccxt_exchange(
    venue: str,
    *,
    transport: Transport | None = None,
    credentials: Mapping[str, str] | None = None,
) -> Any:
    """A ccxt exchange object for ``venue`` limited to the market types we read. With
    ``transport``, every HTTP request goes to ``transport(url)`` instead of the network;
    ``credentials`` sign the private calls (Binance's tiers)."""
    import ccxt

    if venue not in _CCXT_OPTIONS:
        raise UnknownInstrument(f"unknown venue {venue!r} (known: {', '.join(_CCXT_OPTIONS)})")
    config: dict[str, Any] = {"options": dict(_CCXT_OPTIONS[venue]), "timeout": 15_000}
    config.update(credentials or {})
    exchange = getattr(ccxt, venue)(config)
    if transport is not None:

        def fetch(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
            return transport(url)

        exchange.fetch = fetch
    return exchange


def fetch_markets(venue: str, *, transport: Transport | None = None) -> list[dict[str, Any]]:
    """The venue's markets in ccxt's unified form (network, unless ``transport``)."""
    return _fetch_markets(venue, ccxt_exchange(venue, transport=transport))


def _fetch_markets(venue: str, exchange: Any) -> list[dict[str, Any]]:
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


def _venue_risk(venue: str) -> dict[str, Any]:
    """The venue's tier basis, taker fee and default tiers, for a coin the table lacks."""
    return {
        "tiers": VENUE_DEFAULT_TIERS.get(venue, ()),
        "tier_basis": VENUE_TIER_BASIS[venue],
        "taker_fee_rate": VENUE_TAKER_FEE.get(venue, 0.0),
        "tier_source": TierSource(TierOrigin.BUILTIN, None, VENUE_DEFAULT_TIER_NOTES[venue]),
    }


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
                status=spec.status,
                delist_ms=spec.delist_ms,
            )
    return spec


# --- instrument status ---------------------------------------------------------------------

_S = InstrumentStatus
#: Bybit v5 ``GET /v5/market/instruments-info`` ``status`` (enum "status": PreLaunch, Trading,
#: Settling, Delivering, Closed; https://bybit-exchange.github.io/docs/v5/enum#status).
#: ``Settling`` is the few seconds of a USDC perpetual's settlement, not a delisting.
_BYBIT_STATUS = {
    "PreLaunch": _S.PRE_LAUNCH,
    "Trading": _S.TRADING,
    "Settling": _S.SUSPENDED,
    "Delivering": _S.SETTLING,
    "Closed": _S.CLOSED,
}
#: Binance COIN-M ``GET /dapi/v1/exchangeInfo`` ``contractStatus`` (Common Definitions,
#: "Contract status": PENDING_TRADING, TRADING, PRE_DELIVERING, DELIVERING, DELIVERED,
#: PRE_SETTLE, SETTLING, CLOSE; https://developers.binance.com/docs/derivatives/coin-margined-
#: futures/common-definition). A delisted perpetual shows SETTLING.
_BINANCE_STATUS = {
    "PENDING_TRADING": _S.PRE_LAUNCH,
    "TRADING": _S.TRADING,
    "PRE_DELIVERING": _S.SETTLING,
    "DELIVERING": _S.SETTLING,
    "PRE_SETTLE": _S.SETTLING,
    "SETTLING": _S.SETTLING,
    "DELIVERED": _S.CLOSED,
    "CLOSE": _S.CLOSED,
}
#: OKX ``GET /api/v5/public/instruments`` ``state`` (live, suspend, preopen, test: "test
#: trading, not tradable"; https://www.okx.com/docs-v5/en/#public-data-rest-api-get-instruments).
_OKX_STATUS = {
    "live": _S.TRADING,
    "suspend": _S.SUSPENDED,
    "preopen": _S.PRE_LAUNCH,
    "test": _S.PRE_LAUNCH,
}
#: Deribit ``public/get_instruments`` ``state`` where the answer has it (open, locked,
#: inactive, settlement, halted, delivered: "Market Model", Instrument States,
#: https://docs.deribit.com); ``settlement`` lasts seconds at each daily settlement.
_DERIBIT_STATE = {
    "open": _S.TRADING,
    "locked": _S.SUSPENDED,
    "halted": _S.SUSPENDED,
    "settlement": _S.SUSPENDED,
    "inactive": _S.PRE_LAUNCH,
    "delivered": _S.CLOSED,
}
#: A perpetual's "no delivery": Binance's ``deliveryDate`` 4133404800000 (2100-12-25, as in the
#: recorded exchangeInfo), Deribit's ``expiration_timestamp`` 32503708800000 (year 3000, its
#: get_instruments example for BTC-PERPETUAL); Bybit says ``deliveryTime`` "0", OKX ``expTime`` "".
BINANCE_NO_DELIVERY_MS = 4_133_404_800_000
DERIBIT_NO_EXPIRY_MS = 32_503_708_800_000


def _ms(value: Any) -> int | None:
    """A positive millisecond time from a venue's string or number; None for 0, "" or junk."""
    try:
        x = int(float(value))
    except (TypeError, ValueError, OverflowError):
        return None
    return x if x > 0 else None


def market_status(venue: str, market: Mapping[str, Any]) -> tuple[InstrumentStatus, int | None]:
    """The status of one ccxt market and, for a perpetual, its delisting time (ms), from the
    venue's own fields in ``info``:

    * **Bybit** ``status`` (``_BYBIT_STATUS``); ``deliveryTime`` non-zero on an
      ``InversePerpetual`` is the delisting date (a trading one is then ``DELISTING``).
    * **Binance COIN-M** ``contractStatus`` (``_BINANCE_STATUS``); a ``PERPETUAL``'s
      ``deliveryDate`` other than 4133404800000 is its delisting date.
    * **OKX** ``state`` (``_OKX_STATUS``); ``expTime`` set on a SWAP is its delisting date.
    * **Deribit** ``state`` when present (``_DERIBIT_STATE``), else ``is_active`` (true:
      trading; false: suspended); a perpetual's ``expiration_timestamp`` other than
      32503708800000 is its delisting date.

    A dated future's delivery is its expiry, not a delisting (None here). A word the venue
    does not document is ``UNKNOWN``; without the venue's field ccxt's ``active`` decides
    (true: trading, false: suspended), without that too it is ``UNKNOWN``."""
    info = market.get("info") or {}
    perp = bool(market.get("swap"))
    status: InstrumentStatus | None = None
    when: int | None = None
    if venue == "bybit":
        raw = info.get("status")
        status = None if raw is None else _BYBIT_STATUS.get(str(raw), _S.UNKNOWN)
        when = _ms(info.get("deliveryTime"))
    elif venue == "binance":
        raw = info.get("contractStatus", info.get("status"))
        status = None if raw is None else _BINANCE_STATUS.get(str(raw), _S.UNKNOWN)
        when = _ms(info.get("deliveryDate"))
        when = None if when == BINANCE_NO_DELIVERY_MS else when
    elif venue == "okx":
        raw = info.get("state")
        status = None if raw is None else _OKX_STATUS.get(str(raw), _S.UNKNOWN)
        when = _ms(info.get("expTime"))
    elif venue == "deribit":
        raw = info.get("state")
        if raw is not None:
            status = _DERIBIT_STATE.get(str(raw), _S.UNKNOWN)
        elif isinstance(info.get("is_active"), bool):
            status = _S.TRADING if info["is_active"] else _S.SUSPENDED
        when = _ms(info.get("expiration_timestamp"))
        when = None if when == DERIBIT_NO_EXPIRY_MS else when
    if status is None:
        active = market.get("active")
        status = (
            _S.UNKNOWN if not isinstance(active, bool) else _S.TRADING if active else _S.SUSPENDED
        )
    if not perp:
        return status, None
    if when is not None and status is _S.TRADING:
        status = _S.DELISTING
    return status, when


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
        **_venue_risk(venue),
    )
    status, delist = market_status(venue, market)
    return _with_builtin_risk(replace(spec, status=status, delist_ms=delist))


def specs_from_markets(venue: str, markets: Iterable[Mapping[str, Any]]) -> list[ContractSpec]:
    """Every inverse perpetual among ``markets`` as a spec (one per coin, first wins)."""
    out: dict[str, ContractSpec] = {}
    for m in markets:
        spec = spec_from_market(venue, m)
        if spec is not None and spec.coin not in out:
            out[spec.coin] = spec
    return list(out.values())


def fetch_specs(
    venue: str,
    *,
    transport: Transport | None = None,
    tier_symbols: Iterable[str] = (),
    credentials: Mapping[str, str] | None = None,
    now_ms: int | None = None,
    on_error: Callable[[str], None] | None = None,
) -> list[ContractSpec]:
    """Every inverse perpetual spec the venue lists, through ccxt (blocking network I/O);
    for ``tier_symbols`` (any spelling) also the venue's margin tiers, as fetched at
    ``now_ms``. A tier request that fails keeps the built-in tiers and tells ``on_error``;
    Binance's needs ``credentials`` and is skipped without them."""
    exchange = ccxt_exchange(venue, transport=transport, credentials=credentials)
    markets = _fetch_markets(venue, exchange)
    specs = specs_from_markets(venue, markets)
    wanted = [w for w in tier_symbols]
    if not wanted or venue not in TIER_VENUES or (TIER_VENUES[venue] and not credentials):
        return specs
    exchange.set_markets(markets)
    unified = {str(m.get("id")): str(m.get("symbol")) for m in markets}
    out: list[ContractSpec] = []
    for spec in specs:
        if not any(_find([spec], w) for w in wanted):
            out.append(spec)
            continue
        try:
            raw = _ccxt_tiers(venue, exchange, unified.get(spec.symbol, spec.symbol))
            tiers = tiers_from_ccxt(venue, spec, raw)
        except Exception as exc:  # ccxt's errors, the network, an answer we cannot use
            if on_error is not None:
                on_error(
                    f"{venue} {spec.symbol}: margin tiers not fetched "
                    f"({type(exc).__name__}: {exc}); the built-in tiers serve"
                )
            out.append(spec)
            continue
        source = TierSource(TierOrigin.VENUE, now_ms, f"ccxt {venue} {_TIER_ENDPOINT[venue]}")
        out.append(replace(spec, tiers=tiers, tier_source=source))
    return out


_TIER_ENDPOINT = {
    "bybit": "GET /v5/market/risk-limit?category=inverse",
    "okx": "GET /api/v5/public/position-tiers?instType=SWAP",
    "binance": "GET /dapi/v2/leverageBracket (signed)",
}


def _ccxt_tiers(venue: str, exchange: Any, symbol: str) -> list[Mapping[str, Any]]:
    """ccxt's unified leverage tiers of one market (ccxt picks the inverse category from the
    market: Bybit ``category=inverse``, OKX ``instFamily``, Binance ``dapi``)."""
    if venue == "binance":
        by_symbol = exchange.fetch_leverage_tiers([symbol], {"subType": "inverse"})
        return list(by_symbol.get(symbol) or [])
    return list(exchange.fetch_market_leverage_tiers(symbol))


def _float(value: Any, what: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise MarketsError(f"tier {what} {value!r} is not a number") from None
    if not math.isfinite(x) or x < 0:
        raise MarketsError(f"tier {what} {value!r} is not a usable number")
    return x


def tiers_from_ccxt(
    venue: str, spec: ContractSpec, raw: Iterable[Mapping[str, Any]]
) -> tuple[MarginTier, ...]:
    """ccxt's unified leverage tiers of an inverse market -> our tiers, in the unit of the
    venue's ``TierBasis``. The one place that knows what ccxt gets wrong for inverse markets:

    * **Binance COIN-M**: ccxt labels every tier's ``currency`` with the market's *quote*
      (USD), but the bounds it copies (``qtyCap``/``qtyFloor``) are "base asset quantity", the
      position's value in coin (Binance "Notional Bracket for Symbol", COIN-M): they are used
      as coin, never as USD. The venue's ``cum`` (maintenance amount) lives only in ``info``.
      Binance's documented response spells the floor ``qtylFloor``, which ccxt does not read
      (its ``minNotional`` is then None): floors are taken from the previous cap instead.
    * **OKX**: ``minNotional``/``maxNotional`` are ``minSz``/``maxSz``, which for swaps are
      numbers of *contracts* ("number of positions held", GET /api/v5/public/position-tiers),
      not a notional: multiplied by the face value into USD face (``TierBasis.USD_FACE``).
    * **Bybit**: ``maxNotional`` is ``riskLimitValue``, the position value at entry in coin
      (right for ``TierBasis.COIN_AT_ENTRY``). ccxt copies ``maintenanceMargin`` into
      ``maintenanceMarginRate`` unchanged, and Bybit's documented example gives it in
      *percent* ("0.5" with ``initialMargin`` "1" at ``maxLeverage`` 100), while other
      answers give ratios: the unit is read off ``initialMargin × maxLeverage`` (≈ 100:
      percent, ≈ 1: ratio). The deduction (``mmDeduction``) lives only in ``info``; where it
      is empty it is Bybit's own formula, ``cap_{n−1}·(mmr_n − mmr_{n−1}) + ded_{n−1}``.

    Raises MarketsError for an answer that is not a usable tier table.
    """
    rows = sorted(raw, key=lambda t: _float(t.get("maxNotional"), "bound"))
    if not rows:
        raise MarketsError(f"{venue} {spec.symbol}: no tiers in the answer")
    tiers: list[MarginTier] = []
    deductions: list[float | None] = []
    for row in rows:
        info = row.get("info") or {}
        cap = _float(row.get("maxNotional"), "bound")
        rate = _float(row.get("maintenanceMarginRate"), "maintenance rate")
        lever = _float(row.get("maxLeverage") or 1, "leverage") or 1.0
        amount: float | None = 0.0
        if venue == "okx":
            cap *= spec.face_value_usd  # contracts -> USD face value
        elif venue == "binance":
            amount = _float(info.get("cum") or 0, "maintenance amount")
        elif venue == "bybit":
            rate = rate / 100.0 if _bybit_in_percent(info, lever) else rate
            ded = info.get("mmDeduction")
            amount = None if ded in (None, "") else _float(ded, "deduction")
        if not rate < 1:
            raise MarketsError(f"{venue} {spec.symbol}: maintenance rate {rate!r} is not below 1")
        tiers.append(MarginTier(cap, rate, amount or 0.0, lever))
        deductions.append(amount)
    if venue == "bybit" and any(d is None for d in deductions[1:]):
        tiers = list(with_maintenance_amounts(tuple(tiers)))
    last = tiers[-1]
    tiers[-1] = MarginTier(math.inf, last.mmr, last.mm_amount_coin, last.max_leverage)
    return tuple(tiers)


def _bybit_in_percent(info: Mapping[str, Any], max_leverage: float) -> bool:
    """Bybit's ``maintenanceMargin``/``initialMargin`` in percent or as ratios: the initial
    rate times the maximum leverage is 1 as a ratio and 100 in percent."""
    try:
        product = float(info.get("initialMargin")) * max_leverage  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return True  # the documented form
    return product > 10.0


# --- the on-disk cache ---------------------------------------------------------------------


def default_cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("hedgetop"))


def cache_file(cache_dir: Path, venue: str) -> Path:
    return cache_dir / f"specs-{venue}.json"


def _spec_to_json(spec: ContractSpec) -> dict[str, Any]:
    body: dict[str, Any] = {
        "venue": spec.venue,
        "symbol": spec.symbol,
        "coin": spec.coin,
        "face_value_usd": spec.face_value_usd,
        "tick_size": spec.tick_size,
        "lot_contracts": spec.lot_contracts,
        "qty_unit": spec.qty_unit.value,
        "funding_interval_ms": spec.funding_interval_ms,
        "status": spec.status.value,
        "delist_ms": spec.delist_ms,
    }
    if spec.tier_source.origin is not TierOrigin.BUILTIN:
        body["tiers"] = [
            [None if math.isinf(t.cap) else t.cap, t.mmr, t.mm_amount_coin, t.max_leverage]
            for t in spec.tiers
        ]
        body["tiers_fetched_ms"] = spec.tier_source.fetched_ms
        body["tiers_note"] = spec.tier_source.note
    return body


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
        **_venue_risk(venue),
    )
    status, delist = d.get("status"), d.get("delist_ms")
    spec = replace(
        _with_builtin_risk(spec),
        status=InstrumentStatus(status) if status in _STATUS_VALUES else InstrumentStatus.UNKNOWN,
        delist_ms=None if delist is None else int(delist),
    )
    rows = d.get("tiers")
    if not rows:
        return spec
    tiers = tuple(
        MarginTier(math.inf if cap is None else float(cap), float(r), float(a), float(lev))
        for cap, r, a, lev in rows
    )
    fetched = d.get("tiers_fetched_ms")
    source = TierSource(
        TierOrigin.CACHE, None if fetched is None else int(fetched), str(d.get("tiers_note", ""))
    )
    return replace(spec, tiers=tiers, tier_source=source)


_STATUS_VALUES = frozenset(s.value for s in InstrumentStatus)


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
    tiers: bool = False,
    credentials: Mapping[str, str] | None = None,
) -> dict[str, ContractSpec]:
    """Specs for ``symbols`` (generic ``BTCUSD`` or venue-native), keyed by the symbol asked.

    Order of preference: the cache if younger than ``max_age_ms``; ccxt (when ``online``),
    whose answer refreshes the cache; the cache however old; the built-in table. A symbol no
    source knows raises ``UnknownInstrument``. ``on_error`` hears why ccxt was not used.
    With ``tiers`` the venue's margin tiers come too (a fresh cache without them does not
    count as fresh), Binance's only with ``credentials``. Blocking (network): call it off the
    UI's event loop.
    """
    wanted = list(symbols)
    path = cache_file(cache_dir, venue) if cache_dir is not None else None
    cached = read_cache(path) if path is not None else None
    specs: list[ContractSpec] = []
    want_tiers = tiers and venue in TIER_VENUES and (not TIER_VENUES[venue] or bool(credentials))
    if cached is not None and now_ms - cached[0] <= max_age_ms:
        hits = [_find(cached[1], w) for w in wanted]
        lacking = want_tiers and any(
            h is not None and h.tier_source.origin is TierOrigin.BUILTIN for h in hits
        )
        if not (lacking and online):
            specs = cached[1]
    if not specs and online:
        try:
            specs = fetch_specs(
                venue,
                transport=transport,
                tier_symbols=wanted if want_tiers else (),
                credentials=credentials,
                now_ms=now_ms,
                on_error=on_error,
            )
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
    tiers: bool = False,
    credentials: Credentials | None = None,
) -> dict[tuple[str, str], ContractSpec]:
    """``load_specs`` for many ``(venue, symbol)`` pairs (one markets call per venue, plus the
    tier calls with ``tiers``), keyed the way ``Engine``/``LiveSession`` take their ``specs``.
    ``credentials(venue)`` gives a venue's API keys (Binance's tiers need them). Blocking:
    run it in a thread."""
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
            tiers=tiers,
            credentials=credentials(venue) if credentials is not None else None,
        )
        out.update({(venue, s): spec for s, spec in found.items()})
    return out
