"""Real orders through ccxt, with a fake exchange: gates, what is sent, what is recorded, and
that the API keys never surface. No network, no real ccxt call."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ccxt.base import errors as ccxt_errors

from core.brokers.ccxt_live import CcxtLiveBroker, OrderFailed, OrderRefused, TradingDisabled
from core.config import BrokerConfig, parse_config
from core.engine import Engine, PlanRefused
from core.events import AlertEvent, Fill, Kind, OrderSide, Quote
from core.instruments import lookup
from core.ledger import MemoryLedger
from core.session import LiveSession

NOW = 1_764_100_000_000
KEY, SECRET, PASS = "Kq7sEcReTkEy0001", "Zz9topSECRETvalue42", "pa55phr4se-okx"
ENV = {
    "HEDGETOP_DERIBIT_API_KEY": KEY,
    "HEDGETOP_DERIBIT_API_SECRET": SECRET,
    "HEDGETOP_BYBIT_API_KEY": KEY,
    "HEDGETOP_BYBIT_API_SECRET": SECRET,
    "HEDGETOP_BINANCE_API_KEY": KEY,
    "HEDGETOP_BINANCE_API_SECRET": SECRET,
    "HEDGETOP_OKX_API_KEY": KEY,
    "HEDGETOP_OKX_API_SECRET": SECRET,
    "HEDGETOP_OKX_PASSPHRASE": PASS,
}

PORTFOLIO = """
[[holdings]]
coin = "BTC"
amount = 1.0
[[holdings]]
coin = "ETH"
amount = 10.0
[[hedges]]
id = "btc"
venue = "bybit"
symbol = "BTCUSD"
contracts = 50000
entry = 100000
margin = 0.5
[[hedges]]
id = "eth"
venue = "binance"
symbol = "ETHUSD_PERP"
contracts = 1000
entry = 2000
margin = 5
[[hedges]]
id = "btc-deribit"
venue = "deribit"
symbol = "BTC-PERPETUAL"
contracts = 0
margin = 0.1
[[hedges]]
id = "eth-okx"
venue = "okx"
symbol = "ETH-USD-SWAP"
contracts = 0
margin = 1
"""

LIVE = PORTFOLIO + '[broker]\nkind = "ccxt"\ntrading_enabled = true\nfee_rate = 0.0004\n'


class FakeExchange:
    """Records what the broker does; answers ``create_order`` with ``answer`` (or raises)."""

    def __init__(self, ccxt_id: str, params: dict[str, Any], script: dict[str, Any]) -> None:
        self.ccxt_id = ccxt_id
        self.params = params
        self.script = script
        self.sandbox: bool | None = None
        self.orders: list[tuple[Any, ...]] = []
        self.fetched: list[tuple[str, str]] = []
        self.looked_up: list[tuple[str, dict[str, Any]]] = []
        self.cancelled: list[str] = []
        self.closed = False

    def set_sandbox_mode(self, on: bool) -> None:
        self.sandbox = on

    async def create_order(self, *args: Any) -> dict[str, Any]:
        self.orders.append(args)
        creates = self.script.get("creates")
        if creates:  # one scripted answer (or error) per send
            step = creates.pop(0)
            if isinstance(step, Exception):
                raise step
            return dict(step)
        exc = self.script.get("raise")
        if exc is not None:
            raise exc
        answer = self.script["answer"]
        return dict(answer(args) if callable(answer) else answer)

    async def fetch_order(
        self, order_id: str | None, symbol: str, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        if order_id is None:  # by client order id (Binance, OKX): the fake never has it
            self.looked_up.append((symbol, dict(params or {})))
            raise ccxt_errors.OrderNotFound("Order does not exist")
        self.fetched.append((order_id, symbol))
        return dict(self.script.get("fetched", {}))

    async def fetch_open_order(self, order_id: str, symbol: str) -> dict[str, Any]:
        return await self.fetch_order(order_id, symbol)  # Bybit: /v5/order/realtime by id

    async def fetch_open_orders(
        self, symbol: str, since: Any = None, limit: Any = None, params: Any = None
    ) -> list[dict[str, Any]]:
        self.looked_up.append((symbol, dict(params or {})))
        lookups = self.script.get("lookups")
        step = lookups.pop(0) if lookups else []
        if isinstance(step, Exception):
            raise step
        return [dict(o) for o in (step(self) if callable(step) else step)]

    async def cancel_order(self, order_id: str, symbol: str) -> dict[str, Any]:
        self.cancelled.append(order_id)
        return {"id": order_id}

    async def close(self) -> None:
        self.closed = True


class Factory:
    def __init__(self, **script: Any) -> None:
        self.script = script
        self.made: list[FakeExchange] = []

    def __call__(self, ccxt_id: str, params: dict[str, Any]) -> FakeExchange:
        ex = FakeExchange(ccxt_id, params, self.script)
        self.made.append(ex)
        return ex

    @property
    def last(self) -> FakeExchange:
        return self.made[-1]


def filled(price: float, *, fee: float | None = None, coin: str = "BTC") -> Any:
    """An answer filling the whole amount asked at ``price``."""

    def answer(args: tuple[Any, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": "ord-1",
            "status": "closed",
            "amount": args[3],
            "filled": args[3],
            "average": price,
        }
        if fee is not None:
            out["fee"] = {"cost": fee, "currency": coin}
        return out

    return answer


class SteppedTime:
    """The broker's clock and sleep: a sleep moves the clock, nothing waits."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def stepped(s: LiveSession) -> SteppedTime:
    """Put ``s``'s live broker on a stepped clock."""
    t = SteppedTime()
    assert s.live_broker is not None
    s.live_broker.clock = t.clock
    s.live_broker.sleep = t.sleep
    return t


