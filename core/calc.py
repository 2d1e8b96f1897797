"""``hedgetop calc``'s engine: one position (plus spot and wallet) in, one report dict out.

Pure: no I/O, no clock. The CLI (``tui/commands/calc.py``) parses flags into a
:class:`CalcInput`, calls :func:`compute`, and prints the dict as JSON or as a table.
:class:`CalcError` names the flag and the value a user got wrong: every number is bounded to
a range the math and the JSON can hold (no input gives a traceback, NaN or Infinity).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from core import inverse, liquidation
from core.instruments import (
    VENUES,
    ContractSpec,
    UnknownInstrument,
    contracts_from_size_usd,
    lookup,
    parse_coin,
    size_usd_from_contracts,
    venue_qty_from_size_usd,
)
from core.sizing import hedged_coin, proxy_hedge, size_for_ratio

EIGHT_HOURS_MS = 8 * 3600 * 1000
HOUR_MS = 3600 * 1000
#: ``--funding-interval`` choices (Bybit funds every 1, 2, 4 or 8 h per symbol).
FUNDING_INTERVALS: dict[str, int] = {f"{h}h": h * HOUR_MS for h in (1, 2, 4, 8)}

# Ranges that keep every figure finite (and are wider than any real position).
MAX_SIZE_USD = 1e12
MIN_PRICE, MAX_PRICE = 1e-8, 1e9
MAX_COIN = 1e12
MAX_TARGET_RATIO = 3.0  # as [targets] ratio in the config
MIN_MARGIN = 1e-12
MIN_LEVERAGE, MAX_LEVERAGE = 0.01, 1000.0
MIN_MMR = 1e-6
MAX_BETA = 20.0

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
    "bankruptcy_price",
    "margin_model",
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
    if (
        isinstance(value, float)
        and math.isfinite(value)
        and value.is_integer()
        and abs(value) < 1e15
    ):
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
    funding_interval: str | None = None  # "1h" | "2h" | "4h" | "8h"; None: the instrument's
    hedges: str | None = None  # the holding a proxy short protects (its coin); None: direct
    beta: float | None = None  # proxy: move of the holding per move of the contract's coin
    holding_price: float | None = None  # proxy: the holding's USD price


def _in_range(flag: str, value: float | None, lo: float, hi: float, what: str) -> None:
    if value is not None and not (math.isfinite(value) and lo <= value <= hi):
        raise CalcError(flag, value, f"must be {what} from {lo:g} to {hi:g}")


def _price(flag: str, value: float | None) -> None:
    _in_range(flag, value, MIN_PRICE, MAX_PRICE, "a price in USD")


def _coins(flag: str, value: float | None) -> None:
    _in_range(flag, value, 0.0, MAX_COIN, "an amount of coin")


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
    most = int(MAX_SIZE_USD / spec.face_value_usd)
    if inp.contracts is not None and not 1 <= inp.contracts <= most:
        raise CalcError(
            "--contracts", inp.contracts, f"must be a whole number of contracts from 1 to {most:,}"
        )
    if inp.size_usd is not None:
        one = spec.face_value_usd * spec.lot_contracts
        _in_range("--size-usd", inp.size_usd, 0.0, MAX_SIZE_USD, "a USD face value")
        if contracts_from_size_usd(spec, inp.size_usd) < 1:
            raise CalcError(
                "--size-usd",
                inp.size_usd,
                f"is less than one lot of {spec.symbol} ({one:g} USD face value)",
            )
    _price("--entry", inp.entry)
    _price("--mark", inp.mark)
    _price("--index", inp.index)
    _coins("--spot", inp.spot)
    _coins("--margin", inp.margin)
    if inp.margin is not None and 0 < inp.margin < MIN_MARGIN:
        raise CalcError("--margin", inp.margin, f"must be 0 or at least {MIN_MARGIN:g} coin")
    _in_range("--leverage", inp.leverage, MIN_LEVERAGE, MAX_LEVERAGE, "a leverage")
    if inp.margin is not None and inp.leverage is not None:
        raise CalcError(
            "--leverage",
            inp.leverage,
            f"conflicts with --margin {_show(inp.margin)}: the margin already fixes it",
        )
    if inp.mmr is not None and not (
        math.isfinite(inp.mmr) and (inp.mmr == 0 or MIN_MMR <= inp.mmr < 1)
    ):
        raise CalcError(
            "--mmr", inp.mmr, f"must be 0 or a rate from {MIN_MMR:g} to below 1 (0.005 = 0.5 %)"
        )
    _in_range("--mm-amount", inp.mm_amount, 0.0, MAX_COIN, "an amount of coin")
    if inp.funding_rate is not None and not (
        math.isfinite(inp.funding_rate) and abs(inp.funding_rate) < 1
    ):
        raise CalcError("--funding-rate", inp.funding_rate, "must be a rate between -1 and 1")
    if inp.funding_interval is not None and inp.funding_interval not in FUNDING_INTERVALS:
        raise CalcError(
            "--funding-interval",
            inp.funding_interval,
            f"must be one of {', '.join(FUNDING_INTERVALS)}",
        )
    if inp.target_ratio is not None:
        # the config's [targets] cap: a ratio that the dashboard would refuse is refused here too
        if not (math.isfinite(inp.target_ratio) and 0 <= inp.target_ratio <= MAX_TARGET_RATIO):
            raise CalcError(
                "--target-ratio", inp.target_ratio, "must be from 0 to 3 (1 = fully hedged)"
            )
        if inp.side != "short":
            raise CalcError(
                "--target-ratio", inp.target_ratio, "sizes a short hedge: use --side short"
            )
    _validate_proxy(inp, spec)
    return spec


def _validate_proxy(inp: CalcInput, spec: ContractSpec) -> None:
    if inp.hedges is None:
        for flag, value in (("--beta", inp.beta), ("--holding-price", inp.holding_price)):
            if value is not None:
                raise CalcError(flag, value, "describes a proxy hedge: give --hedges COIN too")
        return
    try:
        coin = parse_coin(inp.hedges)
    except UnknownInstrument as exc:
        raise CalcError("--hedges", inp.hedges, str(exc)) from None
    if coin == spec.coin:
        if inp.beta not in (None, 1.0):
            raise CalcError(
                "--beta", inp.beta, f"only a proxy hedge (--hedges != {spec.coin}) has one"
            )
        return
    _in_range("--beta", inp.beta, 1e-3, MAX_BETA, "a beta")
    if inp.holding_price is None:
        raise CalcError("--holding-price", "", f"missing: the USD price of {coin} values the proxy")
    _price("--holding-price", inp.holding_price)
    if inp.side != "short":
        raise CalcError("--hedges", inp.hedges, "a proxy hedge is a short: use --side short")


def _proxy_coin(inp: CalcInput, spec: ContractSpec) -> str | None:
    """The holding coin of a proxy hedge, or None for a direct one."""
    if inp.hedges is None:
        return None
    coin = parse_coin(inp.hedges)
    return None if coin == spec.coin else coin


def compute(inp: CalcInput) -> dict[str, Any]:
    """Every figure of the position, in the units its key names; None where none exists.

    Definitions (Q size USD, P0 entry, P mark, I index, S spot, M wallet coin, sign s = +1
    short / −1 long): PnL ``s·Q·(1/P − 1/P0)`` coin; equity ``M + PnL``; net delta
    ``S + M − s·Q/P0`` coin, valued at P; hedge ratio ``s·(Q/P0)/(S + M)``; spot value
    ``S·I``; total ``S·I + equity·P``; basis ``P − I``; funding ``s·Q/P·rate`` (> 0 received).
    A proxy short (``hedges``) protects S coins of another holding: it offsets
    ``core.sizing.hedged_coin`` of them, and its margin is the contract coin's exposure,
    reported apart (``margin_counted_in``). Liquidation by the venue's model
    (``core.liquidation``); a margin already under maintenance at the mark is refused.
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
    if inp.margin is not None:
        margin, leverage = inp.margin, (q / p0 / inp.margin if inp.margin > 0 else None)
    else:
        leverage = inp.leverage if inp.leverage is not None else 1.0
        margin = q / p0 / leverage
    pnl_coin = inverse.pnl_coin(inp.side, q, p0, p)
    equity = margin + pnl_coin
    liq = liquidation.assess(
        spec, inp.side, q, p0, margin, mode=inp.mode, mark=p, mmr=inp.mmr,
        mm_amount_coin=inp.mm_amount,
    )  # fmt: skip
    mm = liq.maintenance_coin if liq.maintenance_coin is not None else 0.0
    if liq.under_maintenance:
        flag, value = (
            ("--margin", inp.margin)
            if inp.margin is not None
            else ("--leverage", leverage)
            if inp.leverage is not None
            else ("--mark", p)
        )
        raise CalcError(
            flag,
            value,
            f"the position is already under maintenance at the mark: equity {equity:.8g} "
            f"{spec.coin} <= {mm:.8g} {spec.coin} ({liquidation.MODEL_SUMMARY[liq.model]}); "
            "the venue would liquidate it",
        )
    proxy_coin = _proxy_coin(inp, spec)
    interval = (
        FUNDING_INTERVALS[inp.funding_interval]
        if inp.funding_interval is not None
        else spec.funding_interval_ms
    )
    rate = inp.funding_rate
    funding = inverse.funding_coin(inp.side, q, p, rate) if rate is not None else None
    report: dict[str, Any] = {
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
        "liq_price": liq.price,
        "liq_distance_pct": inverse.liq_distance_pct(liq.price, p),
        "liq_beyond_10x": liq.beyond_far,
        "bankruptcy_price": liq.bankruptcy_price,
        "margin_model": str(liq.model),
        "margin_model_formula": liquidation.MODEL_SUMMARY[liq.model],
        "close_fee_coin": liq.close_fee_coin,
        "tier_mmr": liq.tier.mmr,
        "tier_mm_amount_coin": liq.tier.mm_amount_coin,
        "tier_estimate": liq.tier.estimate and inp.mmr is None and inp.mm_amount is None,
        "tier_source": spec.tier_source.describe() if inp.mmr is None else "--mmr",
        "tier_note": spec.tier_source.note if inp.mmr is None else "",
        "basis_usd": inverse.basis_usd(p, index),
        "basis_pct": inverse.basis_pct(p, index),
        "funding_rate": rate,
        "funding_coin": funding,
        "funding_usd": funding * p if funding is not None else None,
        # extras
        "face_value_usd": spec.face_value_usd,
        "venue_qty": venue_qty_from_size_usd(spec, q),
        "qty_unit": str(spec.qty_unit),
        "mode": inp.mode,
        "margin_coin": margin,
        "leverage": leverage,
        "max_leverage": (
            liquidation.current_tier(spec, q, p0, p).max_leverage if spec.tiers else None
        ),
        "spot_coin": float(inp.spot),
        # the premium converges through funding each interval: annualised over one interval,
        # as the dashboard does (Deribit: its 8 h reference)
        "basis_annual_pct": inverse.basis_annual_pct(p, index, interval or EIGHT_HOURS_MS),
        "funding_interval_ms": interval,
        "funding_apr_pct": (
            inverse.funding_apr_pct(rate, interval or EIGHT_HOURS_MS, inp.side)
            if rate is not None
            else None
        ),
        "target_ratio": inp.target_ratio,
    }
    if proxy_coin is None:
        report.update(_direct_holding(inp, spec, q=q, p0=p0, p=p, index=index, margin=margin))
    else:
        report.update(_proxy_holding(inp, spec, proxy_coin, q=q, p0=p0, p=p, margin=margin))
    report["total_value_usd"] = report["spot_value_usd"] + equity * p
    return _finite(report)


