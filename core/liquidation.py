"""Maintenance margin, liquidation and bankruptcy prices of coin-margined inverse perpetuals,
each venue by its own published formula.

Notation: Q = position size in USD face value, P0 = average entry, P = mark, M = coins in the
futures wallet backing the position (isolated margin, or the coin's whole cross wallet
balance: one position per wallet), ``x = Q/P`` = the position's value in coin at P, ``f`` the
taker fee rate, ``s`` = +1 short / −1 long.

Every venue liquidates when the equity in coin, ``M + PnL(P)`` (short: ``M + Q/P − Q/P0``;
long: ``M + Q/P0 − Q/P``), falls to a threshold; they differ in the threshold. Each model
below names the page it follows (read again for this version; where two pages disagree the
model says which one it follows and why):

``MarginModel.BYBIT_ISOLATED`` — Bybit help centre, "Liquidation Price Calculation under
  Isolated Mode (Unified Trading Account)", copy of 2024-09-10,
  https://bybit.nl/nl-NL/help-center/article/Liquidation-Price-Calculation-under-Isolated-Mode-Unified-Trading-Account
  (also https://testnet.bybit.com/ar-SA/help-center/article/Liquidation-Price-Calculation-under-Isolated-Mode-Unified-Trading-Account):
  ``LP_long = Q / [PV + (IM − MM)]``, ``LP_short = Q / [PV − (IM − MM)]`` with
  ``PV = Q / P0`` (the *entry* value), ``IM`` the position margin (M here, extra margin
  included) and ``MM = PV·mmr − deduction`` — fixed in coin while the price moves, the rate
  and the deduction from the risk-limit tier that holds PV ("Maintenance Margin (Inverse
  Contract)": position value = quantity / average entry price). The page's example: short
  60,000 USD at 50,000, 10x, mmr 0.5 % → PV 1.2 BTC, IM 0.12 BTC, MM 0.006 BTC,
  LP 55,248.62. It leaves out the fee to close ("minor differences ... due to the fees to
  close"), and so does this model. A 1x short (M = PV) liquidates at ``P0 / mmr``.
  *Disagreement:* the page's 2026 copy (kbybit.com, "Last updated 2026-05-27") defines
  PV on the mark price and writes ``LP_short = Q·(1 − mmr) / (PV − IM − extra/(1 − f) −
  deduction)``, i.e. MM on the value at the liquidation price. Followed here: the entry-value
  form, because (a) the 2024 page, the "Maintenance Margin (Inverse Contract)" page and the
  legacy cross-margin page all value MM at entry, (b) the legacy cross page's printed worked
  example (5,739.50, below) is reproduced only with MM at entry (at the mark it gives
  5,747.5), and (c) the 2026 copy's worked example is not in the stored copy, so its
  formula cannot be checked against a number the venue printed.
``MarginModel.BYBIT_CROSS`` — Bybit help, "How to calculate Liquidation Price (Inverse
  Contract)", https://help.bybit.com/hc/en-us/articles/360039261334-How-to-calculate-Liquidation-Price-Inverse-Contract-
  ``Q·(1/LP − 1/P0) = −(Balance − OrderMargin − (Q/P0)·mmr − Q·f/BP)`` (short; long
  mirrored): the threshold is the entry-value MM plus the taker fee to close at the
  bankruptcy price, ``BP_long = Q·(1 + f) / (Q/P0 + B)``, ``BP_short = Q·(1 − f) / (Q/P0 −
  B)`` ("What is Bankruptcy Price? (Inverse Contract)", as copied at
  https://help.mycoinstory.com/hc/en-us/articles/360040683032-Bankruptcy-Price). Example:
  0.5 BTC, long 10,000 at 8,000, mmr 0.5 %, fee 0.075 % → BP 5,718.57, LP 5,739.08, shown
  5,739.50 (Bybit rounds a long's liquidation price up to its 0.5 tick).
``MarginModel.BINANCE_ISOLATED`` / ``BINANCE_CROSS`` — Binance FAQ "How to Calculate
  Liquidation Price of COIN-M Futures Contracts",
  https://www.binance.com/en/support/faq/ceccfcfb4e3a45e3b48b0b1bb1a8ae46: ``MM = x·mmr −
  cum`` on the value at the mark, with the bracket that holds the notional *at the
  liquidation price* ("substitute the level at the liquidation price and recalculate");
  one-way, one position: ``LP = (Q·mmr + s'·Q) / (WB + cum + s'·Q/P0)`` (s' = +1 long, −1
  short), the root of the inequality. Cross with one position per wallet is the same
  equation (TMM = UPNL = 0). A 1x short never liquidates.
``MarginModel.OKX_ISOLATED`` / ``OKX_CROSS`` — OKX "Tiered Maintenance Margin Ratio System",
  https://support.okexcn.com/hc/en-us/articles/360040581412-Tiered-Maintenance-Margin-Ratio-System
  (fixed margin: ``(margin + UPL) / position value``; cross: ``(balance + RPL + UPL) /
  position value``; position value ``face·|n| / mark``; liquidated below "maintenance margin
  ratio + liquidation fee rate"), and "Tiered maintenance margin ratio rules" (updated
  2025-05-16, https://okx.huicker.com/fr-fr/help/v-tiered-maintenance-margin-ratio-rules:
  "account equity is equal to or less than the required maintenance margin plus any
  applicable liquidation fees"): threshold ``x·(mmr + f)`` on the value at the mark, the
  tier chosen by the number of contracts (fixed). Isolated M is the position's margin; cross
  M the coin's cross balance. *Disagreement:* third-party copies of OKX's estimated
  liquidation price (e.g. https://ukcamo.com/5262.html) write ``(1 − mmr) / (1/P0 − M/(FV·N))``
  without the fee; followed here: OKX's own pages, which put the fee in.
``MarginModel.DERIBIT`` — Deribit support "11 January 2022",
  https://support.deribit.com/hc/en-us/articles/25944826427293-11-January-2022: the rate grows
  with the size in coin, ``mmr(x) = base + k·x`` (BTC 1 % + 0.005 %/BTC; ETH 1 % +
  0.0004 %/ETH), so ``MM = base·x + k·x²`` and the test is a quadratic in x, solved in
  closed form. Margin is account-level: isolated and cross are the same formula.

The liquidation price is where the position crosses into liquidation in the *adverse*
direction (up for a short, down for a long). ``None`` means no price liquidates it in that
direction (Binance, OKX, Deribit: a short with ``M >= Q/P0``; Bybit: only ``M >= Q/P0 + MM``,
since its maintenance margin does not shrink with the price). Funding and the fee paid to open
are the caller's: they are already in M.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import NamedTuple

from core.instruments import (
    VENUE_DEFAULT_TIERS,
    ContractSpec,
    MarginTier,
    TierBasis,
)

SIDES = ("short", "long")
MODES = ("isolated", "cross")
# A short's margin deficit ``Q/P0 − M`` below this fraction of ``Q/P0`` is float noise of a 1x
# position (0.1 satoshi per BTC), not a position that can be liquidated at 10^9 × entry.
DEFICIT_EPS = 1e-9
#: A liquidation price more than this many times away from the mark is "beyond 10x".
FAR_FACTOR = 10.0
# Enum members looked up once: ``maintenance_margin_coin`` runs per hedge and tick.
_COIN_AT_ENTRY = TierBasis.COIN_AT_ENTRY
_USD_FACE = TierBasis.USD_FACE


class MarginModel(StrEnum):
    """Which venue's formula served (module docstring: the page each follows)."""

    BYBIT_ISOLATED = "bybit_inverse_isolated"
    BYBIT_CROSS = "bybit_inverse_cross"
    BINANCE_ISOLATED = "binance_coinm_isolated"
    BINANCE_CROSS = "binance_coinm_cross"
    OKX_ISOLATED = "okx_coin_margined_isolated"
    OKX_CROSS = "okx_coin_margined_cross"
    DERIBIT = "deribit_inverse"