def session(
    text: str = LIVE,
    *,
    factory: Factory | None = None,
    env: Any = None,
    wall: Callable[[], int] = lambda: NOW,
) -> LiveSession:
    s = LiveSession(
        parse_config(text),
        wall_clock=wall,
        environ=ENV if env is None else env,
        exchange_factory=factory,
    )
    for venue, symbol, mark in (
        ("bybit", "BTCUSD", 100_000.0),
        ("binance", "ETHUSD_PERP", 2_000.0),
        ("okx", "ETH-USD-SWAP", 2_000.0),
        ("deribit", "BTC-PERPETUAL", 100_000.0),
    ):
        s.engine.on_quote(
            Quote(
                venue=venue,
                symbol=symbol,
                kind=Kind.INVERSE_PERP,
                mark=mark,
                index=mark,
                received_ms=NOW,
            )
        )
    return s


# --- gates ------------------------------------------------------------------------------------


def test_each_config_gate_refuses_with_its_own_line() -> None:
    paper = session(PORTFOLIO)
    assert not paper.live_trading
    assert paper.trading_refusal is None
    off = session(PORTFOLIO + '[broker]\nkind = "ccxt"\n')
    assert not off.live_trading
    assert off.trading_refusal is not None
    assert "trading_enabled = true" in off.trading_refusal
    plan = off.plan_resize("btc", delta_contracts=100)
    with pytest.raises(PlanRefused, match="trading_enabled"):
        off.execute(plan)  # no silent paper fill when the config asked for real orders
    with pytest.raises(TradingDisabled, match='kind = "ccxt"'):
        CcxtLiveBroker(BrokerConfig(trading_enabled=True))
    sim = session(LIVE + "[simulator]\nenabled = true\n")
    assert not sim.live_trading
    assert "simulator" in (sim.trading_refusal or "")


async def test_confirmation_and_keys_are_gates_too() -> None:
    factory = Factory(answer=filled(100_000.0))
    s = session(factory=factory)
    assert s.live_trading
    plan = s.plan_resize("btc", delta_contracts=1000)
    with pytest.raises(PlanRefused, match="real orders"):
        s.execute(plan)  # the paper path refuses in a live session
    with pytest.raises(TradingDisabled, match="confirmation"):
        await s.execute_live(plan, confirmed=False)
    nokeys = session(factory=factory, env={})
    refused = nokeys.plan_resize("btc", delta_contracts=1000)
    assert not refused.ok
    assert refused.refusal == (
        "set HEDGETOP_BYBIT_API_KEY, HEDGETOP_BYBIT_API_SECRET in the environment to trade on bybit"
    )
    with pytest.raises(TradingDisabled, match="HEDGETOP_BYBIT_API_KEY"):
        await nokeys.live_broker.place(  # type: ignore[union-attr]
            s.plan_resize("btc", delta_contracts=1000), confirmed=True
        )
    assert factory.made == []  # nothing ever reached an exchange
    assert s.ledger.load() == []
    assert nokeys.ledger.load() == []


