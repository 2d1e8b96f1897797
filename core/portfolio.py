"""The portfolio's figures: (positions, quotes, stale keys, now) -> the hedges' and holdings'
snapshots and the portfolio's totals, with the pure functions of ``core.inverse`` /
``core.liquidation`` / ``core.sizing``. Nothing here reads a clock or keeps state of its own:
what one snapshot reuses from the previous one (``Memo``) is handed in by its owner.

Attribution (so that the portfolio total counts everything once), the one proxy convention
of ``core.sizing``:
- a hedge's margin coins are exposure in its *settlement* coin (the BTC margin of a BTC proxy
  short counts in the BTC holding, ``M``);
- a hedge's short leg (hedged amount, PnL) belongs to the holding it *hedges*: it offsets
  ``core.sizing.hedged_coin`` coins of it (a proxy short of Q USD at entry P0 on coin c hedges
  ``(Q/P0)·P_c / (beta·P_h)`` coins of holding h).
Liquidation, bankruptcy and the maintenance margin come from ``core.liquidation.assess``,
each venue's own model.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core import sizing
from core.book import spot_symbol
from core.config import Config, HedgeConfig
from core.events import FeedHealth, Fill, Quote
from core.frozen_build import FrozenBuilder
from core.hedge_figures import Fixed, Quotes, StaleKeys, hedge_cached
from core.position import Position
from core.snapshot import HedgeSnapshot, HoldingSnapshot, PortfolioSnapshot

RECENT_FILLS = 10
# Snapshots are made per coin and tick: built without their constructors.
_HOLDINGS = FrozenBuilder(HoldingSnapshot)
_STALE = operator.attrgetter("stale")
_CFG = operator.attrgetter("cfg")
#: the session's baseline for the change figures: (total value, unhedged value) in USD
Baseline = tuple[float, float]
#: ``compute``'s: the hedges' snapshots (in the book's order) and the holdings' (coins' order)
Computed = tuple[tuple[HedgeSnapshot, ...], tuple[HoldingSnapshot, ...]]


class Memo:
    """What one book's snapshots reuse from the previous one, owned by the engine: each hedge's
    snapshot with the inputs it was computed from (``core.hedge_figures.hedge_cached``), the
    hedges' grouping (``groups``) and the config's coins. ``clear`` forgets it all (the next
    snapshot is then computed from scratch, to the same figures)."""

    __slots__ = ("coins_of", "groups", "hedges")

    def __init__(self) -> None:
        # hedge id -> [the inputs it was computed from, its snapshot, its Fixed]
        self.hedges: dict[str, list[Any]] = {}
        self.groups: Groups | None = None
        self.coins_of: tuple[Config, tuple[str, ...]] | None = None

    def clear(self) -> None:
        self.hedges.clear()
        self.groups = None
        self.coins_of = None


def snapshot(  # noqa: PLR0917 (the parts of a portfolio snapshot)
    hedges: tuple[HedgeSnapshot, ...],
    holdings: tuple[HoldingSnapshot, ...],
    now_ms: int,
    session_start_ms: int,
    feeds: Sequence[FeedHealth],
    fills: Sequence[Fill],
    baseline: Baseline | None,
) -> tuple[PortfolioSnapshot, Baseline | None]:
    """The portfolio snapshot of ``hedges`` and ``holdings`` (``compute``'s) at ``now_ms``,
    its totals, its most recent ``fills``, and the session's baseline after it: the first
    complete snapshot becomes the baseline (``baseline`` None until then) for the change
    figures."""
    total = _sum_or_none(h.value_usd for h in holdings)
    unhedged = _sum_or_none(h.unhedged_value_usd for h in holdings)
    delta = _sum_or_none(h.net_delta_usd for h in holdings)
    if baseline is None and total is not None and unhedged is not None:
        baseline = (total, unhedged)
    change = unh_change = None
    if baseline is not None and total is not None and unhedged is not None:
        change = total - baseline[0]
        unh_change = unhedged - baseline[1]
    snap = PortfolioSnapshot(
        ts_ms=now_ms,
        session_start_ms=session_start_ms,
        holdings=holdings,
        hedges=hedges,
        total_value_usd=total,
        unhedged_value_usd=unhedged,
        net_delta_usd=delta,
        session_change_usd=change,
        unhedged_session_change_usd=unh_change,
        feeds=tuple(feeds),
        recent_fills=tuple(fills[-RECENT_FILLS:]),
        stale=any(map(_STALE, hedges)) or any(map(_STALE, holdings)),
    )
    return snap, baseline


def stale_keys(
    quotes: Quotes, feeds: Sequence[FeedHealth], wall_ms: int | None, stale_after_ms: int
) -> StaleKeys:
    """The (venue, symbol) keys whose quote is stale, decided here once per snapshot from the
    receive times: received more than ``stale_after_ms`` before ``wall_ms``. A quote that is
    absent is stale too (``core.hedge_figures.hedge_cached``, ``prices``). Without ``wall_ms``
    (a caller with no wall clock) the feeds' own lists are taken instead; the session always
    passes the wall clock, so its feeds' lists (the same rule on the same receive times) only
    show in their health."""
    if wall_ms is None:
        return {(f.venue, s) for f in feeds for s in f.stale_symbols}
    limit = stale_after_ms
    return {k for k, q in quotes.items() if wall_ms - q.received_ms > limit}


def coins(config: Config, memo: Memo) -> tuple[str, ...]:
    """``config.coins()``, computed once per config (it walks every hedge)."""
    if memo.coins_of is None or memo.coins_of[0] is not config:
        memo.coins_of = (config, config.coins())
    return memo.coins_of[1]


def groups(rows: Sequence[Position], config: Config, spot_venue: str | None, memo: Memo) -> Groups:
    """``Groups`` of ``rows``, reused (from ``memo``) while they hold the same config objects
    (and the same ``config`` and ``spot_venue``): a hedge's settlement coin cannot change
    (``update_specs`` refuses a spec of another coin)."""
    cfgs = list(map(_CFG, rows))
    g = memo.groups
    if g is None or g.cfgs != cfgs or g.of != (config, spot_venue):
        own: dict[str, list[int]] = {}
        protecting: dict[str, list[int]] = {}
        keys: dict[str, dict[tuple[str, str], None]] = {}
        if spot_venue is not None:
            for coin in coins(config, memo):
                keys[coin] = {(spot_venue, spot_symbol(spot_venue, coin)): None}
        for i, p in enumerate(rows):
            own.setdefault(p.spec.coin, []).append(i)
            protecting.setdefault(p.cfg.hedges, []).append(i)
            keys.setdefault(p.spec.coin, {})[(p.cfg.venue, p.cfg.symbol)] = None
        g = memo.groups = Groups(
            (config, spot_venue),
            cfgs,
            {c: tuple(v) for c, v in own.items()},
            {c: tuple(v) for c, v in protecting.items()},
            {c: tuple(rows[i].cfg.id for i in v) for c, v in protecting.items()},
            {c: tuple(v) for c, v in keys.items()},
        )
    return g


def prices(
    groups: Groups, quotes: Quotes, coins: Iterable[str], stale: StaleKeys
) -> dict[str, tuple[float | None, bool]]:
    """Price of each coin and whether it is stale: spot mid/last, else a same-coin hedge's
    index, else its mark (in the hedges' order); a fresh source first, a stale one used
    but marked."""
    out: dict[str, tuple[float | None, bool]] = {}
    for coin in coins:
        price: float | None = None
        is_stale = True
        later: list[Quote] = []  # the stale sources, in order, tried after the fresh ones
        for key in groups.quote_keys.get(coin, ()):
            q = quotes.get(key)
            if q is None:
                continue
            if key in stale:
                later.append(q)
                continue
            price = _quote_price(q)
            if price is not None:
                is_stale = False
                break
        else:
            for q in later:
                price = _quote_price(q)
                if price is not None:
                    break
        out[coin] = (price, is_stale)
    return out


def compute(  # noqa: PLR0917 (the book, the holdings and the memo)
    positions: Mapping[str, Position],
    quotes: Quotes,
    stale: StaleKeys,
    now_ms: int,
    config: Config,
    spot_venue: str | None,
    amounts: Mapping[str, float],
    labels: Mapping[str, str],
    free_wallet: Mapping[str, Mapping[str, float]],
    memo: Memo,
) -> Computed:
    """Every hedge's and holding's snapshot at ``now_ms`` (market clock) from ``positions``
    and ``quotes`` (``stale``: ``stale_keys``'s), the holdings' coins ``amounts`` and
    ``labels`` (``holding_amounts``, ``holding_labels``), the accounts' ``free_wallet`` coins
    (account -> coin -> coins backing no isolated position: exposure, as the margin is) and
    ``config``'s targets; ``memo`` keeps what the next call may reuse."""
    rows = tuple(positions.values())
    grouped = groups(rows, config, spot_venue, memo)
    all_coins = coins(config, memo)
    price_of = prices(grouped, quotes, all_coins, stale)
    cache = memo.hedges
    hedges = tuple([hedge_cached(p, quotes, stale, now_ms, cache) for p in rows])
    holdings = []
    targets = config.targets
    for coin in all_coins:
        price, price_stale = price_of[coin]
        spot = amounts.get(coin, 0.0)
        protecting = grouped.protecting.get(coin, ())
        margin = sum((rows[i].margin_coin for i in grouped.own.get(coin, ())), 0.0)
        margin += sum(free.get(coin, 0.0) for free in free_wallet.values())
        hedged: float | None = 0.0
        pnl_usd: float | None = 0.0
        stale_any = price_stale
        for i in protecting:
            p, hs = rows[i], hedges[i]
            stale_any = stale_any or hs.stale
            if p.contracts == 0:
                continue
            if p.cfg.proxy:
                h_coin = hedged_coin(p, hs, price)
            else:  # a direct hedge's coins do not move with the prices
                fixed: Fixed = cache[p.cfg.id][2]
                h_coin = fixed.hedged_coin
            hedged = None if hedged is None or h_coin is None else hedged + h_coin
            # the short leg's PnL in USD, valued at its own coin's price
            c_price = price_of[p.spec.coin][0]
            if pnl_usd is None or hs.pnl_coin is None or c_price is None:
                pnl_usd = None
            else:
                pnl_usd += hs.pnl_coin * c_price
        exposure = spot + margin
        ratio = None if hedged is None or exposure <= 0 else hedged / exposure
        delta = None if hedged is None else exposure - hedged
        target = targets.get(coin)
        value = unhedged = None
        if price is not None:
            unhedged = exposure * price
            value = None if pnl_usd is None else unhedged + pnl_usd
        d = _HOLDINGS.new()
        d.coin = coin
        d.label = labels.get(coin, "")
        d.amount_coin = spot
        d.price_usd = price
        d.spot_value_usd = None if price is None else spot * price
        d.hedge_ids = grouped.protecting_ids.get(coin, ())
        d.margin_coin = margin
        d.net_delta_coin = delta
        d.net_delta_usd = None if delta is None or price is None else delta * price
        d.hedge_ratio = ratio
        d.target_ratio = None if target is None else target.ratio
        d.drift = None if target is None or ratio is None else ratio - target.ratio
        d.band = None if target is None else target.band
        d.value_usd = value
        d.unhedged_value_usd = unhedged
        d.stale = stale_any
        holdings.append(_HOLDINGS.freeze(d))
    return hedges, tuple(holdings)


def hedged_coin(p: Position, hs: HedgeSnapshot, holding_price: float | None) -> float | None:
    """Coins of the protected holding that this hedge offsets (short > 0, long < 0)."""
    if p.entry is None or p.contracts == 0:
        return 0.0
    return sizing.hedged_coin(
        p.cfg.side,
        p.size_usd,
        p.entry,
        beta=p.cfg.beta,
        proxy=p.cfg.proxy,
        contract_price=hs.mark,
        holding_price=holding_price,
    )


@dataclass(frozen=True, slots=True)
class Groups:
    """Which hedges (by position in the book's order) settle in each coin (``own``: their
    margin is exposure in it) and protect each holding, and where each coin's price may come
    from (its spot pair first, then its hedges' instruments), for the hedges' configs ``cfgs``
    under the config and spot venue ``of``."""

    of: tuple[Config, str | None]
    cfgs: list[HedgeConfig]
    own: dict[str, tuple[int, ...]]
    protecting: dict[str, tuple[int, ...]]
    protecting_ids: dict[str, tuple[str, ...]]
    quote_keys: dict[str, tuple[tuple[str, str], ...]]


def _quote_price(q: Quote) -> float | None:
    spot = q.kind == "spot"
    if spot and q.bid is not None and q.ask is not None and q.bid > 0 and q.ask > 0:
        return (q.bid + q.ask) / 2.0
    for v in (q.last, q.bid) if q.kind == "spot" else (q.index, q.mark):
        if v is not None and v > 0:
            return v
    return None


def _sum_or_none(values: Iterable[float | None]) -> float | None:
    total = 0.0
    for v in values:
        if v is None:
            return None
        total += v
    return total


def holding_amounts(config: Config) -> dict[str, float]:
    """The coins held of each of ``config``'s coins (its holdings summed)."""
    return {c: sum((h.amount for h in config.holdings if h.coin == c), 0.0) for c in config.coins()}


def holding_labels(config: Config) -> dict[str, str]:
    """The labels of each coin's holdings, joined (empty for a coin without one)."""
    return {
        c: ", ".join(h.label for h in config.holdings if h.coin == c and h.label)
        for c in config.coins()
    }