def _direct_holding(
    inp: CalcInput, spec: ContractSpec, *, q: float, p0: float, p: float, index: float,
    margin: float,
) -> dict[str, Any]:  # fmt: skip
    sign = 1.0 if inp.side == "short" else -1.0
    exposure = inp.spot + margin
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
    net_delta = exposure - sign * q / p0
    return {
        "hedges_coin": spec.coin,
        "beta": 1.0,
        "margin_counted_in": spec.coin,
        "spot_value_usd": float(inp.spot * index),
        "net_delta_coin": net_delta,
        "net_delta_usd": net_delta * p,
        "hedge_ratio": sign * (q / p0) / exposure if exposure > 0 else None,
        "target_size_usd": target_size,
        "target_contracts": target_contracts,
        "target_delta_contracts": target_delta,
        "target_reached_ratio": reached,
    }


def _proxy_holding(
    inp: CalcInput, spec: ContractSpec, coin: str, *, q: float, p0: float, p: float,
    margin: float,
) -> dict[str, Any]:  # fmt: skip
    """A proxy short protects ``--spot`` coins of ``coin``; its margin is ``spec.coin``'s."""
    beta = inp.beta if inp.beta is not None else 1.0
    price_h = float(inp.holding_price or 0.0)
    hedged = hedged_coin(
        inp.side, q, p0, beta=beta, proxy=True, contract_price=p, holding_price=price_h
    )
    assert hedged is not None  # both prices are validated
    target_size = target_contracts = target_delta = reached = None
    if inp.target_ratio is not None:
        sized = proxy_hedge(
            spec,
            holding_coin=inp.spot,
            holding_price=price_h,
            beta=beta,
            proxy_price=p,
            target_ratio=inp.target_ratio,
            current_size_usd=q,
            current_entry=p0,
        )
        target_size, target_contracts = sized.size_usd, sized.contracts
        target_delta, reached = sized.delta_contracts, sized.reached_ratio
    net_delta = inp.spot - hedged
    return {
        "hedges_coin": coin,
        "beta": beta,
        "margin_counted_in": spec.coin,
        "holding_price": price_h,
        "hedged_coin": hedged,
        "spot_value_usd": inp.spot * price_h,
        "net_delta_coin": net_delta,
        "net_delta_usd": net_delta * price_h,
        "hedge_ratio": hedged / inp.spot if inp.spot > 0 else None,
        # the contract coin's own exposure from this position: its margin (long)
        "contract_coin_exposure_coin": margin,
        "contract_coin_exposure_usd": margin * p,
        "target_size_usd": target_size,
        "target_contracts": target_contracts,
        "target_delta_contracts": target_delta,
        "target_reached_ratio": reached,
    }


def _finite(report: dict[str, Any]) -> dict[str, Any]:
    """Defence in depth: the ranges in ``validate`` keep every figure finite; should one
    still not be, say which instead of printing NaN or Infinity."""
    for key, value in report.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise CalcError(
                "--entry/--mark/--size-usd", "", f"these inputs give a {key} that is not finite"
            )
    return report
