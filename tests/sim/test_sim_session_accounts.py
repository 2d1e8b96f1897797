"""``LiveSession`` keeps the configured accounts live (issue 12 §2): on the built-in simulator
an account without URLs of its own is read there through the unchanged ccxt, with the
simulator's keys; the exchange's figures replace the configured ones in the engine; a trade
made elsewhere is one reconciliation line on the session, never silent."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import ccxt.async_support as ccxt
import pytest
from sim_ccxt_clients import bybit_config

from core.accounts.model import AccountReadError, AccountState
from core.accounts.reconcile import ReconcileKind
from core.config import AccountConfig, parse_config
from core.events import Fill
from core.ledger import MemoryLedger
from core.session import LiveSession
from core.session.accounts import AccountReader
from storage.account_log import AccountLog
from storage.recorder import Recorder
from tui.commands._session import wire_recorder

CONFIG = """
[[holdings]]
coin = "BTC"
amount = 2.0

[[accounts]]
name = "main"
venue = "bybit"

[[hedges]]
id = "b"
venue = "bybit"
symbol = "BTCUSD"
contracts = 100000
entry = 90000
margin = 1.2
account = "main"

[simulator]
enabled = true
"""
SECRET = "never-on-screen-9f2c"


def session() -> LiveSession:
    # the user's real keys are in the environment: the simulator must not be sent them
    env = {"HEDGETOP_BYBIT_API_KEY": "real-key", "HEDGETOP_BYBIT_API_SECRET": SECRET}
    return LiveSession(
        parse_config(CONFIG),
        tick_ms=100,
        sim_autostep=False,
        environ=env,
        account_interval_s=3600.0,  # the test reads; the loop's read at start is the other
        account_streams=False,  # a stream would read first (tests/sim/test_sim_account_streams.py)
        notify=False,
    )


async def test_the_account_is_read_adopted_and_a_trade_elsewhere_is_said(clients: Any) -> None:
    s = session()
    assert s.accounts is not None
    async with s:
        first = await s.accounts.read_one("main")
        assert first.problem is None, first.problem
        assert first.events == ()  # the simulator was seeded from this config: no difference
        (held,) = s.engine.held()
        assert (held.side, held.contracts, held.entry) == ("short", 100_000, 90_000)
        assert s.sim is not None
        app = clients(ccxt.bybit, bybit_config(s.sim, secret=s.sim.seed_accounts.api_secret))
        await app.create_order("BTC/USD:BTC", "market", "buy", 5_000, None, {})  # elsewhere
        read = await s.accounts.read_one("main")
        (event,) = [e for e in read.events if e.symbol == "BTCUSD"]
        assert event.kind is ReconcileKind.POSITION_CHANGED
        assert (event.expected, event.exchange, event.difference) == (-100_000, -95_000, 5_000)
        (held,) = s.engine.held()
        assert held.contracts == 95_000  # the exchange replaced the configured figure
        snap = s.tick()
        hedge = snap.hedge("b")
        assert hedge is not None
        assert hedge.contracts == 95_000
        # the exchange's own figures ride beside ours: its funding window was read
        assert hedge.funding_received_since_ms is not None
        assert hedge.funding_received_coin == 0.0  # no settlement in this window yet
        assert any(n.startswith("account main: ") and "95,000" in n for n in s.account_notes)
        again = await s.accounts.read_one("main")
        assert [e for e in again.events if e.symbol == "BTCUSD"] == []  # said once
    assert all(SECRET not in n for n in s.account_notes)


async def test_a_failed_read_is_said_once_and_keeps_the_last_state() -> None:
    s = session()
    assert s.accounts is not None
    async with s:
        await s.accounts.read_one("main")
        watch = s.accounts.watches["main"]
        last_ok = watch.last_ok_ms
        assert watch.state is not None
        assert s.sim is not None
        await s.sim.stop()  # the venue goes away
        one = await s.accounts.read_one("main")
        two = await s.accounts.read_one("main")
        assert one.problem is not None
        assert one.new_problem
        assert two.problem == one.problem
        assert not two.new_problem
        assert watch.state is not None  # the last good read stays, its age grows
        assert watch.last_ok_ms == last_ok
        said = [n for n in s.account_notes if one.problem in n]
        assert len(said) == 1
        assert last_ok is not None
        (health,) = s.accounts.health(last_ok + 1_000)
        assert (health.name, health.age_ms, health.problem) == ("main", 1_000, one.problem)


async def test_reads_go_into_the_history_once(clients: Any, tmp_path: Path) -> None:
    """The dashboard's wiring: each read's fills, funding and events reach the database, and
    reading the same window again (as a restart does) doubles nothing."""
    db = tmp_path / "history.db"
    recorder = Recorder(db)
    s = session()
    assert s.accounts is not None
    wire_recorder(s, recorder, 1000)
    try:
        async with s:
            await s.accounts.read_one("main")
            assert s.sim is not None
            app = clients(ccxt.bybit, bybit_config(s.sim, secret=s.sim.seed_accounts.api_secret))
            await app.create_order("BTC/USD:BTC", "market", "buy", 5_000, None, {})
            await s.accounts.read_one("main")
            await s.accounts.read_one("main")
    finally:
        recorder.close()
    with AccountLog(db) as log:
        fills = log.fills("main")
        events = log.events("main")
    assert len(fills) == 1
    assert fills[0][1].contracts == 5_000
    assert [(e.kind, e.expected, e.exchange) for e in events if e.symbol] == [
        (ReconcileKind.POSITION_CHANGED, -100_000, -95_000)
    ]
    # the reducing fill realised PnL into the wallet, which a fill does not carry: said too
    (wallet,) = [e for e in events if not e.symbol]
    assert wallet.kind is ReconcileKind.BALANCE_CHANGED
    assert wallet.expected == 1.2
    assert wallet.exchange < 1.2


async def test_the_accounts_are_first_read_once_every_hedge_is_priced() -> None:
    """The reads (ccxt's import, a dozen requests each) must not delay the first frame with
    live numbers: the first one waits for the first snapshot that prices every hedge."""
    priced_at_read: list[bool] = []
    s = LiveSession(
        parse_config(CONFIG),
        tick_ms=50,
        account_reader=_recording_reader(lambda: priced_at_read.append(s.priced.is_set())),
        account_streams=False,
        account_interval_s=3600.0,
        notify=False,
    )
    async with s:
        await s.wait_for(lambda snap: bool(priced_at_read), timeout=8.0)
    assert priced_at_read[0] is True


async def test_the_accounts_are_read_without_prices_after_the_wait(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A feed that never prices must not keep the accounts unread."""
    from core.session import live

    monkeypatch.setattr(live, "ACCOUNTS_AFTER_S", 0.05)
    priced_at_read: list[bool] = []
    config = parse_config(CONFIG.replace("enabled = true", "enabled = false"))
    s = LiveSession(
        config,
        tick_ms=50,
        urls={
            ("bybit", "inverse"): "ws://127.0.0.1:9/none",
            ("bybit", "spot"): "ws://127.0.0.1:9/none",
        },
        account_reader=_recording_reader(lambda: priced_at_read.append(s.priced.is_set())),
        account_streams=False,
        account_interval_s=3600.0,
        notify=False,
    )
    async with s:
        await s.wait_for(lambda snap: bool(priced_at_read), timeout=8.0)
    assert priced_at_read == [False]


def _recording_reader(record: Callable[[], None]) -> AccountReader:
    async def read(account: AccountConfig, now_ms: int) -> AccountState:
        record()
        raise AccountReadError("not read in this test", kind="exchange")

    return read


def test_the_ledger_is_replayed_once_at_start_up() -> None:
    """The simulator's accounts are seeded from the engine's replayed positions: one replay
    (a long ledger is read once, not once for the seed and once for the engine)."""
    loads: list[int] = []

    class Counting(MemoryLedger):
        def load(self) -> list[Fill]:
            loads.append(1)
            return super().load()

    LiveSession(parse_config(CONFIG), ledger=Counting(), account_streams=False, notify=False)
    assert loads == [1]
