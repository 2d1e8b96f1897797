"""Alert rules evaluated on each snapshot, with hysteresis so that they do not flap.

Each rule raises at its threshold and clears only once the value has recovered past the
threshold plus a margin; with ``min_duration_ms`` the condition must hold that long (by the
snapshot clock) before it raises. A value that cannot be computed (no quote) changes nothing.
Every change is an ``AlertEvent`` (raised / cleared); ``key`` pairs them up.

Rules: ``liq_distance`` (liquidation closer than a threshold), ``hedge_ratio`` (drift outside
the target band), ``funding_against`` (the position pays funding beyond a threshold APR),
``basis`` (|mark − index| beyond a threshold), ``feed_stale`` (a feed reconnecting for a while,
with stale symbols, or refusing bad data; it raises and clears with a hold in time, see
``FEED_DOWN_RAISE_MS``), ``roll`` (a dated hedge expires within ``roll_days``: roll it to the
next contract; a dated future's basis is its locked carry, so ``basis`` does not watch it),
``delist`` (an open hedge's instrument is delisting, reduce-only, settling or closed as the
venue's markets say, with the date; it clears once the market says trading again or the hedge
is flat, and an unknown status changes nothing).

An optional ``on_raise_command`` (argv, no shell) is started on each raise with ``{message}``,
``{rule}``, ``{subject}`` substituted; its output is discarded and it is never waited for.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from core.config import AlertConfig
from core.events import AlertEvent, AlertState, FeedState, InstrumentStatus
from core.snapshot import HedgeSnapshot, PortfolioSnapshot

Spawn = Callable[[Sequence[str]], "subprocess.Popen[bytes] | None"]


def _spawn(argv: Sequence[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


@dataclass(frozen=True, slots=True)
class _Check:
    key: str
    rule: str
    subject: str
    value: float | None
    raise_now: bool  # condition beyond the raise threshold
    clear_now: bool  # recovered beyond threshold + margin
    message: str
    raise_after_ms: int = 0  # the condition must hold this long (at least min_duration_ms)
    clear_after_ms: int = 0  # the recovery must hold this long before the alert clears


def _hold(key: str, rule: str, subject: str) -> _Check:
    """A value that cannot be computed now: the alert keeps its state."""
    return _Check(key, rule, subject, None, False, False, "")


@dataclass(slots=True)
class _State:
    since_ms: int | None = None
    raised: AlertEvent | None = None
    clear_since_ms: int | None = None


#: ``feed_stale`` hysteresis in time (it has no value to put a margin on): a feed merely
#: reconnecting raises only after this long (a routine reconnect takes well under a second,
#: its symbols go stale by themselves if it lasts), and a raised feed alert clears only
#: after the feed has been healthy this long, so that one drop is not a raise and a clear
#: within the same second.
FEED_DOWN_RAISE_MS = 5_000
FEED_CLEAR_MS = 5_000
#: A feed that refused bad data (``FeedHealth.last_reject_ms``) within this is alerted on.
FEED_REJECT_WINDOW_MS = 10_000


class AlertEngine:
    """Evaluates the rules of ``config`` on each snapshot; keeps the active alerts."""

    def __init__(self, config: AlertConfig, *, spawn: Spawn | None = None) -> None:
        self.config = config
        self._spawn = spawn or _spawn
        self._states: dict[str, _State] = {}
        self._procs: list[subprocess.Popen[bytes]] = []
        self.command_errors = 0
        self.last_command_error: str | None = None

    @property
    def active(self) -> tuple[AlertEvent, ...]:
        return tuple(s.raised for s in self._states.values() if s.raised is not None)

    def evaluate(self, snap: PortfolioSnapshot) -> list[AlertEvent]:
        """Apply every rule to ``snap``; return the alerts that changed state."""
        self._reap()
        out: list[AlertEvent] = []
        seen: set[str] = set()
        for chk in self._checks(snap):
            seen.add(chk.key)
            ev = self._step(chk, snap.ts_ms)
            if ev is not None:
                out.append(ev)
        # subjects that disappeared (hedge removed, feed gone): clear what they raised
        for key, st in self._states.items():
            if key not in seen and st.raised is not None:
                r = st.raised
                out.append(self._event(snap.ts_ms, r.key, r.rule, r.subject, False, "gone", None))
                st.raised = None
                st.since_ms = None
        for ev in out:
            if ev.state is AlertState.RAISED:
                self._run_command(ev)
        return out

    def describe(self, key: str, snap: PortfolioSnapshot) -> str | None:
        """The message alert ``key`` would carry on ``snap`` (its figures now), or None when
        the rule cannot say (no quote) or no longer applies (the subject is gone). A
        notification sent later than its raise quotes this, not the figures of the raise."""
        for chk in self._checks(snap):
            if chk.key == key:
                return chk.message or None
        return None

    def close(self) -> None:
        """Forget finished notification commands (running ones are left to finish)."""
        self._reap()

    # --- rules ----------------------------------------------------------------------------

    def _checks(self, snap: PortfolioSnapshot) -> Iterator[_Check]:
        c = self.config
        names = [f"{h.venue}:{h.symbol}" for h in snap.hedges]
        for h, name in zip(snap.hedges, names, strict=True):
            subject = name if names.count(name) == 1 else f"{name}#{h.hedge_id}"
            open_ = h.contracts > 0
            # liquidation distance
            key = f"liq_distance:{subject}"
            if not open_ or (h.mark is not None and h.liq_price is None):
                yield _Check(key, "liq_distance", subject, None, False, True, "")
            elif h.liq_distance_pct is None:
                yield _hold(key, "liq_distance", subject)
            else:
                d = abs(h.liq_distance_pct)
                yield _Check(
                    key,
                    "liq_distance",
                    subject,
                    h.liq_distance_pct,
                    d < c.liq_distance_pct,
                    d >= c.liq_distance_pct + c.liq_clear_pct,
                    f"{h.hedge_id}: liquidation at {h.liq_price:,.6g} USD is {d:.2f} % from mark "
                    f"(alert below {c.liq_distance_pct:g} %)",
                )
            # funding against the position
            key = f"funding_against:{subject}"
            if not open_:
                yield _Check(key, "funding_against", subject, None, False, True, "")
            elif h.funding_apr_pct is None:
                yield _hold(key, "funding_against", subject)
            else:
                apr = h.funding_apr_pct
                yield _Check(
                    key,
                    "funding_against",
                    subject,
                    apr,
                    apr < -c.funding_against_apr_pct,
                    apr >= -c.funding_against_apr_pct + c.funding_clear_apr_pct,
                    f"{h.hedge_id}: funding runs against the {h.side}: it pays {-apr:.2f} % APR",
                )
            yield self._delist(h, subject, snap.ts_ms)
            # a dated hedge: its basis is the carry it locks; the alert is its expiry
            if h.expiry_ms is not None:
                yield _Check(f"basis:{subject}", "basis", subject, None, False, True, "")
                yield self._roll(h, subject)
                continue
            # basis
            if h.basis_pct is None:
                yield _hold(f"basis:{subject}", "basis", subject)
            else:
                b = abs(h.basis_pct)
                yield _Check(
                    f"basis:{subject}",
                    "basis",
                    subject,
                    h.basis_pct,
                    b > c.basis_pct,
                    b < c.basis_pct - c.basis_clear_pct,
                    f"{h.hedge_id}: basis {h.basis_pct:+.3f} % of index "
                    f"(alert beyond {c.basis_pct:g} %)",
                )
        for ho in snap.holdings:
            if ho.target_ratio is None or ho.band is None:
                continue
            if ho.drift is None:
                yield _hold(f"hedge_ratio:{ho.coin}", "hedge_ratio", ho.coin)
                continue
            ratio = ho.hedge_ratio if ho.hedge_ratio is not None else 0.0
            yield _Check(
                f"hedge_ratio:{ho.coin}",
                "hedge_ratio",
                ho.coin,
                ho.drift,
                abs(ho.drift) > ho.band,
                abs(ho.drift) <= max(0.0, ho.band - c.ratio_clear),
                f"{ho.coin}: hedge ratio {ratio * 100:.1f} % drifted {ho.drift * 100:+.1f} pts "
                f"from its target {ho.target_ratio * 100:.0f} % (band {ho.band * 100:g} pts)",
            )
        if c.stale:
            for f in snap.feeds:
                subject = f"{f.venue}:{f.url}"
                bad = f.state is FeedState.RECONNECTING or bool(f.stale_symbols)
                what = (
                    f"stale: {', '.join(f.stale_symbols)}"
                    if f.stale_symbols
                    else f"state {f.state.value}"
                )
                yield _Check(
                    f"feed_stale:{subject}",
                    "feed_stale",
                    subject,
                    float(len(f.stale_symbols)),
                    bad,
                    not bad,
                    f"{f.venue} feed {what}",
                    raise_after_ms=0 if f.stale_symbols else FEED_DOWN_RAISE_MS,
                    clear_after_ms=FEED_CLEAR_MS,
                )
                # Bad numbers refused at the door (the symbols they were for go stale too).
                at = f.last_reject_ms
                refusing = at is not None and snap.ts_ms - at < FEED_REJECT_WINDOW_MS
                yield _Check(
                    f"feed_stale:{subject}:rejected",
                    "feed_stale",
                    subject,
                    float(f.rejected),
                    refusing,
                    not refusing,
                    f"{f.venue} feed sends bad data: {f.rejected} quotes refused "
                    f"(last: {f.last_reject or 'unknown'})",
                )

    def _roll(self, h: HedgeSnapshot, subject: str) -> _Check:
        key = f"roll:{subject}"
        days = h.days_to_expiry
        if h.contracts <= 0 or days is None:
            return _Check(key, "roll", subject, None, False, True, "")
        if days <= 0:
            when = "has expired"
        elif days < 1:
            when = "expires in less than a day"
        else:
            n = int(days)
            when = f"expires in {n} day{'s' if n != 1 else ''}"
        limit = self.config.roll_days
        return _Check(
            key,
            "roll",
            subject,
            days,
            days <= limit,
            days > limit,
            f"roll {h.symbol}: {when} (alert within {limit:g} days)",
        )

    @staticmethod
    def _delist(h: HedgeSnapshot, subject: str, now_ms: int) -> _Check:
        key = f"delist:{subject}"
        st = h.instrument_status
        if h.contracts <= 0:
            return _Check(key, "delist", subject, None, False, True, "")
        if st is InstrumentStatus.UNKNOWN:
            return _hold(key, "delist", subject)
        if not st.going_away:
            return _Check(key, "delist", subject, None, False, True, "")
        name = f"{h.venue.capitalize()} {h.symbol}"
        days: float | None = None
        when = ""
        if h.delist_ms is not None:
            days = (h.delist_ms - now_ms) / 86_400_000
            at = datetime.fromtimestamp(h.delist_ms / 1000, UTC)
            left = f"{int(days)} d" if days >= 1 else "<1 d" if days > 0 else "passed"
            when = f"{at:%Y-%m-%d %H:%M} UTC ({left})"
        price = "the average index price" if h.venue == "bybit" else "the venue's settlement price"
        closes = f"what remains is closed at {price}"
        if st is InstrumentStatus.DELISTING:
            text = f"{name} delists {when}: {closes}" if when else f"{name} is delisting: {closes}"
        elif st is InstrumentStatus.REDUCE_ONLY:
            later = f", delisting {when}" if when else ""
            text = f"{name} is reduce-only{later}: the hedge can only shrink"
        elif st is InstrumentStatus.SETTLING:
            text = f"{name} is being settled by the venue{f' ({when})' if when else ''}: {closes}"
        else:
            since = f" since {when}" if when else ""
            text = f"{name} is closed{since}: the venue no longer trades it (roll the hedge)"
        return _Check(key, "delist", subject, days, True, False, f"{h.hedge_id}: {text}")

    # --- state machine --------------------------------------------------------------------

    def _step(self, chk: _Check, ts_ms: int) -> AlertEvent | None:
        st = self._states.setdefault(chk.key, _State())
        if st.raised is not None:
            if not chk.clear_now:
                st.clear_since_ms = None
                return None
            if st.clear_since_ms is None:
                st.clear_since_ms = ts_ms
            if ts_ms - st.clear_since_ms < chk.clear_after_ms:
                return None
            st.raised = None
            st.since_ms = None
            st.clear_since_ms = None
            return self._event(ts_ms, chk.key, chk.rule, chk.subject, False, "recovered", chk.value)
        if not chk.raise_now:
            st.since_ms = None
            return None
        if st.since_ms is None:
            st.since_ms = ts_ms
        if ts_ms - st.since_ms < max(self.config.min_duration_ms, chk.raise_after_ms):
            return None
        ev = self._event(ts_ms, chk.key, chk.rule, chk.subject, True, chk.message, chk.value)
        st.raised = ev
        return ev

    @staticmethod
    def _event(  # noqa: PLR0917 (a record's fields, in order)
        ts_ms: int,
        key: str,
        rule: str,
        subject: str,
        raised: bool,
        message: str,
        value: float | None,
    ) -> AlertEvent:
        return AlertEvent(
            ts_ms=ts_ms,
            key=key,
            rule=rule,
            subject=subject,
            state=AlertState.RAISED if raised else AlertState.CLEARED,
            message=message if raised else f"{subject}: {rule} cleared ({message})",
            value=value,
        )

    # --- notification command -------------------------------------------------------------

    def _run_command(self, ev: AlertEvent) -> None:
        argv = self.config.on_raise_command
        if not argv:
            return
        subst = {"{message}": ev.message, "{rule}": ev.rule, "{subject}": ev.subject}
        args = []
        for arg in argv:
            text = arg
            for k, v in subst.items():
                text = text.replace(k, v)
            args.append(text)
        try:
            proc = self._spawn(args)
        except OSError as exc:
            self.command_errors += 1
            self.last_command_error = f"{argv[0]}: {exc.strerror or exc}"
            return
        if proc is not None:
            self._procs.append(proc)

    def _reap(self) -> None:
        self._procs = [p for p in self._procs if p.poll() is None]
