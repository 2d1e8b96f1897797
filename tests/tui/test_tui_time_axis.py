"""History charts label their time axis at the range's scale (issue 13): ticks over a short
range must differ from one another."""

from __future__ import annotations

from tui.screens.history import HOUR_MS, fmt_time

T0 = 1_764_748_800_000  # 2025-12-03 08:00 UTC


def test_ticks_over_one_minute_are_all_different() -> None:
    span = 60_000
    labels = [fmt_time(T0 + k * span // 4, span) for k in range(5)]
    assert len(set(labels)) == 5
    assert labels[0] == "08:00:00"


def test_longer_ranges_keep_minutes_then_dates() -> None:
    assert fmt_time(T0, 24 * HOUR_MS) == "08:00"
    assert fmt_time(T0, 7 * 24 * HOUR_MS) == "12-03 08:00"
    assert fmt_time(T0, 30 * 24 * HOUR_MS) == "12-03"
