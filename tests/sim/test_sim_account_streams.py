"""Accounts kept live by their private streams (issue 12 §2), against the built-in simulator on
loopback with the unchanged ``ccxt.pro`` classes: a trade made on the simulator's account (as
in the exchange's own app) rings the stream, and the REST re-read it asks for reconciles it at
once, while the poll is an hour away. A stream that cannot connect, or that the venue closes,
falls back to the poll and says so once; a frame ccxt cannot decode is counted and dropped."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any

import ccxt.async_support as ccxt
from sim_ccxt_clients import KEY, SECRET, WAIT, binance_config, bybit_config, until

from core.accounts.model import AccountState
from core.accounts.reader import read_account
from core.accounts.reconcile import ReconcileKind
from core.accounts.streams import AccountStream, StreamState
from core.config import AccountConfig, Config, parse_config
from core.session import LiveSession
from core.session.accounts import AccountRead, AccountWatch, AccountWatcher
from tui.widgets.panes import account_markup

POLL_S = 3600.0  # only the stream (or an order) can cause a read within a test

BYBIT = """
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

BINANCE = """
[[holdings]]
coin = "ADA"
amount = 40000.0

[[accounts]]
name = "bn"
venue = "binance"

[[hedges]]
id = "a"
venue = "binance"
symbol = "ADAUSD_PERP"
contracts = 3857
entry = 0.42
margin = 12857
account = "bn"

[simulator]
enabled = true
"""


def session(text: str) -> LiveSession:
    return LiveSession(
        parse_config(text),
        tick_ms=100,
        sim_autostep=False,
        environ={},
        account_interval_s=POLL_S,
        notify=False,
    )


def changed(reads: list[AccountRead], symbol: str) -> list[Any]:
    return [
        e
        for r in reads
        for e in r.events
        if e.symbol == symbol and e.kind is ReconcileKind.POSITION_CHANGED
    ]


async def quiet(watch: AccountWatch) -> None:
    """The stream is live and the reads it and the start asked for are over."""
    await until(
        lambda: watch.stream is not None and watch.stream.state is StreamState.LIVE,
        "the private stream live",
    )
    await until(
        lambda: (
            watch.last_ok_ms is not None and not watch.wanted.is_set() and not watch.lock.locked()
        ),
        "the reads at start done",
    )


async def test_a_bybit_trade_elsewhere_is_reconciled_through_the_stream(clients: Any) -> None:
    s = session(BYBIT)
    assert s.accounts is not None
    reads: list[AccountRead] = []
    s.accounts.on_read.append(reads.append)
    async with s:
        assert s.sim is not None
        watch = s.accounts.watches["main"]
        await quiet(watch)
        topics = {"position", "execution", "order", "wallet"}
        await until(
            lambda: any(topics <= c.topics for c in s.sim.bybit.private.conns),  # type: ignore[union-attr]
            "the four private topics subscribed",
        )
        assert changed(reads, "BTCUSD") == []
        before = len(reads)
        app = clients(ccxt.bybit, bybit_config(s.sim, secret=s.sim.seed_accounts.api_secret))
        await app.create_order("BTC/USD:BTC", "market", "buy", 5_000, None, {})  # elsewhere
        await until(lambda: bool(changed(reads, "BTCUSD")), "the trade reconciled")
        (event,) = changed(reads, "BTCUSD")
        assert (event.expected, event.exchange, event.difference) == (-100_000, -95_000, 5_000)
        assert len(reads) > before  # a read the stream asked for: the poll is an hour away
        snap = await s.wait_for(
            lambda snap: (h := snap.hedge("b")) is not None and h.contracts == 95_000, WAIT
        )
        assert snap.hedge("b") is not None
        assert any("95,000" in n for n in s.account_notes if n.startswith("account main: "))
        (health,) = s.accounts.health(s.now_ms())
        assert health.stream is StreamState.LIVE
        assert "stream live" in account_markup((health,))

        # a frame ccxt cannot decode is dropped; the stream goes on and rings the next trade
        conn = next(c for c in s.sim.bybit.private.conns if topics <= c.topics)
        conn.queue.put_nowait("{not json")
        await app.create_order("BTC/USD:BTC", "market", "buy", 1_000, None, {})
        await until(lambda: len(changed(reads, "BTCUSD")) == 2, "the second trade reconciled")
        assert changed(reads, "BTCUSD")[-1].exchange == -94_000
        assert watch.stream is not None
        assert watch.stream.dropped == 1
        assert watch.stream.state is StreamState.LIVE
        assert "1 bad msg" in account_markup(s.accounts.health(s.now_ms()))