#: One line per model: the threshold it tests, for the screen and ``hedgetop calc``.
MODEL_SUMMARY: dict[MarginModel, str] = {
    MarginModel.BYBIT_ISOLATED: "Bybit isolated: MM = Q/P0·mmr − deduction (entry value)",
    MarginModel.BYBIT_CROSS: (
        "Bybit cross: MM = Q/P0·mmr − deduction (entry value) + taker fee to close at bankruptcy"
    ),
    MarginModel.BINANCE_ISOLATED: "Binance COIN-M isolated: MM = Q/P·mmr − cum (mark value)",
    MarginModel.BINANCE_CROSS: "Binance COIN-M cross: MM = Q/P·mmr − cum (mark value)",
    MarginModel.OKX_ISOLATED: "OKX isolated: Q/P·(mmr + taker fee) (mark value)",
    MarginModel.OKX_CROSS: "OKX cross: Q/P·(mmr + taker fee) (mark value)",
    MarginModel.DERIBIT: "Deribit: Q/P·(base + k·Q/P) (mark value, rate grows with size)",
}


#: A few words per model, for narrow screens.
MODEL_LABEL: dict[MarginModel, str] = {
    MarginModel.BYBIT_ISOLATED: "Bybit isolated, MM on entry value",
    MarginModel.BYBIT_CROSS: "Bybit cross, MM on entry value + close fee",
    MarginModel.BINANCE_ISOLATED: "Binance isolated, MM at mark",
    MarginModel.BINANCE_CROSS: "Binance cross, MM at mark",
    MarginModel.OKX_ISOLATED: "OKX isolated, MM + fee at mark",
    MarginModel.OKX_CROSS: "OKX cross, MM + fee at mark",
    MarginModel.DERIBIT: "Deribit, MM grows with size",
}


