"""What a venue does to an isolated position's margin when an order fills (pure).

Bybit and Binance COIN-M both keep an isolated position's margin apart from the wallet's free
balance, and move coins between the two as the position changes:

- an increase moves the initial margin of the part opened from the free balance into the
  position: Bybit's "Initial Margin (Inverse Contract)" help article, "Contract Quantity /
  (Order Price x Leverage)" (seen through
  https://www.bybit.kz/kk-KAZ/help-center/search-result?page=4&pageSize=10&query=Leverage);
  Binance's "Leverage and Margin in Coin-Margined Futures Contracts", "Initial Margin Rate =
  1 / Leverage" on the notional in coin
  (https://www.binance.com/en/support/faq/be2c7d9d95b04a7e8044ed02dd7dfe5c);
- a reduction releases the closed part's share of the margin, ``M · Q_closed / Q``, back to
  the free balance. No venue page found states this as a formula: it is an assumption (the
  simulator makes the same one), and the account read after the fill replaces the figure;
- the fee and the realised PnL go to the wallet's balance, not to the position's margin.

The coins only move inside the futures wallet: the exposure (margin plus free coins) changes by
the fee and the PnL alone. ``core.sim`` models the same rules from the same docs, on its own.
"""

from __future__ import annotations


def margin_moved(
    margin_coin: float,
    size_usd: float,
    *,
    opened_usd: float,
    closed_usd: float,
    price: float,
    leverage: float,
) -> float:
    """Coins the venue moves into (> 0) or out of (< 0) an isolated position's margin when a
    fill closes ``closed_usd`` of its ``size_usd`` face value and then opens ``opened_usd``,
    at ``price`` and the position's ``leverage``."""
    if price <= 0 or leverage <= 0:
        raise ValueError(f"price and leverage must be positive, got {price!r}, {leverage!r}")
    released = margin_coin * min(closed_usd, size_usd) / size_usd if size_usd > 0 else 0.0
    added = opened_usd / (price * leverage)
    return added - released
