"""Maintenance margin and liquidation price of coin-margined inverse perpetuals, per venue.

Notation: Q = position size in USD face value, P0 = average entry, P = mark, M = coins in the
futures wallet backing the position (isolated margin, or the whole cross wallet balance),
``x = Q/P`` = the position's value in coin at P.

All four venues test the same inequality, in coin, at the mark price:

    equity(P) = M + PnL_coin(P)           short: M + Q/P − Q/P0      long: M + Q/P0 − Q/P
    liquidation when equity(P) <= MM(P)

and differ only in how the maintenance margin MM grows with the position value ``x``:

* Binance COIN-M (FAQ "How to Calculate Liquidation Price of COIN-M Futures Contracts"):
  ``MM = x·mmr − cum``, with the rate ``mmr`` and the maintenance amount ``cum`` taken from
  the bracket that holds the notional *at the liquidation price* (the FAQ: "if your position
  calculated at the liquidation price and at the opening price are of different levels,
  substitute the level at the liquidation price and recalculate"). Its one-way formula
  ``LP = (Q·mmr + side·Q) / (WB + cum + side·Q/P0)`` (side = +1 long, −1 short) is exactly
  the root of the inequality above with that MM.
* Bybit inverse (help centre "Liquidation Price Calculation under Isolated Mode (Unified
  Trading Account)"): ``MM = x·mmr − deduction`` with the position value at mark;
  ``LP_long = Q·(1+mmr) / (Q/P0 + IM + extra + deduction)`` and
  ``LP_short = Q·(1−mmr) / (Q/P0 − IM − extra − deduction)``; IM + extra is M here. Cross
  margin uses the wallet balance for M (one position per coin wallet).
* OKX coin-margined swaps (help "Calculation of contract's profit and loss", margin ratio in
  isolated mode ``(margin + PnL) / (face·|n|/P · (mmr + fee rate))``): liquidation at a
  ratio of 100 %, i.e. ``MM = x·(mmr + taker fee)`` (``ContractSpec.liq_fee_rate``).
* Deribit (support "11 January 2022" margin change): the maintenance rate grows with the
  position size in coin, ``mmr(x) = base + k·x`` (BTC: 1 % + 0.005 % per BTC; ETH: 1 % +
  0.0004 % per ETH), so ``MM = base·x + k·x²`` and the inequality is a quadratic in x,
  solved in closed form (the smaller root for a short, the positive root for a long).

Fees to close and funding are not part of the figure (as the issue asks: "before fees and
funding"), except where the venue puts a fee rate into its maintenance test (OKX).

The returned price is where the position crosses into liquidation in the *adverse* direction
(up for a short, down for a long): above a short's liquidation price equity stays below the
maintenance margin. ``None`` means the position is never liquidated in that direction: a
short with ``M >= Q/P0`` (e.g. 1x, margin in the same coin) has equity ``Q/P + (M − Q/P0)``
which is at least ``Q/P > mmr·Q/P`` for every rate below 100 %.
"""

from __future__ import annotations

import math

from core.instruments import VENUE_DEFAULT_TIERS, ContractSpec, MarginTier

SIDES = ("short", "long")
# A short's margin deficit ``Q/P0 − M`` below this fraction of ``Q/P0`` is float noise of a 1x
# position (0.1 satoshi per BTC), not a position that can be liquidated at 10^9 × entry.
DEFICIT_EPS = 1e-9
MODES = ("isolated", "cross")


def _check(side: str, size_usd: float, entry: float, margin_coin: float, mode: str) -> None:
    if side not in SIDES:
        raise ValueError(f"side must be 'short' or 'long', not {side!r}")
    if mode not in MODES:
        raise ValueError(f"mode must be 'isolated' or 'cross', not {mode!r}")
    if not (size_usd > 0 and math.isfinite(size_usd)):
        raise ValueError(f"size_usd must be a positive number, not {size_usd!r}")
    if not (entry > 0 and math.isfinite(entry)):
        raise ValueError(f"entry must be a positive number, not {entry!r}")
    if not (margin_coin >= 0 and math.isfinite(margin_coin)):
        raise ValueError(f"margin_coin must be zero or positive, not {margin_coin!r}")


def _effective_tiers(
    spec: ContractSpec, mmr: float | None, mm_amount_coin: float | None
) -> tuple[MarginTier, ...]:
    """The tier table to use: the spec's, or a single tier when the caller overrides."""
    tiers = spec.tiers or VENUE_DEFAULT_TIERS.get(spec.venue, (MarginTier(math.inf, 0.01),))
    if mmr is None and mm_amount_coin is None:
        return tiers
    base = tiers[0].mmr
    return (MarginTier(math.inf, base if mmr is None else mmr, mm_amount_coin or 0.0),)


def tier_for(tiers: tuple[MarginTier, ...], notional_coin: float) -> MarginTier:
    """The tier whose bracket holds ``notional_coin`` (upper bounds inclusive)."""
    for tier in tiers:
        if notional_coin <= tier.max_notional_coin:
            return tier
    return tiers[-1]


def _slope_per_coin(spec: ContractSpec, mmr: float | None, mm_amount_coin: float | None) -> float:
    """Deribit's size-dependent increase of the rate (0 when overridden or tiered)."""
    if mmr is not None or mm_amount_coin is not None:
        return 0.0
    return spec.mmr_per_coin