async def test_a_binance_trade_elsewhere_is_reconciled_through_the_user_stream(
    clients: Any,
) -> None:
    s = session(BINANCE)
    assert s.accounts is not None
    reads: list[AccountRead] = []
    s.accounts.on_read.append(reads.append)
    async with s:
        assert s.sim is not None
        await quiet(s.accounts.watches["bn"])
        assert s.sim.binance.users.conns
        assert changed(reads, "ADAUSD_PERP") == []
        app = clients(ccxt.binancecoinm, binance_config(s.sim))
        await app.load_markets()
        await app.create_order("ADA/USD:ADA", "market", "buy", 10, None, {"reduceOnly": True})
        await until(lambda: bool(changed(reads, "ADAUSD_PERP")), "the trade reconciled")
        (event,) = changed(reads, "ADAUSD_PERP")
        assert (event.expected, event.exchange) == (-3_857, -3_847)
        await s.wait_for(
            lambda snap: (h := snap.hedge("a")) is not None and h.contracts == 3_847, WAIT
        )


def dead_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def watcher_on(
    rest: str, private_ws: str, sleep: Callable[[float], Any], *, secret: str = SECRET
) -> tuple[AccountWatcher, list[tuple[str, str]]]:
    """A watcher of the simulator's Bybit account through the real reader and stream, its
    stream's backoff going through ``sleep``; and the notes it says."""
    config: Config = parse_config(
        f"""
[[accounts]]
name = "main"
venue = "bybit"
api_key_env = "SIM_KEY"
api_secret_env = "SIM_SECRET"
rest_url = "{rest}"
private_ws_url = "{private_ws}"
"""
    )
    env = {"SIM_KEY": KEY, "SIM_SECRET": secret}

    async def reader(account: AccountConfig, now_ms: int) -> AccountState:
        return await read_account(account, now_ms=now_ms, environ=env)

    def stream(
        account: AccountConfig, ring: Callable[[], None], note: Callable[[str], None]
    ) -> AccountStream:
        return AccountStream(account, env, on_event=ring, on_note=note, poll_s=POLL_S, sleep=sleep)

    notes: list[tuple[str, str]] = []
    w = AccountWatcher(
        config,
        reader,
        now_ms=lambda: 1_764_000_000_000,
        positions=lambda: (),
        adopt=lambda hedges, figures: (),
        interval_s=POLL_S,
        streams=stream,
    )
    w.on_note.append(lambda name, line: notes.append((name, line)))
    return w, notes


async def test_a_stream_that_cannot_connect_falls_back_to_the_poll_and_says_so_once(
    account_sim: Any,
) -> None:
    ex = await account_sim()
    delays: list[float] = []
    parked = asyncio.Event()  # never set: the third backoff waits until the test ends

    async def sleep(s: float) -> None:
        delays.append(s)
        if len(delays) >= 3:
            await parked.wait()

    w, notes = watcher_on(
        ex.endpoint("bybit", "rest"), f"ws://127.0.0.1:{dead_port()}/v5/private", sleep
    )
    task = asyncio.create_task(w.run())
    try:
        await until(lambda: len(delays) >= 3, "three failed connections")
        watch = w.watches["main"]
        await until(lambda: watch.last_ok_ms is not None, "the poll's read at start")
        assert delays == [1.0, 2.0, 4.0]  # the backoff doubles
        assert watch.stream is not None
        assert watch.stream.state is StreamState.DOWN
        assert watch.stream.attempts == 3
        ((name, line),) = notes  # said once, not once per attempt
        assert name == "main"
        assert line.startswith("private stream down (NetworkError")
        assert line.endswith("polling every 3600s")
        (health,) = w.health(1_764_000_000_000)
        assert health.problem is None  # the REST read works: the figures are current
        text = account_markup((health,))
        assert "stream down, polling 1h00m" in text
        assert "read" in text
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_stream_the_venue_closes_reconnects_and_rings_again(account_sim: Any) -> None:
    ex = await account_sim()
    delays: list[float] = []

    async def sleep(s: float) -> None:
        delays.append(s)

    w, notes = watcher_on(ex.endpoint("bybit", "rest"), ex.endpoint("bybit", "private"), sleep)
    task = asyncio.create_task(w.run())
    try:
        watch = w.watches["main"]
        await quiet(watch)
        assert notes == []
        (conn,) = ex.bybit.private.conns
        await conn.ws.close()
        await until(lambda: len(notes) == 2, "down, then live again")
        assert notes[0][1].startswith("private stream down (")
        assert notes[1][1] == "private stream live again"
        assert delays == [1.0]
        assert watch.stream is not None
        assert watch.stream.connects == 2
        await quiet(watch)
        reads: list[AccountRead] = []
        w.on_read.append(reads.append)
        await until(
            lambda: any("execution" in c.topics for c in ex.bybit.private.conns),
            "execution subscribed again",
        )
        c = ccxt.bybit(bybit_config(ex))
        try:
            await c.create_order("XRP/USD:XRP", "market", "sell", 1_000, None, {})
        finally:
            await c.close()
        await until(lambda: bool(reads), "a read rung by the new connection")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_reads_asked_for_within_the_gap_make_one_read() -> None:
    """However often the stream rings (or orders ask), an account is read at most once per
    gap; a ring during a read brings the read after it."""
    config = parse_config('[[accounts]]\nname = "main"\nvenue = "bybit"\n')
    read_count = [0]

    async def reader(account: AccountConfig, now_ms: int) -> AccountState:
        read_count[0] += 1
        return AccountState(account=account.name, venue=account.venue, read_ms=now_ms)

    gaps: list[float] = []
    release: asyncio.Queue[None] = asyncio.Queue()

    async def sleep(s: float) -> None:
        gaps.append(s)
        await release.get()

    w = AccountWatcher(
        config,
        reader,
        now_ms=lambda: 0,
        positions=lambda: (),
        adopt=lambda hedges, figures: (),
        interval_s=POLL_S,
        sleep=sleep,
    )
    task = asyncio.create_task(w.run())
    try:
        await until(lambda: len(gaps) == 1, "the read at start, then its gap")
        assert read_count[0] == 1
        assert 0.0 <= gaps[0] <= 0.5
        for _ in range(5):
            assert w.request_read("main")
        assert not w.request_read("nobody")
        release.put_nowait(None)
        await until(lambda: len(gaps) == 2, "the asked-for read, then its gap")
        assert read_count[0] == 2  # five rings in one gap: one read
        release.put_nowait(None)
        w.request_read("main")
        await until(lambda: len(gaps) == 3, "one more read")
        assert read_count[0] == 3
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


