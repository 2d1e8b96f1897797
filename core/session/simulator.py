"""The built-in exchange a session runs on when ``[simulator] enabled``: built from the
config (its coins, seed, speed, chaos) with its accounts seeded from the portfolio."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.config import Config

if TYPE_CHECKING:
    from core.sim import SimExchange


def build_simulator(
    config: Config, *, interval_ms: float, autostep: bool = True
) -> SimExchange | None:
    """The simulator the config asks for (not started), or None when it asks for none.
    ``interval_ms``: wall ms between two updates of one instrument; ``autostep=False``: the
    market moves only when the caller awaits ``advance`` (tests step simulated time)."""
    if not config.simulator.enabled:
        return None
    from core.session.sim_accounts import seed_from_config
    from core.sim import SimExchange, parse_chaos
    from core.sim.model import COIN_TABLE

    s = config.simulator
    coins = [c for c in config.coins() if c in COIN_TABLE]
    if not coins:
        from core.config import ConfigError

        raise ConfigError(
            str(config.source or "<config>"),
            "simulator.enabled",
            f"none of the coins ({', '.join(config.coins()) or 'none'}) is one the simulator "
            f"trades ({', '.join(sorted(COIN_TABLE))})",
            has_value=False,
        )
    return SimExchange(
        seed=s.seed,
        speed=s.speed,
        coins=coins,
        chaos=parse_chaos(s.chaos) if s.chaos else None,
        interval_ms=interval_ms,
        accounts=seed_from_config(config),
        autostep=autostep,
    )