# --- what is sent -----------------------------------------------------------------------------


async def test_order_sent_in_the_venue_unit_with_reduce_only_and_client_id() -> None:
    factory = Factory(answer=filled(2_000.0, coin="ETH"))
    s = session(factory=factory)
    # Binance COIN-M: amount in contracts (10 USD each for ETH); reducing a short buys
    out = await s.execute_live(s.plan_resize("eth", delta_contracts=-30), confirmed=True)
    ex = factory.last
    assert ex.ccxt_id == "binancecoinm"
    symbol, kind, side, amount, price, params = ex.orders[0]
    assert (symbol, kind, side, amount, price) == ("ETH/USD:ETH", "market", "buy", 30.0, None)
    assert params["reduceOnly"] is True
    assert re.fullmatch(r"[A-Za-z0-9]{1,32}", params["clientOrderId"])
    assert out.result.client_order_id == params["clientOrderId"]
    assert not ex.closed  # kept for the session's next order
    assert ex.sandbox is None
    # Bybit inverse: amount in USD (1 USD contracts); enlarging a short sells, no reduceOnly
    await s.execute_live(s.plan_resize("btc", delta_contracts=2_500), confirmed=True)
    symbol, kind, side, amount, _price, params2 = factory.last.orders[0]
    assert (factory.last.ccxt_id, symbol, side, amount) == ("bybit", "BTC/USD:BTC", "sell", 2500)
    assert "reduceOnly" not in params2
    assert params2["clientOrderId"] != params["clientOrderId"]
    # OKX: the passphrase goes to ccxt as password; the keys only ever to the factory
    await s.execute_live(s.plan_resize("eth-okx", delta_contracts=5), confirmed=True)
    okx = factory.last
    assert okx.ccxt_id == "okx"
    assert okx.orders[0][3] == 5.0
    assert {okx.params[k] for k in ("apiKey", "secret", "password")} == {KEY, SECRET, PASS}
    # Deribit: amount in USD (10 USD contracts), the client id goes in ``label``
    await s.execute_live(s.plan_resize("btc-deribit", delta_contracts=3), confirmed=True)
    der = factory.last
    assert (der.ccxt_id, der.orders[0][0], der.orders[0][3]) == ("deribit", "BTC/USD:BTC", 30.0)
    assert re.fullmatch(r"[A-Za-z0-9]{1,32}", der.orders[0][5]["label"])
    assert [ex.ccxt_id for ex in factory.made] == ["binancecoinm", "bybit", "okx", "deribit"]
    await s.stop()  # closes the clients the broker kept
    assert all(ex.closed for ex in factory.made)


async def test_sandbox_mode_is_set_when_configured() -> None:
    factory = Factory(answer=filled(100_000.0))
    s = session(LIVE + "sandbox = true\n", factory=factory)
    assert s.config.broker.sandbox
    await s.execute_live(s.plan_resize("btc", delta_contracts=100), confirmed=True)
    assert factory.last.sandbox is True


# --- what is recorded -------------------------------------------------------------------------


async def test_full_fill_recorded_at_the_exchange_price_and_fee() -> None:
    factory = Factory(answer=filled(99_500.0, fee=0.00031))
    s = session(factory=factory)
    heard: list[Fill] = []
    s.on_fill.append(heard.append)
    plan = s.plan_resize("btc", delta_contracts=10_000)
    out = await s.execute_live(plan, confirmed=True)
    assert out.fill is not None
    assert not out.problem
    assert out.result.status == "filled"
    f = out.fill
    assert (f.price, f.fee_coin, f.contracts, f.broker) == (99_500.0, 0.00031, 10_000, "ccxt")
    assert f.side is OrderSide.SELL
    assert f.contracts_after == 60_000
    # the entry averages inversely: 60000 / (50000/100000 + 10000/99500)
    assert f.entry_after == pytest.approx(60_000 / (0.5 + 10_000 / 99_500))
    assert s.ledger.load() == [f]
    assert heard == [f]
    snap = s.tick()
    btc = snap.hedge("btc")
    assert btc is not None
    assert btc.contracts == 60_000


