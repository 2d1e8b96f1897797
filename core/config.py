"""The portfolio configuration: TOML read with ``tomllib``, decoded into the file's typed shape
with ``msgspec``, then resolved into strict, frozen domain values.

The shape (``FileConfig`` and its tables) says each key's name, type and bounds and refuses
unknown keys; msgspec's errors are turned into one line naming the file, the key path
(``hedges[1].entry``), the bad value and the line, computed exactly from the path
(``core.toml_lines``) or left out. The resolve step does what no type says: instruments
checked against ``core.instruments.lookup``, sizes to contracts, leverage to margin, proxy
hedges, references between sections. Secrets never live here: API keys come from environment
variables only (see ``core.brokers.ccxt_live``), and a key that looks like one is refused.

Location: ``--config PATH``, else the first ``hedgetop/config.toml`` found in the user config
dirs (``config_candidates``: the XDG dir on Linux; on macOS ``~/Library/Application Support``
and ``~/.config`` too). With neither, ``load_config`` returns None and the command chooses
(the dashboard runs the demo portfolio, ``core.demo``, on the built-in simulator).
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
from types import UnionType
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

import msgspec
from msgspec import Meta

from core.dated import DEFAULT_ROLL_DAYS
from core.events import Venue
from core.instruments import ContractSpec, UnknownInstrument, contracts_from_size_usd, lookup
from core.toml_lines import KeyLines, KeyPath, Part

VENUES: tuple[str, ...] = ("bybit", "binance", "okx", "deribit")
SOCKETS: tuple[str, ...] = ("inverse", "spot")
SPOT_VENUES: tuple[str, ...] = ("bybit", "binance", "okx")  # Deribit has no spot market
MARGIN_MODES: tuple[str, ...] = ("isolated", "cross")
SIDES: tuple[str, ...] = ("short", "long")
BROKERS: tuple[str, ...] = ("paper", "ccxt")
ORDER_TYPES: tuple[str, ...] = ("market", "limit")


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


def load_config(path: Path | str | None, *, now_ms: int | None = None) -> Config | None:
    """Read and check ``path``; with None, the first file at the default locations. None when
    there is no file at all: the command chooses what runs then (``hedgetop``: the demo).
    ``now_ms`` (default: the wall clock, read here at the file boundary) is the time against
    which a dated hedge's expiry is checked."""
    resolved = resolve_config_path(path)
    if resolved is None:
        return None
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
    """Check TOML ``text``; ``source`` names the file in errors. Given ``now_ms``, a dated
    hedge that has expired by then is an error (without it, expiries are not checked).

    Three steps: ``tomllib`` reads the text; ``msgspec`` decodes it into the file's shape
    (``FileConfig``: key names, types, bounds, no unknown key); ``_Resolve`` does the domain
    work (instruments, sizes to contracts, leverage to margin, cross references)."""
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
    problems = _Problems(name, text, data)
    try:
        problems.refuse_secrets(data, ())
        file = problems.decode(data, FileConfig, ())
    except RecursionError:
        raise ConfigError(name, "", "values nested too deeply", has_value=False) from None
    return _Resolve(problems, now_ms).config(file, Path(source) if name != "<config>" else None)


def config_line(source: Path | str, text: str, key: str) -> int | None:
    """The line of ``key`` (``theme``, ``hedges[1].entry``) in a config's text (one that
    parses): for checks made outside this module (a theme name only the dashboard can
    resolve). None where the line cannot be exact."""
    return KeyLines(text).line(_key_path(key))


# --- the file's shape -------------------------------------------------------------------------

#: Bounds on every configured number, so that the math stays finite and SQLite can store it:
#: an amount, a margin or a USD size beyond 1e15 (a quadrillion) or contracts beyond 1e12
#: is a typing error, not a portfolio. Prices (entries) are bounded tighter.
MAX_NUMBER = 1e15
MAX_INTEGER = 10**12
MAX_CONTRACTS = 10**12
MIN_PRICE, MAX_PRICE = 1e-8, 1e9
MIN_LEVERAGE = 0.01

#: Numbers as the file may write them; a bound of the field's own narrows these.
Amount = Annotated[float, Meta(ge=0.0, le=MAX_NUMBER)]
Positive = Annotated[float, Meta(gt=0.0, le=MAX_NUMBER)]
Count = Annotated[int, Meta(ge=0, le=MAX_INTEGER)]


