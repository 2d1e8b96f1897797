"""``hedgetop calc``: the inverse-contract math of one position from the shell.

Prints a two-column table (every figure with its unit) or, with ``--json``, exactly one JSON
object. Bad input is one line naming the flag and the value, exit code 2.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

VENUE_CHOICES = ("bybit", "binance", "okx", "deribit")

HELP = "inverse-contract math for one position: PnL, liquidation, delta, hedge sizing"


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("calc", help=HELP, description=HELP)
    p.add_argument("--venue", required=True, choices=VENUE_CHOICES)
    p.add_argument(
        "--symbol",
        default="BTCUSD",
        help="BTCUSD, SOLUSD... or venue-native BTCUSD_PERP, BTC-USD-SWAP, BTC-PERPETUAL; "
        "dated futures BTCUSD_261225, BTC-USD-261225, BTC-25DEC26, BTCUSDZ26",
    )
    p.add_argument("--side", required=True, choices=("short", "long"))
    p.add_argument("--contracts", type=int, metavar="N", help="size in contracts")
    p.add_argument(
        "--size-usd", type=float, metavar="Q", help="size as USD face value (contracts: nearest)"
    )
    p.add_argument("--entry", type=float, required=True, metavar="P0", help="average entry, USD")
    p.add_argument("--mark", type=float, required=True, metavar="P", help="mark price, USD")
    p.add_argument("--index", type=float, metavar="I", help="index price, USD (default: mark)")
    p.add_argument("--spot", type=float, default=0.0, metavar="S", help="coin held outside")
    p.add_argument("--margin", type=float, metavar="M", help="coin in the futures wallet")
    p.add_argument("--mode", choices=("isolated", "cross"), default="isolated")
    p.add_argument(
        "--leverage", type=float, metavar="L", help="isolated margin Q/P0/L (without --margin)"
    )
    p.add_argument("--mmr", type=float, metavar="R", help="maintenance rate, overrides tiers")
    p.add_argument("--mm-amount", type=float, metavar="A", help="maintenance amount, coin")
    p.add_argument("--funding-rate", type=float, metavar="F", help="per interval, 0.0001 = 0.01%%")
    p.add_argument(
        "--funding-interval",
        choices=("1h", "2h", "4h", "8h"),
        help="the interval --funding-rate is paid over (default: the instrument's)",
    )
    p.add_argument(
        "--hedges", metavar="COIN", help="proxy hedge: the coin the short protects (--spot of it)"
    )
    p.add_argument(
        "--beta",
        type=float,
        metavar="B",
        help="proxy: the holding's move per 1 of the contract coin",
    )
    p.add_argument(
        "--holding-price", type=float, metavar="P", help="proxy: the holding's USD price"
    )
    p.add_argument("--target-ratio", type=float, metavar="T", help="size the short to this ratio")
    p.add_argument(
        "--compare-linear",
        action="store_true",
        help="the same hedge as a USDT-margined linear short beside it (linear_* keys)",
    )
    p.add_argument(
        "--day-open", type=float, metavar="P", help="with --compare-linear: today's PnL from P"
    )
    p.add_argument(
        "--now",
        metavar="TIME",
        help="a dated future's days to expiry count from this time (ISO 8601 UTC, or "
        "milliseconds since the epoch; default: now)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def _now_ms(text: str | None) -> int:
    """``--now``: milliseconds or ISO 8601 (UTC when no offset is given); default the clock."""
    from datetime import UTC, datetime

    from core.clock import wall_ms
    from tui.usage import UsageError

    if text is None:
        return wall_ms()
    raw = text.strip()
    if raw.isdigit():
        return int(raw)
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--now {text!r}: not a time (ISO 8601 such as 2026-12-04T08:00, or milliseconds)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def _dated(report: dict[str, Any], now_ms: int) -> dict[str, Any]:
    """``expiry_ms``, ``days_to_expiry``, ``basis_locked_apr_pct`` (null for a perpetual) and,
    for a dated future, no funding of its own: ``--funding-rate`` is the perpetual's, given
    as ``perp_funding_rate`` / ``perp_funding_apr_pct`` to compare with the basis locked."""
    from core import inverse
    from core.dated import dated_basis
    from core.instruments import UnknownInstrument, lookup
    from tui.usage import UsageError

    out: dict[str, Any] = {
        "expiry_ms": None,
        "days_to_expiry": None,
        "basis_locked_apr_pct": None,
        "perp_funding_rate": None,
        "perp_funding_apr_pct": None,
    }
    try:
        spec = lookup(report["venue"], report["symbol"], now_ms=now_ms)
    except UnknownInstrument as exc:
        raise UsageError(f"--symbol {report['symbol']}: {exc}") from None
    if spec.expiry_ms is None:
        return out
    d = dated_basis(spec.symbol, report["mark"], report["index"], report["size_usd"], now_ms)
    assert d is not None  # a dated symbol, prices checked positive by compute
    rate = report["funding_rate"]
    out.update(
        expiry_ms=d.expiry_ms,
        days_to_expiry=d.days_left,
        basis_locked_apr_pct=d.annual_pct,
        basis_annual_pct=d.annual_pct,
        perp_funding_rate=rate,
        perp_funding_apr_pct=None
        if rate is None
        else inverse.funding_apr_pct(rate, 8 * 3_600_000, report["side"]),
        funding_rate=None,
        funding_coin=0.0,
        funding_usd=0.0,
        funding_apr_pct=None,
        funding_interval_ms=None,
    )
    return out


def run(args: argparse.Namespace) -> int:
    from core.calc import CalcError, CalcInput, compute
    from tui.usage import UsageError

    inp = CalcInput(
        venue=args.venue,
        symbol=args.symbol,
        side=args.side,
        contracts=args.contracts,
        size_usd=args.size_usd,
        entry=args.entry,
        mark=args.mark,
        index=args.index,
        spot=args.spot,
        margin=args.margin,
        mode=args.mode,
        leverage=args.leverage,
        mmr=args.mmr,
        mm_amount=args.mm_amount,
        funding_rate=args.funding_rate,
        target_ratio=args.target_ratio,
        funding_interval=args.funding_interval,
        hedges=args.hedges,
        beta=args.beta,
        holding_price=args.holding_price,
    )
    try:
        report = compute(inp)
    except CalcError as exc:
        raise UsageError(str(exc)) from None
    if args.day_open is not None and not args.compare_linear:
        raise UsageError(f"--day-open {args.day_open:g}: goes with --compare-linear")
    report.update(_dated(report, _now_ms(args.now)))
    if args.compare_linear:
        report.update(_linear(report, args.day_open))
    if args.json:
        sys.stdout.write(json.dumps(report, allow_nan=False) + "\n")
    else:
        sys.stdout.write(render_table(report))
    return 0


def _linear(report: dict[str, Any], day_open: float | None) -> dict[str, Any]:
    """The ``linear_*`` keys: the same coins shorted on a USDT-margined contract."""
    from core.instruments import lookup
    from core.linear import compare
    from tui.usage import UsageError

    if day_open is not None and not (math.isfinite(day_open) and 1e-8 <= day_open <= 1e9):
        raise UsageError(f"--day-open {day_open:g}: must be a price in USD from 1e-08 to 1e+09")
    c = compare(
        lookup(report["venue"], report["symbol"]),
        report["side"],
        report["size_usd"],
        report["entry"],
        report["margin_coin"],
        report["mark"],
        mode=report["mode"],
        day_open=day_open,
    )
    out = c.as_json()
    out["linear_inverse_today_pnl_usd"] = c.inverse_today_pnl_usd
    return out


# --- table ---------------------------------------------------------------------------------


def _num(value: float, decimals: int) -> str:
    return f"{value:,.{decimals}f}"


def _price(value: float) -> str:
    """USD price with enough decimals for small coins (DOGE, ADA)."""
    if value == 0:
        return "0.00 USD"
    decimals = max(2, min(8, 4 - math.floor(math.log10(abs(value)))))
    return f"{_num(value, decimals)} USD"


def _usd(value: float) -> str:
    return f"{_num(value, 2)} USD"


def _coin(value: float, coin: str) -> str:
    return f"{_num(value, 8)} {coin}"


def _pct(value: float) -> str:
    return f"{value:+.4f} %"


def _leverage(value: float, maximum: float | None) -> str:
    text = f"{value:.2f}x"
    if maximum is not None and value > maximum * (1 + 1e-9):
        text += f" (above the {maximum:g}x the venue allows at this size)"
    return text


NEVER = "none (no price liquidates it)"


def _liq(value: float, r: dict[str, Any]) -> str:
    if r["liq_beyond_10x"]:
        return f"beyond 10x the mark ({_price(value)})"
    return _price(value)


def _tiers(r: dict[str, Any]) -> str:
    if r["tier_source"] == "--mmr":
        return "flat rate from --mmr"
    rate = f"mmr {r['tier_mmr'] * 100:g} %"
    if r["tier_mm_amount_coin"]:
        rate += f" - {r['tier_mm_amount_coin']:g} {r['coin']}"
    estimate = ", an estimate" if r["tier_estimate"] else ""
    return f"{rate} ({r['tier_source']}{estimate})"


def _row(label: str, value: str | None, missing: str) -> tuple[str, str]:
    return (label, value if value is not None else missing)


def _maybe(value: Any, fmt: Any) -> str | None:
    return None if value is None else str(fmt(value))


def render_table(r: dict[str, Any]) -> str:
    """Two columns: label, figure with its unit. Missing figures say why."""
    c = r["coin"]
    h = r["hedges_coin"]
    rows: list[tuple[str, str]] = [
        (
            "venue / symbol",
            f"{r['venue']} {r['symbol']} ({c}, {r['face_value_usd']:g} USD/contract)",
        ),
        ("side", r["side"]),
        ("contracts", f"{r['contracts']:,} contracts"),
        ("size", _usd(r["size_usd"])),
        ("entry", _price(r["entry"])),
        ("mark", _price(r["mark"])),
        ("index", _price(r["index"])),
        ("position value", _coin(r["position_value_coin"], c)),
        ("PnL", _coin(r["pnl_coin"], c)),
        ("PnL (USD)", _usd(r["pnl_usd"])),
        ("wallet margin", _coin(r["margin_coin"], c)),
        _row("leverage", _maybe(r["leverage"], lambda v: _leverage(v, r["max_leverage"])), "n/a"),
        ("equity", _coin(r["equity_coin"], c)),
        ("maintenance margin", _coin(r["maintenance_margin_coin"], c)),
        ("margin model", r["margin_model_formula"]),
        ("margin tiers", _tiers(r)),
        _row("liquidation price", _maybe(r["liq_price"], lambda v: _liq(v, r)), NEVER),
        _row("distance to liquidation", _maybe(r["liq_distance_pct"], _pct), "none"),
        _row("bankruptcy price", _maybe(r["bankruptcy_price"], _price), "none (equity stays > 0)"),
        (f"spot held ({h})", _coin(r["spot_coin"], h)),
        ("spot value", _usd(r["spot_value_usd"])),
        ("net delta", _coin(r["net_delta_coin"], h)),
        ("net delta (USD)", _usd(r["net_delta_usd"])),
        _row("hedge ratio", _maybe(r["hedge_ratio"], lambda v: f"{v * 100:.2f} %"), "none"),
        ("total value", _usd(r["total_value_usd"])),
        ("basis", _usd(r["basis_usd"])),
        ("basis (%)", _pct(r["basis_pct"])),
        ("basis, annualised per funding interval", _pct(r["basis_annual_pct"])),
        _row(
            "funding rate",
            _maybe(r["funding_rate"], lambda v: f"{v * 100:+.4f} % per interval"),
            "n/a (give --funding-rate)",
        ),
        _row("funding per interval", _maybe(r["funding_coin"], lambda v: _coin(v, c)), "n/a"),
        _row("funding per interval (USD)", _maybe(r["funding_usd"], _usd), "n/a"),
        _row("funding APR", _maybe(r["funding_apr_pct"], _pct), "n/a"),
        _row(
            "funding interval",
            _maybe(r["funding_interval_ms"], lambda v: f"{v / 3_600_000:g} h"),
            "continuous (rate quoted per 8 h)",
        ),
    ]
    if r.get("expiry_ms") is not None:
        rows[-6:] = _dated_rows(r)
    if h != c:
        rows.insert(
            1, ("proxy", f"protects {h} at {_price(r['holding_price'])}, beta {r['beta']:g}")
        )
        rows.append(
            (
                f"margin counted in {c}",
                f"{_coin(r['contract_coin_exposure_coin'], c)} of {c} exposure "
                f"({_usd(r['contract_coin_exposure_usd'])}), not netted against {h}",
            )
        )
    if r["target_ratio"] is not None:
        rows += [
            ("target ratio", f"{r['target_ratio'] * 100:.2f} %"),
            ("target size", _usd(r["target_size_usd"])),
            ("target contracts", f"{r['target_contracts']:,} contracts"),
            ("trade", f"{r['target_delta_contracts']:+,} contracts"),
            _row(
                "ratio reached",
                _maybe(r["target_reached_ratio"], lambda v: f"{v * 100:.2f} %"),
                "none",
            ),
        ]
    if "linear_margin_usdt" in r:
        rows += _linear_rows(r)
    width = max(len(label) for label, _ in rows)
    return "".join(f"{label:<{width}}  {value}\n" for label, value in rows)


def _dated_rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    """A dated future in place of the funding rows: it pays none; the basis is locked."""
    from datetime import UTC, datetime

    when = datetime.fromtimestamp(r["expiry_ms"] / 1000, UTC)
    return [
        ("expiry", f"{when:%Y-%m-%d %H:%M} UTC, {r['days_to_expiry']:.2f} days left"),
        _row("basis locked, annualised", _maybe(r["basis_locked_apr_pct"], _pct), "n/a (expired)"),
        ("funding", "none (a dated future)"),
        _row(
            "perpetual's funding APR",
            _maybe(r["perp_funding_apr_pct"], _pct),
            "n/a (give --funding-rate: the perpetual's)",
        ),
    ]


def _linear_rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    c = r["coin"]
    rows = [
        ("— linear twin", f"USDT-margined short of {_coin(r['linear_qty_coin'], c)}"),
        (
            "margin (inverse)",
            f"{_coin(r['margin_coin'], c)} = {_usd(r['linear_inverse_margin_usd'])}",
        ),
        ("margin (linear)", f"{_usd(r['linear_margin_usdt'])} in USDT (the stablecoin to hold)"),
        _row("liquidation (linear)", _maybe(r["linear_liq_price"], _price), NEVER),
        (
            "maintenance rate (linear)",
            f"{r['linear_mmr'] * 100:g} % (an estimate: one flat rate)",
        ),
        ("PnL (inverse)", f"{_coin(r['pnl_coin'], c)} (paid in {c})"),
        ("PnL (linear)", f"{_usd(r['linear_pnl_usd'])} (paid in USDT)"),
        _row(
            "today's PnL (inverse)",
            _maybe(r["linear_inverse_today_pnl_usd"], _usd),
            "n/a (give --day-open)",
        ),
        _row(
            "today's PnL (linear)", _maybe(r["linear_today_pnl_usd"], _usd), "n/a (give --day-open)"
        ),
    ]
    for m in r["linear_at_moves"]:
        inv = "LIQUIDATED" if m["inverse_liquidated"] else _usd(m["inverse_equity_usd"])
        lin = "LIQUIDATED" if m["linear_liquidated"] else _usd(m["linear_equity_usd"])
        rows.append(
            (
                f"at {m['move_pct']:+g} % ({_price(m['price'])})",
                f"inverse wallet {inv} (margin {_usd(m['inverse_margin_usd'])}); linear {lin}",
            )
        )
    return rows