async def test_fee_falls_back_to_the_configured_rate() -> None:
    factory = Factory(answer=filled(100_000.0, fee=1.5, coin="USDT"))  # not in the coin
    s = session(factory=factory)
    out = await s.execute_live(s.plan_resize("btc", delta_contracts=4_000), confirmed=True)
    assert out.fill is not None
    assert out.fill.fee_coin == pytest.approx(4_000 / 100_000 * 0.0004)


async def test_apply_fill_moves_the_position_exactly_like_a_paper_fill() -> None:
    cfg = parse_config(PORTFOLIO)
    paper, live = (Engine(cfg, None, MemoryLedger(), NOW) for _ in range(2))
    q = Quote(venue="bybit", symbol="BTCUSD", kind=Kind.INVERSE_PERP, mark=90_000.0)
    for e in (paper, live):
        e.on_quote(q)
    for delta in (-20_000, 7_000):
        p1 = paper.plan_resize("btc", delta_contracts=delta, now_ms=NOW)
        p2 = live.plan_resize("btc", delta_contracts=delta, now_ms=NOW)
        a = paper.execute(p1, NOW)
        b = live.apply_fill(p2, a.price, a.contracts, a.fee_coin, NOW)
        assert b.broker == "ccxt"
        assert (b.contracts_after, b.entry_after, b.realized_pnl_coin) == (
            a.contracts_after,
            a.entry_after,
            a.realized_pnl_coin,
        )
    assert paper.snapshot(NOW).hedges == live.snapshot(NOW).hedges
    stale = live.plan_resize("btc", delta_contracts=10, now_ms=NOW)
    with pytest.raises(PlanRefused, match="between 1 and the 10"):
        live.apply_fill(stale, 90_000.0, 11, 0.0, NOW)


async def test_partial_fill_records_only_the_filled_part_and_reports() -> None:
    answer = {"id": "o2", "status": "canceled", "amount": 3_000, "filled": 1_200, "average": 101e3}
    factory = Factory(answer=answer)
    s = session(factory=factory)
    alerts: list[AlertEvent] = []
    s.on_alert.append(alerts.append)
    out = await s.execute_live(s.plan_resize("btc", delta_contracts=3_000), confirmed=True)
    assert out.problem
    assert out.result.status == "partial"
    assert out.fill is not None
    assert out.fill.contracts == 1_200
    assert out.fill.contracts_after == 51_200
    assert out.fill.price == 101_000.0
    assert "1,200 of 3,000" in out.message
    assert s.ledger.load() == [out.fill]
    assert len(alerts) == 1
    assert alerts[0].rule == "order"
    assert "1,200 of 3,000" in alerts[0].message


async def test_market_order_answered_before_it_filled_is_fetched_once() -> None:
    factory = Factory(
        answer={"id": "o3", "status": "open", "filled": None},
        fetched={"status": "closed", "filled": 700.0, "average": 100_100.0},
    )
    s = session(factory=factory)
    out = await s.execute_live(s.plan_resize("btc", delta_contracts=700), confirmed=True)
    assert factory.last.fetched == [("o3", "BTC/USD:BTC")]
    assert out.fill is not None
    assert out.fill.contracts == 700
    assert out.fill.price == 100_100.0


async def test_rejected_order_records_nothing_and_reports() -> None:
    factory = Factory(answer={"id": "o4", "status": "rejected", "filled": 0.0, "amount": 50})
    s = session(factory=factory)
    alerts: list[AlertEvent] = []
    s.on_alert.append(alerts.append)
    out = await s.execute_live(s.plan_resize("btc", delta_contracts=50), confirmed=True)
    assert out.fill is None
    assert out.problem
    assert out.result.status == "rejected"
    assert "rejected" in out.message
    assert "nothing recorded" in out.message
    assert s.ledger.load() == []
    assert len(alerts) == 1
    assert s.tick().hedge("btc").contracts == 50_000  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (ccxt_errors.InsufficientFunds('bybit {"retMsg":"ab not enough"}'), "insufficient"),
        (ccxt_errors.NetworkError("connection reset"), "network error reaching bybit"),
        (ccxt_errors.RequestTimeout("timed out"), "MAY have been placed"),
        (ccxt_errors.InvalidOrder("qty too small"), "bybit rejected sell"),
        (ValueError("boom"), "order failed on bybit"),
    ],
)
async def test_errors_are_one_line_and_record_nothing(exc: Exception, expected: str) -> None:
    factory = Factory(**{"raise": exc})
    s = session(factory=factory)
    time = stepped(s)
    with pytest.raises(OrderFailed) as info:
        await s.execute_live(s.plan_resize("btc", delta_contracts=100), confirmed=True)
    msg = str(info.value)
    assert expected in msg
    assert "\n" not in msg
    assert s.ledger.load() == []
    ex = factory.last
    if isinstance(exc, ccxt_errors.NetworkError):  # maybe placed: looked up before each resend
        assert len(ex.orders) == 3
        assert len({o[5]["clientOrderId"] for o in ex.orders}) == 1  # the same id every time
        assert len(ex.looked_up) == 3
        assert ex.looked_up[0][1] == {"orderLinkId": ex.orders[0][5]["clientOrderId"]}
        assert time.slept == [1.0, 2.0, 3.0]
        assert "not found on the venue after 3 sends" in msg
    else:  # refused outright: never resent
        assert len(ex.orders) == 1
        assert ex.looked_up == []


