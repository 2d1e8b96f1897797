"""``hedgetop stress``: the stress grid and the funding forecast of the configured (or demo)
portfolio, from the shell.

    hedgetop stress [--config PATH] [--moves LIST] [--price COIN=P ...] [--coin-move COIN=PCT ...]
                    [--json]

Prices: with ``--price`` (repeatable) the grid is computed offline at those prices (a coin
left out is unknown, "—"); without, from the feeds (the demo: the built-in simulator), at the
first snapshot that prices every hedge and holding. ``--coin-move`` adds one row that moves
each named coin by its own figure. The funding forecast reads the recorded rates from the
history database when there is one (``--db``, else the config's). Bad input is one line,
exit code 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.config import Config
    from core.forecast import HedgeForecast, RateStats
    from core.instruments import ContractSpec
    from core.snapshot import PortfolioSnapshot
    from core.stress import LiquidationPoint, StressGrid

HELP = "the book at price moves: values, hedge PnL, margins, the first liquidation; funding"
FEED_TIMEOUT_S = 20.0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("stress", help=HELP, description=HELP)
    p.add_argument("--config", default=argparse.SUPPRESS, help="portfolio config (TOML)")
    p.add_argument("--db", default=argparse.SUPPRESS, help="history database (recorded rates)")
    p.add_argument(
        "--moves",
        metavar="LIST",
        help="price moves in percent, comma separated; write --moves=-50,0,50 "
        "(default -50,-30,-20,-10,-5,0,5,10,20,30,50,100,200)",
    )
    p.add_argument(
        "--price",
        action="append",
        metavar="COIN=P",
        help="compute offline at this USD price of COIN (repeatable); default: the feeds",
    )
    p.add_argument(
        "--coin-move",
        action="append",
        metavar="COIN=PCT",
        help="add a row moving each named coin by its own figure (repeatable)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def _pairs(flag: str, items: Sequence[str] | None, *, positive: bool) -> dict[str, float]:
    from tui.usage import UsageError

    out: dict[str, float] = {}
    for item in items or ():
        coin, sep, raw = item.partition("=")
        coin = coin.strip().upper()
        if not sep or not coin.isalnum():
            raise UsageError(f"{flag} {item!r}: expected COIN=NUMBER, e.g. SOL=140")
        try:
            value = float(raw.strip().removesuffix("%"))
        except ValueError:
            raise UsageError(f"{flag} {item!r}: {raw.strip()!r} is not a number") from None
        if not math.isfinite(value) or (positive and value <= 0):
            raise UsageError(f"{flag} {item!r}: must be a {'positive' if positive else ''} number")
        if not positive and value < -100:
            raise UsageError(f"{flag} {item!r}: a move cannot be below -100 %")
        out[coin] = value
    return out


def run(args: argparse.Namespace) -> int:
    from core.stress import DEFAULT_MOVES_PCT, parse_moves, scenario_from_coin_moves, stress_grid
    from tui.commands._session import load
    from tui.usage import UsageError

    moves: tuple[float, ...] = DEFAULT_MOVES_PCT
    if args.moves is not None:
        try:
            moves = parse_moves(args.moves)
        except ValueError as exc:
            raise UsageError(f"--moves {args.moves!r}: {exc}") from None
    prices = _pairs("--price", args.price, positive=True)
    coin_moves = _pairs("--coin-move", args.coin_move, positive=False)
    cfg = load(getattr(args, "config", None))
    coins = set(cfg.coins())
    for flag, given in (("--price", prices), ("--coin-move", coin_moves)):
        unknown = sorted(set(given) - coins)
        if unknown:
            raise UsageError(
                f"{flag} {unknown[0]}: not a coin of the portfolio (its coins: "
                f"{', '.join(cfg.coins())})"
            )
    if prices:
        snap, specs, source = _offline(cfg, prices)
        missing = [c for c in cfg.coins() if c not in prices]
        if missing:
            print(
                f"hedgetop stress: no --price for {', '.join(missing)}: shown as unknown (—)",
                file=sys.stderr,
            )
    else:
        snap, specs, source = _from_feeds(cfg)
    extra = (scenario_from_coin_moves(coin_moves),) if coin_moves else ()
    grid = stress_grid(snap, specs, moves, extra=extra)
    stats = _rate_stats(args, cfg, snap.ts_ms)
    forecasts = _forecasts(snap, stats)
    if args.json:
        sys.stdout.write(json.dumps(grid_json(grid, snap, forecasts, source), allow_nan=False))
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render(grid, snap, forecasts, source, demo=cfg.demo))
    return 0


def _offline(
    cfg: Config, prices: Mapping[str, float]
) -> tuple[PortfolioSnapshot, dict[str, ContractSpec], str]:
    import time

    from core.offline import engine_at_prices

    now = time.time_ns() // 1_000_000
    engine = engine_at_prices(cfg, prices, now)
    shown = ", ".join(f"{c} {p:g}" for c, p in prices.items())
    return engine.snapshot(now), engine.specs(), f"offline at --price {shown} USD"


def _from_feeds(cfg: Config) -> tuple[PortfolioSnapshot, dict[str, ContractSpec], str]:
    import asyncio

    from core.session import LiveSession
    from tui.usage import UsageError

    def complete(s: PortfolioSnapshot) -> bool:
        return all(h.mark is not None for h in s.hedges) and all(
            h.price_usd is not None for h in s.holdings
        )

    async def main() -> tuple[PortfolioSnapshot, dict[str, ContractSpec]]:
        session = LiveSession(cfg, notify=False)
        await session.start()
        try:
            snap = await session.wait_for(complete, FEED_TIMEOUT_S)
            return snap, session.engine.specs()
        finally:
            await session.stop()

    try:
        snap, specs = asyncio.run(main())
    except TimeoutError:
        raise UsageError(
            f"no complete prices from the feeds within {FEED_TIMEOUT_S:g} s: give them with "
            "--price COIN=P"
        ) from None
    what = "the built-in simulator" if cfg.simulator.enabled else "the venues' feeds"
    return snap, specs, f"live prices from {what}"


def _rate_stats(args: argparse.Namespace, cfg: Config, now_ms: int) -> dict[str, RateStats]:
    from core.config import default_database_path
    from storage.history import HistoryError, open_history
    from storage.review_queries import funding_rate_stats

    db = getattr(args, "db", None)
    path = Path(db).expanduser() if db else (cfg.database or default_database_path())
    if not path.is_file():
        return {}
    try:
        with open_history(path) as hist:
            return funding_rate_stats(hist, now_ms)
    except HistoryError:
        return {}


def _forecasts(snap: PortfolioSnapshot, stats: Mapping[str, RateStats]) -> list[HedgeForecast]:
    from core.forecast import EMPTY_STATS, hedge_forecast

    return [hedge_forecast(h, stats.get(h.hedge_id, EMPTY_STATS)) for h in snap.hedges]


# --- JSON ------------------------------------------------------------------------------------


def _point(p: LiquidationPoint | None) -> dict[str, Any] | None:
    return None if p is None else dataclasses.asdict(p)


def forecast_json(forecasts: Sequence[HedgeForecast]) -> dict[str, Any]:
    from core.forecast import HORIZON_DAYS, RateBasis, next_total_usd, total_usd

    hedges = {}
    for f in forecasts:
        hedges[f.hedge_id] = {
            "coin": f.coin,
            "interval_ms": f.interval_ms,
            "continuous": f.continuous,
            "rate": f.rate,
            "next_ms": f.next_ms,
            "next_coin": f.next_coin,
            "next_usd": f.next_usd,
            "history": dataclasses.asdict(f.stats),
            "projections": [
                {
                    "basis": str(p.basis),
                    "days": p.days,
                    "rate": p.rate,
                    "payments": p.payments,
                    "coin": p.coin,
                    "usd": p.usd,
                }
                for p in f.projections
            ],
        }
    totals = {f"{b}_{d}d_usd": total_usd(forecasts, b, d) for b in RateBasis for d in HORIZON_DAYS}
    totals["next_usd"] = next_total_usd(forecasts)
    return {"hedges": hedges, "total": totals}


def grid_json(
    grid: StressGrid, snap: PortfolioSnapshot, forecasts: Sequence[HedgeForecast], source: str
) -> dict[str, Any]:
    rows = []
    for r in grid.rows:
        rows.append(
            {
                "label": r.scenario.label,
                "move_pct": r.scenario.move_pct,
                "factors": dict(r.scenario.factors),
                "value_usd": r.value_usd,
                "unhedged_value_usd": r.unhedged_value_usd,
                "hedge_pnl_usd": r.hedge_pnl_usd,
                "liquidated": list(r.liquidated),
                "holdings": {c.coin: dataclasses.asdict(c) for c in r.holdings},
                "hedges": {c.hedge_id: dataclasses.asdict(c) for c in r.hedges},
            }
        )
    return {
        "ts_ms": grid.ts_ms,
        "source": source,
        "live": {
            "total_value_usd": snap.total_value_usd,
            "unhedged_value_usd": snap.unhedged_value_usd,
        },
        "multipliers": dict(grid.multipliers),
        "rows": rows,
        "liquidations": [dataclasses.asdict(p) for p in grid.liquidations],
        "first_liquidation": _point(grid.first),
        "first_liquidation_up": _point(grid.first_up),
        "first_liquidation_down": _point(grid.first_down),
        "funding_forecast": forecast_json(forecasts),
        "hedges": {h.hedge_id: hedge_json(h) for h in snap.hedges},
    }


def hedge_json(h: Any) -> dict[str, Any]:
    """Each hedge's contract as the live snapshot has it: a dated future's expiry, days left,
    the basis it locks a year and the perpetual's funding APR beside it (null for a
    perpetual)."""
    return {
        "venue": h.venue,
        "symbol": h.symbol,
        "expiry_ms": h.expiry_ms,
        "days_to_expiry": h.days_to_expiry,
        "basis_locked_apr_pct": h.basis_locked_apr_pct,
        "perp_funding_apr_pct": h.perp_funding_apr_pct,
    }


# --- text ------------------------------------------------------------------------------------


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [len(h) for h in headers]
    for r in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, r, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(headers), *(line(r) for r in rows)]) + "\n"


def liquidation_line(p: LiquidationPoint | None, *, direction: str) -> str:
    from tui.widgets.format import coin, num, usd

    if p is None:
        return f"no move {direction} liquidates any hedge"
    return (
        f"{p.hedge_id} ({p.venue} {p.symbol}) at {p.move_pct:+.2f} %: mark {num(p.tick_price)} "
        f"USD (equity = maintenance {coin(p.maintenance_coin, p.coin)}); loses its "
        f"{p.lost_what}, {coin(p.lost_coin, p.coin)} = {usd(p.lost_usd)}"
    )


def render(
    grid: StressGrid,
    snap: PortfolioSnapshot,
    forecasts: Sequence[HedgeForecast],
    source: str,
    *,
    demo: bool = False,
) -> str:
    from core.forecast import RATE_LABEL, RateBasis
    from tui.widgets.format import DASH, coin, num, pct, ratio_pct, usd

    out = [f"stress grid: {'demo portfolio' if demo else 'portfolio'}, {source}\n"]
    followers = {c: k for c, k in grid.multipliers.items() if k != 1.0}
    if followers:
        out.append(
            "proxy holdings move by beta x the row: "
            + ", ".join(f"{c} x{k:g}" for c, k in followers.items())
            + "\n"
        )
    out.append("\nportfolio\n")
    rows = []

    def change(value: float | None, now: float | None) -> str:
        return usd(None if value is None or now is None else value - now, sign=True)

    for r in grid.rows:
        rows.append(
            [
                r.scenario.label,
                usd(r.value_usd),
                change(r.value_usd, snap.total_value_usd),
                usd(r.unhedged_value_usd),
                change(r.unhedged_value_usd, snap.unhedged_value_usd),
                usd(r.hedge_pnl_usd, sign=True),
            ]
        )
    out.append(
        _table(
            ["move", "hedged", "change", "unhedged", "change", "hedge PnL"],
            rows,
        )
    )
    for p in sorted(grid.liquidations, key=lambda p: abs(p.move_pct)):
        first = next((r.scenario.label for r in grid.rows if p.hedge_id in r.liquidated), None)
        where = f"gone from the {first} row" if first else "beyond the grid"
        out.append(f"  {p.hedge_id} is liquidated at {p.move_pct:+.2f} % ({where})\n")
    for ho in snap.holdings:
        out.append(f"\nholding {ho.coin}\n")
        rows = []
        for r in grid.rows:
            c = r.holding(ho.coin)
            assert c is not None
            rows.append(
                [
                    r.scenario.label,
                    num(c.price_usd),
                    usd(c.value_usd),
                    usd(c.unhedged_value_usd),
                    usd(c.hedge_pnl_usd, sign=True),
                    ratio_pct(c.hedge_ratio),
                ]
            )
        out.append(
            _table(["move", "price USD", "hedged", "unhedged", "hedge PnL", "hedge ratio"], rows)
        )
    for h in snap.hedges:
        out.append(f"\nhedge {h.hedge_id} ({h.venue} {h.symbol}, {h.margin_mode})\n")
        rows = []
        for r in grid.rows:
            hc = r.hedge(h.hedge_id)
            assert hc is not None
            rows.append(
                [
                    r.scenario.label,
                    num(hc.mark),
                    coin(hc.pnl_coin, h.coin, sign=True),
                    usd(hc.pnl_usd, sign=True),
                    coin(hc.equity_coin, h.coin),
                    pct(hc.margin_ratio_pct, sign=False),
                    "LIQUIDATED"
                    if hc.liquidated
                    else (pct(hc.liq_distance_pct) if hc.liq_distance_pct is not None else "none"),
                ]
            )
        out.append(
            _table(["move", "mark USD", "PnL", "PnL USD", "equity", "margin ratio", "to liq"], rows)
        )
    out.append("\nfirst liquidation (the exact move: equity = the venue's maintenance margin)\n")
    out.append(f"  on a fall: {liquidation_line(grid.first_down, direction='down')}\n")
    out.append(f"  on a rise: {liquidation_line(grid.first_up, direction='up')}\n")
    out.append("\nfunding forecast (> 0 received)\n")
    rows = []
    dated = {h.hedge_id: h for h in snap.hedges if h.expiry_ms is not None}
    for f in forecasts:
        if f.hedge_id in dated:
            continue  # said below the table: no funding, not a rate of zero
        p7 = f.projection(RateBasis.CURRENT, 7)
        p30 = f.projection(RateBasis.CURRENT, 30)
        a24 = f.projection(RateBasis.AVG_24H, 30)
        a7 = f.projection(RateBasis.AVG_7D, 30)
        lo, hi = f.projection(RateBasis.LOW, 30), f.projection(RateBasis.HIGH, 30)
        rng = DASH
        if lo is not None and hi is not None and lo.usd is not None and hi.usd is not None:
            rng = f"{usd(min(lo.usd, hi.usd), sign=True)} .. {usd(max(lo.usd, hi.usd), sign=True)}"
        rate = DASH if f.rate is None else f"{f.rate * 100:+.4f} %"
        rows.append(
            [
                f.hedge_id,
                rate,
                coin(f.next_coin, f.coin, sign=True),
                usd(p7.usd if p7 else None, sign=True),
                usd(p30.usd if p30 else None, sign=True),
                usd(a24.usd if a24 else None, sign=True),
                usd(a7.usd if a7 else None, sign=True),
                rng,
            ]
        )
    out.append(
        _table(
            [
                "hedge",
                "rate now",
                "next",
                "7 d now",
                "30 d now",
                "30 d 24h avg",
                "30 d 7d avg",
                "30 d range recorded",
            ],
            rows,
        )
    )
    from core.forecast import next_total_usd, total_usd
    from tui.widgets.format import no_funding_note

    for h in dated.values():
        assert h.expiry_ms is not None
        out.append(
            no_funding_note(h.hedge_id, h.expiry_ms, h.days_to_expiry, h.basis_locked_apr_pct)
            + "\n"
        )
    out.append(
        f"total: next {usd(next_total_usd(forecasts), sign=True)}, 7 d "
        f"{usd(total_usd(forecasts, RateBasis.CURRENT, 7), sign=True)}, 30 d "
        f"{usd(total_usd(forecasts, RateBasis.CURRENT, 30), sign=True)} "
        f"({RATE_LABEL[RateBasis.CURRENT]})\n"
    )
    return "".join(out)
