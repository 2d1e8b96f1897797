"""The engine: latest quotes + the portfolio -> immutable snapshots; resize plans; fills.

A façade over its pieces: ``core.book`` holds the latest quote per (venue, symbol) and each
hedge's position (config start + the ledger's fills and funding replayed); ``core.settlement``
settles funding; ``core.portfolio`` computes every figure of a snapshot with the pure
functions of ``core.inverse`` / ``core.liquidation``; ``core.planning`` sizes resizes with
``core.sizing``. ``on_quote`` only stores the quote (cheap per message); ``advance(now_ms)``
settles funding; ``snapshot(now_ms)`` computes. It never renders and never opens a file: the
ledger is injected and written before a fill, a funding event or a transfer changes the
position.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from core import planning, portfolio
from core.book import Book, spot_symbol
from core.brokers.paper import PaperBroker
from core.config import SPOT_VENUES, Config, HedgeConfig
from core.events import FeedHealth, Fill, FundingEvent, Kind, MarginTransfer, Quote
from core.instruments import ContractSpec, size_usd_from_contracts
from core.ledger import Ledger
from core.position import Position
from core.resize import MarginPlan, PlanRefused, ResizePlan
from core.snapshot import ExchangeFigures, PortfolioSnapshot

__all__ = ["Engine", "PlanRefused", "ResizePlan", "spot_symbol"]


class Engine:
    """Portfolio state and metrics; see the module docstring.

    ``specs`` maps (venue, symbol) to contract specs (e.g. refreshed from ccxt); hedges not in
    it use the built-in table. ``now_ms`` is the session start (market clock). ``memo`` is
    what each snapshot reuses from the previous one (``memo.clear()`` forces a full one).
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
        self.ledger = ledger
        self.session_start_ms = now_ms
        self.broker = broker or PaperBroker(config.broker.fee_rate, config.broker.slippage_bps)
        self.spot_venue = config.feeds.spot_venue or next(
            (h.venue for h in config.hedges if h.venue in SPOT_VENUES), None
        )
        self.book = Book(config.hedges, specs)
        self.memo = portfolio.Memo()
        self.book.replay(ledger.load(), ledger.load_funding())
        self.book.replay_margin(ledger.load_margin())
        self._baseline: portfolio.Baseline | None = None
        self._amounts = portfolio.holding_amounts(config)
        self._labels = portfolio.holding_labels(config)

    @property
    def refused_quotes(self) -> int:
        """Quotes refused for a non-finite or non-positive price."""
        return self.book.refused_quotes

    @property
    def ignored_ledger_rows(self) -> int:
        """Ledger rows naming no configured hedge, or funding already settled."""
        return self.book.ignored_ledger_rows

    # --- inputs ---------------------------------------------------------------------------

    def on_quote(self, quote: Quote) -> None:
        """Keep the latest quote (``Book.on_quote``); everything else waits for the tick."""
        self.book.on_quote(quote)

    def quote(self, venue: str, symbol: str) -> Quote | None:
        return self.book.quotes.get((venue, symbol))

    def quotes_of_kind(self, kind: Kind) -> tuple[Quote, ...]:
        return self.book.quotes_of_kind(kind)

    def subscriptions(self) -> dict[tuple[str, str], tuple[str, ...]]:
        """What to subscribe (``Book.subscriptions``), with the spot pair of every coin."""
        return self.book.subscriptions(self.spot_venue, self.config.coins())

    def specs(self) -> dict[str, ContractSpec]:
        return self.book.specs()

    def update_specs(self, specs: Mapping[tuple[str, str], ContractSpec]) -> list[str]:
        """Take refreshed contract specs (``Book.update_specs``); returns warnings."""
        return self.book.update_specs(specs)

    def hedge_ids(self) -> tuple[str, ...]:
        return self.book.hedge_ids()

    def held(self) -> tuple[HedgeConfig, ...]:
        return self.book.held()

    def adopt(
        self,
        hedges: Sequence[HedgeConfig],
        exchange: Mapping[str, ExchangeFigures] | None = None,
    ) -> list[str]:
        """Take the exchange's positions (``Book.adopt``); returns notes."""
        return self.book.adopt(hedges, exchange)

    def take_wallet(self, account: str, free: Mapping[str, float]) -> None:
        """Take an account read's free futures-wallet coins (``Book.take_wallet``)."""
        self.book.take_wallet(account, free)

    # --- funding --------------------------------------------------------------------------

    def advance(self, now_ms: int) -> list[FundingEvent]:
        """Settle the funding due by ``now_ms`` into the margins (``core.settlement``); record
        each event in the ledger as it is settled and return them."""
        return self.book.settle(now_ms, self.ledger.append_funding)

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
        hedges, holdings = self._compute(now_ms, feeds, wall_ms)(self.book.positions)
        snap, self._baseline = portfolio.snapshot(
            hedges,
            holdings,
            now_ms,
            self.session_start_ms,
            feeds,
            self.book.fills,
            self._baseline,
        )
        return snap

    def _compute(
        self, now_ms: int, feeds: Sequence[FeedHealth], wall_ms: int | None
    ) -> planning.Compute:
        """The snapshots of a book of positions at ``now_ms`` over the current quotes, their
        staleness decided once (here) for every computation made with it."""
        quotes = self.book.quotes
        stale = portfolio.stale_keys(quotes, feeds, wall_ms, self.config.feeds.stale_after_ms)
        config, spot_venue, amounts, labels, memo = (
            self.config,
            self.spot_venue,
            self._amounts,
            self._labels,
            self.memo,
        )
        free = self.book.free_wallet

        def compute(
            positions: Mapping[str, Position], wallets: planning.Wallets | None = None
        ) -> portfolio.Computed:
            return portfolio.compute(
                positions,
                quotes,
                stale,
                now_ms,
                config,
                spot_venue,
                amounts,
                labels,
                free if wallets is None else wallets,
                memo,
            )

        return compute

    # --- resizing and margin --------------------------------------------------------------

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
        """Preview an order on ``hedge_id`` (``core.planning.plan_resize``): to reach
        ``target_ratio`` on the holding it protects, or by ``delta_contracts`` (> 0 enlarges
        the hedge), or ``close`` it."""
        return planning.plan_resize(
            self.book.positions,
            hedge_id,
            target_ratio=target_ratio,
            delta_contracts=delta_contracts,
            close=close,
            now_ms=now_ms,
            compute=self._compute(now_ms, feeds, wall_ms),
            broker=self.broker,
            config=self.config,
            wallets=self.book.free_wallet,
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
        ``hedge_id``'s position (``core.planning.plan_margin``)."""
        return planning.plan_margin(
            self.book.positions,
            hedge_id,
            amount_coin,
            now_ms=now_ms,
            compute=self._compute(now_ms, feeds, wall_ms),
            wallets=self.book.free_wallet,
        )

    def check_plan(self, plan: ResizePlan) -> None:
        """PlanRefused when ``plan`` may not run (refused, unknown hedge, position moved)."""
        planning.position_for(self.book.positions, plan)

    def execute(self, plan: ResizePlan, now_ms: int, *, broker_name: str = "paper") -> Fill:
        """Fill ``plan`` at the current mark (paper broker), append it to the ledger (durable
        before the position changes), update the position and return the fill."""
        pos = planning.position_for(self.book.positions, plan)
        q = self.book.quotes.get((pos.cfg.venue, pos.cfg.symbol))
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
        pos = planning.position_for(self.book.positions, plan)
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

    def _record_fill(  # noqa: PLR0917 (a fill's fields)
        self,
        pos: Position,
        plan: ResizePlan,
        contracts: int,
        price: float,
        fee: float,
        now_ms: int,
        broker_name: str,
        *,
        mark: float | None = None,
    ) -> Fill:
        fill, after, wallets = planning.fill_of(
            pos,
            plan,
            contracts,
            price,
            fee,
            now_ms,
            broker_name,
            mark=mark,
            wallets=self.book.free_wallet,
        )
        self.ledger.append_fill(fill)  # durable first: a failure here leaves the position as is
        self.book.take_fill(fill, after)
        if wallets is not None:  # the venue's margin move, until the next read says it
            self.book.free_wallet = wallets
        return fill

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
        transfer = planning.margin_transfer(
            self.book.positions, plan, now_ms, amount_coin, broker_name
        )
        self.ledger.append_margin(transfer)
        pos = self.book.positions[plan.hedge_id]
        pos.margin_coin += transfer.amount_coin
        if planning.free_coins(pos, self.book.free_wallet) is not None:
            # from the wallet's free coins, until the next read says it
            self.book.free_wallet = planning.with_free(
                self.book.free_wallet, pos, -transfer.amount_coin
            )
        return transfer
