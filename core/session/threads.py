"""Blocking calls (ccxt, apprise) off the event loop, in threads that never hold up the exit."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def in_daemon_thread(fn: Callable[[], T], *, name: str) -> T:
    """``fn()`` in a daemon thread, awaited on the loop. Unlike ``asyncio.to_thread`` (the
    loop's default executor, which ``asyncio.run`` joins at exit), a slow call such as ccxt
    waiting on an unreachable venue never holds up the program's exit; cancelling the
    awaiting task abandons the result."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[T] = loop.create_future()

    def deliver(ok: bool, value: Any) -> None:
        if fut.done():  # cancelled meanwhile
            return
        if ok:
            fut.set_result(value)
        else:
            fut.set_exception(value)

    def work() -> None:
        try:
            outcome: tuple[bool, Any] = (True, fn())
        except Exception as exc:
            outcome = (False, exc)
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(deliver, *outcome)

    threading.Thread(target=work, name=name, daemon=True).start()
    return await fut
