"""``hedgetop serve``: the dashboard in a browser, through textual-serve, behind a guard.

textual-serve's ``Server`` runs an aiohttp application whose websocket (``/ws``) starts one app
process per browser session (``AppService``: the command line, stdin/stdout framed) and whose
index page (``/``) loads xterm.js. This subclass adds what a dashboard of someone's money needs:

- **A token** when bound beyond loopback (or when asked): ``/?token=T`` sets an HttpOnly,
  SameSite=Strict cookie and redirects to the same URL without the token, so that the token
  leaves the address bar and never reaches the page; every request (page, static files,
  websocket, downloads) without a valid cookie or query token gets 403.
- **Loopback without a token** still refuses a Host header that is not a loopback name (a DNS
  rebinding page) and a websocket whose Origin is another site (a page in the user's browser
  driving the dashboard): both 403.
- **Logs without secrets**: the access log writes the path without its query string, and a
  filter masks the token in every log record.
- **URLs from the request**: the page's websocket and static URLs are built from the Host the
  browser used (textual-serve builds them from the bind address, which is wrong for
  ``0.0.0.0``), unless ``public_url`` says otherwise (a reverse proxy).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import signal
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from urllib.parse import urlencode, urlsplit

import aiohttp_jinja2
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from textual_serve.server import Server

from core.redact import Redactor

log = logging.getLogger("hedgetop.serve")

COOKIE = "hedgetop_token"
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_loopback(host: str) -> bool:
    """True for a bind address only this machine can reach."""
    import ipaddress

    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class PathOnlyAccessLogger(AbstractAccessLogger):
    """``GET /path 200`` from the client's address: never the query string (the token)."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %s %s (%.0f ms)",
            request.remote,
            request.method,
            request.path,
            response.status,
            time * 1000,
        )


class DashboardServer(Server):
    """textual-serve's server with the guard described in the module docstring."""

    def __init__(
        self,
        command: str,
        *,
        host: str = "127.0.0.1",
        port: int = 8000,
        token: str | None = None,
        public_url: str | None = None,
        title: str = "hedgetop",
        on_ready: Callable[[str, int], None] | None = None,
    ) -> None:
        super().__init__(command, host=host, port=port, title=title, public_url=public_url)
        self.token = token
        self.fixed_public_url = public_url
        self.redactor = Redactor([token] if token else [])
        self.on_ready = on_ready
        self.loopback = is_loopback(host)
        self.allowed_hosts = set(LOOPBACK_NAMES) | {host.lower()}
        if public_url:
            self.allowed_hosts.add((urlsplit(public_url).hostname or "").lower())

    # --- the guard --------------------------------------------------------------------------

    def token_ok(self, candidate: str | None) -> bool:
        return (
            self.token is not None
            and candidate is not None
            and hmac.compare_digest(candidate.encode(), self.token.encode())
        )

    @web.middleware
    async def guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.token is not None:
            if self.token_ok(request.query.get("token")):
                return self._strip_token(request)
            if not self.token_ok(request.cookies.get(COOKIE)):
                log.warning("refused %s %s: no valid token", request.remote, request.path)
                return _forbidden(
                    "this hedgetop needs its token: open the URL that `hedgetop serve` printed"
                )
        elif host_of(request.host).lower() not in self.allowed_hosts:
            log.warning("refused %s: Host %r is not this machine", request.remote, request.host)
            return _forbidden("unexpected Host header")
        origin = request.headers.get("Origin")
        if request.path == "/ws" and origin is not None and not self._same_origin(request, origin):
            log.warning("refused %s: websocket from another origin", request.remote)
            return _forbidden("websocket from another origin")
        response = await handler(request)
        _harden(response)
        return response

    def _same_origin(self, request: web.Request, origin: str) -> bool:
        parts = urlsplit(origin)
        if self.fixed_public_url:
            want = urlsplit(self.fixed_public_url)
            if (parts.scheme, parts.netloc) == (want.scheme, want.netloc):
                return True
        return parts.netloc.lower() == request.host.lower()

    def _strip_token(self, request: web.Request) -> web.StreamResponse:
        """The token checks out: keep it in a cookie, send the browser on without it."""
        rest = [(k, v) for k, v in request.query.items() if k != "token"]
        target = request.path + (f"?{urlencode(rest)}" if rest else "")
        response = web.Response(status=303, headers={"Location": target})
        assert self.token is not None
        response.set_cookie(
            COOKIE,
            self.token,
            httponly=True,
            samesite="Strict",
            secure=request.secure or (self.fixed_public_url or "").startswith("https:"),
            path="/",
        )
        _harden(response)
        return response

    # --- textual-serve's hooks --------------------------------------------------------------

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self.guard)
        return app

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        """textual-serve's page, its URLs built from the request (or ``public_url``)."""
        base = self.fixed_public_url or f"{request.scheme}://{request.host}"
        base = base.rstrip("/")
        ws_base = ("wss:" if base.startswith("https:") else "ws:") + base.split(":", 1)[1]
        try:
            font_size = int(request.query.get("fontsize", "16"))
        except ValueError:
            font_size = 16
        context = {
            "font_size": min(max(font_size, 6), 48),
            "app_websocket_url": f"{ws_base}/ws",
            "config": {"static": {"url": f"{base}/static/"}},
            "application": {"name": self.title},
        }
        response = aiohttp_jinja2.render_template("app_index.html", request, context)
        response.headers["Cache-Control"] = "no-store"
        return response

    async def on_startup(self, app: web.Application) -> None:
        """(textual-serve prints its banner and the command here; ``run`` says what matters.)"""

    def initialize_logging(self) -> None:
        logging.basicConfig(level="INFO", format="%(asctime)s %(name)s %(message)s")
        for handler in logging.getLogger().handlers:
            handler.addFilter(self.redactor)

    def serve(self, debug: bool = False) -> None:
        """Run until SIGINT/SIGTERM (textual-serve's loop, with the path-only access log and
        the actual port announced through ``on_ready``: ``port=0`` picks a free one)."""
        self.debug = debug
        self.initialize_logging()
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        runner = web.AppRunner(
            await self._make_app(),
            access_log_class=PathOnlyAccessLogger,
            access_log=logging.getLogger("hedgetop.serve.access"),
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
            port = int(runner.addresses[0][1]) if runner.addresses else self.port
            if self.on_ready is not None:
                self.on_ready(self.host, port)
            await stop.wait()
        finally:
            await runner.cleanup()


def _forbidden(reason: str) -> web.Response:
    response = web.Response(status=403, text=f"403 Forbidden: {reason}\n")
    _harden(response)
    return response


def _harden(response: web.StreamResponse) -> None:
    """No framing (a page could overlay the resize keys), no Referer carrying our URL out."""
    if response.prepared:
        return
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")


def child_environment(
    environ: MutableMapping[str, str], *, allow_trading: bool, drop: Iterable[str]
) -> None:
    """Remove from ``environ`` (the server's, inherited by every app process) what a browser
    session must not hold: the serve token and the other named variables always; the venue API
    keys unless trading is allowed."""
    for name in list(environ):
        secret = name.startswith("HEDGETOP_") and any(
            w in name for w in ("_API_", "SECRET", "PASSPHRASE", "PASSWORD")
        )
        if name in drop or (secret and not allow_trading):
            del environ[name]


def host_of(request_host: str) -> str:
    """The host name of a Host header (``[::1]:8000`` -> ``[::1]``, ``a:8000`` -> ``a``)."""
    if request_host.startswith("["):
        return request_host.split("]", 1)[0] + "]"
    return request_host.rsplit(":", 1)[0] if ":" in request_host else request_host