async def test_keys_never_appear_in_messages_reprs_or_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    leaky = ccxt_errors.AuthenticationError(
        f'bybit {{"retCode":10003,"retMsg":"API key {KEY} is invalid","sign":"{SECRET}"}}'
    )
    s = session(factory=Factory(**{"raise": leaky}))
    seen: list[str] = [repr(s.live_broker), repr(s)]
    with pytest.raises(OrderFailed) as auth:
        await s.execute_live(s.plan_resize("btc", delta_contracts=100), confirmed=True)
    seen.append(str(auth.value))
    assert "HEDGETOP_BYBIT_API_KEY" in str(auth.value)  # says what to check, not the value
    other = ccxt_errors.ExchangeError(f"okx says {PASS} / {SECRET} bad\nsecond line")
    s2 = session(factory=Factory(**{"raise": other}))
    with pytest.raises(OrderFailed) as exch:
        await s2.execute_live(s2.plan_resize("eth-okx", delta_contracts=3), confirmed=True)
    seen.append(str(exch.value))
    s3 = session(factory=Factory(answer=filled(100_000.0)))
    ok = await s3.execute_live(s3.plan_resize("btc", delta_contracts=100), confirmed=True)
    seen += [repr(ok), ok.message, repr(s3.ledger.load())]
    seen += [r.getMessage() for r in caplog.records]
    text = "\n".join(seen)
    assert "***" in str(exch.value)
    for secret in (KEY, SECRET, PASS):
        assert secret not in text


def test_sandbox_is_a_documented_config_key() -> None:
    assert not parse_config("").broker.sandbox
    assert parse_config("[broker]\nsandbox = true\n").broker.sandbox
    spec = lookup("binance", "ETHUSD_PERP")
    assert spec.face_value_usd == 10.0  # the unit the amount test above relies on


async def test_default_factory_builds_the_real_ccxt_class_in_sandbox_mode() -> None:
    """The real ccxt classes, built offline: only ``create_order`` is replaced (no network)."""
    from core.brokers.ccxt_live import _default_factory

    built: list[Any] = []

    def factory(ccxt_id: str, params: dict[str, Any]) -> Any:
        ex = _default_factory(ccxt_id, params)

        async def create_order(*args: Any) -> dict[str, Any]:
            return dict(filled(100_000.0)(args))

        ex.create_order = create_order
        built.append(ex)
        return ex

    s = session(LIVE + "sandbox = true\n", factory=factory)
    out = await s.execute_live(s.plan_resize("btc", delta_contracts=100), confirmed=True)
    await s.execute_live(s.plan_resize("eth", delta_contracts=1), confirmed=True)
    assert out.fill is not None
    assert [type(ex).__name__ for ex in built] == ["bybit", "binancecoinm"]
    assert "testnet" in str(built[0].urls["api"])
    assert "testnet" in str(built[1].urls["api"])
    assert built[0].apiKey == KEY
    assert KEY not in repr(s.live_broker)
    await s.stop()


