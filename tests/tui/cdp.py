"""A headless Chromium driven through the DevTools protocol, for the browser tests.

Chromium is started as the machine's network wants it (closed: no background networking, no
component updates, no QUIC), with a fresh profile and ``--remote-debugging-port=0``; the port it
chose is read from ``DevToolsActivePort`` in the profile. ``Page`` speaks to one tab over the
browser's websocket (flattened sessions) with the sync client of ``websockets``.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from websockets.sync.client import ClientConnection, connect

T = TypeVar("T")

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--mute-audio",
)


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


def until(what: str, fn: Callable[[], T | None], timeout: float, every: float = 0.2) -> T:
    """Poll ``fn`` until it returns something (not None/False) or ``timeout`` seconds pass: a
    wait for a condition, with a deadline generous enough for a loaded machine."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


class Page:
    """One tab: ``call`` a DevTools method, ``evaluate`` JavaScript, ``screenshot``."""

    def __init__(self, ws: ClientConnection, session_id: str) -> None:
        self.ws = ws
        self.session_id = session_id
        self._ids = itertools.count(1000)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        return _call(self.ws, self._ids, method, params, self.session_id)

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def navigate(self, url: str, timeout: float = 30.0) -> None:
        self.call("Page.navigate", url=url)
        until(
            f"{url} to load",
            lambda: self.evaluate("document.readyState") == "complete",
            timeout,
        )

    def screenshot(self, path: Path) -> bytes:
        data = base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])
        path.write_bytes(data)
        return data


def _call(
    ws: ClientConnection,
    ids: Iterator[int],
    method: str,
    params: dict[str, Any],
    session_id: str | None = None,
) -> dict[str, Any]:
    msg_id = next(ids)
    msg: dict[str, Any] = {"id": msg_id, "method": method, "params": params}
    if session_id is not None:
        msg["sessionId"] = session_id
    ws.send(json.dumps(msg))
    while True:  # events interleave with answers: skip them
        reply = json.loads(ws.recv(timeout=60))
        if reply.get("id") == msg_id:
            if "error" in reply:
                raise RuntimeError(f"{method}: {reply['error']}")
            result: dict[str, Any] = reply.get("result", {})
            return result


@contextlib.contextmanager
def chromium(binary: str, profile: Path, size: tuple[int, int] = (1400, 900)) -> Iterator[Page]:
    """A headless Chromium with one blank tab; stopped (by its pid) on exit."""
    profile.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [
            binary,
            *FLAGS,
            f"--user-data-dir={profile}",
            "--remote-debugging-port=0",
            f"--window-size={size[0]},{size[1]}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        until("Chromium's DevTools port", lambda: port_file.is_file() and port_file.read_text(), 60)
        port, path = port_file.read_text().split()[:2]
        with connect(f"ws://127.0.0.1:{port}{path}", max_size=None) as ws:
            ids = itertools.count(1)
            target = _call(ws, ids, "Target.createTarget", {"url": "about:blank"})["targetId"]
            session = _call(
                ws, ids, "Target.attachToTarget", {"targetId": target, "flatten": True}
            )["sessionId"]
            page = Page(ws, session)
            page.call("Page.enable")
            page.call("Runtime.enable")
            yield page
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
