"""The demo portfolio: what ``hedgetop`` shows with no config at all, on the built-in simulator.

A few holdings hedged on the four venues the simulator speaks (Bybit inverse, Binance COIN-M,
OKX coin-margined swaps, Deribit inverse perpetuals):

- BTC: 0.5 BTC in a cold wallet, 1.5 BTC as the margin of 1x shorts on three venues: 1.0 BTC
  on Bybit (its liquidation price exists, P0/mmr, but is far beyond 10x the mark: Bybit
  fixes the maintenance margin on the entry value while the equity Q/P shrinks), 0.2 BTC on
  OKX (BTC-USD-SWAP) and 0.3 BTC on Deribit (BTC-PERPETUAL: continuous funding, no funding
  times).
- ADA: held on a wallet, hedged 90 % with a 3x short on Binance COIN-M (liquidation exists).
- XRP: hedged 80 % on Bybit with a 2x short.
- SOL: hedged by proxy with a Binance BTC short (beta 1.5 to BTC), 2x, about half the exposure.

The OKX and Deribit hedges live only in the config: the simulator serves those venues' market
data, not their accounts. Two holdings are kept on an exchange, so that both Bybit's and
Binance's simulated spot accounts hold coins:
the XRP ("exchange": where it is hedged, Bybit) and the SOL (on Binance);
``core.session.sim_accounts`` reads the labels.

Entries are the simulator's start prices, so the session opens near flat.

The Bybit and Binance hedges name the demo's two trading accounts (``demo-bybit``,
``demo-binance``): the session reads them through ccxt from the simulator, as it reads a real
venue, and sends their resizes there through the same ccxt broker a live session uses; the OKX
and Deribit hedges resize on the paper broker (issue 12 §4).
"""

from __future__ import annotations

from collections.abc import Mapping

from core.config import (
    AccountConfig,
    AlertConfig,
    BrokerConfig,
    Config,
    HedgeConfig,
    HoldingConfig,
    SimulatorConfig,
    TargetConfig,
)
from core.events import Venue
from core.instruments import contracts_from_size_usd, lookup

DEMO_COINS: tuple[str, ...] = ("BTC", "SOL", "ADA", "XRP")


#: the demo's accounts on the simulator (read, and traded, through ccxt with its keys)
BYBIT, BINANCE = "demo-bybit", "demo-binance"


def demo_account(name: str, venue: Venue) -> AccountConfig:
    """A trading account on ``venue``; on the simulator it is read and traded there with the
    simulator's keys (``core.session.sim_accounts.simulator_target``), never the user's."""
    key_env, secret_env, passphrase_env = AccountConfig.default_env(venue)
    return AccountConfig(
        name=name,
        venue=venue,
        api_key_env=key_env,
        api_secret_env=secret_env,
        passphrase_env=passphrase_env,
        trading=True,
    )


def start_prices() -> dict[str, float]:
    """The simulator's start prices for the demo coins."""
    from core.sim.model import COIN_TABLE

    return {c: COIN_TABLE[c].start_price for c in DEMO_COINS}


def _hedge(
    hid: str,
    venue: str,
    coin: str,
    hedged_coin_amount: float,
    price: float,
    *,
    leverage: float,
    hedges: str | None = None,
    beta: float = 1.0,
    account: str | None = None,
) -> HedgeConfig:
    spec = lookup(venue, coin)
    contracts = contracts_from_size_usd(spec, hedged_coin_amount * price)
    size_usd = contracts * spec.face_value_usd
    return HedgeConfig(
        id=hid,
        venue=spec.venue,
        symbol=spec.symbol,
        coin=spec.coin,
        side="short",
        contracts=contracts,
        entry=price,
        margin_coin=size_usd / price / leverage,
        margin_mode="isolated",
        leverage=leverage,
        hedges=hedges or spec.coin,
        beta=beta,
        account=account,
    )


def demo_config(prices: Mapping[str, float] | None = None, *, seed: int = 1) -> Config:
    """The demo portfolio with entries at ``prices`` (default: the simulator's start prices)."""
    p = dict(prices) if prices is not None else start_prices()
    ada_spot = 30_000.0
    xrp_spot = 6_000.0
    sol_spot = 400.0
    # x = r·S / (1 − r/L): the short of x coins with margin x/L reaches ratio r on S + x/L
    ada_hedged = 0.9 * ada_spot / (1 - 0.9 / 3)
    xrp_hedged = 0.8 * xrp_spot / (1 - 0.8 / 2)
    # proxy: hedged SOL-equivalent = (Q/P0)·P_btc / (beta·P_sol); half of the SOL held
    sol_beta = 1.5
    btc_for_sol = 0.5 * sol_spot * p["SOL"] * sol_beta / p["BTC"]
    hedges = (
        _hedge("btc-bybit", "bybit", "BTC", 1.0, p["BTC"], leverage=1.0, account=BYBIT),
        _hedge(
            "ada-binance", "binance", "ADA", ada_hedged, p["ADA"], leverage=3.0, account=BINANCE
        ),
        _hedge("xrp-bybit", "bybit", "XRP", xrp_hedged, p["XRP"], leverage=2.0, account=BYBIT),
        _hedge(
            "sol-proxy-btc",
            "binance",
            "BTC",
            btc_for_sol,
            p["BTC"],
            leverage=2.0,
            hedges="SOL",
            beta=sol_beta,
            account=BINANCE,
        ),
        _hedge("btc-okx", "okx", "BTC", 0.2, p["BTC"], leverage=1.0),
        _hedge("btc-deribit", "deribit", "BTC", 0.3, p["BTC"], leverage=1.0),
    )
    return Config(
        source=None,
        holdings=(
            HoldingConfig("BTC", 0.5, "cold wallet"),
            HoldingConfig("SOL", sol_spot, "Binance"),
            HoldingConfig("ADA", ada_spot, "hardware wallet"),
            HoldingConfig("XRP", xrp_spot, "exchange"),
        ),
        hedges=hedges,
        targets={
            "BTC": TargetConfig(0.7, 0.05),
            "SOL": TargetConfig(0.5, 0.1),
            "ADA": TargetConfig(0.9, 0.05),
            "XRP": TargetConfig(0.8, 0.05),
        },
        alerts=AlertConfig(),
        broker=BrokerConfig(),
        simulator=SimulatorConfig(enabled=True, seed=seed, speed=1.0),
        demo=True,
        accounts=(demo_account(BYBIT, Venue.BYBIT), demo_account(BINANCE, Venue.BINANCE)),
    )
