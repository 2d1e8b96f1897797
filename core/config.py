"""The portfolio configuration: TOML read with ``tomllib`` into strict, typed, frozen values.

Validation is strict and hand-written so that every error can name the file, the key path
(``hedges[1].entry``), the bad value and the line: unknown keys, wrong types, negative amounts,
unknown venues or symbols (checked against ``core.instruments.lookup``). Secrets never live
here: API keys come from environment variables only (see ``core.brokers.ccxt_live``), and a
key that looks like one is refused.

Location: ``--config PATH``, else the first ``hedgetop/config.toml`` found in the user config
dirs (``config_candidates``: the XDG dir on Linux; on macOS ``~/Library/Application Support``
and ``~/.config`` too); with neither, the demo portfolio (``core.demo``) on the built-in
simulator.
"""

from __future__ import annotations

import math
import os
import re
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.dated import DEFAULT_ROLL_DAYS
from core.events import Venue
from core.instruments import ContractSpec, UnknownInstrument, lookup

VENUES: tuple[str, ...] = ("bybit", "binance", "okx", "deribit")
SOCKETS: tuple[str, ...] = ("inverse", "spot")
SPOT_VENUES: tuple[str, ...] = ("bybit", "binance", "okx")  # Deribit has no spot market
MARGIN_MODES: tuple[str, ...] = ("isolated", "cross")
SIDES: tuple[str, ...] = ("short", "long")
BROKERS: tuple[str, ...] = ("paper", "ccxt")
ORDER_TYPES: tuple[str, ...] = ("market", "limit")
_SECRET_WORDS = ("secret", "api_key", "apikey", "password", "passphrase", "private_key")


#: Dashboard actions the ``[keys]`` section may remap (the binding ids of tui.app and the
#: table; a test keeps the two lists equal) and the other names accepted for them.
KEY_ACTIONS = (
    "help",
    "ratio_up",
    "ratio_down",
    "to_target",
    "typed_target",
    "close_hedge",
    "margin",
    "history",
    "stress",
    "detail_view",
    "themes",
    "pause",
    "quit",
    "cursor_up",
    "cursor_down",
)
KEY_ALIASES = {
    "step_up": "ratio_up",
    "step_down": "ratio_down",
    "target": "to_target",
    "close": "close_hedge",
    "theme": "themes",
}


def config_line(source: Path | str, text: str, key: str) -> int | None:
    """The line of ``key`` (``theme``, ``hedges[1].entry``) in a config's text: for checks
    made outside this module (a theme name only the dashboard can resolve)."""
    return _Validator(str(source), text).line_of(key)


class ConfigError(ValueError):
    """A config the user must fix. ``str(err)`` is one line: file, line, key path, value."""

    def __init__(
        self,
        file: str,
        key: str,
        problem: str,
        *,
        value: object = None,
        has_value: bool = True,
        line: int | None = None,
    ) -> None:
        self.file = file
        self.key = key
        self.problem = problem
        self.value = value
        self.line = line
        where = file if line is None else f"{file}:{line}"
        subject = key if not has_value else f"{key} = {_show(value)}"
        super().__init__(f"{where}: {subject}: {problem}" if key else f"{where}: {problem}")


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --- the typed configuration ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HoldingConfig:
    coin: str  # upper-case coin code
    amount: float  # coins held outside the futures wallets (S)
    label: str = ""  # where they are, e.g. "cold wallet"
    account: str | None = None  # the [[accounts]] name that holds them; None: kept by hand


@dataclass(frozen=True, slots=True)
class HedgeConfig:
    """A starting position (the ledger replays what happened since)."""

    id: str
    venue: str
    symbol: str  # venue-native, normalised through core.instruments.lookup
    coin: str  # settlement (contract) coin
    side: str  # "short" | "long"
    contracts: int
    entry: float | None  # None only when flat (contracts == 0)
    margin_coin: float  # coins in the futures wallet backing it (cross: the wallet balance)
    margin_mode: str = "isolated"
    leverage: float | None = None  # as configured; None when margin was given directly
    hedges: str = ""  # the holding coin it protects (== coin for a direct hedge)
    beta: float = 1.0  # proxy hedges: move of the hedged coin per move of the contract coin
    account: str | None = None  # the [[accounts]] name it lives in; None: a manual position

    @property
    def proxy(self) -> bool:
        return self.hedges != self.coin


@dataclass(frozen=True, slots=True)
class AccountConfig:
    """One exchange account (``[[accounts]]``). The file names the environment variables that
    hold the keys, never the keys: reading them is the account reader's work, not the config's.
    """

    name: str  # unique; holdings and hedges refer to it (``account = "main"``)
    venue: Venue
    api_key_env: str  # default HEDGETOP_<VENUE>_API_KEY
    api_secret_env: str  # default HEDGETOP_<VENUE>_API_SECRET
    passphrase_env: str | None = None  # OKX only; default HEDGETOP_OKX_API_PASSPHRASE
    sandbox: bool = False  # the venue's testnet (ccxt set_sandbox_mode)
    trading: bool = False  # False: read only (read-only keys are enough to monitor)
    rest_url: str | None = None  # override the venue's REST endpoint (simulator, testnet)
    private_ws_url: str | None = None  # override its private websocket
    spot_rest_url: str | None = None  # Binance: its spot REST host (apart from dapi's)

    @staticmethod
    def default_env(venue: Venue) -> tuple[str, str, str | None]:
        """The variables read when the file names none: key, secret, passphrase (OKX)."""
        v = venue.value.upper()
        passphrase = f"HEDGETOP_{v}_API_PASSPHRASE" if venue is Venue.OKX else None
        return f"HEDGETOP_{v}_API_KEY", f"HEDGETOP_{v}_API_SECRET", passphrase


