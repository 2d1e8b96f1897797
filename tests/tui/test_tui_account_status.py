"""The status bar says each account's read state like a feed's: its age, and loudly when the
last read failed or is overdue (the figures on screen are then the exchange's old ones)."""

from __future__ import annotations

from core.session.accounts import AccountHealth
from tui.widgets.panes import account_markup


def test_each_account_state_reads_as_what_it_is() -> None:
    assert account_markup(()) == ""
    fresh = account_markup((AccountHealth("main", 4_000, None, overdue=False),))
    assert "main" in fresh
    assert "read 4s ago" in fresh
    assert "gain" in fresh
    waiting = account_markup((AccountHealth("main", None, None, overdue=False),))
    assert "reading" in waiting
    assert "ago" not in waiting  # no read yet: no age, never "0s"
    old = account_markup((AccountHealth("main", 200_000, None, overdue=True),))
    assert "stale" in old
    failed = account_markup((AccountHealth("main", 95_000, "bybit: key refused", overdue=True),))
    assert "read failed, last good 1m35s ago" in failed
    assert "alert" in failed
    never = account_markup((AccountHealth("main", None, "bybit: key refused", overdue=False),))
    assert "read failed" in never
    assert "last good" not in never