def test_config_check_names_missing_keys_never_their_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tui.cli import main

    path = tmp_path / "live.toml"
    path.write_text(LIVE + "sandbox = true\n")
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HEDGETOP_BYBIT_API_KEY", KEY)
    monkeypatch.setenv("HEDGETOP_BYBIT_API_SECRET", SECRET)
    assert main(["config", "check", str(path)]) == 0
    out = capsys.readouterr().out
    broker = next(line for line in out.splitlines() if line.startswith("broker:"))
    assert "sandbox" in broker
    assert "bybit keys set" in broker
    assert "set HEDGETOP_BINANCE_API_KEY, HEDGETOP_BINANCE_API_SECRET" in broker
    assert KEY not in out
    assert SECRET not in out


# --- guards, retries and the new [broker] keys -------------------------------------------------


def sent_as(status: str, filled: float) -> Any:
    """A look-up answer: the order the fake was sent, as the venue holds it."""

    def rows(ex: FakeExchange) -> list[dict[str, Any]]:
        cid = ex.orders[0][5]["clientOrderId"]
        return [{"id": "o7", "clientOrderId": cid, "status": status, "filled": filled}]

    return rows


async def test_a_duplicate_id_answer_means_placed_and_is_followed_not_resent() -> None:
    factory = Factory(
        creates=[
            ccxt_errors.RequestTimeout("bybit POST /v5/order/create timed out"),
            ccxt_errors.InvalidOrder(
                'bybit {"retCode":110072,"retMsg":"OrderLinkedID is duplicate"}'
            ),
        ],
        lookups=[[], sent_as("closed", 500.0)],  # absent after the timeout, there after
    )
    s = session(factory=factory)
    stepped(s)
    out = await s.execute_live(s.plan_resize("btc", delta_contracts=500), confirmed=True)
    ex = factory.last
    cid = out.result.client_order_id
    assert len(ex.orders) == 2  # sent, looked up (absent), sent again with the same id
    assert [o[5]["clientOrderId"] for o in ex.orders] == [cid, cid]
    assert out.result.status == "filled"
    assert out.result.order_id == "o7"
    assert [f.contracts for f in s.ledger.load()] == [500]
    assert [q[1] for q in ex.looked_up] == [{"orderLinkId": cid}] * 2


async def test_an_order_found_by_its_client_id_is_followed() -> None:
    factory = Factory(
        creates=[ccxt_errors.NetworkError("connection reset")],
        lookups=[sent_as("open", 0.0)],
        fetched={"status": "closed", "filled": 300.0, "average": 100_050.0},
    )
    s = session(factory=factory)
    stepped(s)
    out = await s.execute_live(s.plan_resize("btc", delta_contracts=300), confirmed=True)
    assert len(factory.last.orders) == 1  # never resent
    assert factory.last.fetched == [("o7", "BTC/USD:BTC")]  # followed by the venue's id
    assert out.fill is not None
    assert (out.fill.contracts, out.fill.price) == (300, 100_050.0)


async def test_a_failed_look_up_never_resends_blind() -> None:
    lost = ccxt_errors.NetworkError("network down")
    factory = Factory(
        creates=[ccxt_errors.RequestTimeout("timed out")], lookups=[lost, lost, lost, lost]
    )
    s = session(factory=factory)
    stepped(s)
    with pytest.raises(OrderFailed, match=r"MAY have been placed.*could not be looked up"):
        await s.execute_live(s.plan_resize("btc", delta_contracts=100), confirmed=True)
    assert len(factory.last.orders) == 1
    assert s.ledger.load() == []


async def test_a_limit_is_set_from_the_mark_on_the_tick_and_cancelled_when_unfilled() -> None:
    factory = Factory(
        answer={"id": "o5", "status": "open", "filled": 0.0}, fetched={"status": "open"}
    )
    s = session(
        LIVE + 'order_type = "limit"\nlimit_tolerance_bps = 7\nlimit_timeout_s = 4\n',
        factory=factory,
    )
    t = stepped(s)
    out = await s.execute_live(s.plan_resize("btc", delta_contracts=1_000), confirmed=True)
    ex = factory.last
    _sym, kind, side, _amount, price, _params = ex.orders[0]
    # a sell (enlarging the short) at most 7 bps under the 100,000 mark, on the 0.5 tick
    assert (kind, side, price) == ("limit", "sell", 99_930.0)
    assert ex.cancelled == ["o5"]
    assert 4.0 <= sum(t.slept) <= 4.0 + 10.0 + 0.5
    assert out.result.status == "unknown"  # the venue never said it was cancelled
    assert "still open" in out.message


