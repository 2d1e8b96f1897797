"""Inverse (coin-margined) contract math: pure functions, every formula in its docstring.

Notation (see DESIGN.md §5): Q = position size in USD face value, P0 = average entry price,
P = mark price, S = spot coins held, M = coins in the futures wallet (margin).
"""

from __future__ import annotations

MS_PER_YEAR = 365 * 24 * 3600 * 1000


def _sign(side: str) -> int:
    if side == "short":
        return 1
    if side == "long":
        return -1
    raise ValueError(f"side must be 'short' or 'long', not {side!r}")


def position_value_coin(size_usd: float, price: float) -> float:
    """Value of Q USD face value in coin at ``price``: ``Q / P``."""
    return size_usd / price


def pnl_coin(side: str, size_usd: float, entry: float, mark: float) -> float:
    """Unrealised PnL in coin. Short: ``Q·(1/P − 1/P0)``; long: ``Q·(1/P0 − 1/P)``."""
    return _sign(side) * size_usd * (1.0 / mark - 1.0 / entry)


def pnl_usd(side: str, size_usd: float, entry: float, mark: float) -> float:
    """Unrealised PnL in USD at mark: ``pnl_coin · P``; short: ``Q·(1 − P/P0)``, linear in P."""
    return _sign(side) * size_usd * (1.0 - mark / entry)


def average_entry(size_usd: float, entry: float, add_usd: float, price: float) -> float:
    """Harmonic average entry after adding ``add_usd`` at ``price`` to ``size_usd`` at ``entry``.

    Inverse contracts average in coin value: ``(Q + q) / (Q/P0 + q/p)``.
    """
    total = size_usd + add_usd
    if total <= 0:
        raise ValueError("resulting size must be positive")
    return total / (size_usd / entry + add_usd / price)


def realized_pnl_coin(side: str, reduce_usd: float, entry: float, price: float) -> float:
    """PnL realised in coin by closing ``reduce_usd`` of a position at ``price``; the
    remaining position keeps its entry: same formula as unrealised PnL on the closed part."""
    return pnl_coin(side, reduce_usd, entry, price)


def equity_coin(margin_coin: float, side: str, size_usd: float, entry: float, mark: float) -> float:
    """Futures-wallet equity in coin: margin plus unrealised PnL, ``M + PnL_coin``."""
    return margin_coin + pnl_coin(side, size_usd, entry, mark)


def net_delta_coin(
    spot_coin: float, margin_coin: float, short_size_usd: float, entry: float
) -> float:
    """Net coin exposure of spot + futures wallet + short: ``S + M − Q/P0``.

    From the USD value ``(S + M − Q/P0)·P + Q``: its derivative in P is the coefficient.
    """
    return spot_coin + margin_coin - short_size_usd / entry


def hedge_ratio(
    spot_coin: float, margin_coin: float, short_size_usd: float, entry: float
) -> float | None:
    """Real hedge ratio ``(Q/P0) / (S + M)``; None when there is nothing to hedge."""
    exposure = spot_coin + margin_coin
    if exposure <= 0:
        return None
    return (short_size_usd / entry) / exposure


def portfolio_value_usd(
    spot_coin: float, margin_coin: float, short_size_usd: float, entry: float, mark: float
) -> float:
    """USD value of spot + futures wallet + short: ``(S + M − Q/P0)·P + Q``."""
    return (spot_coin + margin_coin - short_size_usd / entry) * mark + short_size_usd


def funding_coin(side: str, size_usd: float, mark: float, rate: float) -> float:
    """Funding for one settlement, in coin, from this position's view (> 0 received).

    Payment ``Q / P_mark · rate``; a positive rate means longs pay shorts.
    """
    return _sign(side) * size_usd / mark * rate


def funding_apr_pct(rate: float, interval_ms: int, side: str = "short") -> float:
    """A per-interval funding rate annualised, in percent, signed for ``side`` (> 0 earned)."""
    return _sign(side) * rate * (MS_PER_YEAR / interval_ms) * 100.0


def basis_usd(mark: float, index: float) -> float:
    """Basis in USD: ``mark − index``."""
    return mark - index


def basis_pct(mark: float, index: float) -> float:
    """Basis in percent of the index: ``(mark − index) / index · 100``."""
    return (mark - index) / index * 100.0


def basis_annual_pct(mark: float, index: float, horizon_ms: int = MS_PER_YEAR) -> float:
    """Basis annualised over ``horizon_ms`` (the time it is expected to converge in)."""
    return basis_pct(mark, index) * (MS_PER_YEAR / horizon_ms)


def liq_distance_pct(liq_price: float | None, mark: float) -> float | None:
    """Signed distance from mark to liquidation in percent of mark (> 0: above mark)."""
    if liq_price is None:
        return None
    return (liq_price - mark) / mark * 100.0


def funding_usd(side: str, size_usd: float, rate: float) -> float:
    """Funding for one settlement in USD at the mark it settles at, > 0 received:
    ``funding_coin · P = ±Q · rate`` (independent of the price for an inverse contract)."""
    return _sign(side) * size_usd * rate


def next_funding_ms(now_ms: int, interval_ms: int | None, *, anchor_ms: int = 0) -> int | None:
    """The first funding time strictly after ``now_ms``.

    Bybit, Binance and OKX settle on a fixed grid (every 8 h from 00:00 UTC: ``anchor_ms`` 0);
    a venue's own ``next_funding_ms`` (in its ticker) wins over this when known. Deribit
    funds continuously (``interval_ms`` None): there is no next time, None.
    """
    if interval_ms is None:
        return None
    if interval_ms <= 0:
        raise ValueError(f"interval_ms must be positive, not {interval_ms!r}")
    periods = (now_ms - anchor_ms) // interval_ms + 1
    return anchor_ms + periods * interval_ms


def funding_countdown_ms(now_ms: int, next_ms: int | None) -> int | None:
    """Milliseconds until ``next_ms`` (never negative); None when funding is continuous."""
    if next_ms is None:
        return None
    return max(0, next_ms - now_ms)
