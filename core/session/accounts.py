"""The configured accounts kept live (issue 12 §2): each is read through ccxt
(``core.accounts.reader``) at start and then every ``interval_s``, reconciled against what the
engine holds (``core.accounts.reconcile``), and the exchange's figures are handed to the
engine, which takes them in place of the configured ones.

Kept live by two sources (``run``): a poll every ``interval_s``, and the account's private
stream (``core.accounts.streams``) where the venue has one, which only rings: each push asks for
a REST read now (``request_read``, which the session calls after each of its orders too), at
most one read per ``min_gap_s`` per account, and that read is the one reconciled. While the
stream is down the poll goes on alone.

Each read yields an ``AccountRead``: the state (or the one-line reason it failed) and the
reconciliation events. Nothing is silent: a failed read keeps the last good state, whose age
keeps growing on screen, and says why; every difference is an event with both values.

The expectation for a read is the engine's own position for each hedge that names the account
(the configured figure, then the last read plus any order hedgetop placed since), as of the
previous read, and that read's wallet balances. An order hedgetop places moves the engine,
so it is never reported as a trade made elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from core.accounts.model import AccountReadError, AccountState
from core.accounts.reconcile import (
    ReconcileEvent,
    adopt_positions,
    expected_from_state,
    expected_positions,
    free_wallet_coins,
    reconcile,
)
from core.accounts.streams import AccountStream, StreamState
from core.config import AccountConfig, Config, HedgeConfig
from core.snapshot import ExchangeFigures

log = logging.getLogger("hedgetop.accounts")

#: (account, now_ms) -> its state; raises AccountReadError (tests inject a fake)
AccountReader = Callable[[AccountConfig, int], Awaitable[AccountState]]
#: (account, ring: ask for a read, note: one line to say) -> its private stream (None: none)
StreamMaker = Callable[
    [AccountConfig, Callable[[], None], Callable[[str], None]], AccountStream | None
]
DEFAULT_INTERVAL_S = 30.0
MIN_GAP_S = 0.5  # at most one read per account this often, however often the stream rings


def exchange_figures(
    hedges: Sequence[HedgeConfig], state: AccountState
) -> dict[str, ExchangeFigures]:
    """What the read says of each of ``hedges`` beyond the position itself: the exchange's
    liquidation price and the funding it booked on that symbol over the read's window."""
    out = {}
    for h in hedges:
        if h.account != state.account:
            continue
        pos = next(
            (p for p in state.positions if p.symbol == h.symbol and p.side.value == h.side),
            None,
        )
        paid = [f.amount_coin for f in state.funding if f.symbol == h.symbol]
        out[h.id] = ExchangeFigures(
            liq_price=pos.liq_price if pos is not None else None,
            funding_received_coin=sum(paid) if state.funding_since_ms is not None else None,
            funding_since_ms=state.funding_since_ms,
        )
    return out


@dataclass(frozen=True, slots=True)
class AccountRead:
    """One read of one account: ``state`` None when it failed (``problem`` says why)."""

    account: str
    ts_ms: int
    state: AccountState | None
    events: tuple[ReconcileEvent, ...] = ()
    problem: str | None = None
    notes: tuple[str, ...] = ()  # what was not read or not taken, each said once
    new_problem: bool = False  # False: the same failure as the read before


@dataclass(slots=True)
class AccountWatch:
    """What is known of one account: the last good state and when each read happened."""

    config: AccountConfig
    state: AccountState | None = None
    last_ok_ms: int | None = None
    last_problem: str | None = None
    notes_said: set[str] = field(default_factory=set)
    stream: AccountStream | None = None
    wanted: asyncio.Event = field(default_factory=asyncio.Event)  # a read is asked for
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one read at a time

    def age_ms(self, now_ms: int) -> int | None:
        return None if self.last_ok_ms is None else max(0, now_ms - self.last_ok_ms)


@dataclass(frozen=True, slots=True)
class AccountHealth:
    """One account for the status bar: the age of its last good read (None: none yet), the
    last read's problem (None: it worked), whether that read is overdue, its private stream's
    state (None: it has none), the poll interval and the stream frames dropped."""

    name: str
    age_ms: int | None
    problem: str | None
    overdue: bool
    stream: StreamState | None = None
    poll_s: float | None = None
    dropped: int = 0