_MODEL_OF: dict[tuple[str, bool], MarginModel] = {
    ("bybit", False): MarginModel.BYBIT_ISOLATED,
    ("bybit", True): MarginModel.BYBIT_CROSS,
    ("okx", False): MarginModel.OKX_ISOLATED,
    ("okx", True): MarginModel.OKX_CROSS,
    ("deribit", False): MarginModel.DERIBIT,
    ("deribit", True): MarginModel.DERIBIT,
    ("binance", False): MarginModel.BINANCE_ISOLATED,
    ("binance", True): MarginModel.BINANCE_CROSS,
}


def margin_model(spec: ContractSpec, mode: str) -> MarginModel:
    """The model that serves ``spec`` in ``mode`` ("isolated" | "cross"); Binance's for a venue
    the table does not know."""
    cross = mode == "cross"
    return _MODEL_OF.get((spec.venue, cross)) or _MODEL_OF[("binance", cross)]


class Liquidation(NamedTuple):
    """A position's liquidation as its venue computes it.

    ``price``: the mark at which the equity meets the venue's threshold (None: no price
    liquidates it). ``bankruptcy_price``: where the equity, net of the fee to close where the
    venue counts it, is zero (None: no price). ``tier``: the tier in force there.
    ``close_fee_coin``: the fee to close the venue reserves (Bybit cross), else 0.
    ``maintenance_coin`` / ``under_maintenance`` / ``beyond_far``: at the ``mark`` given to
    ``assess`` (None / False without one): the threshold equity must stay above, whether the
    equity is already at or below it, and whether ``price`` is more than 10x the mark away.
    A NamedTuple: cheap to build (a frozen dataclass costs ~1 µs), and callers build many.
    """

    price: float | None
    bankruptcy_price: float | None
    model: MarginModel
    tier: MarginTier
    close_fee_coin: float = 0.0
    maintenance_coin: float | None = None
    under_maintenance: bool = False
    beyond_far: bool = False


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
    base = tiers[0]
    return (
        MarginTier(
            math.inf,
            base.mmr if mmr is None else mmr,
            mm_amount_coin or 0.0,
            base.max_leverage,
        ),
    )


def tier_for(tiers: tuple[MarginTier, ...], value: float) -> MarginTier:
    """The tier whose bracket holds ``value`` (upper bounds inclusive), in the unit of the
    spec's tier basis; beyond the last cap, the last tier."""
    for tier in tiers:
        if value <= tier.cap:
            return tier
    return tiers[-1]


def current_tier(spec: ContractSpec, size_usd: float, entry: float, mark: float) -> MarginTier:
    """The tier that holds the position now (its maximum leverage is the one the venue
    allows at this size): by value at entry (Bybit), contracts (OKX), value at the mark."""
    tiers = spec.tiers or VENUE_DEFAULT_TIERS.get(spec.venue, (MarginTier(math.inf, 0.01),))
    fixed = _fixed_tier(spec, tiers, size_usd, entry)
    return fixed if fixed is not None else tier_for(tiers, size_usd / mark)


