"""An account's private streams, kept open through the unchanged ``ccxt.pro`` classes (issue 12
§2). The stream is the doorbell, the REST read the truth: each position, execution, order or
wallet update the venue pushes rings ``on_event``, and the session then re-reads the account
through REST (``core.accounts.reader``) and reconciles that read. Nothing is taken from the
stream itself, so nothing is reconciled twice and a missed or malformed push costs nothing but
the wait for the next poll.

What is watched (``watch_positions``, ``watch_my_trades``, ``watch_orders``, ``watch_balance``):

- Bybit v5 private (``/v5/private``, ccxt's ``urls.api.ws.private.contract``): ccxt reads the
  account type and a positions snapshot through REST first, then authenticates and subscribes.
- Binance COIN-M user data stream (ccxt's ``urls.api.ws.inverse`` plus ``/<listenKey>``): ccxt
  takes the listen key from ``POST /dapi/v1/listenKey`` and keeps it alive.
- OKX, Deribit: no stream (the account is polled).

``private_ws_url`` moves the stream; an account whose REST is moved and whose stream is not has
no stream (it would reach the real venue while the reads go elsewhere).

A stream that fails (cannot connect, refused, closed) is ``DOWN`` and the account is polled,
which is said once per outage (and its end once); it reconnects with a fresh client after a
backoff (1 s doubling to 60 s, back to 1 s once a connection held ``STEADY_S``). A frame ccxt
cannot decode or handle would end its receive loop (the exception escapes in an event-loop
callback and the connection goes quiet for good): every frame passes a guard that counts such
a frame and drops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from enum import StrEnum
from typing import Any

from core.accounts.model import AccountReadError
from core.accounts.reader import CCXT_IDS, client_params, credentials, prepare_client
from core.config import AccountConfig
from core.events import Venue
from core.redact import Redactor

log = logging.getLogger("hedgetop.accounts")

#: (ccxt exchange id, ccxt config incl. credentials) -> a ccxt.pro exchange (or a fake)
StreamFactory = Callable[[str, dict[str, Any]], Any]
Sleep = Callable[[float], Awaitable[None]]

WATCHES = ("watch_positions", "watch_my_trades", "watch_orders", "watch_balance")
STREAM_VENUES = frozenset({Venue.BYBIT, Venue.BINANCE})
BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0)
STEADY_S = 30.0  # a connection live this long ends the outage's backoff (a flapping one does not)


class StreamState(StrEnum):
    CONNECTING = "connecting"  # the first attempt, not yet subscribed
    LIVE = "live"
    DOWN = "down"  # failed: the account is polled while it reconnects


def default_factory(ccxt_id: str, params: dict[str, Any]) -> Any:
    import ccxt.pro as ccxt_pro  # lazy: a slow import, only when a stream opens

    return getattr(ccxt_pro, ccxt_id)(params)


def no_stream_reason(account: AccountConfig) -> str | None:
    """Why ``account`` gets no private stream (None: it gets one)."""
    if account.venue not in STREAM_VENUES:
        return f"no private stream on {account.venue.value} yet"
    if account.rest_url and not account.private_ws_url:
        return "no private stream: rest_url is moved, private_ws_url is not"
    return None


def stream_params(account: AccountConfig, creds: Mapping[str, str]) -> dict[str, Any]:
    """The ccxt.pro config of ``account``: the reader's (ccxt.pro reaches REST too: markets,
    Bybit's account type and positions snapshot, Binance's listen key) and the private
    websocket's override."""
    params = client_params(account, creds)
    ws = account.private_ws_url
    if ws:
        api = params.setdefault("urls", {}).setdefault("api", {})
        if account.venue is Venue.BYBIT:
            api["ws"] = {"private": {"contract": ws}}
        elif account.venue is Venue.BINANCE:
            api["ws"] = {"inverse": ws.rstrip("/")}
    return params


def _reason(exc: BaseException, masker: Redactor, limit: int = 160) -> str:
    if isinstance(exc, AccountReadError):
        return str(exc)
    text = " ".join(masker.mask(str(exc)).split())
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _secrets(account: AccountConfig, environ: Mapping[str, str] | None) -> list[str]:
    import os

    env = os.environ if environ is None else environ
    names = [account.api_key_env, account.api_secret_env, account.passphrase_env]
    return [env[n] for n in names if n and env.get(n)]


