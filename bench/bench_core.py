"""Foundation math costs: what the engine pays per snapshot and what `hedgetop calc` costs.

Figures: microseconds per call of the liquidation solver per venue (tiered Binance walks its
brackets; Deribit solves a quadratic; Bybit cross adds the fee to close at the bankruptcy
price), of the full assessment the engine makes per hedge and tick, of sizing, of the full calc
report, and the wall time of one `hedgetop calc --json` process (start-up included).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from core.calc import CalcInput, compute
from core.instruments import lookup
from core.liquidation import assess, liquidation_price, maintenance_margin_coin
from core.sizing import size_for_ratio


def _per_call_us(fn: Callable[[], object], n: int) -> float:
    fn()
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n * 1e6


def main() -> None:
    n = 20_000
    for venue in ("bybit", "binance", "okx", "deribit"):
        spec = lookup(venue, "BTCUSD")
        us = _per_call_us(
            lambda spec=spec: liquidation_price(spec, "short", 2e7, 50_000.0, 100.0), n
        )
        print(f"liquidation_price {venue:<8} short 400 BTC, 4x : {us:6.2f} us/call")
    bybit = lookup("bybit", "BTCUSD")
    us = _per_call_us(
        lambda: liquidation_price(bybit, "short", 2e7, 50_000.0, 100.0, mode="cross"), n
    )
    print(f"liquidation_price bybit cross, fee to close    : {us:6.2f} us/call")
    us = _per_call_us(lambda: assess(bybit, "short", 5e4, 50_000.0, 1.0, mark=51_000.0), n)
    print(f"liquidation.assess bybit 1x, with the mark      : {us:6.2f} us/call")
    binance = lookup("binance", "BTCUSD")
    us = _per_call_us(lambda: liquidation_price(binance, "long", 1e7, 45_000.0, 101.0), n)
    print(f"liquidation_price binance  long, bracket 7       : {us:6.2f} us/call")
    us = _per_call_us(lambda: maintenance_margin_coin(binance, 1e7, 45_000.0), n)
    print(f"maintenance_margin_coin binance                 : {us:6.2f} us/call")
    us = _per_call_us(
        lambda: size_for_ratio(
            binance,
            0.8,
            spot_coin=3.0,
            margin_coin=0.5,
            current_size_usd=100_000.0,
            current_entry=48_000.0,
            price=50_000.0,
        ),
        n,
    )
    print(f"size_for_ratio                                  : {us:6.2f} us/call")
    inp = CalcInput(
        venue="okx", side="short", contracts=20, entry=50_000.0, mark=51_000.0, spot=1.0,
        leverage=3.0, funding_rate=0.0001, target_ratio=1.0,
    )  # fmt: skip
    us = _per_call_us(lambda: compute(inp), 5_000)
    print(f"calc.compute (full report)                      : {us:6.2f} us/call")
    exe = Path(sys.executable).with_name("hedgetop")
    argv = [str(exe), "calc", "--venue", "bybit", "--side", "short", "--contracts", "1000",
            "--entry", "50000", "--mark", "51000", "--json"]  # fmt: skip
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        runs.append(time.perf_counter() - t0)
    print(f"hedgetop calc --json, one process (best of 3)   : {min(runs) * 1000:6.1f} ms")


if __name__ == "__main__":
    main()
