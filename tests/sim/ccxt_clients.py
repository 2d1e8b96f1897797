"""The unchanged ccxt / ccxt.pro classes pointed at a simulator, configured as the README says
(URL overrides and the options that keep ccxt off endpoints the simulator does not serve)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from core.sim import SimExchange
from core.sim.seed import AccountSeed, MarginMode, PositionSeed, PositionSide, VenueSeed

START_MS = 1_764_000_000_000
KEY, SECRET = "demo", "demo-secret"
WAIT = 30.0  # a guard against a hang, never a synchronisation


def bybit_config(ex: SimExchange, *, secret: str = SECRET, unified: bool = False) -> dict[str, Any]:
    base = ex.endpoint("bybit", "rest")
    return {
        "apiKey": KEY,
        "secret": secret,
        "enableRateLimit": False,
        "urls": {"api": {k: base for k in ("public", "private", "spot", "futures", "v2")}},
        "has": {"fetchCurrencies": False},
        "options": {
            "fetchMarkets": {"types": ["spot", "inverse"]},
            "defaultType": "swap",
            "defaultSubType": "inverse",
            "defaultSettle": "BTC",
            "enableUnifiedMargin": False,
            "enableUnifiedAccount": unified,
        },
    }


def binance_config(ex: SimExchange, *, secret: str = SECRET) -> dict[str, Any]:
    base = ex.endpoint("binance", "rest")
    return {
        "apiKey": KEY,
        "secret": secret,
        "enableRateLimit": False,
        "urls": {
            "api": {
                "dapiPublic": base + "/dapi/v1",
                "dapiPrivate": base + "/dapi/v1",
                "dapiPrivateV2": base + "/dapi/v2",
            }
        },
        "has": {"fetchCurrencies": False},
        "options": {"fetchMargins": False},
    }


def binance_spot_config(ex: SimExchange) -> dict[str, Any]:
    base = ex.endpoint("binance", "spot-rest") + "/api/v3"
    return {
        "apiKey": KEY,
        "secret": SECRET,
        "enableRateLimit": False,
        "urls": {"api": {"public": base, "private": base}},
        "has": {"fetchCurrencies": False},
        "options": {"fetchMarkets": {"types": ["spot"]}, "fetchMargins": False},
    }


def seed() -> AccountSeed:
    """Both venues' accounts: spot coins, futures wallets, a 1x BTC short on Bybit, a 3x ADA
    short on Binance, and a 25x ETH short on each that a 5 % rise liquidates."""
    return AccountSeed(
        venues={
            "bybit": VenueSeed(
                spot={"XRP": 6_000.0},
                futures={"BTC": 1.6, "XRP": 5_000.0, "ETH": 0.6, "SOL": 5_000.0},
                positions=(
                    PositionSeed(
                        "BTC", PositionSide.SHORT, 135_000, 90_000.0, 1.0, MarginMode.ISOLATED, 1.5
                    ),
                    PositionSeed(
                        "ETH", PositionSide.SHORT, 31_000, 3_100.0, 25.0, MarginMode.ISOLATED, 0.4
                    ),
                ),
            ),
            "binance": VenueSeed(
                spot={"SOL": 400.0},
                futures={"BTC": 0.3, "ADA": 30_000.0, "ETH": 0.6},
                positions=(
                    PositionSeed(
                        "ADA", PositionSide.SHORT, 3_857, 0.42, 3.0, MarginMode.ISOLATED, 12_857.0
                    ),
                    PositionSeed(
                        "ETH", PositionSide.SHORT, 3_100, 3_100.0, 25.0, MarginMode.ISOLATED, 0.4
                    ),
                ),
            ),
        }
    )


async def until(pred: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    """Wait (bounded) for the simulator to reach a state a client's request produces."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not pred():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for: {what}")
        await asyncio.sleep(0.005)
