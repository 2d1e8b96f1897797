"""The built-in exchange's accounts from a portfolio: hedgetop's config (or the demo) turned
into the simulator's own seed type. It lives here, beside the session that starts the
simulator, so that ``core.sim`` never imports the config (it shares no code with the clients
it serves).

- Each Bybit / Binance hedge becomes an open position (its contracts, entry, leverage and
  margin mode) and puts its margin into the venue's futures wallet of the contract coin
  (``margin_coin``: the isolated margin; for cross, the wallet balance it names). A flat hedge
  leaves only its wallet.
- A holding is on an exchange when its label names the venue ("Bybit", "binance spot", …), or
  says "exchange" and its coin is hedged on a venue (then that venue's): those coins go into
  the venue's spot wallet. Other holdings (wallets, cold storage) are not on any venue.
- The demo keeps a third of each leveraged hedge's wallet free (``DEMO_HEADROOM``): room to
  grow a hedge from the keyboard, as a hedger keeps on a venue. The wallet is still the
  configured margin, so the hedge ratios are the config's (free coins are exposure too); the
  position's own margin, and so its liquidation price, is the smaller figure the first read
  brings. A config's isolated positions hold all the margin it names.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections import defaultdict
from typing import TYPE_CHECKING

from core.config import AccountConfig, Config, HedgeConfig, HoldingConfig
from core.sim.seed import AccountSeed, MarginMode, PositionSeed, PositionSide, VenueSeed

if TYPE_CHECKING:
    from core.sim import SimExchange

SIM_VENUES = ("bybit", "binance")
#: the simulator's private-stream endpoint per venue (Bybit's private socket, Binance's
#: user-data stream)
SIM_PRIVATE_STREAM = {"bybit": "private", "binance": "user-stream"}
#: the demo's free collateral, as a fraction of the isolated margin: a hedge's configured
#: margin is its futures wallet, 1 / (1 + headroom) of which backs the position, the rest
#: free for resizes from the keyboard (free coins are exposure too: the ratios stay)
DEMO_HEADROOM = 0.5


def holding_venue(holding: HoldingConfig, hedges: tuple[HedgeConfig, ...]) -> str | None:
    """The simulated venue whose spot wallet holds ``holding`` (None: not on an exchange)."""
    label = holding.label.lower()
    for venue in SIM_VENUES:
        if venue in label:
            return venue
    if "exchange" in label:
        for h in hedges:
            if h.hedges == holding.coin and h.venue in SIM_VENUES:
                return h.venue
    return None


def _leverage(h: HedgeConfig) -> float:
    if h.leverage is not None:
        return float(h.leverage)
    if h.entry and h.margin_coin > 0 and h.contracts:
        from core.instruments import lookup

        size_usd = h.contracts * lookup(h.venue, h.symbol).face_value_usd
        return max(1.0, size_usd / h.entry / h.margin_coin)
    return 1.0


def _isolated(h: HedgeConfig, demo: bool) -> float:
    """The margin backing ``h``'s isolated position: the demo keeps part of a leveraged
    hedge's wallet free; a 1x short keeps it all (that is what makes it 1x: Bybit then
    reports no liquidation price at all)."""
    if demo and _leverage(h) > 1.0:
        return h.margin_coin / (1.0 + DEMO_HEADROOM)
    return h.margin_coin


def seed_from_config(
    config: Config, *, api_key: str = "demo", api_secret: str = "demo-secret"
) -> AccountSeed:
    """The simulator's accounts for ``config`` (see the module doc)."""
    spot: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    futures: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    positions: dict[str, list[PositionSeed]] = defaultdict(list)
    for ho in config.holdings:
        venue = holding_venue(ho, config.hedges)
        if venue is not None:
            spot[venue][ho.coin] += ho.amount
    for h in config.hedges:
        if h.venue not in SIM_VENUES:
            continue
        futures[h.venue][h.coin] += h.margin_coin
        if not h.contracts or h.entry is None:
            continue
        mode = MarginMode.CROSS if h.margin_mode == "cross" else MarginMode.ISOLATED
        positions[h.venue].append(
            PositionSeed(
                coin=h.coin,
                side=PositionSide.SHORT if h.side == "short" else PositionSide.LONG,
                contracts=h.contracts,
                entry=h.entry,
                leverage=_leverage(h),
                margin_mode=mode,
                margin_coin=_isolated(h, config.demo) if mode is MarginMode.ISOLATED else 0.0,
            )
        )
    venues = {
        v: VenueSeed(spot=dict(spot[v]), futures=dict(futures[v]), positions=tuple(positions[v]))
        for v in SIM_VENUES
    }
    return AccountSeed(api_key=api_key, api_secret=api_secret, venues=venues)


def simulator_target(
    sim: SimExchange, account: AccountConfig
) -> tuple[AccountConfig, dict[str, str]] | None:
    """``account`` pointed at the simulator's hosts, and an environment of its own holding
    the simulator's keys under the variables the account names; None when the simulator keeps
    no accounts on that venue. The user's real keys are never sent to a simulator."""
    venue = account.venue.value
    try:
        rest = sim.endpoint(venue, "rest")
    except KeyError:
        return None
    spot: str | None = None
    with contextlib.suppress(KeyError):
        spot = sim.endpoint(venue, "spot-rest")
    private: str | None = None
    with contextlib.suppress(KeyError):
        private = sim.endpoint(venue, SIM_PRIVATE_STREAM.get(venue, "private"))
    keys = sim.seed_accounts
    env = {account.api_key_env: keys.api_key, account.api_secret_env: keys.api_secret}
    if account.passphrase_env:
        env[account.passphrase_env] = ""
    target = dataclasses.replace(
        account, rest_url=rest, spot_rest_url=spot, private_ws_url=private, sandbox=False
    )
    return target, env
