"""The venue's moves of an isolated position's margin on a fill (core.isolated_margin)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.isolated_margin import margin_moved


def test_an_increase_adds_the_opened_parts_initial_margin() -> None:
    # Binance ADAUSD_PERP: 90 contracts x 10 USD at 0.42 USD and 3x: 900 / (0.42 x 3) ADA
    moved = margin_moved(
        12_000.0, 16_200.0, opened_usd=900.0, closed_usd=0.0, price=0.42, leverage=3
    )
    assert moved == pytest.approx(714.2857, rel=1e-6)


def test_a_reduction_releases_the_closed_share() -> None:
    moved = margin_moved(
        0.6, 90_000.0, opened_usd=0.0, closed_usd=30_000.0, price=95_000.0, leverage=1.5
    )
    assert moved == pytest.approx(-0.2)


def test_a_flip_releases_all_then_adds_the_new_sides() -> None:
    moved = margin_moved(
        1.0, 90_000.0, opened_usd=10_000.0, closed_usd=90_000.0, price=100_000.0, leverage=2
    )
    assert moved == pytest.approx(-1.0 + 0.05)


def test_a_bad_price_or_leverage_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        margin_moved(1.0, 1.0, opened_usd=1.0, closed_usd=0.0, price=0.0, leverage=2)


@given(
    margin=st.floats(0.0, 1e6),
    size=st.floats(1.0, 1e9),
    part=st.floats(0.0, 1.0),
)
def test_closing_never_releases_more_than_the_margin(
    margin: float, size: float, part: float
) -> None:
    moved = margin_moved(
        margin, size, opened_usd=0.0, closed_usd=size * part, price=1.0, leverage=1
    )
    assert -margin - 1e-9 <= moved <= 0.0
