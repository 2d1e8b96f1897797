"""The engine: latest quotes + the portfolio -> immutable snapshots; resize plans; fills.

It owns the latest quote per (venue, symbol) and each hedge's position (config start + the
ledger's fills and funding replayed). ``on_quote`` only stores the quote (cheap per message);
``advance(now_ms)`` settles funding; ``snapshot(now_ms)`` computes every figure with the pure
functions of ``core.inverse`` / ``core.liquidation``. It never renders and never opens a file:
the ledger is injected and written before a fill changes the position.

Attribution (so that the portfolio total counts everything once), the one proxy convention
of ``core.sizing`` (which also sizes every resize):
- a hedge's margin coins are exposure in its *settlement* coin (the BTC margin of a BTC proxy
  short counts in the BTC holding, ``M``);
- a hedge's short leg (hedged amount, PnL) belongs to the holding it *hedges*: it offsets
  ``core.sizing.hedged_coin`` coins of it (a proxy short of Q USD at entry P0 on coin c hedges
  ``(Q/P0)·P_c / (beta·P_h)`` coins of holding h).
Liquidation, bankruptcy and the maintenance margin come from ``core.liquidation.assess``,
each venue's own model.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from core import dated, inverse, liquidation, sizing
from core.brokers.paper import PaperBroker
from core.config import SPOT_VENUES, Config, HedgeConfig
from core.events import FeedHealth, Fill, FundingEvent, Kind, MarginTransfer, OrderSide, Quote
from core.frozen_build import FrozenBuilder
from core.instruments import (
    ContractSpec,
    UnknownInstrument,
    dated_symbol,
    lookup,
    native_symbol,
    size_usd_from_contracts,
)
from core.ledger import Ledger
from core.resize import MarginPlan, PlanRefused, ResizePlan
from core.snapshot import ExchangeFigures, HedgeSnapshot, HoldingSnapshot, PortfolioSnapshot

H8_MS = 8 * 3600 * 1000
HOUR_MS = 3600 * 1000
RECENT_FILLS = 10
# Snapshots are made per hedge (and coin) and tick: built without their constructors.
_HEDGES = FrozenBuilder(HedgeSnapshot)
_HOLDINGS = FrozenBuilder(HoldingSnapshot)
_DATED_KIND = Kind.INVERSE_FUTURE  # an enum member looked up once (per hedge and tick it costs)
_STALE = operator.attrgetter("stale")
_CFG = operator.attrgetter("cfg")


def spot_symbol(venue: str, coin: str) -> str:
    """The venue-native USDT spot pair of ``coin`` (Bybit/Binance ``BTCUSDT``, OKX ``BTC-USDT``)."""
    return f"{coin}-USDT" if venue == "okx" else f"{coin}USDT"


@dataclass(slots=True)
class _Position:
    cfg: HedgeConfig
    spec: ContractSpec
    contracts: int
    entry: float | None
    margin_coin: float
    realized_pnl_coin: float = 0.0  # fills: realised PnL minus fees
    funding_accrued_coin: float = 0.0
    settled_ms: set[int] = field(default_factory=set)  # funding times already settled
    pending_ms: int | None = None  # next funding time being watched
    pending_rate: float | None = None  # the rate in force for it (last seen before it)
    pending_mark: float | None = None
    cont_last_ms: int | None = None  # continuous funding: accrued up to here
    cont_unbooked_coin: float = 0.0
    cont_hour: int | None = None
    exchange: ExchangeFigures | None = None  # the last account read's figures

    @property
    def size_usd(self) -> float:
        return size_usd_from_contracts(self.spec, self.contracts)

    def copy(self) -> _Position:
        return dataclasses.replace(self, settled_ms=set(self.settled_ms))


def _order_side(position_side: str, increase: bool) -> OrderSide:
    """Increasing a short sells; reducing it buys (and the mirror for a long)."""
    if position_side == "short":
        return OrderSide.SELL if increase else OrderSide.BUY
    return OrderSide.BUY if increase else OrderSide.SELL


def _apply_fill(
    pos: _Position, increase: bool, contracts: int, price: float, fee: float
) -> tuple[float, float | None]:
    """Apply a fill to ``pos`` in place; returns (realised PnL in coin, entry after)."""
    q = size_usd_from_contracts(pos.spec, contracts)
    realized = 0.0
    if increase:
        if pos.contracts == 0 or pos.entry is None:
            pos.entry = price
        else:
            pos.entry = inverse.average_entry(pos.size_usd, pos.entry, q, price)
        pos.contracts += contracts
    else:
        assert pos.entry is not None
        realized = inverse.realized_pnl_coin(pos.cfg.side, q, pos.entry, price)
        pos.contracts -= contracts
        if pos.contracts == 0:
            pos.entry = None
    pos.margin_coin += realized - fee
    pos.realized_pnl_coin += realized - fee
    return realized, pos.entry


class Engine:
    """Portfolio state and metrics; see the module docstring.

    ``specs`` maps (venue, symbol) to contract specs (e.g. refreshed from ccxt); hedges not in
    it use the built-in table. ``now_ms`` is the session start (market clock).
    """

    def __init__(
        self,
        config: Config,
        specs: Mapping[tuple[str, str], ContractSpec] | None,
        ledger: Ledger,
        now_ms: int,
        *,
        broker: PaperBroker | None = None,
    ) -> None:
        self.config = config
        self._coins_of: tuple[Config, tuple[str, ...]] | None = None
        self.ledger = ledger
        self.session_start_ms = now_ms
        self.broker = broker or PaperBroker(config.broker.fee_rate, config.broker.slippage_bps)
        self.spot_venue = config.feeds.spot_venue or next(
            (h.venue for h in config.hedges if h.venue in SPOT_VENUES), None
        )
        self._quotes: dict[tuple[str, str], Quote] = {}
        self.refused_quotes = 0  # quotes with a non-finite or non-positive price
        self._positions: dict[str, _Position] = {}
        for h in config.hedges:
            builtin = lookup(h.venue, h.symbol)
            given = (specs or {}).get((h.venue, h.symbol))
            spec = builtin if given is None else _keep_dated(given, builtin)
            self._positions[h.id] = _Position(
                cfg=h,
                spec=spec,
                contracts=h.contracts,
                entry=h.entry if h.contracts > 0 else None,
                margin_coin=h.margin_coin,
            )
        self._fills: list[Fill] = []
        #: account -> coin -> futures-wallet coins backing no isolated position (the reads')
        self._free_wallet: dict[str, dict[str, float]] = {}
        # hedge id -> [the inputs it was computed from, its snapshot, its _Fixed];
        # see _hedge_cached
        self._hedge_cache: dict[str, list[Any]] = {}
        self._groups_of: _Groups | None = None
        self.ignored_ledger_rows = 0
        self._replay(ledger.load(), ledger.load_funding())
        self._replay_margin(ledger.load_margin())
        self._baseline: tuple[float, float] | None = None
        coins = config.coins()
        self._amounts = {
            c: sum((h.amount for h in config.holdings if h.coin == c), 0.0) for c in coins
        }
        self._labels = {
            c: ", ".join(h.label for h in config.holdings if h.coin == c and h.label) for c in coins
        }

    # --- inputs ---------------------------------------------------------------------------

    def on_quote(self, quote: Quote) -> None:
        """Keep the latest quote; everything else waits for the tick. A quote with a price
        that is not a finite positive number is refused (the feeds' gate already drops them;
        this is the engine's own guard, counted in ``refused_quotes``)."""
        for x in (quote.mark, quote.index, quote.last, quote.bid, quote.ask):
            if x is not None and not 0.0 < x < math.inf:
                self.refused_quotes += 1
                return
        rate = quote.funding_rate
        if rate is not None and not math.isfinite(rate):
            self.refused_quotes += 1
            return
        self._quotes[(quote.venue, quote.symbol)] = quote

    def quote(self, venue: str, symbol: str) -> Quote | None:
        return self._quotes.get((venue, symbol))

    def quotes_of_kind(self, kind: Kind) -> tuple[Quote, ...]:
        """The latest quote of every instrument of one kind (dated futures for the detail
        pane's basis comparison)."""
        return tuple(q for q in self._quotes.values() if q.kind is kind)

    def subscriptions(self) -> dict[tuple[str, str], tuple[str, ...]]:
        """What to subscribe: (venue, socket) -> venue-native symbols. A dated hedge brings
        its coin's perpetual (the funding it is compared with) and the next quarterly (the
        contract it rolls to)."""
        subs: dict[tuple[str, str], dict[str, None]] = {}
        for pos in self._positions.values():
            subs.setdefault((pos.cfg.venue, "inverse"), {})[pos.cfg.symbol] = None
        for pos in self._positions.values():
            for sym in _companions(pos.spec):
                subs[(pos.cfg.venue, "inverse")].setdefault(sym, None)
        if self.spot_venue is not None:
            for coin in self.config.coins():
                sym = spot_symbol(self.spot_venue, coin)
                subs.setdefault((self.spot_venue, "spot"), {})[sym] = None
        return {k: tuple(v) for k, v in subs.items()}

    def specs(self) -> dict[str, ContractSpec]:
        """The contract spec in use for each hedge, keyed by hedge id."""
        return {hid: pos.spec for hid, pos in self._positions.items()}

    def update_specs(self, specs: Mapping[tuple[str, str], ContractSpec]) -> list[str]:
        """Replace hedges' contract specs (margin tiers, tick, lot, funding interval) with
        refreshed ones keyed (venue, symbol); returns human-readable warnings.

        A spec is refused (the old one kept, a warning given) when it names another venue or
        coin, is malformed, switches between interval and continuous funding, or changes the
        face value of an open position: positions are held in contracts, so another face
        value would silently change their USD size. A flat hedge takes the new face value
        (its next order uses it) with a warning saying so. Keys matching no hedge are
        ignored; an identical spec is a no-op."""
        warnings: list[str] = []
        for pos in self._positions.values():
            new = specs.get((pos.cfg.venue, pos.cfg.symbol))
            old = pos.spec
            if new is None or new == old:
                continue
            what = f"{pos.cfg.id} ({pos.cfg.venue} {pos.cfg.symbol})"
            keep = f"kept the spec from {old.source or 'the built-in table'}"
            if (new.venue, new.coin) != (old.venue, old.coin):
                warnings.append(
                    f"{what}: refreshed spec is for {new.venue} {new.coin}, not "
                    f"{old.venue} {old.coin}; {keep}"
                )
                continue
            if not (
                new.face_value_usd > 0 and new.tick_size > 0 and new.lot_contracts >= 1
            ) or not all(t.mmr >= 0 for t in new.tiers):
                warnings.append(
                    f"{what}: refreshed spec is malformed (face value {new.face_value_usd:g} "
                    f"USD, tick {new.tick_size:g} USD, lot {new.lot_contracts} contracts); {keep}"
                )
                continue
            new = _keep_dated(new, old)
            if new == old:
                continue
            if (new.funding_interval_ms is None) != (old.funding_interval_ms is None):
                warnings.append(
                    f"{what}: refreshed spec switches between interval and continuous "
                    f"funding; {keep}"
                )
                continue
            if not math.isclose(new.face_value_usd, old.face_value_usd, rel_tol=1e-9):
                change = (
                    f"face value {old.face_value_usd:g} USD -> {new.face_value_usd:g} USD "
                    "per contract"
                )
                if pos.contracts != 0:
                    warnings.append(
                        f"{what}: refreshed {change}, but the open position of "
                        f"{pos.contracts} contracts was opened at {old.face_value_usd:g} USD "
                        f"each; {keep} (check the venue's contract size)"
                    )
                    continue
                warnings.append(f"{what}: {change}; applied (the hedge is flat)")
            pos.spec = new
        return warnings

    def _replay(self, fills: Iterable[Fill], funding: Iterable[FundingEvent]) -> None:
        for f in fills:
            pos = self._positions.get(f.hedge_id)
            if pos is None or (pos.cfg.venue, pos.cfg.symbol) != (f.venue, f.symbol):
                self.ignored_ledger_rows += 1
                continue
            pos.contracts = f.contracts_after
            pos.entry = f.entry_after if f.contracts_after > 0 else None
            pos.margin_coin += f.realized_pnl_coin - f.fee_coin
            pos.realized_pnl_coin += f.realized_pnl_coin - f.fee_coin
            self._fills.append(f)
        for ev in funding:
            pos = self._positions.get(ev.hedge_id)
            if pos is None or ev.ts_ms in pos.settled_ms:
                self.ignored_ledger_rows += 1
                continue
            pos.margin_coin += ev.amount_coin
            pos.funding_accrued_coin += ev.amount_coin
            pos.settled_ms.add(ev.ts_ms)

    def _replay_margin(self, transfers: Iterable[MarginTransfer]) -> None:
        for t in transfers:
            pos = self._positions.get(t.hedge_id)
            if pos is None or (pos.cfg.venue, pos.cfg.symbol) != (t.venue, t.symbol):
                self.ignored_ledger_rows += 1
                continue
            pos.margin_coin += t.amount_coin

    # --- funding --------------------------------------------------------------------------

    def advance(self, now_ms: int) -> list[FundingEvent]:
        """Settle the funding due by ``now_ms`` into the margins; record and return the events.

        Interval venues: each hedge watches the quote's next funding time; once the clock
        passes it, or the venue moves it on, the rate in force just before (the last rate
        seen while that time was announced) is settled at the mark. Deribit (continuous):
        the 8h rate accrues per elapsed time and is booked as one event per hour. A dated
        future settles none.
        """
        events: list[FundingEvent] = []
        quotes = self._quotes
        for pos in self._positions.values():
            spec, cfg = pos.spec, pos.cfg
            if spec.kind is _DATED_KIND:
                continue  # a dated future pays no funding (``spec.dated``)
            q = quotes.get((cfg.venue, cfg.symbol))
            if spec.funding_interval_ms is None:
                ev = self._accrue_continuous(pos, q, now_ms)
            else:
                ev = self._settle_interval(pos, q, now_ms)
            if ev is not None:
                self.ledger.append_funding(ev)
                events.append(ev)
        return events

    def _event(
        self, pos: _Position, ts_ms: int, rate: float, mark: float, amount: float
    ) -> FundingEvent:
        return FundingEvent(
            ts_ms=ts_ms,
            hedge_id=pos.cfg.id,
            venue=pos.cfg.venue,
            symbol=pos.cfg.symbol,
            rate=rate,
            mark=mark,
            size_usd=pos.size_usd,
            amount_coin=amount,
        )

    def _settle_interval(self, pos: _Position, q: Quote | None, now_ms: int) -> FundingEvent | None:
        if q is None:
            return None
        nf = q.next_funding_ms
        t = pos.pending_ms
        if t is None or (nf is not None and nf < t):
            # (re)start watching the announced funding time
            pos.pending_ms = None
            if nf is not None and nf > now_ms and nf not in pos.settled_ms:
                pos.pending_ms, pos.pending_rate, pos.pending_mark = nf, q.funding_rate, q.mark
            return None
        rolled = nf is not None and nf > t
        if not rolled and now_ms < t:
            pos.pending_rate, pos.pending_mark = q.funding_rate, q.mark  # the rate in force
            return None
        # t has passed: by our clock (the quote may still announce it), or the venue rolled on
        if rolled:
            rate, mark = pos.pending_rate, pos.pending_mark or q.mark
            pos.pending_ms, pos.pending_rate, pos.pending_mark = nf, q.funding_rate, q.mark
        else:
            rate, mark = q.funding_rate, q.mark
            pos.pending_ms = pos.pending_rate = pos.pending_mark = None
        if t in pos.settled_ms:
            return None
        pos.settled_ms.add(t)
        if rate is None or mark is None or mark <= 0 or pos.contracts == 0:
            return None
        amount = inverse.funding_coin(pos.cfg.side, pos.size_usd, mark, rate)
        pos.margin_coin += amount
        pos.funding_accrued_coin += amount
        return self._event(pos, t, rate, mark, amount)

    def _accrue_continuous(
        self, pos: _Position, q: Quote | None, now_ms: int
    ) -> FundingEvent | None:
        if q is None or q.funding_rate is None or q.mark is None or pos.contracts == 0:
            pos.cont_last_ms = None
            return None
        last = pos.cont_last_ms
        pos.cont_last_ms = now_ms
        if pos.cont_hour is None:
            pos.cont_hour = now_ms // HOUR_MS
        if last is None or now_ms <= last:
            return None
        per_8h = inverse.funding_coin(pos.cfg.side, pos.size_usd, q.mark, q.funding_rate)
        amount = per_8h * (now_ms - last) / H8_MS
        pos.margin_coin += amount
        pos.funding_accrued_coin += amount
        pos.cont_unbooked_coin += amount
        hour = now_ms // HOUR_MS
        if hour == pos.cont_hour:
            return None
        pos.cont_hour = hour
        booked, pos.cont_unbooked_coin = pos.cont_unbooked_coin, 0.0
        pos.settled_ms.add(now_ms)
        return self._event(pos, now_ms, q.funding_rate, q.mark, booked)

    # --- snapshots ------------------------------------------------------------------------

    def snapshot(
        self,
        now_ms: int,
        *,
        feeds: Sequence[FeedHealth] = (),
        wall_ms: int | None = None,
    ) -> PortfolioSnapshot:
        """Every figure at ``now_ms`` (market clock). A quote is stale when absent, listed
        stale by its feed's health, or (given ``wall_ms``) older than
        ``feeds.stale_after_ms`` by its receive time. The first complete snapshot becomes
        the session's baseline for the change figures."""
        stale_keys = self._stale_keys(feeds, wall_ms)
        hedges, holdings = self._compute(self._positions, now_ms, stale_keys)
        total = _sum_or_none(h.value_usd for h in holdings)
        unhedged = _sum_or_none(h.unhedged_value_usd for h in holdings)
        delta = _sum_or_none(h.net_delta_usd for h in holdings)
        if self._baseline is None and total is not None and unhedged is not None:
            self._baseline = (total, unhedged)
        change = unh_change = None
        if self._baseline is not None and total is not None and unhedged is not None:
            change = total - self._baseline[0]
            unh_change = unhedged - self._baseline[1]
        return PortfolioSnapshot(
            ts_ms=now_ms,
            session_start_ms=self.session_start_ms,
            holdings=holdings,
            hedges=hedges,
            total_value_usd=total,
            unhedged_value_usd=unhedged,
            net_delta_usd=delta,
            session_change_usd=change,
            unhedged_session_change_usd=unh_change,
            feeds=tuple(feeds),
            recent_fills=tuple(self._fills[-RECENT_FILLS:]),
            stale=any(map(_STALE, hedges)) or any(map(_STALE, holdings)),
        )

    def _stale_keys(self, feeds: Sequence[FeedHealth], wall_ms: int | None) -> set[tuple[str, str]]:
        stale = {(f.venue, s) for f in feeds for s in f.stale_symbols}
        if wall_ms is not None:
            limit = self.config.feeds.stale_after_ms
            stale.update(k for k, q in self._quotes.items() if wall_ms - q.received_ms > limit)
        return stale

    def _coins(self) -> tuple[str, ...]:
        """``config.coins()``, computed once per config (it walks every hedge)."""
        if self._coins_of is None or self._coins_of[0] is not self.config:
            self._coins_of = (self.config, self.config.coins())
        return self._coins_of[1]

    def _fresh(self, venue: str, symbol: str, stale: set[tuple[str, str]]) -> Quote | None:
        q = self._quotes.get((venue, symbol))
        return None if q is None or (venue, symbol) in stale else q

    def _groups(self, rows: Sequence[_Position]) -> _Groups:
        """``_Groups`` of ``rows``, reused while they hold the same config objects (and the
        engine the same config and spot venue): a hedge's settlement coin cannot change
        (``update_specs`` refuses a spec of another coin)."""
        cfgs = list(map(_CFG, rows))
        g = self._groups_of
        if g is None or g.cfgs != cfgs or g.of != (self.config, self.spot_venue):
            own: dict[str, list[int]] = {}
            protecting: dict[str, list[int]] = {}
            keys: dict[str, dict[tuple[str, str], None]] = {}
            if self.spot_venue is not None:
                for coin in self._coins():
                    keys[coin] = {(self.spot_venue, spot_symbol(self.spot_venue, coin)): None}
            for i, p in enumerate(rows):
                own.setdefault(p.spec.coin, []).append(i)
                protecting.setdefault(p.cfg.hedges, []).append(i)
                keys.setdefault(p.spec.coin, {})[(p.cfg.venue, p.cfg.symbol)] = None
            g = self._groups_of = _Groups(
                (self.config, self.spot_venue),
                cfgs,
                {c: tuple(v) for c, v in own.items()},
                {c: tuple(v) for c, v in protecting.items()},
                {c: tuple(rows[i].cfg.id for i in v) for c, v in protecting.items()},
                {c: tuple(v) for c, v in keys.items()},
            )
        return g

    def _prices(
        self, groups: _Groups, stale: set[tuple[str, str]]
    ) -> dict[str, tuple[float | None, bool]]:
        """Price of each coin and whether it is stale: spot mid/last, else a same-coin hedge's
        index, else its mark (in the hedges' order); a fresh source first, a stale one used
        but marked."""
        out: dict[str, tuple[float | None, bool]] = {}
        quotes = self._quotes
        for coin in self._coins():
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

    def _compute(
        self, positions: Mapping[str, _Position], now_ms: int, stale: set[tuple[str, str]]
    ) -> tuple[tuple[HedgeSnapshot, ...], tuple[HoldingSnapshot, ...]]:
        rows = tuple(positions.values())
        groups = self._groups(rows)
        prices = self._prices(groups, stale)
        hedges = tuple([self._hedge_cached(p, now_ms, stale) for p in rows])
        cache = self._hedge_cache
        holdings = []
        for coin in self._coins():
            price, price_stale = prices[coin]
            spot = self._amounts.get(coin, 0.0)
            protecting = groups.protecting.get(coin, ())
            margin = sum((rows[i].margin_coin for i in groups.own.get(coin, ())), 0.0)
            margin += sum(free.get(coin, 0.0) for free in self._free_wallet.values())
            hedged: float | None = 0.0
            pnl_usd: float | None = 0.0
            stale_any = price_stale
            for i in protecting:
                p, hs = rows[i], hedges[i]
                stale_any = stale_any or hs.stale
                if p.contracts == 0:
                    continue
                if p.cfg.proxy:
                    h_coin = self._hedged_coin(p, hs, price)
                else:  # a direct hedge's coins do not move with the prices
                    fixed: _Fixed = cache[p.cfg.id][2]
                    h_coin = fixed.hedged_coin
                hedged = None if hedged is None or h_coin is None else hedged + h_coin
                # the short leg's PnL in USD, valued at its own coin's price
                c_price = prices[p.spec.coin][0]
                if pnl_usd is None or hs.pnl_coin is None or c_price is None:
                    pnl_usd = None
                else:
                    pnl_usd += hs.pnl_coin * c_price
            exposure = spot + margin
            ratio = None if hedged is None or exposure <= 0 else hedged / exposure
            delta = None if hedged is None else exposure - hedged
            target = self.config.targets.get(coin)
            value = unhedged = None
            if price is not None:
                unhedged = exposure * price
                value = None if pnl_usd is None else unhedged + pnl_usd
            d = _HOLDINGS.new()
            d.coin = coin
            d.label = self._labels.get(coin, "")
            d.amount_coin = spot
            d.price_usd = price
            d.spot_value_usd = None if price is None else spot * price
            d.hedge_ids = groups.protecting_ids.get(coin, ())
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

    @staticmethod
    def _hedged_coin(p: _Position, hs: HedgeSnapshot, holding_price: float | None) -> float | None:
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

    def _hedge_cached(
        self, p: _Position, now_ms: int, stale: set[tuple[str, str]]
    ) -> HedgeSnapshot:
        """The hedge's snapshot, reused while its inputs are unchanged: the quote object (quotes
        are frozen and replaced on arrival), the position's figures, its spec and whether it
        is stale. Only the funding countdown and a dated future's days to expiry (and the
        basis it locks a year) move with the clock alone; they are patched into a copy. When
        only the quotes moved, what the position alone decides (``_Fixed``, with the fields
        it fills) is kept from the previous snapshot."""
        cfg = p.cfg
        qkey = (cfg.venue, cfg.symbol)
        q = self._quotes.get(qkey)
        perp = None if p.spec.expiry_ms is None else self._perp_quote(p, stale)
        fixed_key = (
            cfg,
            p.spec,
            p.contracts,
            p.entry,
            p.margin_coin,
            p.realized_pnl_coin,
            p.funding_accrued_coin,
            p.exchange,
        )
        is_stale = q is None or qkey in stale
        key = (fixed_key, perp, q, is_stale)
        hit = self._hedge_cache.get(cfg.id)
        if hit is not None and hit[0] == key:
            hs: HedgeSnapshot = hit[1]
            draft = None
            nf = hs.next_funding_ms
            countdown = None if nf is None else max(0, nf - now_ms)
            if countdown != hs.funding_countdown_ms:
                draft = _HEDGES.copy(hs)
                draft.funding_countdown_ms = countdown
            if hs.expiry_ms is not None:
                days, apr = _dated_figures(hs.expiry_ms, hs.basis_pct, now_ms)
                if days != hs.days_to_expiry:
                    draft = draft or _HEDGES.copy(hs)
                    draft.days_to_expiry = days
                    draft.basis_locked_apr_pct = draft.basis_annual_pct = apr
            if draft is not None:
                hs = hit[1] = _HEDGES.freeze(draft)
            return hs
        if hit is not None and hit[0][0] == fixed_key:
            draft = _HEDGES.copy(hit[1])
            fixed: _Fixed = hit[2]
        else:
            draft = _HEDGES.new()
            fixed = _fixed(p)
            _fill_fixed(draft, p, fixed)
        self._fill_quoted(draft, p, q, perp, is_stale, now_ms, fixed)
        hs = _HEDGES.freeze(draft)
        self._hedge_cache[cfg.id] = [key, hs, fixed]
        return hs

    def _perp_quote(self, p: _Position, stale: set[tuple[str, str]]) -> Quote | None:
        """A dated hedge's perpetual of the same venue and coin, when fresh (None otherwise,
        and for a perpetual hedge)."""
        if p.spec.expiry_ms is None:
            return None
        return self._fresh(p.cfg.venue, native_symbol(p.cfg.venue, p.spec.coin), stale)

    @staticmethod
    def _fill_quoted(  # noqa: PLR0917 (the hedge and what it is computed from)
        d: Any,
        p: _Position,
        q: Quote | None,
        pq: Quote | None,
        is_stale: bool,
        now_ms: int,
        fixed: _Fixed,
    ) -> None:
        """Set the hedge's snapshot fields that depend on the quotes (and the clock) on the
        draft ``d``; ``_fill_fixed`` sets the others. ``q``: the hedge's quote; ``pq``: a
        dated hedge's fresh perpetual (``_perp_quote``); ``is_stale``: ``q`` is missing or
        stale; ``fixed``: ``_fixed(p)``."""
        cfg, spec = p.cfg, p.spec
        mark = q.mark if q is not None else None
        index = q.index if q is not None else None
        size = fixed.size
        open_ = fixed.open_
        pvc = pnl_c = pnl_u = equity = mm = liq = dist = None
        risk: liquidation.Liquidation | None = None  # assess_position's, used at the mark
        far = False
        if mark is not None and mark > 0:
            pvc = inverse.position_value_coin(size, mark)
            mm = 0.0
            if open_ and p.entry is not None:
                pnl_c = inverse.pnl_coin(cfg.side, size, p.entry, mark)
                pnl_u = inverse.pnl_usd(cfg.side, size, p.entry, mark)
                equity = inverse.equity_coin(p.margin_coin, cfg.side, size, p.entry, mark)
                risk = fixed.risk
                if risk is not None:
                    liq, mm = risk.price, None  # no threshold at a mark that is not finite
                    if math.isfinite(mark):
                        mm, _, far = liquidation.mark_figures(
                            risk, spec, cfg.side, size, p.entry, max(p.margin_coin, 0.0), mark
                        )
                dist = inverse.liq_distance_pct(liq, mark)
            else:
                pnl_c, pnl_u, equity = 0.0, 0.0, p.margin_coin
        is_dated = spec.expiry_ms is not None
        interval = (q.funding_interval_ms if q is not None else None) or spec.funding_interval_ms
        if is_dated:
            interval = None
        continuous = spec.funding_interval_ms is None and not is_dated
        basis_u = basis_p = basis_a = None
        if mark is not None and index is not None and index > 0:
            basis_u = inverse.basis_usd(mark, index)
            basis_p = inverse.basis_pct(mark, index)
            basis_a = inverse.basis_annual_pct(mark, index, interval or H8_MS)
        days = locked = None
        if spec.expiry_ms is not None:
            days, locked = _dated_figures(spec.expiry_ms, basis_p, now_ms)
            basis_a = locked  # a dated basis converges at expiry, not each funding interval
        perp_rate = perp_apr = None
        if is_dated:
            perp_rate = pq.funding_rate if pq is not None else None
            if perp_rate is not None and pq is not None:
                perp_interval = pq.funding_interval_ms or H8_MS
                perp_apr = inverse.funding_apr_pct(perp_rate, perp_interval, cfg.side)
        rate = q.funding_rate if q is not None and not is_dated else None
        nf = None if continuous or is_dated or q is None else q.next_funding_ms
        apr = nxt = None
        if is_dated:
            nxt = 0.0  # a dated future pays no funding
        elif rate is not None:
            apr = inverse.funding_apr_pct(rate, interval or H8_MS, cfg.side)
            if mark is not None and mark > 0 and open_:
                nxt = inverse.funding_coin(cfg.side, size, mark, rate)
            elif open_ is False:
                nxt = 0.0
        leverage = cfg.leverage
        if pvc is not None and equity is not None and equity > 0 and open_:
            leverage = pvc / equity
        d.leverage = leverage
        d.mark = mark
        d.index = index
        d.last = q.last if q is not None else None
        d.position_value_coin = pvc
        d.pnl_coin = pnl_c
        d.pnl_usd = pnl_u
        d.equity_coin = equity
        d.maintenance_margin_coin = mm
        d.liq_price = liq
        d.liq_distance_pct = dist
        d.basis_usd = basis_u
        d.basis_pct = basis_p
        d.basis_annual_pct = basis_a
        d.funding_rate = rate
        d.funding_interval_ms = (
            interval if interval is not None else (H8_MS if continuous else None)
        )
        d.next_funding_ms = nf
        d.funding_countdown_ms = None if nf is None else max(0, nf - now_ms)
        d.funding_apr_pct = apr
        d.funding_next_coin = nxt
        d.funding_accrued_usd = None if mark is None else p.funding_accrued_coin * mark
        d.stale = is_stale
        d.bankruptcy_price = risk.bankruptcy_price if risk is not None else None
        d.margin_model = fixed.model if risk is not None else None
        d.liq_beyond_10x = far
        d.tier_estimate = risk.tier.estimate if risk is not None else False
        d.days_to_expiry = days
        d.basis_locked_apr_pct = locked
        d.perp_funding_rate = perp_rate
        d.perp_funding_apr_pct = perp_apr
        ex = p.exchange
        d.liq_gap_pct = _gap_pct(liq, ex.liq_price if ex is not None else None)

    # --- resizing -------------------------------------------------------------------------

    def hedge_ids(self) -> tuple[str, ...]:
        return tuple(self._positions)

    # --- the account's figures --------------------------------------------------------------

    def held(self) -> tuple[HedgeConfig, ...]:
        """Every hedge as the engine holds it now: the configured one with the position's
        side, contracts, entry and margin (after the ledger's fills and any exchange read)."""
        return tuple(
            dataclasses.replace(
                p.cfg, contracts=p.contracts, entry=p.entry, margin_coin=p.margin_coin
            )
            for p in self._positions.values()
        )

    def adopt(
        self,
        hedges: Sequence[HedgeConfig],
        exchange: Mapping[str, ExchangeFigures] | None = None,
    ) -> list[str]:
        """Take the exchange's figures (``core.accounts.reconcile.adopt_positions``) in place
        of the position's: side, contracts, entry, margin mode and margin; ``exchange`` (by
        hedge id) what else it reported, shown beside our own figures. Realised PnL and
        funding booked so far stay. A hedge the config does not name is not added (its feeds
        are not subscribed): the returned notes say so."""
        notes = []
        for h in hedges:
            pos = self._positions.get(h.id)
            if pos is None:
                notes.append(
                    f"{h.id}: {h.contracts} contracts on {h.venue} {h.symbol} are not shown: "
                    "add a [[hedges]] entry for them"
                )
                continue
            if (h.venue, h.symbol) != (pos.cfg.venue, pos.cfg.symbol):
                notes.append(f"{h.id}: the exchange's {h.symbol} is not this hedge's; not taken")
                continue
            pos.cfg = h
            pos.contracts = h.contracts
            pos.entry = h.entry
            pos.margin_coin = h.margin_coin
            if exchange is not None and h.id in exchange:
                pos.exchange = exchange[h.id]
        return notes

    def take_wallet(self, account: str, free: Mapping[str, float]) -> None:
        """Take an account read's free futures-wallet coins (coin -> amount): the holding of
        each coin counts them with the positions' margin, as exposure."""
        self._free_wallet[account] = dict(free)

    def plan_resize(
        self,
        hedge_id: str,
        *,
        target_ratio: float | None = None,
        delta_contracts: int | None = None,
        close: bool = False,
        now_ms: int,
        feeds: Sequence[FeedHealth] = (),
        wall_ms: int | None = None,
    ) -> ResizePlan:
        """Preview an order on ``hedge_id``: to reach ``target_ratio`` on the holding it
        protects, or by ``delta_contracts`` (> 0 enlarges the hedge), or ``close`` it.

        Sizing is ``core.sizing``'s (exact for inverse contracts, fee-aware, the holding's
        other hedges counted): the holding needs ``d = T·(S+M) − H`` more hedged coins; the
        fee and realised PnL of a direct hedge land in its margin, which is exposure too. A
        proxy's coins convert by ``P_c / (beta·P_h)``. Whole contracts: the nearest lot."""
        if sum((target_ratio is not None, delta_contracts is not None, close)) != 1:
            raise ValueError("give exactly one of target_ratio, delta_contracts, close")
        pos = self._positions.get(hedge_id)
        if pos is None:
            raise KeyError(f"unknown hedge {hedge_id!r}")
        stale = self._stale_keys(feeds, wall_ms)
        hedges, holdings = self._compute(self._positions, now_ms, stale)
        hs = next(h for h in hedges if h.hedge_id == hedge_id)
        holding = next(h for h in holdings if h.coin == pos.cfg.hedges)
        target = self.config.targets.get(pos.cfg.hedges)
        refusal: str | None = None
        delta = 0
        mark = hs.mark
        if close:
            delta = -pos.contracts
        elif delta_contracts is not None:
            delta = int(delta_contracts)
        if mark is None or mark <= 0:
            refusal = f"no mark price yet for {pos.cfg.venue} {pos.cfg.symbol}"
        elif hs.stale:
            refusal = f"{pos.cfg.venue} {pos.cfg.symbol} prices are stale: wait for fresh data"
        elif target_ratio is not None:
            if target_ratio < 0:
                raise ValueError(f"target_ratio must be >= 0, not {target_ratio}")
            sized = self._contracts_for(pos, hs, holding, target_ratio)
            if sized is None:
                refusal = (
                    f"cannot size {hedge_id} to a ratio: no {pos.cfg.hedges} exposure, or its "
                    "price is missing"
                )
            else:
                # a target ratio (>= 0) never means the other side: at most, close
                delta = max(sized, -pos.contracts)
        if refusal is None:
            if pos.contracts + delta < 0:
                refusal = (
                    f"would flip the {pos.cfg.side} of {pos.contracts} contracts to the other "
                    f"side (asked {delta:+d}); close it instead"
                )
            elif abs(delta) > self.config.broker.max_contracts_per_action:
                refusal = (
                    f"{abs(delta)} contracts exceed the per-action maximum "
                    f"(broker.max_contracts_per_action = "
                    f"{self.config.broker.max_contracts_per_action})"
                )
            elif (
                self.config.broker.max_usd_per_action is not None
                and size_usd_from_contracts(pos.spec, abs(delta))
                > self.config.broker.max_usd_per_action
            ):
                refusal = (
                    f"{size_usd_from_contracts(pos.spec, abs(delta)):,.0f} USD exceeds the "
                    f"per-action maximum (broker.max_usd_per_action = "
                    f"{self.config.broker.max_usd_per_action:,.0f} USD)"
                )
            elif delta % pos.spec.lot_contracts != 0:
                refusal = (
                    f"{delta:+d} contracts is not a multiple of the lot ({pos.spec.lot_contracts})"
                )
            elif delta == 0:
                refusal = "nothing to do: already within one lot of the target"
        side = None
        price = fee = None
        hedge_after = holding_after = None
        size = size_usd_from_contracts(pos.spec, abs(delta))
        if refusal is None and mark is not None:
            increase = delta > 0
            side = _order_side(pos.cfg.side, increase)
            price = self.broker.fill_price(side, mark)
            fee = self.broker.fee_coin(size, price)
            what_if = {k: (v.copy() if k == hedge_id else v) for k, v in self._positions.items()}
            _apply_fill(what_if[hedge_id], increase, abs(delta), price, fee)
            hedges_after, holdings_after = self._compute(what_if, now_ms, stale)
            hedge_after = next(h for h in hedges_after if h.hedge_id == hedge_id)
            holding_after = next(h for h in holdings_after if h.coin == pos.cfg.hedges)
        return ResizePlan(
            hedge_id=hedge_id,
            venue=pos.cfg.venue,
            symbol=pos.cfg.symbol,
            created_ms=now_ms,
            side=side,
            contracts=abs(delta) if refusal is None else 0,
            size_usd=size if refusal is None else 0.0,
            mark=mark,
            expected_price=price,
            fee_coin=fee,
            coin=pos.spec.coin,
            contracts_before=pos.contracts,
            contracts_after=pos.contracts + delta if refusal is None else pos.contracts,
            ratio_before=holding.hedge_ratio,
            ratio_after=holding_after.hedge_ratio if holding_after else None,
            target_ratio=target_ratio
            if target_ratio is not None
            else (target.ratio if target else None),
            net_delta_after_coin=holding_after.net_delta_coin if holding_after else None,
            net_delta_after_usd=holding_after.net_delta_usd if holding_after else None,
            liq_price_after=hedge_after.liq_price if hedge_after else None,
            hedge_after=hedge_after,
            holding_after=holding_after,
            refusal=refusal,
        )

    def _contracts_for(
        self, pos: _Position, hs: HedgeSnapshot, holding: HoldingSnapshot, target: float
    ) -> int | None:
        """Signed contracts (> 0 enlarges) of ``pos`` that bring its holding's ratio to
        ``target``, sized by ``core.sizing.size_change_usd`` (fee-aware; the other hedges of
        the holding are in its hedged amount) at the broker's fill prices and rounded to the
        lot. None when there is nothing to hedge or the hedged amount is unknown (a proxy
        without prices)."""
        exposure = holding.amount_coin + holding.margin_coin
        if exposure <= 0 or holding.hedge_ratio is None or hs.mark is None:
            return None
        if pos.cfg.proxy and holding.price_usd is None:
            return None
        side = pos.cfg.side
        change = sizing.size_change_usd(
            target,
            exposure_coin=exposure,
            hedged_coin_total=holding.hedge_ratio * exposure,
            side=side,
            size_usd=pos.size_usd if pos.entry is not None else 0.0,
            entry=pos.entry,
            add_price=self.broker.fill_price(_order_side(side, True), hs.mark),
            reduce_price=self.broker.fill_price(_order_side(side, False), hs.mark),
            fee_rate=self.broker.fee_rate,
            proxy=pos.cfg.proxy,
            beta=pos.cfg.beta,
            contract_price=hs.mark,
            holding_price=holding.price_usd,
        )
        return sizing.round_to_lots(pos.spec, change)

    def execute(self, plan: ResizePlan, now_ms: int, *, broker_name: str = "paper") -> Fill:
        """Fill ``plan`` at the current mark (paper broker), append it to the ledger (durable
        before the position changes), update the position and return the fill."""
        pos = self._position_for(plan)
        q = self._quotes.get((pos.cfg.venue, pos.cfg.symbol))
        if q is None or q.mark is None or q.mark <= 0:
            raise PlanRefused(f"no mark price for {pos.cfg.venue} {pos.cfg.symbol}")
        assert plan.side is not None
        price = self.broker.fill_price(plan.side, q.mark)
        fee = self.broker.fee_coin(size_usd_from_contracts(pos.spec, plan.contracts), price)
        return self._record_fill(
            pos, plan, plan.contracts, price, fee, now_ms, broker_name, mark=q.mark
        )

    def apply_fill(
        self,
        plan: ResizePlan,
        fill_price: float,
        contracts: int,
        fee_coin: float,
        now_ms: int,
        *,
        broker_name: str = "ccxt",
    ) -> Fill:
        """Record a fill obtained elsewhere (a real order on the venue) for ``plan``: at
        ``fill_price`` for ``contracts`` (at most the plan's: a partial fill records only what
        filled) with ``fee_coin`` paid. Ledger first, then the position, as for paper fills."""
        pos = self._position_for(plan)
        if not 0 < contracts <= plan.contracts:
            raise PlanRefused(
                f"filled {contracts} contracts: must be between 1 and the {plan.contracts} ordered"
            )
        if not (math.isfinite(fill_price) and fill_price > 0):
            raise PlanRefused(f"fill price {fill_price!r} USD is not a positive price")
        if not math.isfinite(fee_coin):
            raise PlanRefused(f"fee {fee_coin!r} {pos.spec.coin} is not a number")
        return self._record_fill(
            pos, plan, contracts, fill_price, fee_coin, now_ms, broker_name, mark=plan.mark
        )

    def plan_margin(
        self,
        hedge_id: str,
        amount_coin: float,
        *,
        now_ms: int,
        feeds: Sequence[FeedHealth] = (),
        wall_ms: int | None = None,
    ) -> MarginPlan:
        """Preview moving ``amount_coin`` of isolated margin into (> 0) or out of (< 0)
        ``hedge_id``'s position: its liquidation price and distance before and after, by the
        venue's own formula (the same computation as the snapshot's), and the holding's ratio
        after (margin coins are exposure too). Refused: a cross-margin or flat position, no
        fresh mark, taking out more than the position holds, or leaving it at or past its
        liquidation price."""
        pos = self._positions.get(hedge_id)
        if pos is None:
            raise KeyError(f"unknown hedge {hedge_id!r}")
        stale = self._stale_keys(feeds, wall_ms)
        hedges, holdings = self._compute(self._positions, now_ms, stale)
        hs = next(h for h in hedges if h.hedge_id == hedge_id)
        holding = next(h for h in holdings if h.coin == pos.cfg.hedges)
        what = f"{pos.cfg.venue} {pos.cfg.symbol}"
        refusal: str | None = None
        if not math.isfinite(amount_coin):
            refusal = f"{amount_coin!r} {pos.spec.coin} is not an amount"
        elif pos.cfg.margin_mode != "isolated":
            refusal = (
                f"{what} is on cross margin: its margin is the wallet, move coins on the venue"
            )
        elif pos.contracts == 0:
            refusal = f"{what} has no position to put margin on"
        elif hs.mark is None or hs.mark <= 0:
            refusal = f"no mark price yet for {what}"
        elif hs.stale:
            refusal = f"{what} prices are stale: wait for fresh data"
        elif amount_coin == 0:
            refusal = "nothing to move"
        elif pos.margin_coin + amount_coin <= 0:
            refusal = (
                f"cannot take {-amount_coin:.8f} {pos.spec.coin} out: the position holds "
                f"{pos.margin_coin:.8f} {pos.spec.coin}"
            )
        hedge_after = holding_after = None
        if refusal is None:
            what_if = {k: (v.copy() if k == hedge_id else v) for k, v in self._positions.items()}
            what_if[hedge_id].margin_coin += amount_coin
            hedges_after, holdings_after = self._compute(what_if, now_ms, stale)
            hedge_after = next(h for h in hedges_after if h.hedge_id == hedge_id)
            holding_after = next(h for h in holdings_after if h.coin == pos.cfg.hedges)
            dist = hedge_after.liq_distance_pct
            if dist is not None and dist <= 0:
                refusal = (
                    f"taking {-amount_coin:.8f} {pos.spec.coin} out would leave {what} at or "
                    "past its liquidation price"
                )
        return MarginPlan(
            hedge_id=hedge_id,
            venue=pos.cfg.venue,
            symbol=pos.cfg.symbol,
            coin=pos.spec.coin,
            created_ms=now_ms,
            amount_coin=amount_coin if refusal is None else 0.0,
            margin_before=pos.margin_coin,
            margin_after=pos.margin_coin + (amount_coin if refusal is None else 0.0),
            contracts=pos.contracts,
            mark=hs.mark,
            liq_price_before=hs.liq_price,
            liq_price_after=hedge_after.liq_price if hedge_after else None,
            liq_distance_before_pct=hs.liq_distance_pct,
            liq_distance_after_pct=hedge_after.liq_distance_pct if hedge_after else None,
            ratio_before=holding.hedge_ratio,
            ratio_after=holding_after.hedge_ratio if holding_after else None,
            hedge_after=hedge_after,
            refusal=refusal,
        )

    def apply_margin(
        self,
        plan: MarginPlan,
        now_ms: int,
        *,
        amount_coin: float | None = None,
        broker_name: str = "paper",
    ) -> MarginTransfer:
        """Record ``plan``'s transfer (``amount_coin``: what the venue moved, default the
        plan's): the ledger first (durable), then the position's margin."""
        if not plan.ok:
            raise PlanRefused(plan.refusal or "nothing to move")
        pos = self._positions.get(plan.hedge_id)
        if pos is None:
            raise PlanRefused(f"unknown hedge {plan.hedge_id!r}")
        if pos.contracts != plan.contracts:
            raise PlanRefused("the position changed since the preview: preview again")
        amount = plan.amount_coin if amount_coin is None else amount_coin
        if not math.isfinite(amount) or amount == 0:
            raise PlanRefused(f"{amount!r} {pos.spec.coin} is not an amount moved")
        transfer = MarginTransfer(
            ts_ms=now_ms,
            hedge_id=pos.cfg.id,
            venue=pos.cfg.venue,
            symbol=pos.cfg.symbol,
            amount_coin=amount,
            margin_after_coin=pos.margin_coin + amount,
            broker=broker_name,
        )
        self.ledger.append_margin(transfer)
        pos.margin_coin += amount
        return transfer

    def check_plan(self, plan: ResizePlan) -> None:
        """PlanRefused when ``plan`` may not run (refused, unknown hedge, position moved)."""
        self._position_for(plan)

    def _position_for(self, plan: ResizePlan) -> _Position:
        """The position ``plan`` acts on, if the plan may still run; PlanRefused otherwise."""
        if not plan.ok or plan.side is None:
            raise PlanRefused(plan.refusal or "nothing to execute")
        pos = self._positions.get(plan.hedge_id)
        if pos is None:
            raise PlanRefused(f"unknown hedge {plan.hedge_id!r}")
        if pos.contracts != plan.contracts_before:
            raise PlanRefused("the position changed since the preview: preview again")
        return pos

    def _record_fill(  # noqa: PLR0917 (a fill's fields)
        self,
        pos: _Position,
        plan: ResizePlan,
        contracts: int,
        price: float,
        fee: float,
        now_ms: int,
        broker_name: str,
        *,
        mark: float | None = None,
    ) -> Fill:
        """``mark``: the mark the order filled against (the review measures slippage to it)."""
        assert plan.side is not None
        increase = plan.contracts_after > plan.contracts_before
        size = size_usd_from_contracts(pos.spec, contracts)
        trial = pos.copy()
        realized, entry_after = _apply_fill(trial, increase, contracts, price, fee)
        fill = Fill(
            ts_ms=now_ms,
            hedge_id=pos.cfg.id,
            venue=pos.cfg.venue,
            symbol=pos.cfg.symbol,
            side=plan.side,
            contracts=contracts,
            size_usd=size,
            price=price,
            fee_coin=fee,
            realized_pnl_coin=realized,
            contracts_after=trial.contracts,
            entry_after=entry_after,
            broker=broker_name,
            mark=mark,
        )
        self.ledger.append_fill(fill)  # durable first: a failure here leaves the position as is
        self._positions[pos.cfg.id] = trial
        self._fills.append(fill)
        return fill


def _keep_dated(new: ContractSpec, old: ContractSpec) -> ContractSpec:
    """``new`` for a hedge whose contract is ``old``: refreshed tables list perpetuals, so a
    dated contract takes its coin's figures (face value, tick, lot, tiers) and stays dated;
    the perpetual's status is not the future's (it stays what ``old`` knew)."""
    if not old.dated or new.expiry_ms == old.expiry_ms:
        return new
    return dataclasses.replace(
        new,
        symbol=old.symbol,
        kind=old.kind,
        expiry_ms=old.expiry_ms,
        funding_interval_ms=None,
        status=old.status,
        delist_ms=old.delist_ms,
    )


def _companions(spec: ContractSpec) -> tuple[str, ...]:
    """What a dated hedge is compared with: its coin's perpetual and the next quarterly."""
    if spec.expiry_ms is None:
        return ()
    out = [native_symbol(spec.venue, spec.coin)]
    with contextlib.suppress(UnknownInstrument):
        out.append(dated_symbol(spec.venue, spec.coin, dated.next_quarterly(spec.expiry_ms)))
    return tuple(out)


def _dated_figures(
    expiry_ms: int, basis_pct: float | None, now_ms: int
) -> tuple[float, float | None]:
    """A dated future's days to expiry and the basis a short locks, annualised over them
    (``basis % · 365 / days``; None without a basis or once expired)."""
    days = dated.days_left(expiry_ms, now_ms)
    locked = basis_pct * 365.0 / days if basis_pct is not None and days > 0 else None
    return days, locked


@dataclass(frozen=True, slots=True)
class _Fixed:
    """What a hedge's snapshot takes from its position alone, not from the quotes: kept (with
    the fields ``_fill_fixed`` set) while the config, spec, contracts, entry, margin, realised
    PnL, funding booked and the exchange's figures are unchanged, since most ticks only move
    the quotes. ``risk``: ``core.liquidation.assess_position`` (its prices, model and tier do
    not depend on the mark), None for a flat position or one the model refuses."""

    size: float
    open_: bool
    risk: liquidation.Liquidation | None
    model: str | None
    hedged_coin: float | None  # what a direct hedge offsets (``Engine._hedged_coin``)


@dataclass(frozen=True, slots=True)
class _Groups:
    """Which hedges (by position in the engine's order) settle in each coin (``own``: their
    margin is exposure in it) and protect each holding, and where each coin's price may come
    from (its spot pair first, then its hedges' instruments), for the hedges' configs ``cfgs``
    under the engine's config and spot venue ``of``."""

    of: tuple[Config, str | None]
    cfgs: list[HedgeConfig]
    own: dict[str, tuple[int, ...]]
    protecting: dict[str, tuple[int, ...]]
    protecting_ids: dict[str, tuple[str, ...]]
    quote_keys: dict[str, tuple[tuple[str, str], ...]]


def _fixed(p: _Position) -> _Fixed:
    """``_Fixed`` of ``p``. A wallet driven below zero (fees, funding) is priced as an empty
    one, and input the model refuses gives no risk figures rather than a crashed tick."""
    cfg = p.cfg
    open_ = p.contracts > 0 and p.entry is not None
    size = p.size_usd
    risk = None
    if open_ and p.entry is not None:
        try:
            risk = liquidation.assess_position(
                p.spec, cfg.side, size, p.entry, max(p.margin_coin, 0.0), mode=cfg.margin_mode
            )
        except ValueError:
            risk = None
    hedged: float | None = 0.0
    if p.entry is not None and p.contracts != 0:
        hedged = sizing.hedged_coin(cfg.side, size, p.entry, beta=cfg.beta, proxy=False)
    return _Fixed(size, open_, risk, str(risk.model) if risk is not None else None, hedged)


def _fill_fixed(d: Any, p: _Position, fixed: _Fixed) -> None:
    """Set the snapshot fields of draft ``d`` that come from the position alone (the
    config, spec, position figures and the exchange's), ``fixed`` being ``_fixed(p)``."""
    cfg, spec, ex = p.cfg, p.spec, p.exchange
    d.hedge_id = cfg.id
    d.venue = cfg.venue
    d.symbol = cfg.symbol
    d.coin = spec.coin
    d.hedged_coin = cfg.hedges
    d.beta = cfg.beta
    d.side = cfg.side
    d.contracts = p.contracts
    d.size_usd = fixed.size
    d.entry = p.entry
    d.margin_coin = p.margin_coin
    d.margin_mode = cfg.margin_mode
    d.realized_pnl_coin = p.realized_pnl_coin
    d.funding_accrued_coin = p.funding_accrued_coin
    d.tier_source = spec.tier_source.describe()
    d.expiry_ms = spec.expiry_ms
    d.exchange_liq_price = ex.liq_price if ex is not None else None
    d.funding_received_coin = ex.funding_received_coin if ex is not None else None
    d.funding_received_since_ms = ex.funding_since_ms if ex is not None else None
    d.instrument_status = spec.status
    d.delist_ms = spec.delist_ms


def _quote_price(q: Quote) -> float | None:
    spot = q.kind == "spot"
    if spot and q.bid is not None and q.ask is not None and q.bid > 0 and q.ask > 0:
        return (q.bid + q.ask) / 2.0
    for v in (q.last, q.bid) if q.kind == "spot" else (q.index, q.mark):
        if v is not None and v > 0:
            return v
    return None


def _gap_pct(ours: float | None, theirs: float | None) -> float | None:
    """Our liquidation price against the exchange's, in % of theirs (None: either unknown)."""
    if ours is None or theirs is None or theirs <= 0 or not math.isfinite(ours):
        return None
    return (ours / theirs - 1.0) * 100.0


def _sum_or_none(values: Iterable[float | None]) -> float | None:
    total = 0.0
    for v in values:
        if v is None:
            return None
        total += v
    return total
