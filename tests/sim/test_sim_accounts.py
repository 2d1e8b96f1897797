"""The simulator's accounts: fills, fees, funding, margin and liquidation with its own code,
checked against the venues' published worked examples (each cited) and by bookkeeping."""

from __future__ import annotations

import itertools

import pytest

from core.sim.accounts import (
    Account,
    AccountError,
    ExecKind,
    Ids,
    OrderStatus,
    OrderType,
    Position,
    RejectReason,
    Side,
)
from core.sim.book import Book
from core.sim.model import COIN_TABLE, MarketModel
from core.sim.seed import MarginMode, PositionSeed, PositionSide, VenueSeed
from core.sim.venues.binance.margin import BinanceMargin, bracket_for
from core.sim.venues.bybit.margin import BybitMargin

START = 1_764_000_000_000


def account(venue: str, seed: VenueSeed) -> tuple[Account, MarketModel]:
    model = MarketModel(("BTC", "ETH", "ADA"), seed=3, start_ms=START)
    books = {c: Book(model, venue, c) for c in ("BTC", "ETH", "ADA")}
    n = itertools.count(1)
    rules = BybitMargin() if venue == "bybit" else BinanceMargin()

    def lot(coin: str) -> int:
        return 1 if venue == "bybit" else int(COIN_TABLE[coin].face_usd)

    acct = Account(
        venue,
        rules,
        books,
        lot=lot,
        index=model.price,
        now_ms=lambda: model.now_ms,
        ids=Ids(order_id=lambda: f"o{next(n)}", exec_id=lambda: f"e{next(n)}"),
        seed=seed,
    )
    return acct, model


def test_bybit_isolated_short_liquidation_price_matches_the_published_example() -> None:
    # Bybit help centre, "Liquidation Price Calculation under Isolated Mode (UTA)", inverse:
    # 60,000 USD BTCUSD short at 50,000, 10x, MMR 0.5 %: PV 1.2 BTC, IM 0.12 BTC, MM 0.006 BTC,
    # LP = 60,000 / (1.2 - (0.12 - 0.006)) = 55,248.62.
    pos = Position("BTC", size=-60_000, entry=50_000.0, leverage=10.0, mode=MarginMode.ISOLATED)
    lp = BybitMargin().liquidation_price(pos, collateral=0.12)
    assert lp == pytest.approx(55_248.62, abs=0.01)


def test_bybit_1x_short_still_liquidates_far_away_on_entry_value() -> None:
    pos = Position("BTC", size=-90_000, entry=90_000.0, leverage=1.0, mode=MarginMode.ISOLATED)
    assert BybitMargin().liquidation_price(pos, collateral=1.0) == pytest.approx(90_000 / 0.005)


def test_binance_coinm_liquidation_price_matches_binance_outputs() -> None:
    m = BinanceMargin()
    # A positionRisk quoted in ccxt's source: long 2 BTCUSD_PERP @ 37643.10000021, isolated
    # wallet 0.00268058, liquidationPrice 25119.97445760 (bracket 1: 0.4 %, cum 0).
    pos = Position("BTC", size=200, entry=37_643.10000021, leverage=20, mode=MarginMode.ISOLATED)
    assert m.liquidation_price(pos, 0.00268058) == pytest.approx(25_119.9744576, abs=1e-6)
    # dev.binance.vision "Coin-margined futures liquidation price calculation help": wallet 101
    # BTC, long 10,000,000 USD @ 45,000; Binance's calculator 33,599.4 (MMR 12.5 %, cum 11.605).
    big = Position("BTC", size=10_000_000, entry=45_000.0, leverage=1, mode=MarginMode.CROSS)
    assert m.liquidation_price(big, 101.0) == pytest.approx(33_599.4186, abs=1e-3)
    assert bracket_for("BTC", 300.0).cum == pytest.approx(11.605)


def test_binance_1x_short_never_liquidates() -> None:
    pos = Position("BTC", size=-9_000, entry=90_000.0, leverage=1.0, mode=MarginMode.ISOLATED)
    assert BinanceMargin().liquidation_price(pos, collateral=0.1) is None
    # and its maintenance margin is on the mark: 0.4 % of 9,000/100,000
    assert BinanceMargin().maintenance_margin(pos, 100_000.0) == pytest.approx(0.09 * 0.004)