@dataclass(frozen=True, slots=True)
class TargetConfig:
    ratio: float  # wanted hedge ratio, e.g. 1.0
    band: float = 0.05  # allowed |ratio - target| before the drift alert


@dataclass(frozen=True, slots=True)
class AlertConfig:
    """Thresholds; each rule raises at its threshold and clears only past threshold + margin."""

    liq_distance_pct: float = 20.0  # raise when |distance to liquidation| < this (%)
    liq_clear_pct: float = 2.0  # clear once the distance is back above threshold + this
    ratio_clear: float = 0.01  # drift alert clears once |drift| <= band - this
    funding_against_apr_pct: float = 2.0  # raise when the position pays more than this APR (%)
    funding_clear_apr_pct: float = 1.0  # clear once the APR is back above -threshold + this
    basis_pct: float = 1.0  # raise when |basis| > this (%)
    basis_clear_pct: float = 0.2  # clear once |basis| < threshold - this
    stale: bool = True  # raise while data is stale
    roll_days: float = DEFAULT_ROLL_DAYS  # raise when a dated hedge expires within this many days
    min_duration_ms: int = 0  # a condition must hold this long before raising
    on_raise_command: tuple[str, ...] = ()  # argv run on raise ({message} {rule} {subject})


#: Alert rules, as ``AlertEvent.rule`` names them (``order``: a real order's problem).
ALERT_RULES: tuple[str, ...] = (
    "liq_distance",
    "hedge_ratio",
    "funding_against",
    "basis",
    "feed_stale",
    "roll",
    "order",
)


@dataclass(frozen=True, slots=True)
class NotifyConfig:
    """Notifications through apprise (``core.notify``). The URLs may carry tokens: write
    ``${VAR}`` for a secret part, expanded from the environment when sending; they are never
    shown whole (``core.redact``)."""

    urls: tuple[str, ...] = ()  # apprise URLs (``HEDGETOP_NOTIFY_URLS`` adds more)
    min_interval_s: float = 60.0  # at most one message per this; meanwhile, one digest
    quiet_hours: tuple[int, int] | None = None  # (start, end) minutes after local midnight
    timezone: str = ""  # IANA name for the quiet hours; "" the machine's
    urgent: tuple[str, ...] = ("liq_distance",)  # rules whose raise breaks the quiet hours
    clears: bool = True  # also say when an alert clears


@dataclass(frozen=True, slots=True)
class FeedsConfig:
    urls: Mapping[tuple[str, str], str] = field(default_factory=dict)  # (venue, socket) -> URL
    stale_after_ms: int = 10_000
    spot_venue: str | None = None  # where holdings are priced; None: first hedge venue with spot


@dataclass(frozen=True, slots=True)
class BrokerConfig:
    kind: str = "paper"  # "paper" | "ccxt" (real orders, also needs trading_enabled)
    fee_rate: float = 0.0005  # taker fee, fraction of the notional
    slippage_bps: float = 2.0  # paper fills at mark +- this
    max_contracts_per_action: int = 1_000_000
    max_usd_per_action: float | None = None  # also cap the USD face value of one order
    step_pct: float = 5.0  # +/- keys step the hedge ratio by this many percentage points
    trading_enabled: bool = False
    sandbox: bool = False  # ccxt's set_sandbox_mode(True): the venue's testnet
    order_type: str = "market"  # "market" | "limit" (at mark +- limit_tolerance_bps)
    limit_tolerance_bps: float = 10.0  # a limit buys at most this far above the mark
    limit_timeout_s: float = 30.0  # a limit unfilled after this long is cancelled
    max_contracts_per_day: int | None = None  # filled contracts per UTC day, all venues
    max_usd_per_day: float | None = None  # filled USD face value per UTC day, all venues
    min_order_interval_s: float = 2.0  # at most one order per venue per this many seconds


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    enabled: bool = False  # start the built-in exchange and point bybit/binance feeds at it
    seed: int = 1
    speed: float = 1.0
    chaos: str = ""


@dataclass(frozen=True, slots=True)
class Config:
    source: Path | None  # the file read; None for the demo
    holdings: tuple[HoldingConfig, ...] = ()
    hedges: tuple[HedgeConfig, ...] = ()
    targets: Mapping[str, TargetConfig] = field(default_factory=dict)
    alerts: AlertConfig = field(default_factory=AlertConfig)
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    feeds: FeedsConfig = field(default_factory=FeedsConfig)
    broker: BrokerConfig = field(default_factory=BrokerConfig)
    simulator: SimulatorConfig = field(default_factory=SimulatorConfig)
    database: Path | None = None  # None: the platform's user data dir
    snapshot_interval_ms: int = 250  # engine tick (UI refresh source)
    record_interval_ms: int = 1000  # the recorder keeps one snapshot per this
    theme: str = ""  # "" : the dashboard's default
    keys: Mapping[str, str] = field(default_factory=dict)  # dashboard action -> key
    accounts: tuple[AccountConfig, ...] = ()
    export_dir: Path | None = None  # where `e` writes CSV; None: the user data dir
    demo: bool = False

    def account(self, name: str) -> AccountConfig:
        for a in self.accounts:
            if a.name == name:
                return a
        raise KeyError(name)

    def hedge(self, hedge_id: str) -> HedgeConfig:
        for h in self.hedges:
            if h.id == hedge_id:
                return h
        raise KeyError(hedge_id)

    def specs(self) -> dict[tuple[str, str], ContractSpec]:
        """The built-in contract spec of every configured hedge, keyed (venue, symbol)."""
        return {(h.venue, h.symbol): lookup(h.venue, h.symbol) for h in self.hedges}

    def coins(self) -> tuple[str, ...]:
        """Every coin involved (holdings, hedged coins, contract coins), in config order."""
        seen: dict[str, None] = {}
        for ho in self.holdings:
            seen[ho.coin] = None
        for h in self.hedges:
            seen[h.hedges] = None
            seen[h.coin] = None
        return tuple(seen)