@pytest.mark.parametrize(
    ("side", "mark", "bps", "tick", "expected"),
    [
        ("buy", 100_000.0, 10, 0.5, 100_100.0),
        ("sell", 100_000.0, 10, 0.5, 99_900.0),
        ("buy", 100_000.3, 0, 0.5, 100_000.0),  # never beyond the tolerance: down for a buy
        ("sell", 100_000.3, 0, 0.5, 100_000.5),  # ... up for a sell
        ("buy", 0.42, 25, 0.0001, 0.421),
        ("sell", 2_000.0, 5, 0.01, 1_999.0),
    ],
)
def test_limit_price_moves_against_us_within_the_tolerance(
    side: str, mark: float, bps: float, tick: float, expected: float
) -> None:
    from core.brokers.ccxt_live import limit_price

    assert limit_price(side, mark, bps, tick) == pytest.approx(expected, abs=tick / 1000)


async def test_stale_prices_at_send_time_refuse_and_send_nothing() -> None:
    factory = Factory(answer=filled(100_000.0))
    now = [NOW]
    s = session(factory=factory, wall=lambda: now[0])
    plan = s.plan_resize("btc", delta_contracts=100)
    assert plan.ok
    now[0] += s.config.feeds.stale_after_ms + 1  # the preview sat there, the feed went quiet
    with pytest.raises(OrderRefused, match="not sent: bybit BTCUSD prices are stale"):
        await s.execute_live(plan, confirmed=True)
    assert factory.made == []


async def test_an_unknown_account_position_refuses() -> None:
    acct = '[[accounts]]\nname = "main"\nvenue = "bybit"\n'
    text = LIVE.replace('symbol = "BTCUSD"\n', 'symbol = "BTCUSD"\naccount = "main"\n', 1)
    factory = Factory(answer=filled(100_000.0))
    s = session(acct + text, factory=factory)
    assert s.live_trading, s.trading_refusal
    with pytest.raises(OrderRefused, match=r"position of btc is unknown.*main not read yet"):
        await s.execute_live(s.plan_resize("btc", delta_contracts=100), confirmed=True)
    assert factory.made == []


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('order_type = "stop"', "order_type"),
        ("limit_tolerance_bps = -1", "limit_tolerance_bps"),
        ("limit_tolerance_bps = 5000", "limit_tolerance_bps"),
        ("limit_timeout_s = 0", "limit_timeout_s"),
        ('limit_timeout_s = "30"', "limit_timeout_s"),
        ("max_contracts_per_day = 0", "max_contracts_per_day"),
        ("max_contracts_per_day = 1.5", "max_contracts_per_day"),
        ("max_usd_per_day = -10", "max_usd_per_day"),
        ("min_order_interval_s = -1", "min_order_interval_s"),
        ("min_order_interval_s = true", "min_order_interval_s"),
    ],
)
def test_new_broker_keys_are_checked_with_file_line_key_and_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, key: str
) -> None:
    from core.config import ConfigError
    from tui.cli import main

    text = f'[broker]\nkind = "paper"\n{line}\n'
    with pytest.raises(ConfigError) as info:
        parse_config(text, source="cfg.toml")
    msg = str(info.value)
    assert msg.startswith(f"cfg.toml:3: broker.{key} = "), msg
    assert line.split(" = ", 1)[1].strip('"') in msg.lower()
    path = tmp_path / "c.toml"
    path.write_text(text)
    assert main(["config", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"broker.{key}" in err
    assert "Traceback" not in err


def test_new_broker_keys_defaults_and_values() -> None:
    d = parse_config("").broker
    assert (d.order_type, d.limit_tolerance_bps, d.limit_timeout_s) == ("market", 10.0, 30.0)
    assert (d.max_contracts_per_day, d.max_usd_per_day, d.min_order_interval_s) == (None, None, 2.0)
    b = parse_config(
        '[broker]\norder_type = "Limit"\nlimit_tolerance_bps = 3\nlimit_timeout_s = 12\n'
        "max_contracts_per_day = 50000\nmax_usd_per_day = 25000\nmin_order_interval_s = 0\n"
    ).broker
    assert (b.order_type, b.limit_tolerance_bps, b.limit_timeout_s) == ("limit", 3.0, 12.0)
    assert (b.max_contracts_per_day, b.max_usd_per_day, b.min_order_interval_s) == (
        50_000,
        25_000.0,
        0.0,
    )