def _slope_per_coin(spec: ContractSpec, mmr: float | None, mm_amount_coin: float | None) -> float:
    """Deribit's size-dependent increase of the rate (0 when overridden or tiered)."""
    if mmr is not None or mm_amount_coin is not None:
        return 0.0
    return spec.mmr_per_coin


def _fee(spec: ContractSpec, fee_rate: float | None) -> float:
    return spec.taker_fee_rate if fee_rate is None else fee_rate


def _fixed_tier(
    spec: ContractSpec, tiers: tuple[MarginTier, ...], size_usd: float, entry: float
) -> MarginTier | None:
    """The tier of a venue whose tier does not move with the price (Bybit: value at entry;
    OKX: contracts, as USD face); None for a venue that picks it at the price (Binance)."""
    if spec.tier_basis is TierBasis.COIN_AT_ENTRY:
        return tier_for(tiers, size_usd / entry)
    if spec.tier_basis is TierBasis.USD_FACE:
        return tier_for(tiers, size_usd)
    return None


def maintenance_margin_coin(
    spec: ContractSpec,
    size_usd: float,
    price: float,
    *,
    entry: float | None = None,
    mmr: float | None = None,
    mm_amount_coin: float | None = None,
    fee_rate: float | None = None,
) -> float:
    """The venue's maintenance margin in coin of ``size_usd`` face value, at mark ``price``.

    Bybit values it at the entry, ``Q/P0·mmr − deduction`` (pass ``entry``; without it
    ``price`` is taken as the entry); Binance ``x·mmr − cum`` and OKX ``x·(mmr + fee)`` at
    ``x = Q/P``; Deribit ``x·(base + k·x)``. OKX's liquidation fee is part of its threshold,
    so it is part of this figure; Bybit cross's fee to close depends on the wallet (see
    ``assess``). ``mmr``/``mm_amount_coin`` override the table (one flat tier). Never negative.
    """
    if size_usd <= 0 or price <= 0:
        return 0.0
    tiers = _effective_tiers(spec, mmr, mm_amount_coin)
    basis = spec.tier_basis
    if basis is _COIN_AT_ENTRY:
        value = size_usd / (entry if entry is not None and entry > 0 else price)
        tier = tier_for(tiers, value)
        return max(0.0, value * tier.mmr - tier.mm_amount_coin)
    x = size_usd / price
    if basis is _USD_FACE:
        tier = tier_for(tiers, size_usd)
        return max(0.0, x * (tier.mmr + _fee(spec, fee_rate)) - tier.mm_amount_coin)
    tier = tier_for(tiers, x)
    k = _slope_per_coin(spec, mmr, mm_amount_coin)
    return max(0.0, x * (tier.mmr + k * x) - tier.mm_amount_coin)


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
    fee_rate: float | None = None,
) -> float | None:
    """Mark price at which the venue liquidates the position; None: no price does.

    ``margin_coin`` is M: the isolated margin (``Q/P0/leverage`` plus any margin added) or,
    in cross mode, the wallet balance of the coin. See ``assess`` for everything else."""
    return assess(
        spec,
        side,
        size_usd,
        entry,
        margin_coin,
        mode=mode,
        mmr=mmr,
        mm_amount_coin=mm_amount_coin,
        fee_rate=fee_rate,
    ).price


def bankruptcy_price(
    side: str, size_usd: float, entry: float, margin_coin: float, *, fee_rate: float = 0.0
) -> float | None:
    """Where the equity, less a taker fee ``fee_rate`` to close there, is zero:
    short ``Q·(1 − f) / (Q/P0 − M)`` (None when ``M >= Q/P0``: no price), long
    ``Q·(1 + f) / (Q/P0 + M)``."""
    backing = size_usd / entry
    if side == "short":
        den = backing - margin_coin
        if den <= DEFICIT_EPS * backing:
            return None
        return size_usd * (1.0 - fee_rate) / den
    return size_usd * (1.0 + fee_rate) / (backing + margin_coin)