# --- locating ---------------------------------------------------------------------------------


def default_database_path() -> Path:
    """``<user data dir>/hedgetop/history.db`` (platformdirs)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("hedgetop")) / "history.db"


def config_candidates(platform: str | None = None) -> tuple[Path, ...]:
    """Where a config without ``--config`` is looked for, in order (the first file found wins).

    Linux (and the other Unixes): ``$XDG_CONFIG_HOME/hedgetop`` (``~/.config/hedgetop``), as
    platformdirs says. macOS: platformdirs' place (``$XDG_CONFIG_HOME/hedgetop`` when that is
    set, else ``~/Library/Application Support/hedgetop``), then, without ``$XDG_CONFIG_HOME``,
    ``~/.config/hedgetop``, where terminal users keep their configs on both systems."""
    platform = sys.platform if platform is None else platform
    if platform != "darwin":
        from platformdirs.unix import Unix

        return (Path(Unix("hedgetop").user_config_dir) / "config.toml",)
    from platformdirs.macos import MacOS

    native = Path(MacOS("hedgetop").user_config_dir) / "config.toml"
    if os.environ.get("XDG_CONFIG_HOME", "").strip():
        return (native,)
    return (native, Path.home() / ".config" / "hedgetop" / "config.toml")


def resolve_config_path(cli_path: str | Path | None) -> Path | None:
    """The config to read: ``--config`` if given (it must exist), else the first default
    location with a file (``config_candidates``), else None (the demo)."""
    if cli_path is not None and str(cli_path) != "":
        path = Path(cli_path).expanduser()
        if not path.is_file():
            raise ConfigError(str(path), "", not_a_config_file(path), has_value=False)
        return path
    return next((p for p in config_candidates() if p.is_file()), None)


def not_a_config_file(path: Path) -> str:
    """Why ``path`` (not a regular file) cannot be read as a config: a directory, a FIFO or a
    device is named as such, so that the user does not look for a missing file."""
    import stat

    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "no such config file"
    except OSError as exc:
        return f"cannot read: {exc.strerror}"
    if stat.S_ISDIR(mode):
        return "is a directory, not a config file"
    if stat.S_ISFIFO(mode):
        return "is a FIFO (named pipe), not a regular file"
    return "not a regular file"


def load_config(path: Path | str | None, *, now_ms: int | None = None) -> Config:
    """Read and validate ``path``; with None, the default location, else the demo portfolio.
    ``now_ms`` (default: the wall clock, read here at the file boundary) is the time against
    which a dated hedge's expiry is checked."""
    resolved = resolve_config_path(path)
    if resolved is None:
        from core.demo import demo_config

        return demo_config()
    try:
        raw = resolved.read_bytes()
    except OSError as exc:
        raise ConfigError(
            str(resolved), "", f"cannot read: {exc.strerror}", has_value=False
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            str(resolved), "", f"not UTF-8 text ({exc.reason})", has_value=False
        ) from None
    if now_ms is None:
        from core.clock import wall_ms

        now_ms = wall_ms()
    return parse_config(text, source=resolved, now_ms=now_ms)


def parse_config(
    text: str, *, source: Path | str = "<config>", now_ms: int | None = None
) -> Config:
    """Validate TOML ``text``; ``source`` names the file in errors. Given ``now_ms``, a dated
    hedge that has expired by then is an error (without it, expiries are not checked)."""
    name = str(source)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column \d+\)", msg)
        line = int(m.group(1)) if m else None
        raise ConfigError(
            name, "", f"TOML syntax error: {msg}", has_value=False, line=line
        ) from None
    except RecursionError:
        # tomllib parses nested arrays and inline tables recursively
        raise ConfigError(
            name,
            "",
            "TOML nested too deeply to read (arrays or tables inside each other)",
            has_value=False,
        ) from None
    try:
        return _Validator(name, text, now_ms).config(
            data, Path(source) if name != "<config>" else None
        )
    except RecursionError:
        raise ConfigError(name, "", "values nested too deeply", has_value=False) from None


# --- validation -------------------------------------------------------------------------------

_MISSING = object()
#: Bounds on every configured number, so that the math stays finite and SQLite can store it:
#: an amount, a margin or a USD size beyond 1e15 (a quadrillion) or contracts beyond 1e12
#: is a typing error, not a portfolio. Prices (entries) are bounded tighter.
MAX_NUMBER = 1e15
MAX_INTEGER = 10**12
MAX_CONTRACTS = 10**12
MIN_PRICE, MAX_PRICE = 1e-8, 1e9
MIN_LEVERAGE = 0.01
_COIN_RE = re.compile(r"^[A-Z0-9]{2,10}$")
_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,40}$")
_ACTION_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_URL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]{0,31}://\S+$")
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ENV_VAR_RE = re.compile(r"^[A-Z_][A-Z0-9_]{0,99}$")
_QUIET_RE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


def _looks_like_key(name: str) -> bool:
    """A long run of letters and digits with no underscore reads as a key, not a name."""
    return "_" not in name and len(name) >= 16 and any(c.isdigit() for c in name)


