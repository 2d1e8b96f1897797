"""``hedgetop account``: read every configured exchange account once and print what the exchange
holds, as hedgetop normalised it (``core.accounts``).

    hedgetop account [--config PATH] [--json]

Per account: the coin-margined positions (venue, symbol, side, contracts in the venue's unit,
USD size, entry, the exchange's own liquidation price, "—" when it gives none), the wallet
balances per coin (spot and futures, or Bybit's one unified wallet) and the funding booked over
the last 7 days (> 0 received). With no config (the demo) or a config whose ``[simulator]`` is
enabled and names no ``[[accounts]]``, the built-in simulator is started in-process and its
Bybit and Binance accounts are read through ccxt with its demo key, as a real venue would be.

A missing key variable, a key the exchange refuses or a venue that cannot be reached is one
line naming the account (and the variable, never its value) and exit code 2; nothing is
printed on stdout then. A config without ``[[accounts]]`` is not an error: one line says so
and the exit code is 0 (``--json`` prints ``{"accounts": []}``).

``--json`` prints one object::

    {"accounts": [{"name", "venue", "unified", "read_ms", "funding_since_ms",
                   "positions": [...], "balances": [...], "funding_7d": {coin: amount} | null,
                   "notes": [...]}]}

numbers as numbers, ``null`` for what the exchange did not give (``funding_7d`` is null when
the funding history was not read: never an empty, reassuring ``{}``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.accounts.model import AccountPosition, AccountState, WalletBalance
    from core.config import AccountConfig, Config

HELP = "read every configured exchange account once: positions, balances, funding received"
#: Wall ms between two updates of one instrument of the in-process simulator (its clock does
#: not run: the read sees the seeded account at its start).
SIM_INTERVAL_MS = 100.0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("account", help=HELP, description=HELP)
    p.add_argument("--config", default=argparse.SUPPRESS, help="portfolio config (TOML)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import asyncio
    import os
    import time

    from tui.commands._session import load

    cfg = load(getattr(args, "config", None))
    if cfg.simulator.enabled:
        states = asyncio.run(read_simulator(cfg, os.environ))
        what = "the demo portfolio" if cfg.demo else str(cfg.source)
        source = f"the built-in simulator's accounts ({what}, its demo key)"
    elif cfg.accounts:
        now_ms = time.time_ns() // 1_000_000
        states = asyncio.run(read_all(cfg.accounts, now_ms=now_ms, environ=os.environ))
        source = f"{len(states)} account{'s' if len(states) != 1 else ''} of {cfg.source}"
    else:
        line = f"hedgetop account: {cfg.source} has no [[accounts]]: no exchange account to read"
        if args.json:  # stdout stays the one JSON object
            print(line, file=sys.stderr)
            print(json.dumps({"accounts": []}))
        else:
            print(line)
        return 0
    if args.json:
        sys.stdout.write(json.dumps(accounts_json(states), allow_nan=False) + "\n")
    else:
        sys.stdout.write(render(states, source))
    return 0


# --- reading ---------------------------------------------------------------------------------


async def read_all(
    accounts: Sequence[AccountConfig], *, now_ms: int, environ: Mapping[str, str]
) -> list[AccountState]:
    """Read ``accounts`` concurrently, once each. The first failure in config order becomes
    the one-line usage error (exit 2); every variable is checked before anything is sent."""
    import asyncio

    from core.accounts.model import AccountReadError
    from core.accounts.reader import credentials, read_account
    from core.redact import Redactor
    from tui.usage import UsageError

    masker = Redactor()
    try:
        for a in accounts:
            masker.add(credentials(a, environ).values())
    except AccountReadError as exc:
        raise UsageError(str(exc)) from None
    results = await asyncio.gather(
        *(read_account(a, now_ms=now_ms, environ=environ) for a in accounts),
        return_exceptions=True,
    )
    states: list[AccountState] = []
    for a, r in zip(accounts, results, strict=True):
        if isinstance(r, AccountReadError):
            raise UsageError(str(r)) from None
        if isinstance(r, BaseException):
            # not the reader's own failure (a bug): still one line, and no key in it
            text = " ".join(masker.mask(str(r)).split())[:200]
            raise RuntimeError(
                f"account {a.name!r} ({a.venue.value}): {type(r).__name__}: {text}"
            ) from None
        states.append(r)
    return states


def simulator_accounts(
    endpoints: Mapping[tuple[str, str], str], api_key: str, api_secret: str
) -> tuple[tuple[AccountConfig, ...], dict[str, str]]:
    """A simulator's accounts as ``[[accounts]]`` entries pointed at its REST hosts
    (``endpoints``: its URLs keyed (venue, what)), and the environment holding its key (a
    mapping of its own: the user's variables are neither read nor changed)."""
    from core.config import AccountConfig
    from core.events import Venue
    from core.session.sim_accounts import SIM_VENUES

    accounts: list[AccountConfig] = []
    environ: dict[str, str] = {}
    for name in SIM_VENUES:
        venue = Venue(name)
        key_env, secret_env, _ = AccountConfig.default_env(venue)
        environ[key_env], environ[secret_env] = api_key, api_secret
        accounts.append(
            AccountConfig(
                name=f"sim-{name}",
                venue=venue,
                api_key_env=key_env,
                api_secret_env=secret_env,
                rest_url=endpoints[(name, "rest")],
                spot_rest_url=endpoints.get((name, "spot-rest"))
                if venue is Venue.BINANCE
                else None,
            )
        )
    return tuple(accounts), environ


async def read_simulator(cfg: Config, environ: Mapping[str, str]) -> list[AccountState]:
    """Start the simulator ``cfg`` asks for on loopback, read its accounts, stop it: the
    config's ``[[accounts]]`` as the session reads them (one without URLs of its own is read
    on the simulator, with its keys; one with ``rest_url`` as configured, with ``environ``),
    else one per venue the simulator keeps."""
    from core.session.simulator import build_simulator
    from tui.usage import UsageError

    ex = build_simulator(cfg, interval_ms=SIM_INTERVAL_MS, autostep=False)
    assert ex is not None  # the caller checked cfg.simulator.enabled
    try:
        await ex.start()
    except OSError as exc:
        raise UsageError(f"cannot start the built-in simulator on 127.0.0.1: {exc}") from None
    try:
        seed = ex.seed_accounts
        if not cfg.accounts:
            urls = {(v, w): u for v, w, u in ex.endpoints}
            accounts, sim_env = simulator_accounts(urls, seed.api_key, seed.api_secret)
            return await read_all(accounts, now_ms=ex.now_ms(), environ=sim_env)
        from core.session.sim_accounts import simulator_target

        targets: list[AccountConfig] = []
        env = dict(environ)
        for a in cfg.accounts:
            found = simulator_target(ex, a) if a.rest_url is None else None
            if found is None:
                targets.append(a)
            else:
                targets.append(found[0])
                env.update(found[1])
        return await read_all(targets, now_ms=ex.now_ms(), environ=env)
    finally:
        await ex.stop()


# --- JSON ------------------------------------------------------------------------------------


def funding_read(state: AccountState) -> bool:
    """Whether the funding history was read (the reader notes it when it was not)."""
    return not any(n.startswith("funding history") for n in state.notes)


def position_json(p: AccountPosition) -> dict[str, Any]:
    return {
        "venue": p.venue.value,
        "symbol": p.symbol,
        "coin": p.coin,
        "kind": p.kind.value,
        "side": p.side.value,
        "contracts": p.contracts,
        "size_usd": p.size_usd,
        "entry": p.entry,
        "liq_price": p.liq_price,
        "mark": p.mark,
        "margin_mode": p.margin_mode.value if p.margin_mode is not None else None,
        "leverage": p.leverage,
        "margin_coin": p.margin_coin,
        "unrealized_pnl_coin": p.unrealized_pnl_coin,
        "expiry_ms": p.expiry_ms,
        "hedged": p.hedged,
    }


def balance_json(b: WalletBalance) -> dict[str, Any]:
    return {"wallet": b.wallet.value, "coin": b.coin, "total": b.total, "free": b.free}


def accounts_json(states: Sequence[AccountState]) -> dict[str, Any]:
    return {
        "accounts": [
            {
                "name": s.account,
                "venue": s.venue.value,
                "unified": s.unified,
                "read_ms": s.read_ms,
                "funding_since_ms": s.funding_since_ms,
                "positions": [position_json(p) for p in s.positions],
                "balances": [balance_json(b) for b in s.balances],
                "funding_7d": s.funding_received() if funding_read(s) else None,
                "notes": list(s.notes),
            }
            for s in states
        ]
    }


# --- text ------------------------------------------------------------------------------------


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, left: int = 1) -> str:
    """Columns two spaces apart, the first ``left`` flush left, the figures flush right."""
    widths = [len(h) for h in headers]
    for r in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, r, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return (
            "  "
            + "  ".join(
                c.ljust(w) if i < left else c.rjust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            ).rstrip()
        )

    return "\n".join([line(headers), *(line(r) for r in rows)]) + "\n"