class _FilledExchange:
    """A ccxt exchange that fills every order at once (no network)."""

    def __init__(self, ccxt_id: str, params: dict[str, Any]) -> None:
        self.params = params

    async def create_order(self, *args: Any) -> dict[str, Any]:
        amount = args[3]
        return {"id": "o1", "status": "closed", "amount": amount, "filled": amount, "average": 1e5}

    async def close(self) -> None:
        pass


async def test_an_order_placed_by_the_session_asks_for_its_account_read() -> None:
    from core.events import Kind, Quote

    text = (
        BYBIT.replace("[simulator]\nenabled = true\n", "")
        + '[broker]\nkind = "ccxt"\ntrading_enabled = true\nfee_rate = 0.0004\n'
    )
    now = 1_764_100_000_000
    s = LiveSession(
        parse_config(text),
        wall_clock=lambda: now,
        environ={"HEDGETOP_BYBIT_API_KEY": "k" * 16, "HEDGETOP_BYBIT_API_SECRET": "s" * 20},
        exchange_factory=_FilledExchange,
        notify=False,
    )
    quote = Quote(
        venue="bybit",
        symbol="BTCUSD",
        kind=Kind.INVERSE_PERP,
        mark=1e5,
        index=1e5,
        received_ms=now,
    )
    s.engine.on_quote(quote)
    assert s.accounts is not None
    watch = s.accounts.watches["main"]
    assert not watch.wanted.is_set()
    watch.last_ok_ms = now  # a good read just now: an order needs its position known
    out = await s.execute_live(s.plan_resize("b", delta_contracts=-1_000), confirmed=True)
    assert out.fill is not None
    assert watch.wanted.is_set()  # the read that checks the order comes now, not in an hour


async def test_no_read_is_reconciled_while_an_order_is_in_flight() -> None:
    """An order's own fill rings the stream before the order's code has told the engine; a
    read then would call hedgetop's own trade one made elsewhere. ``holding`` keeps it back."""
    config = parse_config('[[accounts]]\nname = "main"\nvenue = "bybit"\n')
    read_count = [0]

    async def reader(account: AccountConfig, now_ms: int) -> AccountState:
        read_count[0] += 1
        return AccountState(account=account.name, venue=account.venue, read_ms=now_ms)

    w = AccountWatcher(
        config,
        reader,
        now_ms=lambda: 0,
        positions=lambda: (),
        adopt=lambda hedges, figures: (),
        interval_s=POLL_S,
        min_gap_s=0.0,
    )
    task = asyncio.create_task(w.run())
    try:
        watch = w.watches["main"]
        await until(lambda: read_count[0] == 1 and not watch.lock.locked(), "the read at start")
        async with w.holding("main"):
            w.request_read("main")  # the stream rings on the order's fill
            # the asked-for read queues behind the hold (asyncio.Lock's waiters, Python 3.11)
            await until(lambda: bool(watch.lock._waiters), "the read waiting")
            assert read_count[0] == 1
        await until(lambda: read_count[0] == 2, "the read after the order")
        async with w.holding("nobody"):
            pass
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_refused_key_takes_the_stream_down_without_showing_the_secret(
    account_sim: Any,
) -> None:
    ex = await account_sim()
    wrong = "wr0ng-secret-never-shown-71"
    delays: list[float] = []
    parked = asyncio.Event()

    async def sleep(s: float) -> None:
        delays.append(s)
        await parked.wait()

    w, notes = watcher_on(
        ex.endpoint("bybit", "rest"), ex.endpoint("bybit", "private"), sleep, secret=wrong
    )
    task = asyncio.create_task(w.run())
    try:
        await until(lambda: bool(delays), "the first failed connection")
        ((_, line),) = notes
        assert line.startswith("private stream down (AuthenticationError")
        assert wrong not in line
        stream = w.watches["main"].stream
        assert stream is not None
        assert stream.problem is not None
        assert wrong not in stream.problem
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