class _Validator:
    def __init__(self, file: str, text: str, now_ms: int | None = None) -> None:
        self.file = file
        self.lines = text.splitlines()
        self.now_ms = now_ms

    # errors and lines

    def fail(self, key: str, problem: str, value: object = _MISSING) -> ConfigError:
        return ConfigError(
            self.file,
            key,
            problem,
            value=None if value is _MISSING else value,
            has_value=value is not _MISSING,
            line=self.line_of(key),
        )

    def line_of(self, key: str) -> int | None:
        """Best-effort line of ``key`` (``hedges[1].entry``, ``broker.fee_rate``...)."""
        parts: list[tuple[str, int | None]] = []
        for seg in key.split("."):
            m = re.fullmatch(r"(.+?)\[(\d+)\]", seg)
            parts.append((m.group(1), int(m.group(2))) if m else (seg, None))
        if not parts:
            return None
        headers: list[tuple[int, str, bool]] = []  # (line index, dotted name, array?)
        for i, line in enumerate(self.lines):
            hm = re.match(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?", line)
            if hm:
                dotted = ".".join(p.strip().strip('"') for p in hm.group(2).split("."))
                headers.append((i, dotted, hm.group(1) == "[["))
        start, end, consumed = 0, len(self.lines), 0
        for n in range(len(parts), 0, -1):
            names = [p[0] for p in parts[:n]]
            dotted = ".".join(names)
            index = parts[n - 1][1]
            matches = [h for h in headers if h[1] == dotted]
            if not matches:
                continue
            if index is not None:
                if index >= len(matches) or not matches[index][2]:
                    continue
                hdr = matches[index]
            else:
                hdr = matches[0]
            start = hdr[0]
            later = [h[0] for h in headers if h[0] > start]
            end = later[0] if later else len(self.lines)
            consumed = n
            break
        else:
            firsts = [h[0] for h in headers]
            end = firsts[0] if firsts else len(self.lines)
        if consumed == len(parts):
            return start + 1
        name = parts[consumed][0]
        pat = re.compile(rf'^\s*("{re.escape(name)}"|{re.escape(name)})\s*[=.]')
        for i in range(start, end):
            if pat.match(self.lines[i]):
                return i + 1
        return start + 1 if consumed else None

    # typed getters

    def table(self, value: object, key: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table", value)
        return value

    def keys(self, tbl: Mapping[str, Any], allowed: tuple[str, ...], prefix: str) -> None:
        for k in tbl:
            path = f"{prefix}.{k}" if prefix else k
            names_a_variable = k in allowed and k.endswith("_env")
            if not names_a_variable and any(w in k.lower() for w in _SECRET_WORDS):
                raise self.fail(
                    path,
                    "secrets do not belong in the config: set them in environment variables",
                    "<hidden>",
                )
            if k not in allowed:
                raise self.fail(path, f"unknown key (known here: {', '.join(allowed)})", tbl[k])

    def lookup(
        self, tbl: Mapping[str, Any], k: str, prefix: str, default: object
    ) -> tuple[str, Any]:
        """``(key path, value)`` of ``k``; the value is ``_MISSING`` when the key is absent
        and has a default, and an absent key without one is the "is required" error."""
        path = f"{prefix}.{k}" if prefix else k
        if k in tbl:
            return path, tbl[k]
        if default is _MISSING:
            raise self.fail(path, "is required")
        return path, _MISSING

    def number(
        self,
        tbl: Mapping[str, Any],
        k: str,
        prefix: str,
        default: float | object | None = _MISSING,
        *,
        minimum: float | None = None,
        positive: bool = False,
        maximum: float | None = None,
    ) -> Any:
        path, v = self.lookup(tbl, k, prefix, default)
        if v is _MISSING:
            return default
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise self.fail(path, "must be a number", v)
        try:
            f = float(v)
        except OverflowError:  # an integer beyond the float range
            raise self.fail(path, "must be a finite number", v) from None
        if not math.isfinite(f):
            raise self.fail(path, "must be a finite number", v)
        if maximum is None or maximum > MAX_NUMBER:
            maximum = MAX_NUMBER  # beyond this the math and SQLite stop being exact or finite
        if minimum is None or minimum < -MAX_NUMBER:
            minimum = -MAX_NUMBER
        if positive and f <= 0:
            raise self.fail(path, "must be greater than 0", v)
        if minimum is not None and f < minimum:
            raise self.fail(path, f"must be at least {minimum:g}", v)
        if maximum is not None and f > maximum:
            raise self.fail(path, f"must be at most {maximum:g}", v)
        return f

    def integer(
        self,
        tbl: Mapping[str, Any],
        k: str,
        prefix: str,
        default: int | object = _MISSING,
        *,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> Any:
        path, v = self.lookup(tbl, k, prefix, default)
        if v is _MISSING:
            return default
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.fail(path, "must be a whole number", v)
        if maximum is None or maximum > MAX_INTEGER:
            maximum = MAX_INTEGER  # SQLite holds 64-bit integers; the float math 2**53
        if minimum is None or minimum < -MAX_INTEGER:
            minimum = -MAX_INTEGER
        if minimum is not None and v < minimum:
            raise self.fail(path, f"must be at least {minimum}", v)
        if maximum is not None and v > maximum:
            raise self.fail(path, f"must be at most {maximum}", v)
        return v

    def string(
        self,
        tbl: Mapping[str, Any],
        k: str,
        prefix: str,
        default: str | object | None = _MISSING,
        *,
        choices: tuple[str, ...] | None = None,
    ) -> Any:
        path, v = self.lookup(tbl, k, prefix, default)
        if v is _MISSING:
            return default
        if not isinstance(v, str):
            raise self.fail(path, "must be a string", v)
        if choices is not None and v.strip().lower() not in choices:
            raise self.fail(path, f"must be one of {', '.join(choices)}", v)
        return v.strip().lower() if choices is not None else v

    def boolean(self, tbl: Mapping[str, Any], k: str, prefix: str, default: bool) -> bool:
        path, v = self.lookup(tbl, k, prefix, default)
        if v is _MISSING:
            return default
        if not isinstance(v, bool):
            raise self.fail(path, "must be true or false", v)
        return v

    def coin(self, tbl: Mapping[str, Any], k: str, prefix: str) -> str:
        v = self.string(tbl, k, prefix)
        c = str(v).strip().upper()
        if not _COIN_RE.match(c):
            raise self.fail(f"{prefix}.{k}", "must be a coin code such as BTC", v)
        return c

    # sections

    def config(self, data: dict[str, Any], source: Path | None) -> Config:
        top = (
            "holdings",
            "hedges",
            "targets",
            "alerts",
            "notify",
            "feeds",
            "broker",
            "simulator",
            "database",
            "snapshot_interval_ms",
            "record_interval_ms",
            "theme",
            "keys",
            "accounts",
            "export_dir",
        )
        self.keys(data, top, "")
        accounts = self.accounts(data.get("accounts", []))
        holdings = self.holdings(data.get("holdings", []), accounts)
        hedges = self.hedges(data.get("hedges", []), holdings, accounts)
        targets = self.targets(data.get("targets", {}), holdings, hedges)
        db = self.string(data, "database", "", None)
        database = None
        if db is not None:
            if not str(db).strip():
                raise self.fail("database", "must not be empty", db)
            database = Path(str(db)).expanduser()
            if not database.is_absolute() and source is not None:
                database = source.parent / database
        export_dir = None
        ed = self.string(data, "export_dir", "", None)
        if ed is not None:
            if not str(ed).strip():
                raise self.fail("export_dir", "must not be empty", ed)
            export_dir = Path(str(ed)).expanduser()
            if not export_dir.is_absolute() and source is not None:
                export_dir = source.parent / export_dir
        snap = self.integer(data, "snapshot_interval_ms", "", 250, minimum=50, maximum=60_000)
        rec = self.integer(data, "record_interval_ms", "", 1000, minimum=snap, maximum=3_600_000)
        theme = str(self.string(data, "theme", "", "")).strip()
        return Config(
            source=source,
            holdings=holdings,
            hedges=hedges,
            targets=targets,
            alerts=self.alerts(data.get("alerts", {})),
            notify=self.notify(data.get("notify", {})),
            feeds=self.feeds(data.get("feeds", {}), hedges),
            broker=self.broker(data.get("broker", {})),
            simulator=self.simulator(data.get("simulator", {}), holdings, hedges),
            database=database,
            snapshot_interval_ms=int(snap),
            record_interval_ms=int(rec),
            theme=theme,
            keys=self.keymap(data.get("keys", {})),
            accounts=accounts,
            export_dir=export_dir,
        )

    def array(self, value: object, key: str) -> list[dict[str, Any]]:
        if not isinstance(value, list):
            raise self.fail(key, f"must be an array of tables ([[{key}]])", value)
        return [self.table(v, f"{key}[{i}]") for i, v in enumerate(value)]

    def accounts(self, value: object) -> tuple[AccountConfig, ...]:
        allowed = (
            "name",
            "venue",
            "api_key_env",
            "api_secret_env",
            "passphrase_env",
            "sandbox",
            "trading",
            "rest_url",
            "private_ws_url",
            "spot_rest_url",
        )
        out: list[AccountConfig] = []
        for i, tbl in enumerate(self.array(value, "accounts")):
            p = f"accounts[{i}]"
            self.keys(tbl, allowed, p)
            venue = Venue(self.string(tbl, "venue", p, choices=VENUES))
            name = str(self.string(tbl, "name", p, venue.value)).strip()
            if not _ID_RE.match(name):
                raise self.fail(f"{p}.name", "use 1-40 letters, digits, _ . : -", name)
            if any(a.name == name for a in out):
                raise self.fail(f"{p}.name", "two [[accounts]] have this name", name)
            key_env, secret_env, pass_env = AccountConfig.default_env(venue)
            if "passphrase_env" in tbl and venue is not Venue.OKX:
                raise self.fail(
                    f"{p}.passphrase_env", "only OKX keys have a passphrase", "<hidden>"
                )
            urls: dict[str, str | None] = {}
            for k, schemes in (
                ("rest_url", ("http", "https")),
                ("private_ws_url", ("ws", "wss")),
                ("spot_rest_url", ("http", "https")),
            ):
                url = self.string(tbl, k, p, None)
                if url is not None:
                    url = str(url).strip()
                    if not re.match(rf"^({'|'.join(schemes)})://[^\s/]+", url):
                        raise self.fail(f"{p}.{k}", f"must be a {schemes[0]}(s):// URL", url)
                urls[k] = url
            out.append(
                AccountConfig(
                    name=name,
                    venue=venue,
                    api_key_env=self.env_name(tbl, "api_key_env", p, key_env),
                    api_secret_env=self.env_name(tbl, "api_secret_env", p, secret_env),
                    passphrase_env=(
                        self.env_name(tbl, "passphrase_env", p, pass_env) if pass_env else None
                    ),
                    sandbox=self.boolean(tbl, "sandbox", p, False),
                    trading=self.boolean(tbl, "trading", p, False),
                    rest_url=urls["rest_url"],
                    private_ws_url=urls["private_ws_url"],
                    spot_rest_url=urls["spot_rest_url"],
                )
            )
        return tuple(out)

    def env_name(self, tbl: Mapping[str, Any], k: str, prefix: str, default: str) -> str:
        """The name of an environment variable; a value that looks like a key itself is
        refused without being echoed (it may be the secret pasted in the wrong place)."""
        path = f"{prefix}.{k}"
        v = tbl.get(k, default)
        if not isinstance(v, str) or not _ENV_VAR_RE.match(v) or _looks_like_key(v):
            raise self.fail(
                path,
                "must name an environment variable (upper-case letters, digits, _), "
                "never hold the key itself",
                "<hidden>",
            )
        return v

    def account_ref(
        self, tbl: Mapping[str, Any], prefix: str, accounts: tuple[AccountConfig, ...]
    ) -> AccountConfig | None:
        name = self.string(tbl, "account", prefix, None)
        if name is None:
            return None
        found = next((a for a in accounts if a.name == str(name).strip()), None)
        if found is None:
            known = ", ".join(a.name for a in accounts) or "none"
            raise self.fail(
                f"{prefix}.account", f"no [[accounts]] entry has this name (known: {known})", name
            )
        return found

    def holdings(
        self, value: object, accounts: tuple[AccountConfig, ...]
    ) -> tuple[HoldingConfig, ...]:
        out: list[HoldingConfig] = []
        for i, tbl in enumerate(self.array(value, "holdings")):
            p = f"holdings[{i}]"
            self.keys(tbl, ("coin", "amount", "label", "account"), p)
            account = self.account_ref(tbl, p, accounts)
            coin = self.coin(tbl, "coin", p)
            label = str(self.string(tbl, "label", p, ""))
            where = None if account is None else account.name
            # Same coin, label and account twice is a pasted or mistyped entry (the engine
            # would add the amounts silently); a second wallet of a coin needs its own label.
            twin = next(
                (
                    n
                    for n, h in enumerate(out)
                    if (h.coin, h.label, h.account) == (coin, label, where)
                ),
                None,
            )
            if twin is not None:
                raise self.fail(
                    f"{p}.coin",
                    f"holdings[{twin}] already holds this coin with the same label and account: "
                    "the amounts would be added; merge them, or label each wallet",
                    coin,
                )
            out.append(
                HoldingConfig(
                    coin=coin,
                    amount=self.number(tbl, "amount", p, minimum=0.0),
                    label=label,
                    account=where,
                )
            )
        return tuple(out)

    def hedges(
        self,
        value: object,
        holdings: tuple[HoldingConfig, ...],
        accounts: tuple[AccountConfig, ...],
    ) -> tuple[HedgeConfig, ...]:
        allowed = (
            "id",
            "venue",
            "symbol",
            "side",
            "contracts",
            "size_usd",
            "entry",
            "margin",
            "margin_mode",
            "leverage",
            "hedges",
            "beta",
            "account",
        )
        out: list[HedgeConfig] = []
        ids: set[str] = set()
        for i, tbl in enumerate(self.array(value, "hedges")):
            p = f"hedges[{i}]"
            self.keys(tbl, allowed, p)
            venue = self.string(tbl, "venue", p, choices=VENUES)
            sym_in = self.string(tbl, "symbol", p)
            try:
                spec = lookup(venue, sym_in, now_ms=self.now_ms)
            except UnknownInstrument as exc:  # ExpiredInstrument too: say when, and roll
                raise self.fail(f"{p}.symbol", str(exc), sym_in) from None
            hid = str(self.string(tbl, "id", p, f"{spec.venue}:{spec.symbol}"))
            if not _ID_RE.match(hid):
                raise self.fail(f"{p}.id", "use 1-40 letters, digits, _ . : -", hid)
            if hid in ids:
                raise self.fail(f"{p}.id", "duplicate hedge id", hid)
            ids.add(hid)
            account = self.account_ref(tbl, p, accounts)
            if account is not None and account.venue != spec.venue:
                raise self.fail(
                    f"{p}.account",
                    f"is a {account.venue.value} account; this hedge is on {spec.venue}",
                    account.name,
                )
            side = self.string(tbl, "side", p, "short", choices=SIDES)
            if "contracts" in tbl and "size_usd" in tbl:
                raise self.fail(f"{p}.size_usd", "give contracts or size_usd, not both", None)
            if "contracts" in tbl:
                contracts = int(self.integer(tbl, "contracts", p, minimum=0, maximum=MAX_CONTRACTS))
            elif "size_usd" in tbl:
                size = self.number(tbl, "size_usd", p, minimum=0.0)
                from core.instruments import contracts_from_size_usd

                contracts = contracts_from_size_usd(spec, size)
                if contracts > MAX_CONTRACTS:
                    raise self.fail(
                        f"{p}.size_usd", f"more than {MAX_CONTRACTS:.0e} contracts", tbl["size_usd"]
                    )
                if size > 0 and contracts == 0:
                    lot = spec.face_value_usd * spec.lot_contracts
                    raise self.fail(
                        f"{p}.size_usd",
                        f"smaller than one lot of {spec.symbol} ({lot:g} USD)",
                        tbl["size_usd"],
                    )
            else:
                raise self.fail(f"{p}.contracts", "is required (or size_usd)")
            entry = self.number(
                tbl, "entry", p, None, positive=True, minimum=MIN_PRICE, maximum=MAX_PRICE
            )
            if entry is None and contracts > 0:
                raise self.fail(f"{p}.entry", "is required for an open position")
            leverage = self.number(
                tbl, "leverage", p, None, positive=True, minimum=MIN_LEVERAGE, maximum=200.0
            )
            mode = self.string(tbl, "margin_mode", p, "isolated", choices=MARGIN_MODES)
            size_usd = contracts * spec.face_value_usd
            if "margin" in tbl:
                margin = self.number(tbl, "margin", p, minimum=0.0)
            elif contracts > 0 and entry is not None:
                # without margin: leverage L means isolated margin Q/P0/L; neither means 1x
                margin = size_usd / entry / (leverage or 1.0)
            else:
                margin = 0.0
            hedged = spec.coin
            if "hedges" in tbl:
                hedged = self.coin(tbl, "hedges", p)
            beta = self.number(tbl, "beta", p, 1.0, positive=True, maximum=20.0)
            if hedged == spec.coin and beta != 1.0:
                raise self.fail(
                    f"{p}.beta", f"only a proxy hedge (hedges != {spec.coin}) has a beta", beta
                )
            if hedged != spec.coin and not any(h.coin == hedged for h in holdings):
                raise self.fail(f"{p}.hedges", "no [[holdings]] entry has this coin", hedged)
            # A direct hedge beside holdings of other coins only is a typo (its ratio would
            # read 300 %/90 %); a config of hedges alone (no holdings at all) stays allowed.
            if holdings and not any(h.coin == hedged for h in holdings):
                raise self.fail(
                    f"{p}.symbol", f"no [[holdings]] entry has {hedged}, the coin it hedges", sym_in
                )
            out.append(
                HedgeConfig(
                    id=hid,
                    venue=spec.venue,
                    symbol=spec.symbol,
                    coin=spec.coin,
                    side=side,
                    contracts=contracts,
                    entry=entry,
                    margin_coin=margin,
                    margin_mode=mode,
                    leverage=leverage,
                    hedges=hedged,
                    beta=beta,
                    account=None if account is None else account.name,
                )
            )
        return tuple(out)

    def targets(
        self, value: object, holdings: tuple[HoldingConfig, ...], hedges: tuple[HedgeConfig, ...]
    ) -> dict[str, TargetConfig]:
        tbl = self.table(value, "targets")
        known = {h.coin for h in holdings} | {h.hedges for h in hedges} | {h.coin for h in hedges}
        out: dict[str, TargetConfig] = {}
        for coin_key, spec in tbl.items():
            p = f"targets.{coin_key}"
            coin = coin_key.strip().upper()
            if coin not in known:
                raise self.fail(p, "no holding or hedge with this coin", spec)
            t = self.table(spec, p)
            self.keys(t, ("ratio", "band"), p)
            ratio = self.number(t, "ratio", p, minimum=0.0, maximum=3.0)
            band = self.number(t, "band", p, 0.05, positive=True, maximum=1.0)
            out[coin] = TargetConfig(ratio=ratio, band=band)
        return out

    def alerts(self, value: object) -> AlertConfig:
        p = "alerts"
        t = self.table(value, p)
        d = AlertConfig()
        self.keys(t, tuple(AlertConfig.__dataclass_fields__), p)
        cmd: tuple[str, ...] = ()
        if "on_raise_command" in t:
            v = t["on_raise_command"]
            if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
                raise self.fail(
                    f"{p}.on_raise_command", "must be an argv list of strings (no shell)", v
                )
            cmd = tuple(v)
        return AlertConfig(
            liq_distance_pct=self.number(t, "liq_distance_pct", p, d.liq_distance_pct, minimum=0),
            liq_clear_pct=self.number(t, "liq_clear_pct", p, d.liq_clear_pct, minimum=0),
            ratio_clear=self.number(t, "ratio_clear", p, d.ratio_clear, minimum=0),
            funding_against_apr_pct=self.number(
                t, "funding_against_apr_pct", p, d.funding_against_apr_pct, minimum=0
            ),
            funding_clear_apr_pct=self.number(
                t, "funding_clear_apr_pct", p, d.funding_clear_apr_pct, minimum=0
            ),
            basis_pct=self.number(t, "basis_pct", p, d.basis_pct, positive=True),
            basis_clear_pct=self.number(t, "basis_clear_pct", p, d.basis_clear_pct, minimum=0),
            stale=self.boolean(t, "stale", p, d.stale),
            roll_days=self.number(t, "roll_days", p, d.roll_days, minimum=0, maximum=366),
            min_duration_ms=int(self.integer(t, "min_duration_ms", p, 0, minimum=0)),
            on_raise_command=cmd,
        )

    def notify(self, value: object) -> NotifyConfig:
        from core.redact import redact_url

        p = "notify"
        t = self.table(value, p)
        d = NotifyConfig()
        allowed = tuple(NotifyConfig.__dataclass_fields__)
        for k in t:  # a misspelt "url" holds a URL too: never echo the value
            if k not in allowed:
                raise self.fail(
                    f"{p}.{k}", f"unknown key (known here: {', '.join(allowed)})", "<hidden>"
                )
        self.keys(t, allowed, p)
        urls: list[str] = []
        raw = t.get("urls", [])
        if not isinstance(raw, list):
            raise self.fail(f"{p}.urls", "must be a list of apprise URLs", "<hidden>")
        for i, url in enumerate(raw):
            key = f"{p}.urls[{i}]"
            # the value is never echoed: an apprise URL is its own credential
            if not isinstance(url, str) or not url.strip():
                raise self.fail(key, "must be a non-empty string (an apprise URL)", "<hidden>")
            if not _URL_RE.match(url.strip()):
                raise self.fail(
                    key,
                    "must be an apprise URL such as ntfy://topic or tgram://token/chat",
                    redact_url(url),
                )
            for name in re.findall(r"\$\{([^}]*)\}", url):
                if not _ENV_NAME_RE.match(name):
                    raise self.fail(
                        key, f"${{{name}}}: not an environment variable name", redact_url(url)
                    )
            urls.append(url.strip())
        quiet = None
        text = self.string(t, "quiet_hours", p, "")
        if str(text).strip():
            m = _QUIET_RE.match(str(text).strip())
            if not m:
                raise self.fail(f"{p}.quiet_hours", 'must look like "22:00-07:00"', text)
            h1, m1, h2, m2 = (int(g) for g in m.groups())
            if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
                raise self.fail(f"{p}.quiet_hours", "hours 00-23, minutes 00-59", text)
            quiet = (h1 * 60 + m1, h2 * 60 + m2)
            if quiet[0] == quiet[1]:
                raise self.fail(f"{p}.quiet_hours", "start and end must differ", text)
        tz = str(self.string(t, "timezone", p, "")).strip()
        if tz:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                ZoneInfo(tz)
            except (ZoneInfoNotFoundError, ValueError):
                raise self.fail(
                    f"{p}.timezone", "unknown time zone (e.g. Europe/Paris)", tz
                ) from None
        urgent = d.urgent
        if "urgent" in t:
            v = t["urgent"]
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                raise self.fail(f"{p}.urgent", "must be a list of alert rules", v)
            for rule in v:
                if rule not in ALERT_RULES:
                    raise self.fail(
                        f"{p}.urgent", f"unknown rule {rule!r} (known: {', '.join(ALERT_RULES)})", v
                    )
            urgent = tuple(v)
        return NotifyConfig(
            urls=tuple(urls),
            min_interval_s=self.number(
                t, "min_interval_s", p, d.min_interval_s, minimum=0, maximum=86_400
            ),
            quiet_hours=quiet,
            timezone=tz,
            urgent=urgent,
            clears=self.boolean(t, "clears", p, d.clears),
        )

    def feeds(self, value: object, hedges: tuple[HedgeConfig, ...]) -> FeedsConfig:
        p = "feeds"
        t = self.table(value, p)
        self.keys(t, ("stale_after_ms", "spot_venue", *VENUES), p)
        urls: dict[tuple[str, str], str] = {}
        for venue in VENUES:
            if venue not in t:
                continue
            vt = self.table(t[venue], f"{p}.{venue}")
            self.keys(vt, SOCKETS, f"{p}.{venue}")
            for sock in SOCKETS:
                if sock in vt:
                    url = str(self.string(vt, sock, f"{p}.{venue}")).strip()
                    if not re.match(r"^wss?://[^\s/]+", url):
                        raise self.fail(f"{p}.{venue}.{sock}", "must be a ws:// or wss:// URL", url)
                    urls[(venue, sock)] = url
        spot = self.string(t, "spot_venue", p, None, choices=SPOT_VENUES)
        return FeedsConfig(
            urls=urls,
            stale_after_ms=int(
                self.integer(t, "stale_after_ms", p, 10_000, minimum=500, maximum=3_600_000)
            ),
            spot_venue=spot,
        )

    def broker(self, value: object) -> BrokerConfig:
        p = "broker"
        t = self.table(value, p)
        d = BrokerConfig()
        self.keys(t, tuple(BrokerConfig.__dataclass_fields__), p)
        return BrokerConfig(
            kind=self.string(t, "kind", p, "paper", choices=BROKERS),
            fee_rate=self.number(t, "fee_rate", p, d.fee_rate, minimum=0.0, maximum=0.01),
            slippage_bps=self.number(t, "slippage_bps", p, d.slippage_bps, minimum=0, maximum=500),
            max_contracts_per_action=int(
                self.integer(
                    t, "max_contracts_per_action", p, d.max_contracts_per_action, minimum=1
                )
            ),
            max_usd_per_action=self.number(t, "max_usd_per_action", p, None, positive=True),
            step_pct=self.number(t, "step_pct", p, d.step_pct, positive=True, maximum=100.0),
            trading_enabled=self.boolean(t, "trading_enabled", p, False),
            sandbox=self.boolean(t, "sandbox", p, False),
            order_type=self.string(t, "order_type", p, d.order_type, choices=ORDER_TYPES),
            limit_tolerance_bps=self.number(
                t, "limit_tolerance_bps", p, d.limit_tolerance_bps, minimum=0.0, maximum=1_000.0
            ),
            limit_timeout_s=self.number(
                t, "limit_timeout_s", p, d.limit_timeout_s, minimum=1.0, maximum=86_400.0
            ),
            max_contracts_per_day=(
                None
                if (n := self.integer(t, "max_contracts_per_day", p, None, minimum=1)) is None
                else int(n)
            ),
            max_usd_per_day=self.number(t, "max_usd_per_day", p, None, positive=True),
            min_order_interval_s=self.number(
                t, "min_order_interval_s", p, d.min_order_interval_s, minimum=0.0, maximum=3_600.0
            ),
        )

    def simulator(
        self,
        value: object,
        holdings: tuple[HoldingConfig, ...] = (),
        hedges: tuple[HedgeConfig, ...] = (),
    ) -> SimulatorConfig:
        p = "simulator"
        t = self.table(value, p)
        if t.get("enabled") is True and not holdings and not hedges:
            # (coins the simulator does not trade: core.session.simulator says so)
            raise self.fail(
                f"{p}.enabled", "nothing to simulate: add [[holdings]] or [[hedges]]", True
            )
        self.keys(t, ("enabled", "seed", "speed", "chaos"), p)
        chaos = str(self.string(t, "chaos", p, ""))
        if chaos.strip():
            from core.sim.chaos import parse_chaos

            try:
                parse_chaos(chaos)
            except ValueError as exc:
                raise self.fail(f"{p}.chaos", str(exc), chaos) from None
        return SimulatorConfig(
            enabled=self.boolean(t, "enabled", p, False),
            seed=int(self.integer(t, "seed", p, 1, minimum=0)),
            speed=self.number(t, "speed", p, 1.0, positive=True, maximum=1_000_000.0),
            chaos=chaos,
        )

    def keymap(self, value: object) -> dict[str, str]:
        t = self.table(value, "keys")
        out: dict[str, str] = {}
        for action, key in t.items():
            p = f"keys.{action}"
            if not _ACTION_RE.match(action):
                raise self.fail(p, "action names are lower_case_words", key)
            if KEY_ALIASES.get(action, action) not in KEY_ACTIONS:
                known = ", ".join(sorted({*KEY_ACTIONS, *KEY_ALIASES}))
                raise self.fail(p, f"unknown dashboard action (known: {known})", key)
            if not isinstance(key, str) or not key.strip():
                raise self.fail(p, "must be a key name such as 'plus' or 'ctrl+r'", key)
            out[action] = key.strip()
        # a key bound twice (above all over quit: q would no longer quit) is refused
        keys_of = {KEY_ALIASES.get(a, a): {k.strip() for k in v.split(",")} for a, v in out.items()}
        keys_of.setdefault("quit", {"q"})
        owner: dict[str, str] = {}
        for action, keys in sorted(keys_of.items(), key=lambda kv: kv[0] != "quit"):
            for k in keys:
                if k in owner:
                    name = next(a for a in out if KEY_ALIASES.get(a, a) == action)
                    raise self.fail(
                        f"keys.{name}", f"{k!r} is already the key of {owner[k]}", out[name]
                    )
                owner[k] = action
        return out
