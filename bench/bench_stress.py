"""The stress grid: 20 hedges (each on its own coin and holding, five venues' models mixed,
isolated and cross) × the 13 default moves, with every hedge's exact liquidation move.

Figures: wall time of one ``core.stress.stress_grid`` call, median and p99 over 300 calls
(previous session's figures: median 2.3 ms, p99 3.4 ms)."""

from __future__ import annotations

import statistics
import time

from core.config import parse_config
from core.offline import engine_at_prices
from core.stress import DEFAULT_MOVES_PCT, stress_grid

VENUES = (
    ("binance", "{c}USD_PERP"),
    ("bybit", "{c}USD"),
    ("okx", "{c}-USD-SWAP"),
    ("binance", "{c}USD_PERP"),
)
COINS = ("BTC", "ETH", "SOL", "XRP", "ADA")


def _config() -> tuple[str, dict[str, float]]:
    lines = []
    prices = {}
    n = 0
    for coin in COINS:
        prices[coin] = 100.0 if coin != "BTC" else 80_000.0
        lines.append(f'[[holdings]]\ncoin = "{coin}"\namount = 10\n')
        for v, sym in VENUES:
            n += 1
            contracts = 100 if v != "bybit" else 10_000
            mode = "cross" if n % 3 == 0 else "isolated"
            lines.append(
                f'[[hedges]]\nid = "h{n}"\nvenue = "{v}"\nsymbol = "{sym.format(c=coin)}"\n'
                f"contracts = {contracts}\nentry = {prices[coin]}\nleverage = {1 + n % 5}\n"
                f'margin_mode = "{mode}"\n'
            )
    return "\n".join(lines), prices


def main() -> None:
    text, prices = _config()
    cfg = parse_config(text)
    engine = engine_at_prices(cfg, prices, 0)
    snap, specs = engine.snapshot(0), engine.specs()
    assert len(snap.hedges) == 20
    stress_grid(snap, specs)
    runs = []
    for _ in range(300):
        t0 = time.perf_counter()
        stress_grid(snap, specs, DEFAULT_MOVES_PCT)
        runs.append(time.perf_counter() - t0)
    runs.sort()
    med = statistics.median(runs) * 1000
    p99 = runs[int(len(runs) * 0.99) - 1] * 1000
    print(f"stress_grid 20 hedges x 13 moves, median      : {med:6.2f} ms (previous 2.3 ms)")
    print(f"stress_grid 20 hedges x 13 moves, p99         : {p99:6.2f} ms (previous 3.4 ms)")


if __name__ == "__main__":
    main()
