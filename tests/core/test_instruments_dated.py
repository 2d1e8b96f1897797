"""Dated coin-margined futures in the instrument table (issue 14 §5).

Each venue's own spelling of the December 2026 quarterly, and ccxt's unified one, reads as
the dated contract (never silently as the perpetual): the coin, the expiry (08:00 UTC on the
delivery date; Bybit's ``Z26`` is the last Friday of December 2026, the 25th), the venue's
native name, and the venue's perpetual spec for the coin otherwise (face value, tick, tiers),
without a funding interval. An expired symbol is refused when the caller passes the time.
"""

from __future__ import annotations

import dataclasses

import pytest

from core.dated import dated_basis, expiry_ms, next_quarterly
from core.events import Kind
from core.instruments import (
    ExpiredInstrument,
    UnknownInstrument,
    lookup,
    parse_coin,
    parse_symbol,
)

DEC25 = 1_798_185_600_000  # 2026-12-25 08:00 UTC
DEC04 = 1_796_371_200_000  # 2026-12-04 08:00 UTC

# (venue, symbol as written, the venue's native name)
SPELLINGS = [
    ("binance", "BTCUSD_261225", "BTCUSD_261225"),
    ("binance", "btcusd_261225", "BTCUSD_261225"),
    ("binance", "BTC/USD:BTC-261225", "BTCUSD_261225"),
    ("okx", "BTC-USD-261225", "BTC-USD-261225"),
    ("okx", "BTC/USD:BTC-261225", "BTC-USD-261225"),
    ("deribit", "BTC-25DEC26", "BTC-25DEC26"),
    ("deribit", "BTC/USD:BTC-261225", "BTC-25DEC26"),
    ("bybit", "BTCUSDZ26", "BTCUSDZ26"),
    ("bybit", "BTC/USD:BTC-261225", "BTCUSDZ26"),
]


@pytest.mark.parametrize(("venue", "symbol", "native"), SPELLINGS)
def test_each_spelling_reads_as_the_dated_contract(venue: str, symbol: str, native: str) -> None:
    assert parse_coin(symbol) == "BTC"
    assert parse_symbol(symbol) == ("BTC", DEC25)
    spec = lookup(venue, symbol)
    perp = lookup(venue, "BTC")
    assert spec.symbol == native
    assert spec.kind is Kind.INVERSE_FUTURE
    assert spec.expiry_ms == DEC25
    assert spec.funding_interval_ms is None  # a dated future pays no funding
    assert perp.kind is Kind.INVERSE_PERP
    assert perp.expiry_ms is None
    # otherwise the venue's perpetual spec for the coin
    same = ("coin", "face_value_usd", "tick_size", "lot_contracts", "qty_unit", "tiers")
    for name in same:
        assert getattr(spec, name) == getattr(perp, name), name
    assert spec != perp


@pytest.mark.parametrize(
    ("symbol", "coin"),
    [
        ("BTCUSD", "BTC"),
        ("BTCUSD_PERP", "BTC"),
        ("BTC-USD-SWAP", "BTC"),
        ("BTC-PERPETUAL", "BTC"),
        ("BTC/USD:BTC", "BTC"),
        ("sol", "SOL"),
    ],
)
def test_perpetual_spellings_are_still_perpetuals(symbol: str, coin: str) -> None:
    assert parse_symbol(symbol) == (coin, None)


def test_the_same_date_in_another_venues_spelling_is_that_venues_name() -> None:
    assert lookup("okx", "BTCUSD_261225").symbol == "BTC-USD-261225"
    assert lookup("binance", "BTC-25DEC26").symbol == "BTCUSD_261225"
    assert lookup("deribit", "ETH-USD-270326").symbol == "ETH-26MAR27"
    assert lookup("bybit", "ETH-26MAR27").symbol == "ETHUSDH27"


@pytest.mark.parametrize(
    ("venue", "symbol", "words"),
    [
        ("binance", "BTCUSD_261399", "not a date"),
        ("deribit", "BTC-31FEB26", "not a date"),
        ("deribit", "BTC-25XYZ26", "not a date"),
        ("bybit", "BTCUSD_261224", "last Friday"),  # Bybit names a month, not a day
        ("binance", "ZZZUSD_261225", "unknown symbol"),
        ("binance", "BTCUSDT_261225", "linear"),
    ],
)
def test_unreadable_dated_symbols_say_why(venue: str, symbol: str, words: str) -> None:
    with pytest.raises(UnknownInstrument, match=words) as err:
        lookup(venue, symbol)
    assert symbol in str(err.value)


def test_bybit_inverse_future_is_not_an_unknown_coin() -> None:
    """``BTCUSDZ26`` used to read as a coin called BTCUSDZ26 ("unknown symbol")."""
    spec = lookup("bybit", "BTCUSDZ26")
    assert spec.coin == "BTC"


def test_an_expired_symbol_is_refused_given_the_time() -> None:
    assert lookup("binance", "BTCUSD_261225", now_ms=DEC04).expiry_ms == DEC25
    assert lookup("binance", "BTCUSD_261225", now_ms=DEC25 - 1).symbol == "BTCUSD_261225"
    for now in (DEC25, DEC25 + 86_400_000):
        with pytest.raises(ExpiredInstrument, match=r"expired on 2026-12-25 08:00 UTC"):
            lookup("binance", "BTCUSD_261225", now_ms=now)
    assert issubclass(ExpiredInstrument, UnknownInstrument)
    # a perpetual never expires
    assert lookup("binance", "BTCUSD_PERP", now_ms=DEC25 * 10).expiry_ms is None


def test_a_dated_spec_is_a_frozen_value() -> None:
    spec = lookup("deribit", "BTC-25DEC26")
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.expiry_ms = 0  # type: ignore[misc]


def test_the_basis_locked_by_hand() -> None:
    """BTCUSD_261225 at 91,050 against an index of 90,000, 21 days before it settles:
    1,050/90,000 = 1.16667 %, over 21 days 1.16667 · 365/21 = 20.2778 % a year; a short of
    90,000 USD locks 90,000 · (1 − 90,000/91,050) = 1,037.89 USD."""
    d = dated_basis("BTCUSD_261225", 91_050.0, 90_000.0, 90_000.0, DEC25 - 21 * 86_400_000)
    assert d is not None
    assert d.days_left == 21.0
    assert d.basis_pct == pytest.approx(1.166_666_7, rel=1e-7)
    assert d.annual_pct == pytest.approx(20.277_778, rel=1e-7)
    assert d.locked_usd == pytest.approx(1_037.891_3, rel=1e-7)


@pytest.mark.parametrize(
    ("expiry", "after"),
    [
        ("BTCUSD_261225", "BTCUSD_270326"),  # December -> March
        ("BTCUSD_260327", "BTCUSD_260626"),
        ("BTCUSD_261204", "BTCUSD_261225"),  # a weekly in December -> that quarter's
        ("BTCUSD_261030", "BTCUSD_261225"),
    ],
)
def test_the_next_quarterly_is_the_roll_target(expiry: str, after: str) -> None:
    exp, nxt = expiry_ms(expiry), expiry_ms(after)
    assert exp is not None
    assert next_quarterly(exp) == nxt