def test_market_order_moves_position_and_wallet_by_fill_and_fee() -> None:
    acct, model = account("bybit", VenueSeed(futures={"BTC": 1.0}))
    perp = model.perp("bybit", "BTC")
    perp.bid_size = perp.ask_size = 100_000  # one level deep enough for both orders
    book = acct.books["BTC"]
    book.reset()
    bid = book.bids[0].price
    order = acct.place("BTC", Side.SELL, OrderType.MARKET, 1_000)
    assert order.status is OrderStatus.FILLED
    pos = acct.positions["BTC"]
    assert pos.size == -1_000
    assert pos.entry == pytest.approx(bid)
    fee = 1_000 / bid * BybitMargin.taker_fee
    assert acct.wallet["BTC"] == pytest.approx(1.0 - fee)
    assert acct.executions[-1].fee == pytest.approx(fee)
    # closing it realises Q·(1/P - 1/P0) for the short
    ask = book.asks[0].price
    acct.place("BTC", Side.BUY, OrderType.MARKET, 1_000, reduce_only=True)
    realised = -1_000 * (1 / bid - 1 / ask)
    fee2 = 1_000 / ask * BybitMargin.taker_fee
    assert acct.wallet["BTC"] == pytest.approx(1.0 - fee + realised - fee2)
    assert acct.positions["BTC"].size == 0
    assert acct.closed_pnl[-1].pnl == pytest.approx(realised - fee2)


def test_sizes_above_the_depth_fill_partially_and_the_rest_is_cancelled() -> None:
    acct, _ = account("bybit", VenueSeed(futures={"BTC": 100.0}))
    depth = acct.books["BTC"].depth(buy=False)
    order = acct.place("BTC", Side.SELL, OrderType.MARKET, depth + 5_000)
    assert order.status is OrderStatus.PARTIALLY_FILLED_CANCELED
    assert order.filled == depth
    assert acct.positions["BTC"].size == -depth
    assert len({e.price for e in acct.executions}) > 1  # it walked the book


def test_reduce_only_that_would_increase_and_duplicate_client_id_are_refused() -> None:
    acct, _ = account("binance", VenueSeed(futures={"BTC": 1.0}))
    with pytest.raises(AccountError) as e:
        acct.place("BTC", Side.SELL, OrderType.MARKET, 100, reduce_only=True)
    assert e.value.reason is RejectReason.REDUCE_ONLY_INCREASE
    acct.place("BTC", Side.SELL, OrderType.MARKET, 100, client_id="x1")
    with pytest.raises(AccountError) as e:
        acct.place("BTC", Side.SELL, OrderType.MARKET, 100, client_id="x1")
    assert e.value.reason is RejectReason.DUPLICATE_CLIENT_ID
    assert acct.positions["BTC"].size == -100  # the refused repeat did nothing
    with pytest.raises(AccountError) as e:
        acct.place("BTC", Side.SELL, OrderType.MARKET, 10_000_000)
    assert e.value.reason is RejectReason.INSUFFICIENT_MARGIN


def test_resting_limit_fills_when_the_price_crosses_it() -> None:
    acct, model = account("bybit", VenueSeed(futures={"BTC": 1.0}))
    ask = acct.books["BTC"].asks[0].price
    order = acct.place("BTC", Side.SELL, OrderType.LIMIT, 500, price=ask + 50)
    assert order.status is OrderStatus.NEW
    perp = model.perp("bybit", "BTC")
    perp.bid, perp.ask = ask + 60, ask + 61
    acct.books["BTC"].reset()
    acct.match_resting()
    assert order.status is OrderStatus.FILLED
    assert acct.executions[-1].maker
    assert acct.executions[-1].price == ask + 50
    fee = 500 / (ask + 50) * BybitMargin.maker_fee
    assert acct.wallet["BTC"] == pytest.approx(1.0 - fee)


def test_funding_is_paid_to_a_short_into_wallet_and_isolated_margin() -> None:
    seed = VenueSeed(
        futures={"ADA": 10_000.0},
        positions=(
            PositionSeed("ADA", PositionSide.SHORT, 300, 0.42, 3.0, MarginMode.ISOLATED, 2_000.0),
        ),
    )
    acct, _ = account("binance", seed)
    ex = acct.settle_funding("ADA", 0.0001, 0.40, START + 1)
    assert ex is not None
    assert ex.kind is ExecKind.FUNDING
    got = 3_000 / 0.40 * 0.0001
    assert acct.wallet["ADA"] == pytest.approx(10_000 + got)
    assert acct.positions["ADA"].margin == pytest.approx(2_000 + got)
    assert acct.ledger[-1].funding == pytest.approx(got)


def test_a_leveraged_short_is_liquidated_at_maintenance_and_loses_its_margin() -> None:
    seed = VenueSeed(
        futures={"BTC": 0.5},
        positions=(
            PositionSeed(
                "BTC", PositionSide.SHORT, 90_000, 90_000.0, 20.0, MarginMode.ISOLATED, 0.05
            ),
        ),
    )
    acct, model = account("bybit", seed)
    lp = acct.liquidation_price("BTC")
    assert lp is not None
    assert acct.check_liquidations() == []
    perp = model.perp("bybit", "BTC")
    perp.mark = lp * 1.001
    perp.bid, perp.ask = perp.mark, perp.mark + 0.5
    acct.books["BTC"].reset()
    liq = acct.check_liquidations()
    assert len(liq) == 1
    assert liq[0].kind is ExecKind.LIQUIDATION
    assert acct.positions["BTC"].size == 0
    assert acct.wallet["BTC"] == pytest.approx(0.45, abs=1e-6)  # the 0.05 margin is gone