def assess(
    spec: ContractSpec,
    side: str,
    size_usd: float,
    entry: float,
    margin_coin: float,
    *,
    mode: str = "isolated",
    mark: float | None = None,
    mmr: float | None = None,
    mm_amount_coin: float | None = None,
    fee_rate: float | None = None,
) -> Liquidation:
    """The position's liquidation and bankruptcy prices by its venue's model (module
    docstring), and, given ``mark``, the threshold there and whether it is already crossed:
    ``at_mark(assess_position(...), ...)``.

    Raises ValueError for a side, mode, size, entry or margin that is not a position."""
    base = assess_position(
        spec,
        side,
        size_usd,
        entry,
        margin_coin,
        mode=mode,
        mmr=mmr,
        mm_amount_coin=mm_amount_coin,
        fee_rate=fee_rate,
    )
    return at_mark(
        base,
        spec,
        side,
        size_usd,
        entry,
        margin_coin,
        mark,
        mmr=mmr,
        mm_amount_coin=mm_amount_coin,
        fee_rate=fee_rate,
    )


def assess_position(
    spec: ContractSpec,
    side: str,
    size_usd: float,
    entry: float,
    margin_coin: float,
    *,
    mode: str = "isolated",
    mmr: float | None = None,
    mm_amount_coin: float | None = None,
    fee_rate: float | None = None,
) -> Liquidation:
    """What ``assess`` says without a mark: the liquidation and bankruptcy prices, the model,
    the tier and the close fee depend on the position alone (the engine keeps this while only
    the quotes move). Raises ValueError as ``assess`` does."""
    _check(side, size_usd, entry, margin_coin, mode)
    model = margin_model(spec, mode)
    tiers = _effective_tiers(spec, mmr, mm_amount_coin)
    q, m = size_usd, margin_coin
    close_fee = 0.0
    venue = spec.venue  # branch on the string: enum member lookups cost per hedge and tick
    if venue == "bybit":
        tier = tier_for(tiers, q / entry)
        mm = max(0.0, q / entry * tier.mmr - tier.mm_amount_coin)
        f = _fee(spec, fee_rate) if mode == "cross" else 0.0
        bankrupt = bankruptcy_price(side, q, entry, m, fee_rate=f)
        close_fee = f * q / bankrupt if bankrupt is not None else 0.0
        price = _bybit_price(side, q, entry, m, mm + close_fee)
    elif venue == "okx":
        tier = tier_for(tiers, q)
        bankrupt = bankruptcy_price(side, q, entry, m)
        price = _mark_value_price(side, q, entry, m, tier.mmr + _fee(spec, fee_rate), 0.0)
    elif venue == "deribit" and _slope_per_coin(spec, mmr, mm_amount_coin) > 0:
        tier = tiers[0]
        k = _slope_per_coin(spec, mmr, mm_amount_coin)
        bankrupt = bankruptcy_price(side, q, entry, m)
        price = _quadratic(side=side, q=q, entry=entry, m=m, a=tier.mmr, k=k)
    else:  # Binance (and a Deribit spec overridden to a flat rate): bracket at the price
        bankrupt = bankruptcy_price(side, q, entry, m)
        price = _binance_price(side=side, q=q, entry=entry, m=m, tiers=tiers)
        tier = tier_for(tiers, q / price) if price is not None else tier_for(tiers, q / entry)
    return Liquidation(price, bankrupt, model, tier, close_fee)


def at_mark(  # noqa: PLR0917 (the position and its mark)
    base: Liquidation,
    spec: ContractSpec,
    side: str,
    size_usd: float,
    entry: float,
    margin_coin: float,
    mark: float | None,
    *,
    mmr: float | None = None,
    mm_amount_coin: float | None = None,
    fee_rate: float | None = None,
) -> Liquidation:
    """``base`` (``assess_position`` of this position, the same overrides) completed at
    ``mark`` by ``mark_figures``; ``base`` itself without a usable mark."""
    if mark is None or not (mark > 0 and math.isfinite(mark)):
        return base
    threshold, under, far = mark_figures(
        base,
        spec,
        side,
        size_usd,
        entry,
        margin_coin,
        mark,
        mmr=mmr,
        mm_amount_coin=mm_amount_coin,
        fee_rate=fee_rate,
    )
    return Liquidation(
        base.price, base.bankruptcy_price, base.model, base.tier, base.close_fee_coin,
        threshold, under, far,
    )  # fmt: skip