def _tick(venue: str, symbol: str) -> float | None:
    """The instrument's price tick from the built-in table (None: not an instrument it has;
    the price is then shown by magnitude)."""
    from core.instruments import UnknownInstrument, lookup

    try:
        return lookup(venue, symbol).tick_size
    except (UnknownInstrument, KeyError, ValueError):
        return None


def _amount(value: float | None) -> str:
    """A coin amount without its unit (the row names the coin), as ``format.coin`` rounds it."""
    from tui.widgets.format import num

    if value is None:
        return num(None)
    return num(value, 4 if abs(value) >= 1 or value == 0 else 6)


def _contracts(value: float) -> str:
    from tui.widgets.format import num

    return num(value, 0) if value == int(value) else num(value)


def _when(ms: int | None) -> str:
    if ms is None:
        from tui.widgets.format import DASH

        return DASH
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _account_kind(s: AccountState) -> str:
    if s.unified is True:
        return "unified trading account: one wallet"
    if s.unified is False:
        return "classic account: futures and spot wallets"
    return "futures and spot wallets"


def render_account(s: AccountState) -> str:
    from tui.widgets.format import DASH, num, price

    out = [f"account {s.account} ({s.venue.value}, {_account_kind(s)}), read {_when(s.read_ms)}\n"]
    if s.positions:
        rows = []
        for p in s.positions:
            tick = _tick(p.venue.value, p.symbol)
            rows.append(
                [
                    p.venue.value,
                    p.symbol,
                    p.side.value,
                    _contracts(p.contracts),
                    num(p.size_usd, 2),
                    price(p.entry, tick),
                    price(p.liq_price, tick),
                    p.margin_mode.value if p.margin_mode is not None else DASH,
                    f"{p.leverage:g}x" if p.leverage is not None else DASH,
                ]
            )
        out.append("positions\n")
        out.append(
            _table(
                [
                    "venue",
                    "symbol",
                    "side",
                    "contracts",
                    "size USD",
                    "entry",
                    "liq price",
                    "margin",
                    "leverage",
                ],
                rows,
                left=3,
            )
        )
    else:
        out.append("positions: none open\n")
    if s.balances:
        rows = [[b.wallet.value, b.coin, _amount(b.total), _amount(b.free)] for b in s.balances]
        out.append("balances\n")
        out.append(_table(["wallet", "coin", "total", "free"], rows, left=2))
    else:
        out.append("balances: no coin held\n")
    since = _when(s.funding_since_ms)
    if not funding_read(s):
        out.append(f"funding received since {since}: {DASH} (not read, see the notes)\n")
    else:
        got = s.funding_received()
        if not got:
            out.append(f"funding received since {since}: none booked\n")
        else:
            counts: dict[str, int] = {}
            for f in s.funding:
                counts[f.coin] = counts.get(f.coin, 0) + 1
            out.append(f"funding received since {since} (> 0 received)\n")
            rows = [[c, num(v, 8, sign=True), str(counts[c])] for c, v in sorted(got.items())]
            out.append(_table(["coin", "amount", "payments"], rows))
    for n in s.notes:
        out.append(f"note: {n}\n")
    return "".join(out)


def render(states: Sequence[AccountState], source: str) -> str:
    return f"hedgetop account: {source}\n" + "".join(f"\n{render_account(s)}" for s in states)
