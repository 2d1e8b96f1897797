"""The configured accounts kept live (issue 12 §2): each is read through ccxt
(``core.accounts.reader``) at start and then every ``interval_s``, reconciled against what the
engine holds (``core.accounts.reconcile``), and the exchange's figures are handed to the
engine, which takes them in place of the configured ones.

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
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from core.accounts.model import AccountReadError, AccountState
from core.accounts.reconcile import (
    ReconcileEvent,
    adopt_positions,
    expected_from_state,
    expected_positions,
    reconcile,
)
from core.config import AccountConfig, Config, HedgeConfig
from core.snapshot import ExchangeFigures

log = logging.getLogger("hedgetop.accounts")

#: (account, now_ms) -> its state; raises AccountReadError (tests inject a fake)
AccountReader = Callable[[AccountConfig, int], Awaitable[AccountState]]
DEFAULT_INTERVAL_S = 30.0


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

    def age_ms(self, now_ms: int) -> int | None:
        return None if self.last_ok_ms is None else max(0, now_ms - self.last_ok_ms)


@dataclass(frozen=True, slots=True)
class AccountHealth:
    """One account for the status bar: the age of its last good read (None: none yet), the
    last read's problem (None: it worked) and whether that read is overdue."""

    name: str
    age_ms: int | None
    problem: str | None
    overdue: bool


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
        interval_s: float = DEFAULT_INTERVAL_S,
    ) -> None:
        self.config = config
        self._read = reader
        self._now = now_ms
        self._positions = positions
        self._adopt = adopt
        self.interval_s = interval_s
        self.watches = {a.name: AccountWatch(a) for a in config.accounts}
        self.on_read: list[Callable[[AccountRead], None]] = []

    async def read_all(self) -> tuple[AccountRead, ...]:
        """Read every account once, one after the other (each venue's own rate limits)."""
        return tuple([await self.read_one(name) for name in self.watches])

    async def read_one(self, name: str) -> AccountRead:
        watch = self.watches[name]
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
        balances = expected_from_state(previous)[1] if previous is not None else ()
        events = reconcile(expected, balances, state, now_ms=now)
        adopted, notes = adopt_positions(hedges, state)
        taken = self._adopt(adopted, exchange_figures(adopted, state))
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
            out.append(AccountHealth(name, age, w.last_problem, age is not None and age > limit))
        return tuple(out)

    async def run(self) -> None:
        """Read at start, then every ``interval_s``, until cancelled."""
        while True:
            await self.read_all()
            await asyncio.sleep(self.interval_s)
