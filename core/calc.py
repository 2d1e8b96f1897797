"""``hedgetop calc``'s engine: one position (plus spot and wallet) in, one report dict out.

Pure: no I/O, no clock. The CLI (``tui/commands/calc.py``) parses flags into a
:class:`CalcInput`, calls :func:`compute`, and prints the dict as JSON or as a table.
:class:`CalcError` names the flag and the value a user got wrong.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from core import inverse
from core.instruments import (
    VENUES,
    ContractSpec,
    UnknownInstrument,
    contracts_from_size_usd,
    lookup,
    size_usd_from_contracts,
    venue_qty_from_size_usd,
)
from core.liquidation import liquidation_price, maintenance_margin_coin, tier_for
from core.sizing import size_for_ratio

EIGHT_HOURS_MS = 8 * 3600 * 1000

# The keys the issue promises (scripts rely on them); the report may carry more.
REQUIRED_KEYS: tuple[str, ...] = (
    "venue",
    "symbol",
    "coin",
    "side",
    "contracts",
    "size_usd",
    "entry",
    "mark",
    "index",
    "position_value_coin",
    "pnl_coin",
    "pnl_usd",
    "equity_coin",
    "maintenance_margin_coin",
    "liq_price",
    "liq_distance_pct",
    "spot_value_usd",
    "net_delta_coin",
    "net_delta_usd",
    "hedge_ratio",
    "total_value_usd",
    "basis_usd",
    "basis_pct",
    "funding_rate",
    "funding_coin",
    "funding_usd",
    "target_size_usd",
    "target_contracts",
)


class CalcError(ValueError):
    """Bad input, tied to the flag that carried it."""

    def __init__(self, flag: str, value: object, reason: str) -> None:
        self.flag = flag
        self.value = value
        shown = _show(value)
        super().__init__(f"{flag} {shown}: {reason}" if shown else f"{flag}: {reason}")


def _show(value: object) -> str:
    if isinstance(value, float) and value.is_integer() and math.isfinite(value):
        return str(int(value))
    return str(value)


@dataclass(frozen=True, slots=True)
class CalcInput:
    venue: str
    side: str
    entry: float
    mark: float
    symbol: str = "BTCUSD"
    contracts: int | None = None
    size_usd: float | None = None
    index: float | None = None
    spot: float = 0.0
    margin: float | None = None
    mode: str = "isolated"
    leverage: float | None = None
    mmr: float | None = None
    mm_amount: float | None = None
    funding_rate: float | None = None
    target_ratio: float | None = None


def _positive(flag: str, value: float | None) -> None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise CalcError(flag, value, "must be a positive number")


def _non_negative(flag: str, value: float | None) -> None:
    if value is not None and not (math.isfinite(value) and value >= 0):
        raise CalcError(flag, value, "must be zero or a positive number")


def validate(inp: CalcInput) -> ContractSpec:
    """Check every field; return the contract spec. Raises CalcError."""
    if inp.venue not in VENUES:
        raise CalcError("--venue", inp.venue, f"unknown venue (known: {', '.join(VENUES)})")
    try:
        spec = lookup(inp.venue, inp.symbol)
    except UnknownInstrument as exc:
        raise CalcError("--symbol", inp.symbol, str(exc)) from None
    if inp.side not in ("short", "long"):
        raise CalcError("--side", inp.side, "must be 'short' or 'long'")
    if inp.mode not in ("isolated", "cross"):
        raise CalcError("--mode", inp.mode, "must be 'isolated' or 'cross'")
    if inp.contracts is not None and inp.size_usd is not None:
        raise CalcError(
            "--contracts",
            inp.contracts,
            f"conflicts with --size-usd {_show(inp.size_usd)}: give one of them",
        )
    if inp.contracts is None and inp.size_usd is None:
        raise CalcError("--contracts/--size-usd", "", "missing: give the position size")
    if inp.contracts is not None and inp.contracts <= 0:
        raise CalcError("--contracts", inp.contracts, "must be a positive whole number")
    _positive("--size-usd", inp.size_usd)
    _positive("--entry", inp.entry)
    _positive("--mark", inp.mark)
    _positive("--index", inp.index)
    _non_negative("--spot", inp.spot)
    _non_negative("--margin", inp.margin)
    _positive("--leverage", inp.leverage)
    if inp.margin is not None and inp.leverage is not None:
        raise CalcError(
            "--leverage",
            inp.leverage,
            f"conflicts with --margin {_show(inp.margin)}: the margin already fixes it",
        )
    if inp.mmr is not None and not (math.isfinite(inp.mmr) and 0 <= inp.mmr < 1):
        raise CalcError("--mmr", inp.mmr, "must be a rate from 0 to below 1 (0.005 = 0.5 %)")
    _non_negative("--mm-amount", inp.mm_amount)
    if inp.funding_rate is not None and not (
        math.isfinite(inp.funding_rate) and abs(inp.funding_rate) < 1
    ):
        raise CalcError("--funding-rate", inp.funding_rate, "must be a rate between -1 and 1")
    if inp.target_ratio is not None:
        if not (math.isfinite(inp.target_ratio) and 0 <= inp.target_ratio <= 10):
            raise CalcError("--target-ratio", inp.target_ratio, "must be from 0 to 10 (1 = fully)")
        if inp.side != "short":
            raise CalcError(
                "--target-ratio", inp.target_ratio, "sizes a short hedge: use --side short"
            )
    return spec


def compute(inp: CalcInput) -> dict[str, Any]:
    """Every figure of the position, in the units its key names; None where none exists.

    Definitions (Q size USD, P0 entry, P mark, I index, S spot, M wallet coin, sign s = +1
    short / −1 long): PnL ``s·Q·(1/P − 1/P0)`` coin; equity ``M + PnL``; net delta
    ``S + M − s·Q/P0`` coin, valued at P; hedge ratio ``s·(Q/P0)/(S + M)``; spot value
    ``S·I``; total ``S·I + equity·P``; basis ``P − I``; funding ``s·Q/P·rate`` (> 0 received).
    """
    spec = validate(inp)
    if inp.contracts is not None:
        contracts = inp.contracts
        size_usd = size_usd_from_contracts(spec, contracts)
    else:
        size_usd = float(inp.size_usd or 0.0)
        contracts = contracts_from_size_usd(spec, size_usd)
    q, p0, p = size_usd, inp.entry, inp.mark
    index = float(inp.index) if inp.index is not None else float(p)
    sign = 1.0 if inp.side == "short" else -1.0
    if inp.margin is not None:
        margin, leverage = inp.margin, (q / p0 / inp.margin if inp.margin > 0 else None)
    else:
        leverage = inp.leverage if inp.leverage is not None else 1.0
        margin = q / p0 / leverage
    pnl_coin = inverse.pnl_coin(inp.side, q, p0, p)
    equity = margin + pnl_coin
    mm = maintenance_margin_coin(spec, q, p, mmr=inp.mmr, mm_amount_coin=inp.mm_amount)
    liq = liquidation_price(
        spec, inp.side, q, p0, margin, mode=inp.mode, mmr=inp.mmr, mm_amount_coin=inp.mm_amount
    )
    exposure = inp.spot + margin
    net_delta = exposure - sign * q / p0
    hedge_ratio = sign * (q / p0) / exposure if exposure > 0 else None
    spot_value = inp.spot * index
    interval = spec.funding_interval_ms or EIGHT_HOURS_MS
    rate = inp.funding_rate
    funding = inverse.funding_coin(inp.side, q, p, rate) if rate is not None else None
    target_size = target_contracts = target_delta = reached = None
    if inp.target_ratio is not None:
        sized = size_for_ratio(
            spec,
            inp.target_ratio,
            spot_coin=inp.spot,
            margin_coin=margin,
            current_size_usd=q,
            current_entry=p0,
            price=p,
        )
        target_size, target_contracts = sized.size_usd, sized.contracts
        target_delta, reached = sized.delta_contracts, sized.reached_ratio
    return {
        "venue": spec.venue,
        "symbol": spec.symbol,
        "coin": spec.coin,
        "side": inp.side,
        "contracts": contracts,
        "size_usd": q,
        "entry": float(p0),
        "mark": float(p),
        "index": float(index),
        "position_value_coin": q / p,
        "pnl_coin": pnl_coin,
        "pnl_usd": pnl_coin * p,
        "equity_coin": equity,
        "maintenance_margin_coin": mm,
        "liq_price": liq,
        "liq_distance_pct": inverse.liq_distance_pct(liq, p),
        "spot_value_usd": float(spot_value),
        "net_delta_coin": net_delta,
        "net_delta_usd": net_delta * p,
        "hedge_ratio": hedge_ratio,
        "total_value_usd": spot_value + equity * p,
        "basis_usd": inverse.basis_usd(p, index),
        "basis_pct": inverse.basis_pct(p, index),
        "funding_rate": rate,
        "funding_coin": funding,
        "funding_usd": funding * p if funding is not None else None,
        "target_size_usd": target_size,
        "target_contracts": target_contracts,
        # extras
        "face_value_usd": spec.face_value_usd,
        "venue_qty": venue_qty_from_size_usd(spec, q),
        "qty_unit": str(spec.qty_unit),
        "mode": inp.mode,
        "margin_coin": margin,
        "leverage": leverage,
        "max_leverage": tier_for(spec.tiers, q / p0).max_leverage if spec.tiers else None,
        "spot_coin": float(inp.spot),
        # the premium converges through funding each interval: annualised over one interval,
        # as the dashboard does (Deribit: its 8 h reference)
        "basis_annual_pct": inverse.basis_annual_pct(p, index, interval),
        "funding_interval_ms": spec.funding_interval_ms,
        "funding_apr_pct": (
            inverse.funding_apr_pct(rate, interval, inp.side) if rate is not None else None
        ),
        "target_ratio": inp.target_ratio,
        "target_delta_contracts": target_delta,
        "target_reached_ratio": reached,
    }