class AccountStream:
    """The private streams of one account (see the module doc). ``on_event`` is rung on each
    push (and on each subscription's first answer: a reconnect may have missed pushes);
    ``on_note`` hears the outage and its end, one line each. ``environ`` holds the keys
    (``credentials`` reads them at each connection); ``target``, when given, says where
    each connection goes and with which keys instead (the session's simulator is only known
    once started); ``sleep`` waits out the backoff."""

    def __init__(
        self,
        account: AccountConfig,
        environ: Mapping[str, str] | None,
        *,
        on_event: Callable[[], None],
        on_note: Callable[[str], None],
        poll_s: float,
        factory: StreamFactory | None = None,
        sleep: Sleep = asyncio.sleep,
        backoff_s: tuple[float, ...] = BACKOFF_S,
        target: Callable[[], tuple[AccountConfig, Mapping[str, str] | None]] | None = None,
        ready: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """``ready`` is awaited before each client is made (the session imports ccxt.pro off
        the loop there: the default factory's import would freeze the loop for a second)."""
        self.account = account
        self._environ = environ
        self._on_event = on_event
        self._on_note = on_note
        self.poll_s = poll_s
        self._factory = factory or default_factory
        self._sleep = sleep
        self._backoff = backoff_s
        self._target = target
        self._ready = ready
        self.state = StreamState.CONNECTING
        self.problem: str | None = None  # why it is down
        self.events = 0  # pushes rung
        self.dropped = 0  # frames ccxt could not decode or handle
        self.connects = 0  # times it went live
        self.attempts = 0
        self._live_since: float | None = None  # loop time it went live on this connection

    async def run(self) -> None:
        """Keep the stream open until cancelled (never raises otherwise)."""
        loop = asyncio.get_running_loop()
        failures = 0
        while True:
            self.attempts += 1
            account, environ = self.account, self._environ
            try:
                if self._target is not None:
                    account, environ = self._target()
                await self._session(account, environ)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._down(_reason(exc, Redactor(_secrets(account, environ))))
            if self._live_since is not None and loop.time() - self._live_since >= STEADY_S:
                failures = 0  # it held: a new outage starts the backoff again
            self._live_since = None
            delay = self._backoff[min(failures, len(self._backoff) - 1)]
            failures += 1
            await self._sleep(delay)

    def _down(self, reason: str) -> None:
        was = self.state
        self.state = StreamState.DOWN
        self.problem = reason
        if was is not StreamState.DOWN:
            line = f"private stream down ({reason}); polling every {self.poll_s:g}s"
            self._on_note(line)
            log.warning("account %s: %s", self.account.name, line)

    def _live(self) -> None:
        was = self.state
        self.state = StreamState.LIVE
        self.problem = None
        self.connects += 1
        self._live_since = asyncio.get_running_loop().time()
        if was is StreamState.DOWN:
            self._on_note("private stream live again")
            log.info("account %s: private stream live again", self.account.name)

    async def _session(self, account: AccountConfig, environ: Mapping[str, str] | None) -> None:
        """One connection: every watch until one fails (then the error propagates)."""
        import os

        creds = credentials(account, os.environ if environ is None else environ)
        reason = no_stream_reason(account)
        if reason is not None:
            raise AccountReadError(reason, kind="exchange")
        if self._ready is not None:
            await self._ready()
        client = self._factory(CCXT_IDS[account.venue], stream_params(account, creds))
        try:
            prepare_client(client, account)
            sockets = self._guard(client)
            answered = asyncio.Event()
            tasks = [
                asyncio.create_task(self._watch(client, name, answered), name=f"stream {name}")
                for name in WATCHES
            ]
            tasks.append(asyncio.create_task(self._connected(sockets, answered)))
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
                for t in done:
                    exc = t.exception()
                    if exc is not None:
                        raise exc
            finally:
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            with contextlib.suppress(Exception):
                await client.close()

    async def _watch(self, client: Any, name: str, answered: asyncio.Event) -> None:
        method = getattr(client, name)
        while True:
            await method()
            answered.set()
            self.events += 1
            self._on_event()

    async def _connected(self, sockets: list[Any], answered: asyncio.Event) -> None:
        """Live once a subscription answered and every socket ccxt opened is connected (a
        Binance positions snapshot comes through REST, before the socket is up)."""
        await answered.wait()
        for sock in list(sockets):
            if str(getattr(sock, "url", "")).startswith("ws"):
                await sock.connected
        self._live()

    def _guard(self, client: Any) -> list[Any]:
        """Route every frame of the sockets ``client`` opens through a guard (module doc);
        returns the list those sockets are added to."""
        sockets: list[Any] = []
        make = getattr(client, "client", None)
        if make is None:
            return sockets

        def guarded_client(url: str) -> Any:
            sock = make(url)
            if all(s is not sock for s in sockets):
                sockets.append(sock)
                handle = sock.handle_message

                def handle_message(message: Any) -> Any:
                    try:
                        return handle(message)
                    except Exception as exc:
                        self.dropped += 1
                        if self.dropped == 1:
                            log.warning(
                                "account %s: a private stream frame dropped (%s)",
                                self.account.name,
                                type(exc).__name__,
                            )
                        return None

                sock.handle_message = handle_message
            return sock

        client.client = guarded_client
        return sockets
