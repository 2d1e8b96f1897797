"""The book: the latest quote per (venue, symbol) and each hedge's position, with its contract
spec (config start + the ledger's fills, funding and margin transfers replayed).

It keeps and guards the inputs; it computes no figure (``core.portfolio`` does, from what it
holds) and opens no ledger: the engine writes a fill or a transfer first, then hands the book
the result, and ``settle`` hands each funding event to the ``record`` it is given.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping, Sequence

from core import dated, settlement
from core.config import HedgeConfig
from core.events import Fill, FundingEvent, Kind, MarginTransfer, Quote
from core.instruments import (
    ContractSpec,
    UnknownInstrument,
    dated_symbol,
    lookup,
    native_symbol,
)
from core.position import Position
from core.snapshot import ExchangeFigures

_DATED_KIND = Kind.INVERSE_FUTURE  # an enum member looked up once (per hedge and tick it costs)


def spot_symbol(venue: str, coin: str) -> str:
    """The venue-native USDT spot pair of ``coin`` (Bybit/Binance ``BTCUSDT``, OKX ``BTC-USDT``)."""
    return f"{coin}-USDT" if venue == "okx" else f"{coin}USDT"


class Book:
    """The latest quotes (``quotes``, keyed (venue, symbol)) and the positions (``positions``,
    keyed by hedge id, in the config's order), the fills recorded this session and before
    (``fills``), and the counts of input refused: ``refused_quotes`` (a non-finite or
    non-positive price) and ``ignored_ledger_rows`` (rows naming no configured hedge, or
    funding already settled).

    ``specs`` maps (venue, symbol) to contract specs (e.g. refreshed from ccxt); hedges not in
    it use the built-in table.
    """

    def __init__(
        self,
        hedges: Iterable[HedgeConfig],
        specs: Mapping[tuple[str, str], ContractSpec] | None,
    ) -> None:
        self.quotes: dict[tuple[str, str], Quote] = {}
        self.refused_quotes = 0
        self.positions: dict[str, Position] = {}
        for h in hedges:
            builtin = lookup(h.venue, h.symbol)
            given = (specs or {}).get((h.venue, h.symbol))
            spec = builtin if given is None else keep_dated(given, builtin)
            self.positions[h.id] = Position(
                cfg=h,
                spec=spec,
                contracts=h.contracts,
                entry=h.entry if h.contracts > 0 else None,
                margin_coin=h.margin_coin,
            )
        self.fills: list[Fill] = []
        self.ignored_ledger_rows = 0
        #: account -> coin -> futures-wallet coins backing no isolated position (the reads')
        self.free_wallet: dict[str, dict[str, float]] = {}

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
        self.quotes[(quote.venue, quote.symbol)] = quote

    def quote(self, venue: str, symbol: str) -> Quote | None:
        return self.quotes.get((venue, symbol))

    def quotes_of_kind(self, kind: Kind) -> tuple[Quote, ...]:
        """The latest quote of every instrument of one kind (dated futures for the detail
        pane's basis comparison)."""
        return tuple(q for q in self.quotes.values() if q.kind is kind)

    def subscriptions(
        self, spot_venue: str | None, coins: Iterable[str]
    ) -> dict[tuple[str, str], tuple[str, ...]]:
        """What to subscribe: (venue, socket) -> venue-native symbols. A dated hedge brings
        its coin's perpetual (the funding it is compared with) and the next quarterly (the
        contract it rolls to); ``spot_venue`` (if any) the spot pair of each of ``coins``."""
        subs: dict[tuple[str, str], dict[str, None]] = {}
        for pos in self.positions.values():
            subs.setdefault((pos.cfg.venue, "inverse"), {})[pos.cfg.symbol] = None
        for pos in self.positions.values():
            for sym in companions(pos.spec):
                subs[(pos.cfg.venue, "inverse")].setdefault(sym, None)
        if spot_venue is not None:
            for coin in coins:
                sym = spot_symbol(spot_venue, coin)
                subs.setdefault((spot_venue, "spot"), {})[sym] = None
        return {k: tuple(v) for k, v in subs.items()}

    def specs(self) -> dict[str, ContractSpec]:
        """The contract spec in use for each hedge, keyed by hedge id."""
        return {hid: pos.spec for hid, pos in self.positions.items()}

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
        for pos in self.positions.values():
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
            new = keep_dated(new, old)
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

    def replay(self, fills: Iterable[Fill], funding: Iterable[FundingEvent]) -> None:
        for f in fills:
            pos = self.positions.get(f.hedge_id)
            if pos is None or (pos.cfg.venue, pos.cfg.symbol) != (f.venue, f.symbol):
                self.ignored_ledger_rows += 1
                continue
            pos.contracts = f.contracts_after
            pos.entry = f.entry_after if f.contracts_after > 0 else None
            pos.margin_coin += f.realized_pnl_coin - f.fee_coin
            pos.realized_pnl_coin += f.realized_pnl_coin - f.fee_coin
            self.fills.append(f)
        for ev in funding:
            pos = self.positions.get(ev.hedge_id)
            if pos is None or ev.ts_ms in pos.settled_ms:
                self.ignored_ledger_rows += 1
                continue
            pos.margin_coin += ev.amount_coin
            pos.funding_accrued_coin += ev.amount_coin
            pos.settled_ms.add(ev.ts_ms)

    def replay_margin(self, transfers: Iterable[MarginTransfer]) -> None:
        for t in transfers:
            pos = self.positions.get(t.hedge_id)
            if pos is None or (pos.cfg.venue, pos.cfg.symbol) != (t.venue, t.symbol):
                self.ignored_ledger_rows += 1
                continue
            pos.margin_coin += t.amount_coin

    def settle(self, now_ms: int, record: Callable[[FundingEvent], object]) -> list[FundingEvent]:
        """Settle the funding due by ``now_ms`` into the margins with ``core.settlement``'s
        steps, applied to each position (its watch or accrual state, the coins into its
        margin, the time settled); each event is handed to ``record`` (the ledger) as it is
        settled, and all are returned. A dated future settles none."""
        events: list[FundingEvent] = []
        quotes = self.quotes
        interval, continuous = settlement.settle_interval, settlement.accrue_continuous
        for pos in self.positions.values():
            spec, cfg = pos.spec, pos.cfg
            if spec.kind is _DATED_KIND:
                continue  # a dated future pays no funding (``spec.dated``)
            q = quotes.get((cfg.venue, cfg.symbol))
            if spec.funding_interval_ms is None:
                accrual, amount, ev = continuous(pos, q, now_ms)
                pos.cont_last_ms, pos.cont_hour, pos.cont_unbooked_coin = accrual
                if amount:
                    pos.margin_coin += amount
                    pos.funding_accrued_coin += amount
                if ev is not None:
                    pos.settled_ms.add(ev.ts_ms)
            else:
                watch, settled_ms, ev = interval(pos, q, now_ms)
                pos.pending_ms, pos.pending_rate, pos.pending_mark = watch
                if settled_ms is not None:
                    pos.settled_ms.add(settled_ms)
                if ev is not None:
                    pos.margin_coin += ev.amount_coin
                    pos.funding_accrued_coin += ev.amount_coin
            if ev is not None:
                record(ev)
                events.append(ev)
        return events

    def take_fill(self, fill: Fill, after: Position) -> None:
        """Hold ``after`` (the position as ``fill``, already in the ledger, left it) and the
        fill among the recent ones."""
        self.positions[after.cfg.id] = after
        self.fills.append(fill)

    def hedge_ids(self) -> tuple[str, ...]:
        return tuple(self.positions)

    def held(self) -> tuple[HedgeConfig, ...]:
        """Every hedge as the engine holds it now: the configured one with the position's
        side, contracts, entry and margin (after the ledger's fills and any exchange read)."""
        return tuple(
            dataclasses.replace(
                p.cfg, contracts=p.contracts, entry=p.entry, margin_coin=p.margin_coin
            )
            for p in self.positions.values()
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
            pos = self.positions.get(h.id)
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
        self.free_wallet[account] = dict(free)


def keep_dated(new: ContractSpec, old: ContractSpec) -> ContractSpec:
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


def companions(spec: ContractSpec) -> tuple[str, ...]:
    """What a dated hedge is compared with: its coin's perpetual and the next quarterly."""
    if spec.expiry_ms is None:
        return ()
    out = [native_symbol(spec.venue, spec.coin)]
    with contextlib.suppress(UnknownInstrument):
        out.append(dated_symbol(spec.venue, spec.coin, dated.next_quarterly(spec.expiry_ms)))
    return tuple(out)