class _Table(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A table of the file: its keys are the fields; any other key is an error."""


class HoldingFile(_Table):
    coin: str
    amount: Amount
    label: str = ""
    account: str | None = None


class HedgeFile(_Table):
    """``[[hedges]]``: the size is ``contracts`` or ``size_usd`` (USD face value, rounded to
    the lot); the margin is ``margin`` (coins), else implied by ``leverage`` (default 1x)."""

    venue: str
    symbol: str
    id: str | None = None
    side: str = "short"
    contracts: Annotated[int, Meta(ge=0, le=MAX_CONTRACTS)] | None = None
    size_usd: Amount | None = None
    entry: Annotated[float, Meta(gt=0.0, le=MAX_PRICE)] | None = None
    margin: Amount | None = None
    margin_mode: str = "isolated"
    leverage: Annotated[float, Meta(gt=0.0, le=200.0)] | None = None
    hedges: str | None = None  # the holding coin it protects, when not the contract's coin
    beta: Annotated[float, Meta(gt=0.0, le=20.0)] = 1.0
    account: str | None = None


class AccountFile(_Table):
    venue: str
    name: str | None = None  # default: the venue
    api_key_env: str | None = None
    api_secret_env: str | None = None
    passphrase_env: str | None = None
    sandbox: bool = False
    trading: bool = False
    rest_url: str | None = None
    private_ws_url: str | None = None
    spot_rest_url: str | None = None


class TargetFile(_Table):
    ratio: Annotated[float, Meta(ge=0.0, le=3.0)]
    band: Annotated[float, Meta(gt=0.0, le=1.0)] = 0.05


class AlertsFile(_Table):
    liq_distance_pct: Amount = 20.0
    liq_clear_pct: Amount = 2.0
    ratio_clear: Amount = 0.01
    funding_against_apr_pct: Amount = 2.0
    funding_clear_apr_pct: Amount = 1.0
    basis_pct: Positive = 1.0
    basis_clear_pct: Amount = 0.2
    stale: bool = True
    roll_days: Annotated[float, Meta(ge=0.0, le=366.0)] = DEFAULT_ROLL_DAYS
    min_duration_ms: Count = 0
    on_raise_command: tuple[str, ...] = ()


class NotifyFile(_Table):
    urls: tuple[str, ...] = ()
    min_interval_s: Annotated[float, Meta(ge=0.0, le=86_400.0)] = 60.0
    quiet_hours: str = ""  # "22:00-07:00"
    timezone: str = ""
    urgent: tuple[str, ...] = ("liq_distance",)
    clears: bool = True


class FeedUrlsFile(_Table):
    inverse: str | None = None
    spot: str | None = None


class FeedsFile(_Table):
    stale_after_ms: Annotated[int, Meta(ge=500, le=3_600_000)] = 10_000
    spot_venue: str | None = None
    bybit: FeedUrlsFile | None = None
    binance: FeedUrlsFile | None = None
    okx: FeedUrlsFile | None = None
    deribit: FeedUrlsFile | None = None


class BrokerFile(_Table):
    kind: str = "paper"
    fee_rate: Annotated[float, Meta(ge=0.0, le=0.01)] = 0.0005
    slippage_bps: Annotated[float, Meta(ge=0.0, le=500.0)] = 2.0
    max_contracts_per_action: Annotated[int, Meta(ge=1, le=MAX_INTEGER)] = 1_000_000
    max_usd_per_action: Positive | None = None
    step_pct: Annotated[float, Meta(gt=0.0, le=100.0)] = 5.0
    trading_enabled: bool = False
    sandbox: bool = False
    order_type: str = "market"
    limit_tolerance_bps: Annotated[float, Meta(ge=0.0, le=1_000.0)] = 10.0
    limit_timeout_s: Annotated[float, Meta(ge=1.0, le=86_400.0)] = 30.0
    max_contracts_per_day: Annotated[int, Meta(ge=1, le=MAX_INTEGER)] | None = None
    max_usd_per_day: Positive | None = None
    min_order_interval_s: Annotated[float, Meta(ge=0.0, le=3_600.0)] = 2.0


class SimulatorFile(_Table):
    enabled: bool = False
    seed: Count = 1
    speed: Annotated[float, Meta(gt=0.0, le=1_000_000.0)] = 1.0
    chaos: str = ""


class FileConfig(_Table):
    """The whole file, key for key, before any domain meaning is given to it."""

    holdings: list[HoldingFile] = []
    hedges: list[HedgeFile] = []
    targets: dict[str, Any] = {}  # coin -> TargetFile, decoded per coin to name it in errors
    alerts: AlertsFile = msgspec.field(default_factory=AlertsFile)
    notify: NotifyFile = msgspec.field(default_factory=NotifyFile)
    feeds: FeedsFile = msgspec.field(default_factory=FeedsFile)
    broker: BrokerFile = msgspec.field(default_factory=BrokerFile)
    simulator: SimulatorFile = msgspec.field(default_factory=SimulatorFile)
    database: str | None = None
    snapshot_interval_ms: Annotated[int, Meta(ge=50, le=60_000)] = 250
    record_interval_ms: Annotated[int, Meta(ge=0, le=3_600_000)] = 1000
    theme: str = ""
    keys: dict[str, Any] = {}  # dashboard action -> key name, checked against KEY_ACTIONS
    accounts: list[AccountFile] = []
    export_dir: str | None = None


# --- errors, named by file, line, key and value -----------------------------------------------

_MISSING = object()
_S = TypeVar("_S", bound=msgspec.Struct)
_SECRET_WORDS = ("secret", "api_key", "apikey", "password", "passphrase", "private_key")
_SECRET_PROBLEM = "secrets do not belong in the config: set them in environment variables"
_ENV_PROBLEM = (
    "must name an environment variable (upper-case letters, digits, _), never hold the key itself"
)
#: What msgspec's expected type means, in the words of the file.
_EXPECTED = {
    "int": "must be a whole number",
    "float": "must be a number",
    "str": "must be a string",
    "bool": "must be true or false",
    "object": "must be a table",
    "array": "must be a list",
}
#: The wrong type said better at these keys (``[]``: an item of the list).
_TYPE_PROBLEMS = {
    "holdings": "must be an array of tables ([[holdings]])",
    "hedges": "must be an array of tables ([[hedges]])",
    "accounts": "must be an array of tables ([[accounts]])",
    "alerts.on_raise_command": "must be an argv list of strings (no shell)",
    "alerts.on_raise_command[]": "must be an argv list of strings (no shell)",
    "notify.urls": "must be a list of apprise URLs",
    "notify.urls[]": "must be a non-empty string (an apprise URL)",
    "notify.urgent": "must be a list of alert rules",
    "notify.urgent[]": "must be a list of alert rules",
}
_AT_RE = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?$")
_PATH_RE = re.compile(r"\.([^.\[]+)|\[(\d+)\]")
_BOUND_RE = re.compile(r"^Expected `(?P<type>\w+)[^`]*` (?P<op>>=|<=|>|<) (?P<bound>\S+)$")
_TYPE_RE = re.compile(r"^Expected `(?P<type>\w+)[^`]*`, got `")


def _key_text(path: KeyPath) -> str:
    """``("hedges", 1, "entry")`` as the errors write it: ``hedges[1].entry``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _key_path(key: str) -> KeyPath:
    parts: list[Part] = []
    for seg in key.split("."):
        m = re.fullmatch(r"(.*?)((?:\[\d+\])*)", seg)
        assert m is not None  # the pattern matches any text
        parts.append(m.group(1))
        parts.extend(int(i) for i in re.findall(r"\[(\d+)\]", m.group(2)))
    return tuple(parts)


def _hidden(path: KeyPath, *, unknown: bool = False) -> bool:
    """A value never echoed: an apprise URL (its own credential), anything a misspelt
    ``[notify]`` key holds, the name of a key's variable (it may be the key pasted in)."""
    last = path[-1] if path else ""
    in_urls = len(path) > 1 and path[:2] == ("notify", "urls")
    return in_urls or (unknown and path[:1] == ("notify",)) or str(last).endswith("_env")


def _fields(cls: type[msgspec.Struct]) -> dict[str, Any]:
    return {f.name: f.type for f in msgspec.structs.fields(cls)}


def _table_type(cls: type[msgspec.Struct], path: KeyPath) -> Any:
    """The struct that describes the table at ``path`` (indices step into a list's items)."""
    t: Any = cls
    for part in path:
        if isinstance(part, str):
            t = _fields(t)[part]
        t = _unwrap(t)
    return t


def _unwrap(t: Any) -> Any:
    while True:
        origin = get_origin(t)
        if origin in (Annotated, list, tuple):
            t = get_args(t)[0]
        elif origin in (Union, UnionType):
            t = next(a for a in get_args(t) if a is not type(None))
        else:
            return t


class _Problems:
    """Turns what is wrong into a ``ConfigError``: the line is computed from the key path, the
    first time one is needed, and left out where it cannot be exact."""

    def __init__(self, file: str, text: str, data: dict[str, Any]) -> None:
        self.file = file
        self.text = text
        self.data = data
        self._lines: KeyLines | None = None

    def line(self, path: KeyPath) -> int | None:
        if self._lines is None:
            try:
                self._lines = KeyLines(self.text)
            except (IndexError, ValueError):  # a layout the scan does not know: no line
                self._lines = KeyLines("")
        return self._lines.line(path)

    def fail(
        self, path: KeyPath, problem: str, value: object = _MISSING, *, at: KeyPath | None = None
    ) -> ConfigError:
        """The error at ``path``; ``at`` where the line is looked for when it is elsewhere
        (a required key that is missing: its table)."""
        return ConfigError(
            self.file,
            _key_text(path),
            problem,
            value=None if value is _MISSING else value,
            has_value=value is not _MISSING,
            line=self.line(path if at is None else at),
        )

    def raw(self, path: KeyPath) -> object:
        """The value the file wrote at ``path``."""
        v: Any = self.data
        for part in path:
            v = v[part]
        return v

    def refuse_secrets(self, value: object, path: KeyPath) -> None:
        """A key named like a secret, anywhere: refused before anything else, never echoed.
        The ``*_env`` keys of ``[[accounts]]`` name the variables that hold the keys."""
        if isinstance(value, list):
            for i, item in enumerate(value):
                self.refuse_secrets(item, (*path, i))
        elif isinstance(value, dict):
            for k, item in value.items():
                p = (*path, k)
                names_a_variable = (
                    len(p) == 3 and p[0] == "accounts" and k.endswith("_env") and k in _ACCOUNT_KEYS
                )
                if not names_a_variable and any(w in k.lower() for w in _SECRET_WORDS):
                    raise self.fail(p, _SECRET_PROBLEM, "<hidden>")
                self.refuse_secrets(item, p)

    def decode(self, value: object, cls: type[_S], path: KeyPath) -> _S:
        """``value`` (written at ``path``) as ``cls``; msgspec's error in the file's words."""
        try:
            return msgspec.convert(value, cls)
        except msgspec.ValidationError as exc:
            raise self.translate(str(exc), cls, path) from None

    def translate(self, message: str, cls: type[msgspec.Struct], prefix: KeyPath) -> ConfigError:
        m = _AT_RE.match(message)
        assert m is not None  # the pattern matches any text
        what = m.group("what")
        inner: KeyPath = tuple(
            int(i) if i else name for name, i in _PATH_RE.findall(m.group("path") or "")
        )
        path = (*prefix, *inner)
        if (u := re.fullmatch(r"Object contains unknown field `(.*)`", what)) is not None:
            known = ", ".join(_fields(_table_type(cls, inner)))
            key = (*path, u.group(1))
            shown = "<hidden>" if _hidden(key, unknown=True) else self.raw(key)
            return self.fail(key, f"unknown key (known here: {known})", shown)
        if (r := re.fullmatch(r"Object missing required field `(.*)`", what)) is not None:
            return self.fail((*path, r.group(1)), "is required", at=path)
        value = "<hidden>" if _hidden(path) else self.raw(path)
        if (b := _BOUND_RE.match(what)) is not None:
            raw = self.raw(path)
            if isinstance(raw, float) and not math.isfinite(raw):
                return self.fail(path, "must be a finite number", value)
            bound = b.group("bound") if b.group("type") == "int" else f"{float(b.group('bound')):g}"
            words = {">=": "at least", ">": "greater than", "<=": "at most", "<": "less than"}
            return self.fail(path, f"must be {words[b.group('op')]} {bound}", value)
        if (t := _TYPE_RE.match(what)) is not None:
            generic = re.sub(r"\[\d+\]", "[]", _key_text(path))
            problem = _TYPE_PROBLEMS.get(generic) or _EXPECTED.get(t.group("type"), what)
            return self.fail(path, problem, value)
        return self.fail(path, what, value)


_ACCOUNT_KEYS = frozenset(AccountFile.__struct_fields__)


# --- resolving: the domain's meaning of the file ----------------------------------------------

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


class _Resolve:
    """The domain work on a decoded file: instruments looked up, sizes to contracts, leverage
    to margin, proxy hedges, references between sections, the checks no type can say."""

    def __init__(self, problems: _Problems, now_ms: int | None) -> None:
        self.p = problems
        self.now_ms = now_ms

    def choice(self, value: str, path: KeyPath, choices: tuple[str, ...]) -> str:
        v = value.strip().lower()
        if v not in choices:
            raise self.p.fail(path, f"must be one of {', '.join(choices)}", value)
        return v

    def coin(self, value: str, path: KeyPath) -> str:
        c = value.strip().upper()
        if not _COIN_RE.match(c):
            raise self.p.fail(path, "must be a coin code such as BTC", value)
        return c

    def relative_path(self, value: str | None, key: str, source: Path | None) -> Path | None:
        if value is None:
            return None
        if not value.strip():
            raise self.p.fail((key,), "must not be empty", value)
        path = Path(value).expanduser()
        return source.parent / path if not path.is_absolute() and source is not None else path

    def config(self, f: FileConfig, source: Path | None) -> Config:
        accounts = self.accounts(f.accounts)
        holdings = self.holdings(f.holdings, accounts)
        hedges = self.hedges(f.hedges, holdings, accounts)
        targets = self.targets(f.targets, holdings, hedges)
        if f.record_interval_ms < f.snapshot_interval_ms:
            raise self.p.fail(
                ("record_interval_ms",),
                f"must be at least {f.snapshot_interval_ms}",
                f.record_interval_ms,
            )
        return Config(
            source=source,
            holdings=holdings,
            hedges=hedges,
            targets=targets,
            alerts=self.alerts(f.alerts),
            notify=self.notify(f.notify),
            feeds=self.feeds(f.feeds),
            broker=self.broker(f.broker),
            simulator=self.simulator(f.simulator, holdings, hedges),
            database=self.relative_path(f.database, "database", source),
            snapshot_interval_ms=f.snapshot_interval_ms,
            record_interval_ms=f.record_interval_ms,
            theme=f.theme.strip(),
            keys=self.keymap(f.keys),
            accounts=accounts,
            export_dir=self.relative_path(f.export_dir, "export_dir", source),
        )

    def accounts(self, items: list[AccountFile]) -> tuple[AccountConfig, ...]:
        out: list[AccountConfig] = []
        for i, a in enumerate(items):
            p: KeyPath = ("accounts", i)
            venue = Venue(self.choice(a.venue, (*p, "venue"), VENUES))
            name = (venue.value if a.name is None else a.name).strip()
            if not _ID_RE.match(name):
                raise self.p.fail((*p, "name"), "use 1-40 letters, digits, _ . : -", name)
            if any(o.name == name for o in out):
                raise self.p.fail((*p, "name"), "two [[accounts]] have this name", name)
            key_env, secret_env, pass_env = AccountConfig.default_env(venue)
            if a.passphrase_env is not None and venue is not Venue.OKX:
                raise self.p.fail(
                    (*p, "passphrase_env"), "only OKX keys have a passphrase", "<hidden>"
                )
            for k, schemes in (
                ("rest_url", ("http", "https")),
                ("private_ws_url", ("ws", "wss")),
                ("spot_rest_url", ("http", "https")),
            ):
                url = getattr(a, k)
                if url is not None and not re.match(
                    rf"^({'|'.join(schemes)})://[^\s/]+", url.strip()
                ):
                    raise self.p.fail((*p, k), f"must be a {schemes[0]}(s):// URL", url.strip())
            out.append(
                AccountConfig(
                    name=name,
                    venue=venue,
                    api_key_env=self.env_name(a.api_key_env, (*p, "api_key_env"), key_env),
                    api_secret_env=self.env_name(
                        a.api_secret_env, (*p, "api_secret_env"), secret_env
                    ),
                    passphrase_env=(
                        self.env_name(a.passphrase_env, (*p, "passphrase_env"), pass_env)
                        if pass_env
                        else None
                    ),
                    sandbox=a.sandbox,
                    trading=a.trading,
                    rest_url=None if a.rest_url is None else a.rest_url.strip(),
                    private_ws_url=None if a.private_ws_url is None else a.private_ws_url.strip(),
                    spot_rest_url=None if a.spot_rest_url is None else a.spot_rest_url.strip(),
                )
            )
        return tuple(out)

    def env_name(self, value: str | None, path: KeyPath, default: str) -> str:
        """The name of an environment variable; a value that looks like a key itself is
        refused without being echoed (it may be the secret pasted in the wrong place)."""
        v = default if value is None else value
        if not _ENV_VAR_RE.match(v) or _looks_like_key(v):
            raise self.p.fail(path, _ENV_PROBLEM, "<hidden>")
        return v

    def account_ref(
        self, name: str | None, path: KeyPath, accounts: tuple[AccountConfig, ...]
    ) -> AccountConfig | None:
        if name is None:
            return None
        found = next((a for a in accounts if a.name == name.strip()), None)
        if found is None:
            known = ", ".join(a.name for a in accounts) or "none"
            raise self.p.fail(path, f"no [[accounts]] entry has this name (known: {known})", name)
        return found

    def holdings(
        self, items: list[HoldingFile], accounts: tuple[AccountConfig, ...]
    ) -> tuple[HoldingConfig, ...]:
        out: list[HoldingConfig] = []
        for i, h in enumerate(items):
            p: KeyPath = ("holdings", i)
            account = self.account_ref(h.account, (*p, "account"), accounts)
            coin = self.coin(h.coin, (*p, "coin"))
            where = None if account is None else account.name
            # Same coin, label and account twice is a pasted or mistyped entry (the engine
            # would add the amounts silently); a second wallet of a coin needs its own label.
            twin = next(
                (
                    n
                    for n, o in enumerate(out)
                    if (o.coin, o.label, o.account) == (coin, h.label, where)
                ),
                None,
            )
            if twin is not None:
                raise self.p.fail(
                    (*p, "coin"),
                    f"holdings[{twin}] already holds this coin with the same label and account: "
                    "the amounts would be added; merge them, or label each wallet",
                    coin,
                )
            out.append(HoldingConfig(coin=coin, amount=h.amount, label=h.label, account=where))
        return tuple(out)

    def hedges(
        self,
        items: list[HedgeFile],
        holdings: tuple[HoldingConfig, ...],
        accounts: tuple[AccountConfig, ...],
    ) -> tuple[HedgeConfig, ...]:
        out: list[HedgeConfig] = []
        for i, h in enumerate(items):
            p: KeyPath = ("hedges", i)
            venue = self.choice(h.venue, (*p, "venue"), VENUES)
            try:
                spec = lookup(venue, h.symbol, now_ms=self.now_ms)
            except UnknownInstrument as exc:  # ExpiredInstrument too: say when, and roll
                raise self.p.fail((*p, "symbol"), str(exc), h.symbol) from None
            hid = f"{spec.venue}:{spec.symbol}" if h.id is None else h.id
            if not _ID_RE.match(hid):
                raise self.p.fail((*p, "id"), "use 1-40 letters, digits, _ . : -", hid)
            if any(o.id == hid for o in out):
                raise self.p.fail((*p, "id"), "duplicate hedge id", hid)
            account = self.account_ref(h.account, (*p, "account"), accounts)
            if account is not None and account.venue != spec.venue:
                raise self.p.fail(
                    (*p, "account"),
                    f"is a {account.venue.value} account; this hedge is on {spec.venue}",
                    account.name,
                )
            side = self.choice(h.side, (*p, "side"), SIDES)
            contracts = self.contracts(h, spec, p)
            if h.entry is not None and h.entry < MIN_PRICE:
                raise self.p.fail((*p, "entry"), f"must be at least {MIN_PRICE:g}", h.entry)
            if h.entry is None and contracts > 0:
                raise self.p.fail((*p, "entry"), "is required for an open position", at=p)
            if h.leverage is not None and h.leverage < MIN_LEVERAGE:
                raise self.p.fail(
                    (*p, "leverage"), f"must be at least {MIN_LEVERAGE:g}", h.leverage
                )
            mode = self.choice(h.margin_mode, (*p, "margin_mode"), MARGIN_MODES)
            if h.margin is not None:
                margin = h.margin
            elif contracts > 0 and h.entry is not None:
                # without margin: leverage L means isolated margin Q/P0/L; neither means 1x
                margin = contracts * spec.face_value_usd / h.entry / (h.leverage or 1.0)
            else:
                margin = 0.0
            hedged = spec.coin if h.hedges is None else self.coin(h.hedges, (*p, "hedges"))
            if hedged == spec.coin and h.beta != 1.0:
                raise self.p.fail(
                    (*p, "beta"), f"only a proxy hedge (hedges != {spec.coin}) has a beta", h.beta
                )
            if hedged != spec.coin and not any(o.coin == hedged for o in holdings):
                raise self.p.fail((*p, "hedges"), "no [[holdings]] entry has this coin", hedged)
            # A direct hedge beside holdings of other coins only is a typo (its ratio would
            # read 300 %/90 %); a config of hedges alone (no holdings at all) stays allowed.
            if holdings and not any(o.coin == hedged for o in holdings):
                raise self.p.fail(
                    (*p, "symbol"),
                    f"no [[holdings]] entry has {hedged}, the coin it hedges",
                    h.symbol,
                )
            out.append(
                HedgeConfig(
                    id=hid,
                    venue=spec.venue,
                    symbol=spec.symbol,
                    coin=spec.coin,
                    side=side,
                    contracts=contracts,
                    entry=h.entry,
                    margin_coin=margin,
                    margin_mode=mode,
                    leverage=h.leverage,
                    hedges=hedged,
                    beta=h.beta,
                    account=None if account is None else account.name,
                )
            )
        return tuple(out)

    def contracts(self, h: HedgeFile, spec: ContractSpec, p: KeyPath) -> int:
        """The size in contracts: as written, or ``size_usd`` rounded down to the lot."""
        if h.contracts is not None and h.size_usd is not None:
            raise self.p.fail((*p, "size_usd"), "give contracts or size_usd, not both", None)
        if h.contracts is not None:
            return h.contracts
        if h.size_usd is None:
            raise self.p.fail((*p, "contracts"), "is required (or size_usd)", at=p)
        contracts = contracts_from_size_usd(spec, h.size_usd)
        if contracts > MAX_CONTRACTS:
            raise self.p.fail(
                (*p, "size_usd"), f"more than {MAX_CONTRACTS:.0e} contracts", h.size_usd
            )
        if h.size_usd > 0 and contracts == 0:
            lot = spec.face_value_usd * spec.lot_contracts
            raise self.p.fail(
                (*p, "size_usd"), f"smaller than one lot of {spec.symbol} ({lot:g} USD)", h.size_usd
            )
        return contracts

    def targets(
        self,
        table: dict[str, Any],
        holdings: tuple[HoldingConfig, ...],
        hedges: tuple[HedgeConfig, ...],
    ) -> dict[str, TargetConfig]:
        known = {h.coin for h in holdings} | {h.hedges for h in hedges} | {h.coin for h in hedges}
        out: dict[str, TargetConfig] = {}
        for coin_key, value in table.items():
            p: KeyPath = ("targets", coin_key)
            coin = coin_key.strip().upper()
            if coin not in known:
                raise self.p.fail(p, "no holding or hedge with this coin", value)
            t = self.p.decode(value, TargetFile, p)
            out[coin] = TargetConfig(ratio=t.ratio, band=t.band)
        return out

    def alerts(self, a: AlertsFile) -> AlertConfig:
        if not all(a.on_raise_command):
            raise self.p.fail(
                ("alerts", "on_raise_command"),
                "must be an argv list of strings (no shell)",
                a.on_raise_command,
            )
        return AlertConfig(**msgspec.structs.asdict(a))  # the same keys, all checked

    def notify(self, n: NotifyFile) -> NotifyConfig:
        from core.redact import redact_url

        urls: list[str] = []
        for i, url in enumerate(n.urls):
            p: KeyPath = ("notify", "urls", i)
            # the value is never echoed whole: an apprise URL is its own credential
            if not url.strip():
                raise self.p.fail(p, "must be a non-empty string (an apprise URL)", "<hidden>")
            if not _URL_RE.match(url.strip()):
                raise self.p.fail(
                    p,
                    "must be an apprise URL such as ntfy://topic or tgram://token/chat",
                    redact_url(url),
                )
            for name in re.findall(r"\$\{([^}]*)\}", url):
                if not _ENV_NAME_RE.match(name):
                    raise self.p.fail(
                        p, f"${{{name}}}: not an environment variable name", redact_url(url)
                    )
            urls.append(url.strip())
        quiet = None
        text = n.quiet_hours.strip()
        if text:
            key: KeyPath = ("notify", "quiet_hours")
            m = _QUIET_RE.match(text)
            if not m:
                raise self.p.fail(key, 'must look like "22:00-07:00"', n.quiet_hours)
            h1, m1, h2, m2 = (int(g) for g in m.groups())
            if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
                raise self.p.fail(key, "hours 00-23, minutes 00-59", n.quiet_hours)
            quiet = (h1 * 60 + m1, h2 * 60 + m2)
            if quiet[0] == quiet[1]:
                raise self.p.fail(key, "start and end must differ", n.quiet_hours)
        tz = n.timezone.strip()
        if tz:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                ZoneInfo(tz)
            except (ZoneInfoNotFoundError, ValueError):
                raise self.p.fail(
                    ("notify", "timezone"), "unknown time zone (e.g. Europe/Paris)", tz
                ) from None
        for rule in n.urgent:
            if rule not in ALERT_RULES:
                raise self.p.fail(
                    ("notify", "urgent"),
                    f"unknown rule {rule!r} (known: {', '.join(ALERT_RULES)})",
                    n.urgent,
                )
        return NotifyConfig(
            urls=tuple(urls),
            min_interval_s=n.min_interval_s,
            quiet_hours=quiet,
            timezone=tz,
            urgent=tuple(n.urgent),
            clears=n.clears,
        )

    def feeds(self, f: FeedsFile) -> FeedsConfig:
        urls: dict[tuple[str, str], str] = {}
        for venue in VENUES:
            table: FeedUrlsFile | None = getattr(f, venue)
            for sock in SOCKETS:
                url = None if table is None else getattr(table, sock)
                if url is None:
                    continue
                if not re.match(r"^wss?://[^\s/]+", url.strip()):
                    raise self.p.fail(
                        ("feeds", venue, sock), "must be a ws:// or wss:// URL", url.strip()
                    )
                urls[(venue, sock)] = url.strip()
        spot = None
        if f.spot_venue is not None:
            spot = self.choice(f.spot_venue, ("feeds", "spot_venue"), SPOT_VENUES)
        return FeedsConfig(urls=urls, stale_after_ms=f.stale_after_ms, spot_venue=spot)

    def broker(self, b: BrokerFile) -> BrokerConfig:
        kind = self.choice(b.kind, ("broker", "kind"), BROKERS)
        order_type = self.choice(b.order_type, ("broker", "order_type"), ORDER_TYPES)
        fields = msgspec.structs.asdict(b)
        return BrokerConfig(**{**fields, "kind": kind, "order_type": order_type})

    def simulator(
        self, s: SimulatorFile, holdings: tuple[HoldingConfig, ...], hedges: tuple[HedgeConfig, ...]
    ) -> SimulatorConfig:
        if s.enabled and not holdings and not hedges:
            # (coins the simulator does not trade: core.session.simulator says so)
            raise self.p.fail(
                ("simulator", "enabled"),
                "nothing to simulate: add [[holdings]] or [[hedges]]",
                True,
            )
        if s.chaos.strip():
            from core.sim.chaos import parse_chaos

            try:
                parse_chaos(s.chaos)
            except ValueError as exc:
                raise self.p.fail(("simulator", "chaos"), str(exc), s.chaos) from None
        return SimulatorConfig(**msgspec.structs.asdict(s))

    def keymap(self, table: dict[str, Any]) -> dict[str, str]:
        out: dict[str, str] = {}
        for action, key in table.items():
            p: KeyPath = ("keys", action)
            if not _ACTION_RE.match(action):
                raise self.p.fail(p, "action names are lower_case_words", key)
            if KEY_ALIASES.get(action, action) not in KEY_ACTIONS:
                known = ", ".join(sorted({*KEY_ACTIONS, *KEY_ALIASES}))
                raise self.p.fail(p, f"unknown dashboard action (known: {known})", key)
            if not isinstance(key, str) or not key.strip():
                raise self.p.fail(p, "must be a key name such as 'plus' or 'ctrl+r'", key)
            out[action] = key.strip()
        # a key bound twice (above all over quit: q would no longer quit) is refused
        keys_of = {KEY_ALIASES.get(a, a): {k.strip() for k in v.split(",")} for a, v in out.items()}
        keys_of.setdefault("quit", {"q"})
        owner: dict[str, str] = {}
        for action, keys in sorted(keys_of.items(), key=lambda kv: kv[0] != "quit"):
            for k in keys:
                if k in owner:
                    name = next(a for a in out if KEY_ALIASES.get(a, a) == action)
                    raise self.p.fail(
                        ("keys", name), f"{k!r} is already the key of {owner[k]}", out[name]
                    )
                owner[k] = action
        return out