class AccountWatcher:
    """Reads ``config.accounts`` (see the module doc). ``positions()`` gives the engine's
    current hedges (their contracts after fills); ``adopt`` hands it the exchange's."""

    def __init__(
        self,
        config: Config,
        reader: AccountReader,
        *,
        now_ms: Callable[[], int],
        positions: Callable[[], Sequence[HedgeConfig]],
        adopt: Callable[[Sequence[HedgeConfig], Mapping[str, ExchangeFigures]], Sequence[str]],
        wallet: Callable[[str, Mapping[str, float]], None] | None = None,
        interval_s: float = DEFAULT_INTERVAL_S,
        streams: StreamMaker | None = None,
        min_gap_s: float = MIN_GAP_S,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.config = config
        self._read = reader
        self._now = now_ms
        self._positions = positions
        self._adopt = adopt
        self._wallet = wallet  # (account, free futures-wallet coins): exposure too
        self.interval_s = interval_s
        self.min_gap_s = min_gap_s
        self._sleep = sleep
        self.watches = {a.name: AccountWatch(a) for a in config.accounts}
        self.on_read: list[Callable[[AccountRead], None]] = []
        #: (account, line): what the streams say (down and polling, live again), once each
        self.on_note: list[Callable[[str, str], None]] = []
        if streams is not None:
            for name, w in self.watches.items():
                w.stream = streams(w.config, self._ringer(name), self._noter(name))

    def _ringer(self, name: str) -> Callable[[], None]:
        def ring() -> None:
            self.request_read(name)

        return ring

    def _noter(self, name: str) -> Callable[[str], None]:
        def note(line: str) -> None:
            for fn in list(self.on_note):
                try:
                    fn(name, line)
                except Exception:
                    log.exception("account note listener %r failed", fn)

        return note

    def request_read(self, name: str) -> bool:
        """Ask for a REST read of account ``name`` now (after an order, on a stream push);
        ``run`` does it within ``min_gap_s``. False: no such account."""
        watch = self.watches.get(name)
        if watch is None:
            return False
        watch.wanted.set()
        return True

    @contextlib.asynccontextmanager
    async def holding(self, name: str) -> AsyncIterator[None]:
        """No read of ``name`` is reconciled while an order is in flight: the stream rings on
        the order's own fill before the order's code has told the engine, and a read then
        would report hedgetop's own trade as one made elsewhere. The read comes on leaving."""
        watch = self.watches.get(name)
        if watch is None:
            yield
            return
        async with watch.lock:
            yield
        watch.wanted.set()

    async def read_all(self) -> tuple[AccountRead, ...]:
        """Read every account once, one after the other (each venue's own rate limits)."""
        return tuple([await self.read_one(name) for name in self.watches])

    async def read_one(self, name: str) -> AccountRead:
        """Read ``name`` now (after any read of it under way: never two at once, so a
        difference is reconciled once)."""
        watch = self.watches[name]
        async with watch.lock:
            watch.wanted.clear()  # a push from now on asks for the read after this one
            return await self._read_locked(watch, name)

    async def _read_locked(self, watch: AccountWatch, name: str) -> AccountRead:
        now = self._now()
        try:
            state = await self._read(watch.config, now)
        except AccountReadError as exc:
            new = str(exc) != watch.last_problem
            watch.last_problem = str(exc)
            read = AccountRead(name, now, None, problem=str(exc), new_problem=new)
        else:
            read = self._take(watch, state, now)
        for fn in list(self.on_read):
            try:
                fn(read)
            except Exception:
                log.exception("account listener %r failed", fn)
        return read

    def _take(self, watch: AccountWatch, state: AccountState, now: int) -> AccountRead:
        hedges = [h for h in self._positions() if h.account == watch.config.name]
        previous = watch.state
        as_of = previous.read_ms if previous is not None else None
        expected = expected_positions(
            hedges, {watch.config.name: watch.config.venue}, as_of_ms=as_of
        )
        then, balances = expected_from_state(previous) if previous is not None else ((), ())
        events = reconcile(expected, balances, state, now_ms=now, positions_then=then)
        adopted, notes = adopt_positions(hedges, state)
        taken = self._adopt(adopted, exchange_figures(adopted, state))
        if self._wallet is not None:
            self._wallet(watch.config.name, free_wallet_coins(state))
        said = [n for n in (*notes, *taken, *state.notes) if n not in watch.notes_said]
        watch.notes_said.update(said)
        watch.state = state
        watch.last_ok_ms = now
        watch.last_problem = None
        return AccountRead(watch.config.name, now, state, events, notes=tuple(said))

    def health(self, now_ms: int) -> tuple[AccountHealth, ...]:
        """Each account's state; a read older than three intervals is overdue."""
        limit = 3_000 * self.interval_s
        out = []
        for name, w in self.watches.items():
            age = w.age_ms(now_ms)
            s = w.stream
            out.append(
                AccountHealth(
                    name,
                    age,
                    w.last_problem,
                    age is not None and age > limit,
                    stream=s.state if s is not None else None,
                    poll_s=self.interval_s,
                    dropped=s.dropped if s is not None else 0,
                )
            )
        return tuple(out)

    async def run(self) -> None:
        """Read each account at start, then every ``interval_s`` and whenever asked
        (``request_read``); keep each private stream open. Until cancelled."""
        tasks = [asyncio.create_task(self._keep(n), name=f"account {n}") for n in self.watches]
        tasks += [
            asyncio.create_task(w.stream.run(), name=f"account {n} stream")
            for n, w in self.watches.items()
            if w.stream is not None
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _keep(self, name: str) -> None:
        loop = asyncio.get_running_loop()
        watch = self.watches[name]
        first = True
        while True:
            started = loop.time()
            try:
                if first and watch.lock.locked():
                    async with watch.lock:  # a read under way is the one at start
                        pass
                else:
                    await self.read_one(name)
            except Exception:  # a bug must not end the account's reads: logged, next read
                log.exception("account %s: the read failed", name)
            first = False
            await self._sleep(max(0.0, started + self.min_gap_s - loop.time()))
            if watch.wanted.is_set():
                continue
            # the poll's timer sets the event too; no wait_for (see LiveSession._tick_loop)
            timer = loop.call_later(self.interval_s, watch.wanted.set)
            try:
                await watch.wanted.wait()
            finally:
                timer.cancel()
