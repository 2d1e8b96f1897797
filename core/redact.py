"""Keeping secrets out of text: URLs that carry tokens (notification URLs), and log records.

A notification URL is its own credential (``tgram://<bot token>/<chat>``, ``ntfy://user:pass@``,
``json://host/?token=``): anything past the scheme may be secret, so a URL is shown only as
``scheme://…``. ``Redactor`` masks given secret strings in every log record it filters.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlsplit

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]{0,31})://")


def redact_url(url: str) -> str:
    """``tgram://…``: the scheme alone (or ``<hidden>`` when there is none)."""
    m = _SCHEME.match(url.strip())
    return f"{m.group(1).lower()}://…" if m else "<hidden>"


def url_secrets(url: str) -> tuple[str, ...]:
    """The pieces of ``url`` that may be secret and could be echoed alone (the whole URL, its
    user, password, host, path segments and query values), longest first, for ``Redactor``."""
    pieces = {url}
    try:
        parts = urlsplit(url)
    except ValueError:
        return (url,)
    pieces |= {parts.netloc, parts.username or "", parts.password or "", parts.hostname or ""}
    pieces |= set(parts.path.split("/"))
    pieces |= {v for _k, v in parse_qsl(parts.query)}
    return tuple(sorted((p for p in pieces if len(p) >= 6), key=len, reverse=True))


class Redactor(logging.Filter):
    """Masks each secret wherever it appears in a log record (message, arguments, traceback)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets: tuple[str, ...] = ()
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        merged = {*self.secrets, *(s for s in secrets if s)}
        self.secrets = tuple(sorted(merged, key=len, reverse=True))

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
            record.exc_text = None
        masked = self.mask(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        return True