def maintenance_margin_coin(
    spec: ContractSpec,
    size_usd: float,
    price: float,
    *,
    mmr: float | None = None,
    mm_amount_coin: float | None = None,
) -> float:
    """Maintenance margin in coin of ``size_usd`` face value valued at ``price``.

    ``x = Q/P``; ``MM = x·(mmr + fee + k·x) − amount`` where ``mmr``/``amount`` come from the
    tier holding x (Binance ``cum``, Bybit deduction), ``fee`` is the venue's fee rate in the
    maintenance test (OKX) and ``k`` Deribit's increase per coin. ``mmr``/``mm_amount_coin``
    override the table (one flat tier). Never negative.
    """
    if size_usd <= 0 or price <= 0:
        return 0.0
    x = size_usd / price
    tier = tier_for(_effective_tiers(spec, mmr, mm_amount_coin), x)
    k = _slope_per_coin(spec, mmr, mm_amount_coin)
    rate = tier.mmr + spec.liq_fee_rate + k * x
    return max(0.0, x * rate - tier.mm_amount_coin)


def liquidation_price(
    spec: ContractSpec,
    side: str,
    size_usd: float,
    entry: float,
    margin_coin: float,
    *,
    mode: str = "isolated",
    mmr: float | None = None,
    mm_amount_coin: float | None = None,
) -> float | None:
    """Mark price at which equity falls to the maintenance margin; None: never.

    ``margin_coin`` is M: the isolated margin (``Q/P0/leverage`` plus any margin added) or,
    in cross mode, the wallet balance of the coin (this calculator holds one position per
    wallet, so both modes solve the same equation; the venues' cross formulas reduce to it
    when there are no other positions: Binance TMM = UPNL = 0).

    Tiered venues (Binance, Bybit, OKX), with r = tier mmr + fee rate and A its amount:

        short: P = Q·(1 − r) / (Q/P0 − M − A)     (no liquidation when the divisor <= 0)
        long:  P = Q·(1 + r) / (M + Q/P0 + A)

    solved per tier and kept where ``Q/P`` falls inside that tier's bracket. Deribit
    (r = a + k·x): short ``k·x² − (1−a)·x + (Q/P0 − M) = 0`` (smaller root), long
    ``k·x² + (1+a)·x − (M + Q/P0) = 0``; ``P = Q/x``.
    """
    _check(side, size_usd, entry, margin_coin, mode)
    q, m = size_usd, margin_coin
    tiers = _effective_tiers(spec, mmr, mm_amount_coin)
    k = _slope_per_coin(spec, mmr, mm_amount_coin)
    fee = spec.liq_fee_rate
    if k > 0:
        return _quadratic(side=side, q=q, entry=entry, m=m, a=tiers[0].mmr + fee, k=k)
    lo = 0.0
    for tier in tiers:
        r = tier.mmr + fee
        a = tier.mm_amount_coin
        if side == "short":
            den = q / entry - m - a
            if den <= DEFICIT_EPS * q / entry or r >= 1:
                lo = tier.max_notional_coin
                continue
            price = q * (1 - r) / den
        else:
            price = q * (1 + r) / (m + q / entry + a)
        if lo < q / price <= tier.max_notional_coin:
            return price
        lo = tier.max_notional_coin
    return _bisect_tiers(side=side, q=q, entry=entry, m=m, tiers=tiers, fee=fee)


def _equity_minus_mm(
    *,
    side: str,
    q: float,
    entry: float,
    m: float,
    tiers: tuple[MarginTier, ...],
    fee: float,
    x: float,
) -> float:
    tier = tier_for(tiers, x)
    mm = x * (tier.mmr + fee) - tier.mm_amount_coin
    equity = m + (x - q / entry if side == "short" else q / entry - x)
    return equity - mm


def _bisect_tiers(
    *, side: str, q: float, entry: float, m: float, tiers: tuple[MarginTier, ...], fee: float
) -> float | None:
    """Fallback when no bracket holds its own closed-form root (a table whose amounts do
    not make MM continuous, or rounding at a bracket edge): bisection on x = Q/P."""

    def g(x: float) -> float:
        return _equity_minus_mm(side=side, q=q, entry=entry, m=m, tiers=tiers, fee=fee, x=x)

    if side == "short" and (q / entry - m <= DEFICIT_EPS * q / entry or g(1e-12 * q / entry) >= 0):
        return None
    lo, hi = 1e-12 * q / entry, q / entry
    while (g(hi) < 0) == (g(lo) < 0):
        hi *= 2.0
        if hi > 1e12 * q / entry:
            return None
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if (g(mid) < 0) == (g(lo) < 0):
            lo = mid
        else:
            hi = mid
    return q / (0.5 * (lo + hi))


def _quadratic(*, side: str, q: float, entry: float, m: float, a: float, k: float) -> float | None:
    """Deribit: equity = (a + k·x)·x with x = Q/P. Roots in numerically stable form."""
    if side == "short":
        deficit = q / entry - m  # −C: what the wallet lacks to back the short at entry
        if deficit <= DEFICIT_EPS * q / entry:
            return None
        b = 1.0 - a
        disc = b * b - 4.0 * k * deficit
        # disc < 0: below maintenance at every price; return where it comes closest.
        x = 2.0 * deficit / (b + math.sqrt(disc)) if disc >= 0 else b / (2.0 * k)
        return q / x
    wallet = m + q / entry
    b = 1.0 + a
    x = 2.0 * wallet / (b + math.sqrt(b * b + 4.0 * k * wallet))
    return q / x
