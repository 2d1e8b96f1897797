"""One rule labels what a venue-native symbol prices, whatever the venue."""

from __future__ import annotations

import pytest

from core.events import Kind
from core.feeds.base import contract_kind


@pytest.mark.parametrize(
    ("symbol", "kind"),
    [
        ("BTCUSD", Kind.INVERSE_PERP),  # Bybit inverse perpetual
        ("BTCUSDU23", Kind.INVERSE_FUTURE),  # Bybit inverse future, September 2023
        ("ETHUSDH24", Kind.INVERSE_FUTURE),  # Bybit inverse future, March 2024
        ("BTCUSDT", Kind.LINEAR),  # Bybit linear
        ("BTCPERP", Kind.LINEAR),  # Bybit USDC perpetual
        ("BTCUSD_PERP", Kind.INVERSE_PERP),  # Binance COIN-M perpetual
        ("BTCUSD_200925", Kind.INVERSE_FUTURE),  # Binance COIN-M quarterly
        ("BTC-USD-SWAP", Kind.INVERSE_PERP),  # OKX coin-margined swap
        ("BTC-USD-220527", Kind.INVERSE_FUTURE),  # OKX coin-margined future
        ("BTC-USDT-SWAP", Kind.LINEAR),  # OKX USDT swap
        ("FIL-USDT-220325", Kind.LINEAR),  # OKX USDT future
        ("BTC-PERPETUAL", Kind.INVERSE_PERP),  # Deribit inverse perpetual
        ("BTC-30SEP22", Kind.INVERSE_FUTURE),  # Deribit inverse future
        ("BTC_USDC-PERPETUAL", Kind.LINEAR),  # Deribit linear perpetual
    ],
)
def test_contract_kind_on_the_inverse_socket(symbol: str, kind: Kind) -> None:
    assert contract_kind(symbol, "inverse") is kind


def test_the_spot_socket_is_spot() -> None:
    assert contract_kind("BTCUSDT", "spot") is Kind.SPOT
