"""Alerts that leave the terminal: notifications through apprise (Telegram, Slack, Discord,
ntfy, e-mail... one URL list), a listener on the session's alert events.

What is sent, and when (all by the wall clock, injected):

- **Once per raise and once per clear** of each alert (``[notify] clears = false``: raises only).
- **Rate-limited**: at most one message per ``min_interval_s``; what happens meanwhile waits and
  goes out as one digest (an alert that flapped is one line that says so).
- **Figures at send time**: an alert still raised is described by the alert engine on the latest
  snapshot (``describe``), not with the figures of the moment it raised; the message ends with
  the portfolio's total and net delta then.
- **Quiet hours** (``"22:00-07:00"``, local or ``timezone``): messages wait until they end,
  except the raises of ``urgent`` rules (``liq_distance`` by default: being woken when
  liquidation comes near is the point).
- **One notifier per database**: several hedgetop processes on one database (``record`` on a
  server, the dashboard now and then) would each send every alert. The first to take
  ``lock_path`` (an advisory ``flock``) sends; the others drop their alerts, and take over when
  it exits.

Delivery runs in one daemon thread (apprise's HTTP calls block, and importing apprise takes
0.2 s): the event loop only queues. The URLs are secrets: they are expanded from ``${VAR}``
only inside that thread's apprise object, never logged (apprise's logger is filtered through
``core.redact.Redactor``) and shown only as ``scheme://…``.
"""

from __future__ import annotations

import logging
import os
import queue
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from enum import Enum
from pathlib import Path
from typing import IO

from core.config import NotifyConfig
from core.events import AlertEvent, AlertState
from core.redact import Redactor, redact_url, url_secrets
from core.snapshot import PortfolioSnapshot

log = logging.getLogger("hedgetop.notify")

ENV_URLS = "HEDGETOP_NOTIFY_URLS"  # more apprise URLs, separated by spaces
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

RULE_TITLES = {
    "liq_distance": "liquidation near",
    "hedge_ratio": "hedge ratio off target",
    "funding_against": "funding against the position",
    "basis": "basis wide",
    "feed_stale": "feed stale",
    "order": "order problem",
}


class Kind(Enum):
    """apprise's notify types, in the words this module uses."""

    RAISED = "warning"
    CLEARED = "success"
    MIXED = "info"


@dataclass(frozen=True, slots=True)
class Message:
    title: str
    body: str
    kind: Kind
    keys: tuple[str, ...]  # the alerts it speaks of


#: Sends one message; returns None, or one line saying what failed (no secret in it).
Deliver = Callable[[Message], "str | None"]
Describe = Callable[[str, PortfolioSnapshot], "str | None"]


