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


def test_the_venue_liquidation_price_is_flagged_when_ours_differs_by_more_than_half_a_pct() -> None:
    import dataclasses

    from tui_fakes import portfolio

    from tui.widgets.panes import _model_line

    h = next(x for x in portfolio().hedges if x.liq_price is not None)
    assert "venue liq" not in _model_line(h)  # no account: nothing claimed
    near = dataclasses.replace(
        h,
        exchange_liq_price=h.liq_price * 1.004,
        liq_gap_pct=-0.398,
        funding_received_coin=0.001,
        funding_received_since_ms=1_764_000_000_000,
    )
    assert not near.liq_gap_flagged
    assert "differs" not in _model_line(near)
    assert "venue booked" in _model_line(near)
    far = dataclasses.replace(near, liq_gap_pct=-0.9)
    assert far.liq_gap_flagged
    assert "differs" in _model_line(far)
