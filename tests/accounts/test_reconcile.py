"""``core.accounts.reconcile``: every kind of difference becomes one event naming both values;
what the read itself explains (the same state, funding booked since) is no event; the exchange's
positions replace the configured ones."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.accounts.model import (
    AccountPosition,
    AccountState,
    ExchangeFill,
    ExecKind,
    FundingPayment,
    MarginMode,
    WalletBalance,
    WalletKind,
)
from core.accounts.reconcile import (
    BALANCE_REL_TOL,
    ExpectedBalance,
    ExpectedPosition,
    ReconcileKind,
    adopt_positions,
    expected_from_state,
    expected_positions,
    free_wallet_coins,
    reconcile,
    wallets_read,
)
from core.config import HedgeConfig
from core.events import Kind, OrderSide, Side, Venue

T0 = 1_764_000_000_000
READ = T0 + 3_600_000
NOW = READ + 5


def pos(symbol: str = "BTCUSD", side: Side = Side.SHORT, n: float = 135_000, **kw: Any) -> Any:
    venue = kw.pop("venue", Venue.BYBIT)
    usd = n if venue is Venue.BYBIT else n * 10
    return AccountPosition(
        venue=venue,
        symbol=symbol,
        coin=kw.pop("coin", "BTC"),
        kind=Kind.INVERSE_PERP,
        side=side,
        contracts=n,
        size_usd=usd,
        entry=kw.pop("entry", 90_000.0),
        liq_price=kw.pop("liq_price", None),
        margin_mode=kw.pop("margin_mode", MarginMode.ISOLATED),
        leverage=kw.pop("leverage", 2.0),
        **kw,
    )


def fill(
    side: OrderSide, n: float, ts: int = T0 + 60_000, tid: str = "t1", **kw: Any
) -> ExchangeFill:
    return ExchangeFill(
        venue=kw.pop("venue", Venue.BYBIT),
        symbol=kw.pop("symbol", "BTCUSD"),
        ts_ms=ts,
        side=side,
        contracts=n,
        size_usd=n,
        price=91_000.0,
        fee_coin=kw.pop("fee_coin", None),
        fee_currency=kw.pop("fee_currency", None),
        trade_id=tid,
        order_id="o-" + tid,
        client_order_id=kw.pop("client_order_id", None),
        exec_kind=kw.pop("exec_kind", None),
    )


def state(**kw: Any) -> AccountState:
    kw.setdefault("account", "main")
    kw.setdefault("venue", Venue.BYBIT)
    kw.setdefault("read_ms", READ)
    kw.setdefault("unified", False if kw["venue"] is Venue.BYBIT else None)
    return AccountState(**kw)


def expect(n: int = 135_000, side: Side = Side.SHORT, **kw: Any) -> ExpectedPosition:
    kw.setdefault("account", "main")
    kw.setdefault("venue", Venue.BYBIT)
    kw.setdefault("symbol", "BTCUSD")
    kw.setdefault("coin", "BTC")
    return ExpectedPosition(side=side, contracts=n, **kw)


def wallet(total: float, coin: str = "BTC", kind: WalletKind = WalletKind.FUTURES) -> Any:
    return WalletBalance(venue=Venue.BYBIT, wallet=kind, coin=coin, total=total, free=None)


def btc_balance(total: float, as_of: int | None = T0) -> ExpectedBalance:
    return ExpectedBalance(
        account="main",
        venue=Venue.BYBIT,
        wallet=WalletKind.FUTURES,
        coin="BTC",
        total=total,
        as_of_ms=as_of,
    )


# --- positions -------------------------------------------------------------------------------


def test_an_identical_read_is_no_event() -> None:
    s = state(positions=(pos(),), balances=(wallet(1.6),))
    assert reconcile([expect()], [btc_balance(1.6)], s, now_ms=NOW) == ()


def test_a_smaller_short_is_one_event_naming_both_values() -> None:
    s = state(positions=(pos(n=120_000),))
    (ev,) = reconcile([expect()], [], s, now_ms=NOW)
    assert ev.kind is ReconcileKind.POSITION_CHANGED
    assert (ev.expected, ev.exchange, ev.difference) == (-135_000, -120_000, 15_000)
    assert (ev.expected_side, ev.exchange_side) == (Side.SHORT, Side.SHORT)
    assert (ev.account, ev.venue, ev.symbol, ev.coin, ev.unit) == (
        "main",
        Venue.BYBIT,
        "BTCUSD",
        "BTC",
        "USD",
    )
    assert ev.ts_ms == NOW
    assert ev.text.startswith(
        "bybit BTCUSD: expected short 135,000 USD, exchange short 120,000 USD (\u221215,000)"
    )
    assert "a trade made elsewhere" in ev.text
    assert ev.explained_by == ()


def test_a_change_the_new_fills_add_up_to_names_them() -> None:
    s = state(
        positions=(pos(n=137_000),),
        fills=(
            fill(OrderSide.SELL, 500, tid="old", ts=T0 - 1),  # before the expectation
            fill(OrderSide.SELL, 500, tid="a"),
            fill(OrderSide.SELL, 700, tid="mine"),  # hedgetop's own order, already booked
            fill(OrderSide.SELL, 500, tid="b", ts=T0 + 90_000),
        ),
    )
    (ev,) = reconcile([expect(136_000, as_of_ms=T0)], [], s, now_ms=NOW, known_trade_ids={"mine"})
    assert ev.kind is ReconcileKind.POSITION_CHANGED
    assert ev.explained_by == ("a", "b")
    assert ev.difference == -1_000
    assert "(+1,000)" in ev.text
    assert "2 executions hedgetop did not place: a trade made elsewhere" in ev.text


def test_a_reduction_no_fill_explains_says_so() -> None:
    s = state(positions=(pos(n=100_000),), fills=(fill(OrderSide.BUY, 1_000),))
    (ev,) = reconcile([expect(as_of_ms=T0)], [], s, now_ms=NOW)
    assert ev.kind is ReconcileKind.POSITION_CHANGED
    assert ev.explained_by == ()
    assert "no own execution explains it" in ev.text


def test_opened_closed_and_flipped() -> None:
    s = state(positions=(pos("ETHUSD", Side.LONG, 2_000, coin="ETH"), pos("XRPUSD", n=50)))
    expected = [
        expect(0, symbol="ETHUSD", coin="ETH"),  # flat in the config
        expect(10_000, symbol="SOLUSD", coin="SOL"),  # gone on the exchange
        expect(70, symbol="XRPUSD", side=Side.LONG, coin="XRP"),
        expect(35, symbol="ADAUSD", coin="ADA"),
    ]
    events = {e.symbol: e for e in reconcile(expected, [], s, now_ms=NOW)}
    assert set(events) == {"ETHUSD", "SOLUSD", "XRPUSD", "ADAUSD"}
    opened = events["ETHUSD"]
    assert opened.kind is ReconcileKind.POSITION_OPENED
    assert (opened.expected, opened.exchange, opened.expected_side) == (0, 2_000, None)
    assert "expected flat, exchange long 2,000 USD" in opened.text
    closed = events["SOLUSD"]
    assert closed.kind is ReconcileKind.POSITION_CLOSED
    assert (closed.expected, closed.exchange, closed.exchange_side) == (-10_000, 0, None)
    assert "expected short 10,000 USD, exchange flat" in closed.text
    flipped = events["XRPUSD"]
    assert flipped.kind is ReconcileKind.SIDE_FLIPPED
    assert (flipped.expected, flipped.exchange, flipped.difference) == (70, -50, -120)
    assert "expected long 70 USD, exchange short 50 USD: side flipped" in flipped.text
    assert events["ADAUSD"].kind is ReconcileKind.POSITION_CLOSED


def test_a_reduction_with_the_mark_at_the_liquidation_price_is_a_liquidation() -> None:
    partial = state(positions=(pos(n=60_000, mark=120_500.0),))
    (ev,) = reconcile([expect(as_of_ms=T0, liq_price=120_000.0)], [], partial, now_ms=NOW)
    assert ev.kind is ReconcileKind.LIQUIDATED
    assert "liquidated: inferred: mark 120,500 reached the liquidation price 120,000" in ev.text
    gone = state()
    (ev,) = reconcile(
        [expect(liq_price=120_000.0)], [], gone, now_ms=NOW, marks={"BTCUSD": 121_000.0}
    )
    assert ev.kind is ReconcileKind.LIQUIDATED
    assert (ev.expected, ev.exchange) == (-135_000, 0)
    # the mark short of it: not a liquidation, and nothing pretends it is
    (ev,) = reconcile(
        [expect(liq_price=120_000.0)], [], gone, now_ms=NOW, marks={"BTCUSD": 119_000.0}
    )
    assert ev.kind is ReconcileKind.POSITION_CLOSED
    # a long is liquidated below its liquidation price
    long_gone = reconcile(
        [expect(side=Side.LONG, liq_price=60_000.0)], [], gone, now_ms=NOW, marks={"BTCUSD": 59e3}
    )
    assert long_gone[0].kind is ReconcileKind.LIQUIDATED


def test_the_exchanges_own_orders_say_liquidation_or_adl() -> None:
    def one(client_id: str) -> ReconcileKind:
        s = state(
            venue=Venue.BINANCE,
            positions=(pos("BTCUSD_PERP", n=80, venue=Venue.BINANCE),),
            fills=(
                fill(
                    OrderSide.BUY,
                    20,
                    venue=Venue.BINANCE,
                    symbol="BTCUSD_PERP",
                    client_order_id=client_id,
                ),
            ),
        )
        e = expect(100, venue=Venue.BINANCE, symbol="BTCUSD_PERP", as_of_ms=T0)
        (ev,) = reconcile([e], [], s, now_ms=NOW)
        assert ev.unit == "contracts"
        assert "expected short 100 contracts, exchange short 80 contracts (\u221220)" in ev.text
        return ev.kind

    assert one("autoclose-1596107620040000020") is ReconcileKind.LIQUIDATED
    assert one("adl_autoclose") is ReconcileKind.ADL
    assert one("web_abc") is ReconcileKind.POSITION_CHANGED


@pytest.mark.parametrize(
    ("kind", "want", "words"),
    [
        (ExecKind.LIQUIDATION, ReconcileKind.LIQUIDATED, "the exchange reports a liquidation"),
        (ExecKind.ADL, ReconcileKind.ADL, "the exchange reports auto-deleveraging"),
        (ExecKind.SETTLEMENT, ReconcileKind.SETTLED, "the exchange reports its settlement"),
    ],
)
def test_the_venues_word_classifies_a_reduction(
    kind: ExecKind, want: ReconcileKind, words: str
) -> None:
    """No mark and no liquidation price needed: the fill says what it was."""
    s = state(positions=(pos(n=100_000),), fills=(fill(OrderSide.BUY, 35_000, exec_kind=kind),))
    (ev,) = reconcile([expect(as_of_ms=T0)], [], s, now_ms=NOW)
    assert ev.kind is want
    assert ev.explained_by == ("t1",)
    assert words in ev.text
    assert "inferred" not in ev.text


def test_the_venues_word_beats_the_mark() -> None:
    """A reduction the venue calls ADL is ADL, though the mark is beyond the liquidation."""
    s = state(
        positions=(pos(n=100_000, mark=125_000.0),),
        fills=(fill(OrderSide.BUY, 35_000, exec_kind=ExecKind.ADL),),
    )
    (ev,) = reconcile([expect(as_of_ms=T0, liq_price=120_000.0)], [], s, now_ms=NOW)
    assert ev.kind is ReconcileKind.ADL


def test_a_trade_the_venue_names_is_not_inferred_one_it_does_not_is() -> None:
    def text(kind: ExecKind | None) -> str:
        s = state(positions=(pos(n=137_000),), fills=(fill(OrderSide.SELL, 2_000, exec_kind=kind),))
        (ev,) = reconcile([expect(as_of_ms=T0)], [], s, now_ms=NOW)
        assert ev.kind is ReconcileKind.POSITION_CHANGED
        return ev.text

    assert text(ExecKind.TRADE).endswith(
        "1 execution hedgetop did not place: a trade made elsewhere"
    )
    assert "a trade made elsewhere (inferred: the venue does not say" in text(None)
    assert "a position moved from another account" in text(ExecKind.MOVE_POSITION)


def test_other_accounts_and_venues_are_not_compared() -> None:
    s = state(positions=(pos(),))
    others = [expect(1, account="other"), expect(1, venue=Venue.BINANCE)]
    (ev,) = reconcile(others, [], s, now_ms=NOW)
    assert ev.kind is ReconcileKind.POSITION_OPENED  # nothing of "main" was expected


def test_hedge_mode_compares_each_side() -> None:
    s = state(
        venue=Venue.BINANCE,
        positions=(
            pos("BTCUSD_PERP", Side.LONG, 10, venue=Venue.BINANCE, hedged=True),
            pos("BTCUSD_PERP", Side.SHORT, 30, venue=Venue.BINANCE, hedged=True),
        ),
    )
    e = [
        expect(10, Side.LONG, venue=Venue.BINANCE, symbol="BTCUSD_PERP"),
        expect(40, Side.SHORT, venue=Venue.BINANCE, symbol="BTCUSD_PERP"),
    ]
    (ev,) = reconcile(e, [], s, now_ms=NOW)
    assert (ev.kind, ev.expected, ev.exchange) == (ReconcileKind.POSITION_CHANGED, -40, -30)


# --- balances --------------------------------------------------------------------------------


def funding(amount: float, ts: int = T0 + 28_800_000 // 8, ident: str = "f1") -> FundingPayment:
    return FundingPayment(
        venue=Venue.BYBIT,
        symbol="BTCUSD",
        ts_ms=ts,
        amount_coin=amount,
        coin="BTC",
        exchange_id=ident,
    )


def test_a_balance_moved_only_by_the_funding_the_read_reports_is_no_event() -> None:
    s = state(
        positions=(pos(),),
        balances=(wallet(1.6 + 0.0012 - 0.0003),),
        funding=(funding(0.0012), funding(0.5, ts=T0 - 1, ident="before")),
        fills=(fill(OrderSide.SELL, 0, tid="fee", fee_coin=0.0003, fee_currency="BTC"),),
    )
    # the position did not move (a zero-size fill is only there to carry a fee)
    assert reconcile([expect(as_of_ms=T0)], [btc_balance(1.6)], s, now_ms=NOW) == ()


def test_a_balance_move_nothing_explains_is_an_event_with_both_values() -> None:
    s = state(balances=(wallet(1.4012),), funding=(funding(0.0012),))
    (ev,) = reconcile([], [btc_balance(1.6)], s, now_ms=NOW)
    assert ev.kind is ReconcileKind.BALANCE_CHANGED
    assert (ev.expected, ev.exchange, ev.wallet, ev.coin, ev.unit) == (
        1.6,
        1.4012,
        WalletKind.FUTURES,
        "BTC",
        "BTC",
    )
    assert ev.difference == pytest.approx(-0.2)  # what the funding does not explain
    assert "expected 1.6, exchange 1.4012 (\u22120.1988)" in ev.text
    assert "funding and fees since explain +0.0012" in ev.text


def test_the_balance_tolerance_is_a_millionth_of_the_balance() -> None:
    inside = state(balances=(wallet(1.6 * (1 + BALANCE_REL_TOL / 2)),))
    assert reconcile([], [btc_balance(1.6)], inside, now_ms=NOW) == ()
    outside = state(balances=(wallet(1.6 * (1 + BALANCE_REL_TOL * 3)),))
    assert len(reconcile([], [btc_balance(1.6)], outside, now_ms=NOW)) == 1


def test_funding_without_a_time_to_count_from_explains_nothing() -> None:
    s = state(balances=(wallet(1.6012),), funding=(funding(0.0012),))
    (ev,) = reconcile([], [btc_balance(1.6, as_of=None)], s, now_ms=NOW)
    assert ev.difference == pytest.approx(0.0012)


def test_an_emptied_coin_is_zero_but_an_unread_wallet_says_nothing() -> None:
    s = state(balances=(wallet(1.6),))  # a classic account: futures and spot were read
    spot_eth = ExpectedBalance(
        account="main", venue=Venue.BYBIT, wallet=WalletKind.SPOT, coin="ETH", total=3.0
    )
    (ev,) = reconcile([], [spot_eth], s, now_ms=NOW)
    assert (ev.expected, ev.exchange) == (3.0, 0.0)
    binance = state(venue=Venue.BINANCE, notes=("spot wallet not read: rest_url moves dapi",))
    assert WalletKind.SPOT not in wallets_read(binance)
    unread = ExpectedBalance(
        account="main", venue=Venue.BINANCE, wallet=WalletKind.SPOT, coin="SOL", total=400.0
    )
    assert reconcile([], [unread], binance, now_ms=NOW) == ()


# --- a read against itself -------------------------------------------------------------------

_coins = st.sampled_from(["BTC", "ETH", "XRP", "SOL"])


@st.composite
def _states(draw: st.DrawFn) -> AccountState:
    positions = []
    for i, coin in enumerate(draw(st.lists(_coins, unique=True, max_size=4))):
        side = draw(st.sampled_from(list(Side)))
        n = draw(st.integers(1, 10**7))
        positions.append(pos(f"{coin}USD", side, n, coin=coin, mark=float(1 + i)))
    balances = [
        wallet(draw(st.floats(1e-8, 1e6, allow_nan=False)), coin, kind)
        for coin in draw(st.lists(_coins, unique=True, max_size=4))
        for kind in draw(st.sets(st.sampled_from([WalletKind.FUTURES, WalletKind.SPOT])))
    ]
    fills = [
        fill(OrderSide.BUY, draw(st.integers(1, 100)), ts=READ - draw(st.integers(0, 10**6)))
        for _ in range(draw(st.integers(0, 3)))
    ]
    return state(positions=tuple(positions), balances=tuple(balances), fills=tuple(fills))


@given(_states())
def test_a_read_reconciled_against_itself_is_no_event(s: AccountState) -> None:
    positions, balances = expected_from_state(s)
    assert reconcile(positions, balances, s, now_ms=NOW) == ()


# --- adopting the exchange's positions ---------------------------------------------------------


def hedge(**kw: Any) -> HedgeConfig:
    base: dict[str, Any] = {
        "id": "btc",
        "venue": "bybit",
        "symbol": "BTCUSD",
        "coin": "BTC",
        "side": "short",
        "contracts": 135_000,
        "entry": 90_000.0,
        "margin_coin": 1.6,
        "hedges": "BTC",
        "account": "main",
    }
    base.update(kw)
    return HedgeConfig(**base)


def test_the_exchange_replaces_the_configured_positions() -> None:
    s = state(
        positions=(
            pos(n=120_000, entry=91_000.0, margin_coin=0.8, leverage=3.0),
            pos("ETHUSD", Side.LONG, 2_000, coin="ETH", margin_mode=MarginMode.CROSS),
        ),
        balances=(wallet(0.5, "ETH"),),
    )
    manual = hedge(id="manual", account=None, contracts=7)
    gone = hedge(id="sol", symbol="SOLUSD", coin="SOL", hedges="SOL")
    hedges, notes = adopt_positions([hedge(), manual, gone], s)
    by_id = {h.id: h for h in hedges}
    assert list(by_id) == ["btc", "manual", "sol", "main:ETHUSD"]
    btc = by_id["btc"]
    assert (btc.side, btc.contracts, btc.entry, btc.margin_coin, btc.leverage) == (
        "short",
        120_000,
        91_000.0,
        0.8,
        3.0,
    )
    assert by_id["manual"] == manual  # a manual hedge keeps its configured figures
    assert (by_id["sol"].contracts, by_id["sol"].entry) == (0, None)
    eth = by_id["main:ETHUSD"]
    assert (eth.side, eth.contracts, eth.hedges, eth.margin_mode, eth.margin_coin) == (
        "long",
        2_000,
        "ETH",
        "cross",
        0.5,
    )
    assert any("main:ETHUSD" in n and "no hedge names" in n for n in notes)


def test_adopted_positions_reconcile_to_no_event() -> None:
    s = state(positions=(pos(n=120_000),))
    hedges, _ = adopt_positions([hedge()], s)
    expected = expected_positions(hedges, {"main": Venue.BYBIT})
    assert reconcile(expected, [], s, now_ms=NOW) == ()
    engine_says = expected_positions(hedges, {"main": Venue.BYBIT}, contracts={"btc": 1})
    assert reconcile(engine_says, [], s, now_ms=NOW)[0].expected == -1


def test_two_hedges_on_one_position_are_compared_by_their_net() -> None:
    s = state(positions=(pos(n=100_000),))
    both = [expect(60_000, as_of_ms=T0), expect(40_000)]
    assert reconcile(both, [], s, now_ms=NOW) == ()
    (ev,) = reconcile([expect(60_000), expect(50_000)], [], s, now_ms=NOW)
    assert (ev.expected, ev.exchange) == (-110_000, -100_000)
    # adopting gives the position to the first hedge only: the engine never counts it twice
    hedges, notes = adopt_positions([hedge(id="a"), hedge(id="b")], s)
    assert [h.contracts for h in hedges] == [100_000, 0]
    assert any(n.startswith("b: BTCUSD is already held") for n in notes)


def test_the_pnl_an_own_reducing_fill_realised_explains_the_wallet() -> None:
    """A short of 135,000 USD at 90,000 bought back by 40,000 at 91,000 realises
    40,000 · (1/91,000 − 1/90,000) = −0.004884… BTC into the wallet, and pays its fee."""
    realised = 40_000 * (1 / 91_000 - 1 / 90_000)
    fee = 0.00002
    s = state(
        positions=(pos(n=95_000),),
        balances=(wallet(1.6 + realised - fee),),
        fills=(fill(OrderSide.BUY, 40_000, fee_coin=fee, fee_currency="BTC"),),
    )
    then = [expect(as_of_ms=T0, entry=90_000.0)]
    now = [expect(n=95_000, as_of_ms=T0, entry=90_000.0)]
    assert reconcile(now, [btc_balance(1.6)], s, now_ms=NOW, positions_then=then) == ()
    # what the fill does not explain is still said, with the part it does
    off = state(
        positions=s.positions,
        balances=(wallet(1.6 + realised - fee - 0.01),),
        fills=s.fills,
    )
    (ev,) = reconcile(now, [btc_balance(1.6)], off, now_ms=NOW, positions_then=then)
    assert ev.kind is ReconcileKind.BALANCE_CHANGED
    assert ev.difference == pytest.approx(-0.01)
    assert "own fills since realised −0.00488" in ev.text
    assert "may have realised" not in ev.text


def test_an_increase_averages_the_entry_before_a_later_reduction_realises() -> None:
    # sell 45,000 more at 91,000 (entry becomes the harmonic mean), then buy 90,000 back
    entry = 180_000 / (135_000 / 90_000 + 45_000 / 91_000)
    realised = 90_000 * (1 / 91_000 - 1 / entry)
    fills = (
        fill(OrderSide.SELL, 45_000, ts=T0 + 1_000, tid="a"),
        fill(OrderSide.BUY, 90_000, ts=T0 + 2_000, tid="b"),
    )
    s = state(positions=(pos(n=90_000),), balances=(wallet(1.6 + realised),), fills=fills)
    then = [expect(as_of_ms=T0, entry=90_000.0)]
    now = [expect(n=90_000, as_of_ms=T0, entry=entry)]
    assert reconcile(now, [btc_balance(1.6)], s, now_ms=NOW, positions_then=then) == ()


def test_free_wallet_coins_are_the_wallet_less_the_isolated_margins() -> None:
    read = state(
        positions=(
            pos(margin_coin=0.6),
            pos("ETHUSD", coin="ETH", margin_coin=2.0),
            pos("XRPUSD", coin="XRP", margin_mode=MarginMode.CROSS),
        ),
        balances=(
            wallet(1.0),
            wallet(2.0, "ETH"),  # every coin of it backs the position
            wallet(5_000.0, "XRP"),  # a cross position's margin is the whole wallet already
            wallet(3.0, "SOL"),  # no position: all free
            wallet(9.0, "ADA", WalletKind.UNIFIED),  # it holds the spot coins too: left out
        ),
    )
    free = free_wallet_coins(read)
    assert free == pytest.approx({"BTC": 0.4, "ETH": 0.0, "SOL": 3.0})