def expand_urls(config: NotifyConfig, environ: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """(URLs with ``${VAR}`` expanded, problems): the config's, then ``HEDGETOP_NOTIFY_URLS``'s.
    A URL naming an unset variable is left out, and said (by name, never by value)."""
    urls: list[str] = []
    problems: list[str] = []
    sources = [(f"notify.urls[{i}]", u) for i, u in enumerate(config.urls)]
    sources += [(ENV_URLS, u) for u in environ.get(ENV_URLS, "").split()]
    for where, url in sources:
        missing = [name for name in _VAR.findall(url) if not environ.get(name)]
        if missing:
            problems.append(f"{where} ({redact_url(url)}): ${{{missing[0]}}} is not set: left out")
            continue
        urls.append(_VAR.sub(lambda m: environ[m.group(1)], url))
    return urls, problems


class AppriseDelivery:
    """apprise behind ``Deliver``; built in the delivery thread (apprise imports slowly)."""

    def __init__(self, urls: list[str], redactor: Redactor) -> None:
        import apprise

        apprise_log = logging.getLogger("apprise")
        apprise_log.addFilter(redactor)
        if apprise_log.level == logging.NOTSET:
            apprise_log.setLevel(logging.WARNING)  # its debug lines spell URLs out
        self.apprise = apprise.Apprise()
        self.problems: list[str] = []
        for i, url in enumerate(urls):
            if not self.apprise.add(url):
                self.problems.append(
                    f"notification URL {i + 1} ({redact_url(url)}): apprise does not accept it"
                )

    def __call__(self, message: Message) -> str | None:
        if len(self.apprise) == 0:
            return "no usable notification URL"
        ok = self.apprise.notify(
            body=message.body, title=message.title, notify_type=message.kind.value
        )
        return None if ok else "apprise could not deliver to every URL (see the log)"


@dataclass(slots=True)
class NotifierHealth:
    sent: int = 0
    failed: int = 0
    dropped: int = 0  # alerts another hedgetop on the database sends
    held: int = 0  # alerts waiting (rate limit, quiet hours)
    last_error: str | None = None


@dataclass(slots=True)
class _Pending:
    events: list[AlertEvent] = field(default_factory=list)


class Notifier:
    """See the module docstring. ``on_alert`` and ``on_snapshot`` are the session's listeners
    (on its event loop); ``close`` sends what waits (rate limit aside) and stops the thread."""

    def __init__(
        self,
        config: NotifyConfig,
        *,
        wall_clock: Callable[[], int],
        describe: Describe | None = None,
        environ: Mapping[str, str] | None = None,
        deliver: Deliver | None = None,
        tz: tzinfo | None = None,
        lock_path: Path | None = None,
        on_problem: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config
        self._wall = wall_clock
        self._describe = describe
        env = os.environ if environ is None else environ
        self.urls, problems = expand_urls(config, env)
        self.redactor = Redactor(s for url in self.urls for s in url_secrets(url))
        self._deliver = deliver
        if tz is None and config.timezone:
            from zoneinfo import ZoneInfo

            tz = ZoneInfo(config.timezone)
        self._tz = tz  # None: the machine's local time
        self._lock_path = lock_path
        self._lock: IO[str] | None = None
        self._on_problem = on_problem
        self.health = NotifierHealth()
        self._pending: dict[str, _Pending] = {}
        self._latest: PortfolioSnapshot | None = None
        self._last_sent_ms: int | None = None
        self._queue: queue.Queue[Message | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        for problem in problems:
            self._problem(problem)

    @property
    def enabled(self) -> bool:
        return bool(self.urls) or self._deliver is not None

    # --- the session's listeners ----------------------------------------------------------

    def on_alert(self, event: AlertEvent) -> None:
        if not self.enabled:
            return
        unwanted = event.state is AlertState.CLEARED and not self.config.clears
        if unwanted and event.key not in self._pending:
            return  # its raise went out; clears are not wanted
        self._pending.setdefault(event.key, _Pending()).events.append(event)
        self.health.held = len(self._pending)

    def on_snapshot(self, snap: PortfolioSnapshot) -> None:
        self._latest = snap
        if self._pending:
            self.flush()

    def flush(self, *, force: bool = False) -> Message | None:
        """Send what may go now (``force``: regardless of the rate limit); returns it."""
        if not self._pending:
            return None
        if not self._holding_lock():
            self.health.dropped += len(self._pending)
            self._pending.clear()
            self.health.held = 0
            return None
        now = self._wall()
        interval_ms = self.config.min_interval_s * 1000
        if not force and self._last_sent_ms is not None and now - self._last_sent_ms < interval_ms:
            return None
        quiet = self.in_quiet_hours(now)
        keys = [k for k, p in self._pending.items() if not quiet or self._urgent(p)]
        if not keys:
            return None
        batch = {k: self._pending.pop(k).events for k in keys}
        self.health.held = len(self._pending)
        message = self.compose(batch, now)
        self._last_sent_ms = now
        self._send(message)
        return message

    def start(self) -> None:
        """Start the delivery thread now (it builds apprise and reports the URLs apprise
        refuses at once, not at the first alert, hours later). Sending starts it too."""
        if self._thread is None and self.enabled:
            self._thread = threading.Thread(target=self._work, name="hedgetop notify", daemon=True)
            self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        """Send what waits outside quiet hours, then let the thread finish (up to
        ``timeout`` seconds: a daemon, it never holds up the exit)."""
        if self._pending and self._holding_lock():
            self.flush(force=True)
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None
        if self._lock is not None:
            self._lock.close()  # releases the flock
            self._lock = None

    # --- what to say ----------------------------------------------------------------------

    def in_quiet_hours(self, now_ms: int) -> bool:
        span = self.config.quiet_hours
        if span is None:
            return False
        when = datetime.fromtimestamp(now_ms / 1000, self._tz)
        if self._tz is None:
            when = when.astimezone()
        minute = when.hour * 60 + when.minute
        start, end = span
        return start <= minute < end if start < end else minute >= start or minute < end

    def _urgent(self, pending: _Pending) -> bool:
        return any(
            e.state is AlertState.RAISED and e.rule in self.config.urgent for e in pending.events
        )

    def compose(self, batch: Mapping[str, list[AlertEvent]], now_ms: int) -> Message:
        lines: list[str] = []
        raised = cleared = 0
        for events in batch.values():
            line, is_raised = self._line(events)
            lines.append(line)
            raised += is_raised
            cleared += not is_raised
        footer = self._footer(now_ms)
        if len(batch) == 1:
            events = next(iter(batch.values()))
            last = events[-1]
            what = RULE_TITLES.get(last.rule, last.rule)
            if raised:
                title = f"hedgetop ▲ {what}: {last.subject}"
            else:
                title = f"hedgetop ✓ cleared, {what}: {last.subject}"
            body = lines[0].split(" ", 1)[1]  # the marker is in the title
        else:
            title = f"hedgetop: {len(batch)} alerts ({raised} raised, {cleared} cleared)"
            body = "\n".join(lines)
        kind = Kind.MIXED if raised and cleared else (Kind.RAISED if raised else Kind.CLEARED)
        return Message(title, f"{body}\n{footer}", kind, tuple(batch))

    def _line(self, events: list[AlertEvent]) -> tuple[str, bool]:
        """One line for one alert's events since the last message; (line, raised now?)."""
        raises = [e for e in events if e.state is AlertState.RAISED]
        last = events[-1]
        flapped = f" (raised {len(raises)} times)" if len(raises) > 1 else ""
        if last.state is AlertState.RAISED:
            now = (
                self._describe(last.key, self._latest) if self._describe and self._latest else None
            )
            return f"▲ {now or last.message}{flapped}", True
        if raises:
            return f"✓ {raises[-1].message}; cleared since{flapped}", False
        return f"✓ {last.message}", False

    def _footer(self, now_ms: int) -> str:
        when = datetime.fromtimestamp(now_ms / 1000, self._tz)
        stamp = (when if self._tz is not None else when.astimezone()).strftime("%H:%M %Z")
        snap = self._latest
        if snap is None:
            return f"at {stamp}"

        def usd(x: float | None, sign: bool = False) -> str:
            return "—" if x is None else f"{x:{'+' if sign else ''},.0f} USD"

        return (
            f"total {usd(snap.total_value_usd)}, net delta {usd(snap.net_delta_usd, True)} "
            f"at {stamp}"
        )

    # --- delivery -------------------------------------------------------------------------

    def _send(self, message: Message) -> None:
        self.start()
        self._queue.put(message)

    def _work(self) -> None:
        deliver = self._deliver
        if deliver is None:
            try:
                apprise_delivery = AppriseDelivery(self.urls, self.redactor)
            except Exception as exc:  # apprise missing or broken: said once, never a crash
                self._problem(f"notifications off: {type(exc).__name__}: {self._mask(exc)}")
                deliver = _refuse
            else:
                for problem in apprise_delivery.problems:
                    self._problem(problem)
                deliver = apprise_delivery
        while True:
            message = self._queue.get()
            if message is None:
                return
            try:
                error = deliver(message)
            except Exception as exc:
                error = f"{type(exc).__name__}: {self._mask(exc)}"
            if error is None:
                self.health.sent += 1
            else:
                self.health.failed += 1
                first = self.health.last_error != error
                self.health.last_error = error
                if first:
                    self._problem(f"notification not sent: {error}")

    def _mask(self, exc: BaseException) -> str:
        return self.redactor.mask(str(exc))

    def _problem(self, text: str) -> None:
        text = self.redactor.mask(text)
        log.warning("%s", text)
        if self._on_problem is not None:
            self._on_problem(text)

    def _holding_lock(self) -> bool:
        """Is this the one process on the database that sends? (tries to become it)"""
        if self._lock_path is None or self._lock is not None:
            return True
        import fcntl

        try:
            handle = open(self._lock_path, "a+")  # noqa: SIM115 (held while sending)
        except OSError:
            return True  # no lock possible (read-only folder): send rather than stay mute
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._lock = handle
        return True


def _refuse(_message: Message) -> str:
    return "notifications are off (apprise could not start)"


def describe_urls(config: NotifyConfig, environ: Mapping[str, str]) -> list[str]:
    """For ``config check``: each URL as ``scheme://…``, and what is wrong with it, if known
    without sending (an unset ``${VAR}``, a scheme apprise does not know)."""
    urls, problems = expand_urls(config, environ)
    out = [f"{redact_url(u)}" for u in urls]
    try:
        import apprise
    except ImportError:  # pragma: no cover - a dependency
        return out + problems
    checker = apprise.Apprise()
    for i, url in enumerate(urls):
        if not checker.add(url):
            out[i] += " (apprise does not accept it)"
    return out + problems
