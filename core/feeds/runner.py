"""The one connection runner every venue shares.

``FeedRunner`` connects an adapter to a URL and keeps it connected: subscribe on every
connect (after the adapter forgot its merged state), send the venue's heartbeat, answer the
venue's heartbeat requests, reconnect with capped exponential backoff and jitter, flag a
symbol stale when it has not updated for ``stale_after_ms`` (and unflag it when data
returns), and keep per-feed health counters. A malformed or unexpected message is counted and
dropped; nothing a server sends can end ``run()`` — only ``stop()`` does.

Every quote passes a ``QuoteGate`` (``core.feeds.validate``) before ``on_quote``: a bad number
is counted (``rejected``) and dropped, so a symbol fed only bad data goes stale. A symbol that
gets no data within ``subscribe_deadline_ms`` of subscribing is subscribed again on the same
connection; if it still gets none, the socket is recycled (a server that swallowed the
subscription keeps answering pings, so the silence timeout never fires). Error replies from
the venue (a refused subscription) are counted and logged.

Clocks: staleness, the subscription deadline and quote timestamps use the injected
``now_ms``; heartbeat and backoff timing use the event loop's monotonic clock (they pace I/O,
they are not data).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidURI

from core.clock import wall_ms
from core.events import FeedHealth, FeedState, Quote
from core.feeds.base import MAX_FRAME_BYTES, Adapter
from core.feeds.replay import FeedCounters
from core.feeds.validate import QuoteGate

log = logging.getLogger("hedgetop.feeds")


class FeedRunner:
    """Keep one adapter connected to one URL and hand every quote to ``on_quote``.

    ``on_quote`` is called on the event loop, once per quote, and must be quick (store the
    latest value; do not render). ``on_stale(symbol, stale, now_ms)`` is called when a symbol
    becomes stale and when it recovers. Backoff before reconnect attempt ``n`` (counting from
    0, reset once a connection delivered quotes) is ``min(backoff_max_s, backoff_initial_s ·
    backoff_factor**n)``, reduced by a random fraction up to ``jitter``; after a connection
    that delivered quotes for at least ``healthy_session_s`` the first reconnect is immediate.
    """

    def __init__(
        self,
        adapter: Adapter,
        url: str,
        symbols: Sequence[str],
        on_quote: Callable[[Quote], None],
        *,
        stale_after_ms: int = 15_000,
        now_ms: Callable[[], int] = wall_ms,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        backoff_factor: float = 2.0,
        jitter: float = 0.5,
        silence_timeout_s: float | None = 60.0,
        open_timeout_s: float = 10.0,
        stale_check_s: float = 0.25,
        on_stale: Callable[[str, bool, int], None] | None = None,
        rng: random.Random | None = None,
        healthy_session_s: float = 30.0,
        subscribe_deadline_ms: int | None = 10_000,
        gate: QuoteGate | None = None,
    ) -> None:
        self.adapter = adapter
        self.url = url
        self.symbols = [adapter.normalise_symbol(s) for s in symbols]
        adapter.restrict(self.symbols or None)
        self.on_quote = on_quote
        self.stale_after_ms = stale_after_ms
        self._now_ms = now_ms
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.backoff_factor = backoff_factor
        self.jitter = jitter
        self.silence_timeout_s = silence_timeout_s
        self.open_timeout_s = open_timeout_s
        self.stale_check_s = stale_check_s
        self.on_stale = on_stale
        self._rng = rng if rng is not None else random.Random()
        self.healthy_session_s = healthy_session_s
        self.subscribe_deadline_ms = subscribe_deadline_ms
        self.gate = gate if gate is not None else QuoteGate(adapter.venue)
        self._check = self.gate.check

        self.counters = FeedCounters()
        self.state = FeedState.CONNECTING
        self.last_message_ms: int | None = None
        self.last_error: str | None = None
        self.callback_errors = 0
        self.delays: deque[float] = deque(maxlen=64)  # recent backoff delays, seconds
        self.connected = asyncio.Event()  # set while a connection is open
        self._last_seen: dict[str, int] = {}
        self._stale: set[str] = set()
        self._stopping = False
        self._stop_event: asyncio.Event | None = None
        self._got_quotes = False
        self._close_reason: str | None = None
        self.last_reject: str | None = None  # "BTCUSD: mark=nan: not a finite price"
        self.last_reject_ms: int | None = None
        # The subscription watchdog, per connection: the socket, when we (re)subscribed, the
        # symbols that got data since, whether we already subscribed again.
        self._ws: ClientConnection | None = None
        self._sub_at: int | None = None
        self._fed: set[str] = set()
        self._watching = False  # collect ``_fed`` until every symbol answered
        self._n_symbols = len(set(self.symbols))
        self._resent = False
        self._refused: set[str] = set()  # named in an error reply: not waited for

    # --- public ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Connect, and reconnect, until ``stop()``. Raises only for a URL that can never work."""
        self._stop_event = asyncio.Event()
        if self._stopping:
            self._stop_event.set()
        start = self._now_ms()
        for s in self.symbols:
            self._last_seen.setdefault(s, start)
        stale_task = asyncio.create_task(self._stale_loop())
        attempt = 0
        try:
            loop = asyncio.get_running_loop()
            while not self._stopping:
                self._got_quotes = False
                began = loop.time()
                await self._until_stopped(self._session())
                if self._stopping:
                    break
                self.counters.reconnects += 1
                self.state = FeedState.RECONNECTING
                if self._got_quotes:
                    attempt = 0
                if self._got_quotes and loop.time() - began >= self.healthy_session_s:
                    delay = 0.0  # a routine cut (Binance closes every 24 h): straight back
                else:
                    delay = self.backoff_delay(attempt)
                    attempt += 1
                self.delays.append(delay)
                log.info("%s: reconnecting in %.2f s (%s)", self.url, delay, self.last_error)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop_event.wait(), delay)
        finally:
            stale_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stale_task
            self.connected.clear()
            self._sync_counters()
            self.state = FeedState.STOPPED

    def stop(self) -> None:
        """Ask ``run()`` to close the connection and return (safe to call more than once)."""
        self._stopping = True
        if self._stop_event is not None:
            self._stop_event.set()

    def backoff_delay(self, attempt: int) -> float:
        base = min(self.backoff_max_s, self.backoff_initial_s * self.backoff_factor**attempt)
        return base * (1.0 - self.jitter * self._rng.random())

    def is_stale(self, symbol: str, now_ms: int) -> bool:
        """No quote for ``symbol`` within ``stale_after_ms`` (or never one)."""
        seen = self._last_seen.get(symbol)
        return seen is None or now_ms - seen > self.stale_after_ms

    def check_stale(self, now_ms: int) -> None:
        """Flag symbols that went quiet (the runner calls this periodically)."""
        limit = now_ms - self.stale_after_ms
        for symbol, seen in self._last_seen.items():
            if seen < limit and symbol not in self._stale:
                self._stale.add(symbol)
                self.counters.stale_periods += 1
                log.info("%s %s: stale", self.adapter.venue, symbol)
                self._tell_stale(symbol, True, now_ms)

    def health(self, now_ms: int) -> FeedHealth:
        self._sync_counters()
        c = self.counters
        stale = tuple(sorted(s for s in self._last_seen if self.is_stale(s, now_ms)))
        return FeedHealth(
            venue=self.adapter.venue,
            url=self.url,
            state=self.state,
            messages=c.messages,
            quotes=c.quotes,
            parse_errors=c.parse_errors,
            ignored=c.ignored,
            reconnects=c.reconnects,
            stale_periods=c.stale_periods,
            last_message_ms=self.last_message_ms,
            stale_symbols=stale,
            rejected=c.rejected,
            out_of_order=c.out_of_order,
            duplicates=c.duplicates,
            oversize=c.oversize,
            resubscribes=c.resubscribes,
            sub_errors=c.sub_errors,
            last_reject=self.last_reject,
            last_reject_ms=self.last_reject_ms,
        )

    def _sync_counters(self) -> None:
        """Copy the adapter's own counts (old and repeated messages, error replies)."""
        a = self.adapter
        c = self.counters
        c.out_of_order = a.order.older
        c.duplicates = a.order.duplicates
        c.sub_errors = a.sub_errors

    # --- internals -------------------------------------------------------------------------

    async def _until_stopped(self, session: Coroutine[Any, Any, None]) -> None:
        assert self._stop_event is not None
        task = asyncio.ensure_future(session)
        stopper = asyncio.ensure_future(self._stop_event.wait())
        try:
            await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            if not task.done():
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _session(self) -> None:
        url = self.adapter.url_for(self.url, self.symbols)
        try:
            async with connect(
                url,
                open_timeout=self.open_timeout_s,
                close_timeout=1.0,
                max_size=MAX_FRAME_BYTES,
                max_queue=1024,
                # Tickers are small and frequent: inflating every frame costs more CPU than
                # the bandwidth it saves.
                compression=None,
            ) as ws:
                await self._serve(ws)
        except InvalidURI as exc:
            raise ValueError(f"invalid feed URL {url!r}: {exc}") from None
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # refused, reset, handshake failed, closed...: reconnect
            self.last_error = f"{type(exc).__name__}: {exc}"

    async def _serve(self, ws: ClientConnection) -> None:
        adapter = self.adapter
        adapter.reset()
        self._close_reason = None
        self._fed = set()
        self._watching = True
        self._resent = False
        for frame in adapter.subscribe_frames(self.symbols):
            await ws.send(frame)
        self._sub_at = self._now_ms()
        self._ws = ws
        self.state = FeedState.LIVE
        self.connected.set()
        log.info("%s: connected", self.url)
        beat = asyncio.create_task(self._heartbeat(ws))
        decode = adapter.decode
        emit = self._emit
        outbox = adapter.outbox
        counters = self.counters
        now_ms = self._now_ms
        order = adapter.order
        dropped = order.older + order.duplicates
        errors = adapter.sub_errors
        lost: ConnectionClosed | None = None
        try:
            while True:
                try:
                    raw = await ws.recv(decode=False)  # bytes: msgspec reads them directly
                except ConnectionClosed as exc:
                    lost = exc
                    break
                counters.messages += 1
                now = now_ms()
                self.last_message_ms = now
                try:
                    n = decode(raw, now, emit)
                except Exception:  # malformed or unexpected: counted and dropped
                    counters.parse_errors += 1
                    outbox.clear()
                    continue
                if n == 0:
                    now_dropped = order.older + order.duplicates
                    if now_dropped != dropped:  # old or repeated: counted there
                        dropped = now_dropped
                    elif adapter.sub_errors != errors:
                        errors = adapter.sub_errors
                        self._venue_error(adapter.last_error or "error reply")
                    else:
                        counters.ignored += 1
                if outbox:
                    for frame in outbox:
                        await ws.send(frame)
                    outbox.clear()
            self.last_error = self._close_reason or self._describe_close(ws, lost)
            if lost is not None and lost.rcvd is None and lost.sent is not None:
                if lost.sent.code == 1009:
                    counters.oversize += 1
                log.warning("%s: %s", self.url, self.last_error)
        finally:
            self._ws = None
            self._sub_at = None
            self.connected.clear()
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat

    @staticmethod
    def _describe_close(ws: ClientConnection, lost: ConnectionClosed | None) -> str:
        """Who closed the connection, and why: a frame over the size cap is closed by us
        (1009), which websockets reports as an abnormal 1006 on the server's side."""
        if lost is not None and lost.rcvd is None and lost.sent is not None:
            if lost.sent.code == 1009:
                return f"frame over the {MAX_FRAME_BYTES // 2**20} MB limit, closed by us"
            return f"closed by us: {lost.sent.code} {lost.sent.reason}".strip()
        if ws.close_code is None or ws.close_code == 1006:
            return "connection lost without a close frame (1006)"
        return f"closed by server: {ws.close_code} {ws.close_reason}".strip()

    def _venue_error(self, error: str) -> None:
        self.counters.sub_errors = self.adapter.sub_errors
        log.warning("%s: the venue replied with an error: %s", self.url, error)
        for s in self.symbols:
            if s in error:
                self._refused.add(s)

    def _emit(self, q: Quote) -> None:
        symbol = q.symbol
        if self._watching:  # the subscription watchdog wants to know who answered
            fed = self._fed
            fed.add(symbol)
            if len(fed) >= self._n_symbols:
                self._watching = False
        reason = self._check(q)
        if reason is not None:
            self._reject(q, reason)
            return
        self.counters.quotes += 1
        self._got_quotes = True
        self._last_seen[symbol] = q.received_ms
        if self._stale and symbol in self._stale:
            self._stale.discard(symbol)
            log.info("%s %s: fresh again", self.adapter.venue, symbol)
            self._tell_stale(symbol, False, q.received_ms)
        try:
            self.on_quote(q)
        except Exception:  # a consumer bug must not look like bad input or kill the feed
            self._callback_failed("on_quote")

    def _reject(self, q: Quote, reason: str) -> None:
        c = self.counters
        c.rejected += 1
        self.last_reject = f"{q.symbol}: {reason}"
        self.last_reject_ms = q.received_ms
        if c.rejected == 1 or c.rejected % 1000 == 0:
            log.warning(
                "%s %s: quote rejected (%s; %d so far)",
                self.adapter.venue,
                q.symbol,
                reason,
                c.rejected,
            )

    def _tell_stale(self, symbol: str, stale: bool, now_ms: int) -> None:
        if self.on_stale is None:
            return
        try:
            self.on_stale(symbol, stale, now_ms)
        except Exception:
            self._callback_failed("on_stale")

    def _callback_failed(self, name: str) -> None:
        self.callback_errors += 1
        if self.callback_errors == 1:
            log.exception("%s failed (further failures counted, not logged)", name)

    async def _heartbeat(self, ws: ClientConnection) -> None:
        hb = self.adapter.heartbeat
        periods = [p for p in (hb.interval_s if hb else None, self.silence_timeout_s) if p]
        if not periods:
            return
        tick = max(0.005, min(periods) / 8)
        loop = asyncio.get_running_loop()
        seen = self.counters.messages
        idle_since = last_ping = loop.time()
        while True:
            await asyncio.sleep(tick)
            now = loop.time()
            if self.counters.messages != seen:
                seen = self.counters.messages
                idle_since = now
            idle = now - idle_since
            try:
                due = hb is not None and now - last_ping >= hb.interval_s
                if hb is not None and due and (not hb.only_when_idle or idle >= hb.interval_s):
                    await ws.send(hb.frame)
                    last_ping = now
                if self.silence_timeout_s and idle >= self.silence_timeout_s:
                    self._close_reason = f"no message for {idle:.2f} s: closed by us"
                    await ws.close(code=1000, reason="silent")
                    return
            except ConnectionClosed:  # the reader notices and reports it
                return

    async def _stale_loop(self) -> None:
        while True:
            await asyncio.sleep(self.stale_check_s)
            now = self._now_ms()
            self.check_stale(now)
            try:
                await self.watch_subscriptions(now)
            except Exception:  # never let the watchdog take the stale check down with it
                self._callback_failed("watch_subscriptions")

    async def watch_subscriptions(self, now_ms: int) -> None:
        """The subscription deadline (called with the stale check): a symbol that got no data
        within ``subscribe_deadline_ms`` of subscribing is subscribed again; after a second
        deadline without data the connection is closed, so that the runner reconnects."""
        ws = self._ws
        deadline = self.subscribe_deadline_ms
        if ws is None or self._sub_at is None or deadline is None:
            return
        if now_ms - self._sub_at < deadline:
            return
        missing = [s for s in self.symbols if s not in self._fed and s not in self._refused]
        if not missing:
            self._sub_at = None  # every symbol answered: nothing more to watch here
            return
        names = ", ".join(missing)
        frames = self.adapter.subscribe_frames(missing) if not self._resent else []
        if frames:
            self._resent = True
            self._sub_at = now_ms
            self.counters.resubscribes += 1
            log.warning(
                "%s: no data for %s within %d ms: subscribing again", self.url, names, deadline
            )
            try:
                for frame in frames:
                    await ws.send(frame)
            except ConnectionClosed:  # the reader notices and reports it
                return
            return
        self._sub_at = None
        self._close_reason = (
            f"no data for {names} within {deadline} ms of subscribing: closed by us"
        )
        log.warning("%s: %s", self.url, self._close_reason)
        with contextlib.suppress(ConnectionClosed):
            await ws.close(code=1000, reason="no data")