def mark_figures(  # noqa: PLR0917 (the position and its mark)
    base: Liquidation,
    spec: ContractSpec,
    side: str,
    size_usd: float,
    entry: float,
    margin_coin: float,
    mark: float,
    *,
    mmr: float | None = None,
    mm_amount_coin: float | None = None,
    fee_rate: float | None = None,
) -> tuple[float, bool, bool]:
    """What ``base`` (``assess_position`` of this position) says at ``mark`` (a finite
    positive price): the threshold equity must stay above there, whether the equity is at
    or below it, and whether the liquidation price is more than 10x the mark away."""
    q, price = size_usd, base.price
    mm_at_mark = maintenance_margin_coin(
        spec, q, mark, entry=entry, mmr=mmr, mm_amount_coin=mm_amount_coin, fee_rate=fee_rate
    )
    threshold = mm_at_mark + base.close_fee_coin
    pnl = q * (1.0 / mark - 1.0 / entry) * (1.0 if side == "short" else -1.0)
    under = margin_coin + pnl <= threshold
    far = price is not None and (price >= FAR_FACTOR * mark or price * FAR_FACTOR <= mark)
    return threshold, under, far


def _bybit_price(side: str, q: float, entry: float, m: float, threshold: float) -> float | None:
    """Equity ``M ± (Q/P − Q/P0)`` meets a threshold fixed in coin: short
    ``Q / (Q/P0 − M + T)``, long ``Q / (Q/P0 + M − T)``."""
    den = q / entry - m + threshold if side == "short" else q / entry + m - threshold
    if den <= DEFICIT_EPS * q / entry:
        # short: the wallet covers the position and the threshold at every price; long: the
        # threshold exceeds the whole wallet at any price (the venue would not open it)
        return None
    return q / den


def _mark_value_price(  # noqa: PLR0917 (the position and the tier)
    side: str, q: float, entry: float, m: float, rate: float, amount: float
) -> float | None:
    """Equity meets ``x·rate − amount`` with x = Q/P: short ``Q·(1 − r) / (Q/P0 − M − A)``,
    long ``Q·(1 + r) / (M + Q/P0 + A)``."""
    if side == "short":
        den = q / entry - m - amount
        if den <= DEFICIT_EPS * q / entry or rate >= 1:
            return None
        return q * (1 - rate) / den
    return q * (1 + rate) / (m + q / entry + amount)


def _binance_price(
    *, side: str, q: float, entry: float, m: float, tiers: tuple[MarginTier, ...]
) -> float | None:
    """Solve per bracket and keep the root whose notional ``Q/P`` falls in that bracket
    (``_mark_value_price`` inlined: this loop runs per hedge and tick)."""
    lo = 0.0
    backing = q / entry
    short = side == "short"
    for tier in tiers:
        r, a = tier.mmr, tier.mm_amount_coin
        if short:
            den = backing - m - a
            if den <= DEFICIT_EPS * backing or r >= 1:
                lo = tier.cap
                continue
            price = q * (1 - r) / den
        else:
            price = q * (1 + r) / (m + backing + a)
        if lo < q / price <= tier.cap:
            return price
        lo = tier.cap
    return _bisect_tiers(side=side, q=q, entry=entry, m=m, tiers=tiers)


def _equity_minus_mm(
    *, side: str, q: float, entry: float, m: float, tiers: tuple[MarginTier, ...], x: float
) -> float:
    tier = tier_for(tiers, x)
    mm = x * tier.mmr - tier.mm_amount_coin
    equity = m + (x - q / entry if side == "short" else q / entry - x)
    return equity - mm


def _bisect_tiers(
    *, side: str, q: float, entry: float, m: float, tiers: tuple[MarginTier, ...]
) -> float | None:
    """Fallback when no bracket holds its own closed-form root (a table whose amounts do
    not make MM continuous, or rounding at a bracket edge): bisection on x = Q/P."""

    def g(x: float) -> float:
        return _equity_minus_mm(side=side, q=q, entry=entry, m=m, tiers=tiers, x=x)

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
        deficit = q / entry - m  # what the wallet lacks to back the short at entry
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
