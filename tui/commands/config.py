"""``hedgetop config check [PATH]``: validate a portfolio config and print what it understood;
``hedgetop config path``: where the config is looked for."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "config",
        help="check a portfolio config, or show where it is looked for",
        description="Validate the portfolio config (TOML) and print what hedgetop understood.",
    )
    sub = p.add_subparsers(dest="config_command", parser_class=type(p))
    check = sub.add_parser(
        "check",
        help="validate a config and print what it understood (exit 2 on error)",
        description=(
            "Validate PATH (default: --config, else the user config file, else the demo "
            "portfolio) and print its holdings, hedges with their contract specs, targets, "
            "feeds, broker and alerts."
        ),
    )
    check.add_argument("path", nargs="?", default=None, help="config file (TOML)")
    check.set_defaults(func=run)
    where = sub.add_parser(
        "path",
        help="print which config applies and where one is looked for",
        description=(
            "Print the config in effect (--config, else HEDGETOP_CONFIG, else the first file "
            "found in the default locations, else the demo) and every place looked at."
        ),
    )
    where.set_defaults(func=run)
    p.set_defaults(func=run, config_command=None)


def run(args: argparse.Namespace) -> int:
    from core.config import ConfigError, config_candidates, load_config

    cmd = getattr(args, "config_command", None)
    if cmd == "path":
        given = getattr(args, "config", None)
        if given:
            given_path = Path(given).expanduser()
            state = "exists" if given_path.is_file() else "absent"
            print(f"{given_path} ({state}; given by --config or HEDGETOP_CONFIG)")
            return 0 if given_path.is_file() else 2
        candidates = config_candidates()
        found = next((p for p in candidates if p.is_file()), None)
        for p in candidates:
            state = "in use" if p == found else ("exists" if p.is_file() else "absent")
            print(f"{p} ({state})")
        if found is None:
            print("no config found: the demo portfolio applies")
        return 0
    if cmd != "check":
        print("hedgetop config: say 'check [PATH]' or 'path'", file=sys.stderr)
        return 2
    path: Path | None = getattr(args, "path", None) or getattr(args, "config", None)
    try:
        cfg = load_config(path)
        if cfg is None:
            from core.demo import demo_config

            cfg = demo_config()
        theme_error(cfg)
    except ConfigError as exc:
        print(f"hedgetop: config error: {exc}", file=sys.stderr)
        return 2
    print(describe(cfg))
    return 0


def theme_error(cfg: Any) -> None:
    """Raise a ``ConfigError`` (file, line, key, value) for a theme no loader knows: the
    house themes shipped and in the user's theme directory, and Textual's own."""
    if not cfg.theme or cfg.source is None:
        return
    from textual.theme import BUILTIN_THEMES

    from core.config import ConfigError, config_line
    from tui import themes

    loaded = themes.load_themes([themes.builtin_theme_dir(), themes.user_theme_dir()])
    known = {*loaded.themes, *BUILTIN_THEMES}
    if cfg.theme in known:
        return
    source = Path(cfg.source)
    line = config_line(source, source.read_text(encoding="utf-8"), "theme")
    raise ConfigError(
        str(source),
        "theme",
        f"unknown theme (known: {', '.join(sorted(loaded.themes))}, or a Textual theme)",
        value=cfg.theme,
        line=line,
    )


def _num(x: float) -> str:
    return f"{x:,.8g}"


def describe(cfg: Any) -> str:
    """A readable account of ``cfg`` (a ``core.config.Config``), every figure with its unit."""
    from core.config import default_database_path
    from core.engine import Engine
    from core.feeds import DEFAULT_URLS
    from core.instruments import lookup
    from core.ledger import MemoryLedger

    lines: list[str] = []
    if cfg.source is None:
        lines.append("config: none found: the demo portfolio on the built-in simulator")
    else:
        lines.append(f"config: {cfg.source}")
    lines.append("accounts:")
    if not cfg.accounts:
        lines.append("  (none: every holding and hedge is kept by hand)")
    for a in cfg.accounts:
        names = [a.api_key_env, a.api_secret_env, *([a.passphrase_env] if a.passphrase_env else [])]
        where = ", ".join(
            f"{what} {url}"
            for what, url in (("REST", a.rest_url), ("private ws", a.private_ws_url))
            if url
        )
        lines.append(
            f"  {a.name}: {a.venue.value}, keys from ${', $'.join(names)}, "
            + ("trading allowed" if a.trading else "read only")
            + (", sandbox (testnet)" if a.sandbox else "")
            + (f", {where}" if where else "")
        )
    lines.append("holdings:")
    if not cfg.holdings:
        lines.append("  (none)")
    for h in cfg.holdings:
        label = f"  ({h.label})" if h.label else ""
        label += f"  [account {h.account}]" if h.account else ""
        lines.append(f"  {h.coin:<6} {_num(h.amount)} {h.coin}{label}")
    lines.append("hedges:")
    if not cfg.hedges:
        lines.append("  (none)")
    for h in cfg.hedges:
        spec = lookup(h.venue, h.symbol)
        size = h.contracts * spec.face_value_usd
        lev = f", {h.leverage:g}x" if h.leverage else ""
        what = (
            f"hedges {h.hedges} by proxy (beta {h.beta:g})"
            if h.proxy
            else f"hedges {h.hedges} directly"
        )
        entry = "flat" if h.entry is None else f"entry {_num(h.entry)} USD"
        lines.append(
            f"  {h.id}: {h.venue} {h.symbol} {h.side} {h.contracts} contracts = "
            f"{_num(size)} USD face, {entry}, margin {_num(h.margin_coin)} {h.coin} "
            f"{h.margin_mode}{lev}; {what}" + (f"; account {h.account}" if h.account else "")
        )
        unit = "USD" if spec.qty_unit.value == "usd" else "contracts"
        if spec.expiry_ms is not None:
            when = datetime.fromtimestamp(spec.expiry_ms / 1000, UTC)
            funding = f"dated: expires {when:%Y-%m-%d %H:%M} UTC, no funding"
        elif spec.funding_interval_ms is None:
            funding = "continuous funding"
        else:
            funding = f"funding every {spec.funding_interval_ms // 3_600_000} h"
        lines.append(
            f"      spec: {_num(spec.face_value_usd)} USD per contract, tick "
            f"{spec.tick_size:g} USD, lot {spec.lot_contracts} contracts, venue quantity in "
            f"{unit}, settles in {spec.coin}, {funding}"
        )
    lines.append("targets:")
    if not cfg.targets:
        lines.append("  (none)")
    for coin, t in cfg.targets.items():
        lines.append(f"  {coin:<6} ratio {t.ratio * 100:g} % +- {t.band * 100:g} pts")
    lines.append("feeds:")
    engine = Engine(cfg, None, MemoryLedger(), 0)
    sim_keys = {
        ("bybit", "inverse"),
        ("bybit", "spot"),
        ("binance", "inverse"),
        ("binance", "spot"),
    }
    for key, symbols in engine.subscriptions().items():
        url = cfg.feeds.urls.get(key)
        if url is None and cfg.simulator.enabled and key in sim_keys:
            url = "built-in simulator (127.0.0.1)"
        url = url or DEFAULT_URLS.get(key, "(no URL)")
        lines.append(f"  {key[0]} {key[1]}: {', '.join(symbols)} <- {url}")
    lines.append(
        f"  stale after {cfg.feeds.stale_after_ms} ms; holdings priced on "
        + (f"{engine.spot_venue} spot" if engine.spot_venue else "their hedges' index")
    )
    if engine.spot_venue is None:
        priced = {h.coin for h in cfg.hedges}
        for coin in cfg.coins():
            if coin not in priced:
                lines.append(
                    f"  warning: nothing prices {coin} (no spot venue, no {coin} contract): "
                    "set feeds.spot_venue"
                )
    s = cfg.simulator
    if s.enabled:
        chaos = f", chaos {s.chaos}" if s.chaos else ""
        lines.append(f"simulator: on, seed {s.seed}, speed {s.speed:g}x{chaos}")
    b = cfg.broker
    trading = "trading ENABLED" if b.trading_enabled else "trading disabled"
    if b.sandbox:
        trading += ", sandbox (testnets)"
    if b.kind == "ccxt":
        from core.brokers.ccxt_live import TradingDisabled, credentials_from_env

        for venue in dict.fromkeys(h.venue for h in cfg.hedges):
            try:
                credentials_from_env(venue)  # names only: values never printed
                trading += f", {venue} keys set"
            except TradingDisabled as exc:
                trading += f", {exc}"
    lines.append(
        f"broker: {b.kind} ({trading}), taker fee {b.fee_rate * 100:g} %, slippage "
        f"{b.slippage_bps:g} bps, at most {b.max_contracts_per_action} contracts"
        + (f" and {b.max_usd_per_action:,.0f} USD" if b.max_usd_per_action else "")
        + f" per action, step {b.step_pct:g} pts"
    )
    if s.enabled:
        from core.session.broker import simulator_routed

        routed = simulator_routed(cfg)
        if routed:
            lines.append(
                "  on the simulator: "
                + ", ".join(f"{hid} (account {a.name})" for hid, a in routed.items())
                + " resize through ccxt on its accounts (its demo keys); the others on paper"
            )
    if b.kind == "ccxt" and not s.enabled:
        from core.session.broker import endpoint_mismatch
        from core.session.endpoints import TESTNET_URLS
        from core.session.feeds import feed_urls

        urls = feed_urls(engine.subscriptions(), cfg.feeds.urls, TESTNET_URLS if b.sandbox else {})
        why = endpoint_mismatch(cfg, urls)
        if why is not None:
            lines.append(f"  warning: {why}")
    a = cfg.alerts
    cmd = " ".join(a.on_raise_command) if a.on_raise_command else "none"
    lines.append(
        f"alerts: liquidation closer than {a.liq_distance_pct:g} % (clears at +"
        f"{a.liq_clear_pct:g}), funding against beyond {a.funding_against_apr_pct:g} % APR, "
        f"basis beyond {a.basis_pct:g} %, stale feeds {'on' if a.stale else 'off'}, "
        f"min duration {a.min_duration_ms} ms; on raise: {cmd}"
    )
    lines.append(notify_line(cfg.notify))
    db = cfg.database or default_database_path()
    lines.append(
        f"database: {db}; snapshot every {cfg.snapshot_interval_ms} ms, recorded every "
        f"{cfg.record_interval_ms} ms"
    )
    if cfg.export_dir is not None:
        lines.append(f"export: CSV into {cfg.export_dir}")
    if cfg.theme:
        lines.append(f"theme: {cfg.theme}")
    if cfg.keys:
        lines.append("keys: " + ", ".join(f"{k}={v}" for k, v in cfg.keys.items()))
    lines.append("OK")
    return "\n".join(lines)


def notify_line(n: Any) -> str:
    """``[notify]`` in one line: URLs as ``scheme://…`` (they are credentials), checked by
    apprise without sending, then the rate limit and the quiet hours."""
    import os

    from core.notify import ENV_URLS, describe_urls

    urls = describe_urls(n, os.environ)
    if not urls:
        return f"notify: off (no [notify] urls, no {ENV_URLS})"
    quiet = "none"
    if n.quiet_hours is not None:
        (h1, m1), (h2, m2) = divmod(n.quiet_hours[0], 60), divmod(n.quiet_hours[1], 60)
        quiet = f"{h1:02d}:{m1:02d}-{h2:02d}:{m2:02d} {n.timezone or 'local time'}"
        quiet += f" (urgent: {', '.join(n.urgent) or 'none'})"
    return (
        f"notify: {'; '.join(urls)}; at most one message per {n.min_interval_s:g} s, "
        f"clears {'on' if n.clears else 'off'}, quiet hours {quiet}"
    )
