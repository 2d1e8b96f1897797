"""The REST hosts' common part: an aiohttp server on loopback with the REST faults of the
chaos spec (``http500``, ``slow``, ``ratelimit``, ``drop-response``) and a rolling-window rate
limiter. What a request means, how it is signed and what an error looks like is each venue's
(``core.sim.venues.<venue>.rest``).

Faults are drawn from the hub's REST random source (seeded), in a fixed order per request:
slow, then ``http500`` (nothing done), then the venue's handler with ``ratelimit`` offered to
it (the venue answers in its own format), then ``drop-response`` (done, reply lost).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from core.sim.hub import Hub

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(slots=True)
class Window:
    """A rolling window of ``limit`` hits per ``period_ms`` (the venues' own limiters)."""

    limit: int
    period_ms: int
    hits: deque[int] = field(default_factory=deque)

    def take(self, now_ms: int, cost: int = 1) -> bool:
        """Record ``cost`` hits at ``now_ms`` if they fit; False (nothing recorded) if not."""
        while self.hits and self.hits[0] <= now_ms - self.period_ms:
            self.hits.popleft()
        if len(self.hits) + cost > self.limit:
            return False
        self.hits.extend([now_ms] * cost)
        return True

    def used(self, now_ms: int) -> int:
        while self.hits and self.hits[0] <= now_ms - self.period_ms:
            self.hits.popleft()
        return len(self.hits)

    def reset_at(self, now_ms: int) -> int:
        """When the oldest hit leaves the window (``now_ms`` if none)."""
        return self.hits[0] + self.period_ms if self.hits else now_ms


class RestHost:
    """One simulated REST host: ``routes`` maps (method, path) to a handler."""

    def __init__(self, hub: Hub, routes: dict[tuple[str, str], Handler]) -> None:
        self.hub = hub
        self.routes = routes
        self._runner: web.AppRunner | None = None
        self.port = 0

    def chaos_ratelimited(self) -> bool:
        """Whether this request is to be answered as rate-limited (the ``ratelimit`` fault)."""
        p = self.hub.chaos.ratelimit_p
        return bool(p) and self.hub.rest_rng.random() < p

    async def start(self, host: str, port: int) -> int:
        app = web.Application(middlewares=[self._faults])
        for (method, path), handler in self.routes.items():
            app.router.add_route(method, path, handler)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, reuse_address=True)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self.port = int(sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            with contextlib.suppress(Exception):
                await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _faults(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        hub = self.hub
        ch = hub.chaos
        rng = hub.rest_rng
        hub.stats.requests += 1
        if ch.slow_ms:
            await asyncio.sleep(ch.slow_ms / 1000.0)
        if ch.http500_p and rng.random() < ch.http500_p:
            hub.stats.http_500 += 1
            return web.Response(status=500, text="Internal Server Error (sim: http500)")
        response = await handler(request)
        if ch.drop_response_p and rng.random() < ch.drop_response_p:
            hub.stats.dropped_responses += 1
            if request.transport is not None:
                request.transport.abort()
        return response
