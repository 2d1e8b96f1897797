"""Colour themes as data: TOML files parsed and validated into Textual themes.

A theme file names Textual's base colours (``[colors]``) and the app's own variables
(``[variables]``: gain, loss, stale, ...) that the TCSS refers to as ``$gain`` etc. Every colour
is checked with ``Color.parse`` on load: Textual registers a theme with a bad colour without
complaint and fails later, mid-session, so a bad file is rejected here, reported once, and
skipped. The user's choice is remembered in a small state file.
"""

from __future__ import annotations

import json
import logging
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from textual.color import Color, ColorParseError
from textual.theme import Theme

log = logging.getLogger(__name__)

#: Textual base colours a theme file may set (``primary`` is required).
COLOR_KEYS = (
    "primary",
    "secondary",
    "accent",
    "warning",
    "error",
    "success",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
)
#: The app's variables, used by the TCSS; every theme file must define all of them.
APP_VARIABLES: dict[str, str] = {
    "gain": "#4aa3ff",
    "loss": "#ff9933",
    "stale": "#7c8591",
    "alert": "#ff6b3d",
    "muted": "#8a94a3",
    "cursor": "#2d4259",
    "chart-hedged": "#4aa3ff",
    "chart-unhedged": "#b7a06b",
}
TOP_KEYS = {"name", "dark", "colors", "variables", "description"}
DEFAULT_THEME = "dark"

#: The house theme, used when the shipped files cannot be read (and as the fallback choice).
HOUSE_THEME = Theme(
    name=DEFAULT_THEME,
    primary="#3b82c4",
    secondary="#2b5f8f",
    accent="#e3a33b",
    warning="#e8c547",
    error="#e0603a",
    success="#4aa3ff",
    foreground="#d8dee6",
    background="#12161c",
    surface="#1a2029",
    panel="#232b36",
    dark=True,
    variables=dict(APP_VARIABLES),
)


class ThemeError(ValueError):
    """A theme file that cannot be used; the message names the file, key and value."""


def _check_color(source: str, key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ThemeError(f"{source}: {key} must be a colour string, not {value!r}")
    try:
        Color.parse(value)
    except ColorParseError:
        raise ThemeError(f"{source}: {key} = {value!r} is not a colour") from None
    return value


def parse_theme(data: Mapping[str, Any], source: str) -> Theme:
    """Validate a parsed theme document into a Textual ``Theme`` (raises ``ThemeError``)."""
    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        raise ThemeError(f"{source}: unknown key {unknown[0]!r}")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ThemeError(f"{source}: name must be a non-empty string, not {name!r}")
    dark = data.get("dark", True)
    if not isinstance(dark, bool):
        raise ThemeError(f"{source}: dark must be true or false, not {dark!r}")
    colors = data.get("colors", {})
    if not isinstance(colors, dict):
        raise ThemeError(f"{source}: [colors] must be a table")
    for key in colors:
        if key not in COLOR_KEYS:
            raise ThemeError(f"{source}: unknown key colors.{key}")
    if "primary" not in colors:
        raise ThemeError(f"{source}: colors.primary is required")
    checked = {key: _check_color(source, f"colors.{key}", v) for key, v in colors.items()}
    variables = data.get("variables", {})
    if not isinstance(variables, dict):
        raise ThemeError(f"{source}: [variables] must be a table")
    missing = [key for key in APP_VARIABLES if key not in variables]
    if missing:
        raise ThemeError(f"{source}: variables.{missing[0]} is required")
    checked_vars = {
        key: _check_color(source, f"variables.{key}", v) for key, v in variables.items()
    }
    return Theme(
        name=name.strip(),
        dark=dark,
        variables=checked_vars,
        primary=checked["primary"],
        secondary=checked.get("secondary"),
        accent=checked.get("accent"),
        warning=checked.get("warning"),
        error=checked.get("error"),
        success=checked.get("success"),
        foreground=checked.get("foreground"),
        background=checked.get("background"),
        surface=checked.get("surface"),
        panel=checked.get("panel"),
        boost=checked.get("boost"),
    )


def load_theme_file(path: Traversable) -> Theme:
    """Read and validate one theme file (a path, or a resource inside the installed package)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ThemeError(f"{path}: not valid TOML ({exc})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ThemeError(f"{path}: cannot read ({exc})") from None
    return parse_theme(data, str(path))


@dataclass(frozen=True)
class ThemeSet:
    """Themes found on disk (by name, in load order) and one line per rejected file."""

    themes: dict[str, Theme]
    errors: tuple[str, ...]


def load_themes(dirs: Iterable[Traversable]) -> ThemeSet:
    """Load every ``*.toml`` of ``dirs`` in order (a later file with the same name wins).

    A bad file is logged once and skipped; the house theme is always present.
    """
    themes: dict[str, Theme] = {HOUSE_THEME.name: HOUSE_THEME}
    errors: list[str] = []
    for directory in dirs:
        if not directory.is_dir():
            continue
        files = (f for f in directory.iterdir() if f.name.endswith(".toml") and f.is_file())
        for path in sorted(files, key=lambda f: f.name):
            try:
                theme = load_theme_file(path)
            except ThemeError as exc:
                log.warning("theme skipped: %s", exc)
                errors.append(str(exc))
                continue
            themes[theme.name] = theme
    return ThemeSet(themes, tuple(errors))


def builtin_theme_dir() -> Traversable:
    """The shipped themes: the package data ``tui.builtin_themes`` of an installed hedgetop
    (the wheel maps the top-level ``themes/`` folder there, see setup.py), else, in a source
    checkout or an editable install (whose finder cannot map a data-only sub-package), the
    ``themes/`` folder itself."""
    from importlib.resources import files

    try:
        return files("tui.builtin_themes")
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / "themes"


def user_theme_dir() -> Path:
    """Where a user's own theme files go: ``<user config dir>/hedgetop/themes``."""
    from platformdirs import user_config_path

    return user_config_path("hedgetop") / "themes"


def default_state_path() -> Path:
    from platformdirs import user_state_path

    return user_state_path("hedgetop") / "ui-state.json"


def load_theme_choice(state_path: Path) -> str | None:
    """The theme name remembered in ``state_path``; None when absent or unreadable."""
    try:
        data = json.loads(state_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    name = data.get("theme") if isinstance(data, dict) else None
    return name if isinstance(name, str) else None


def save_theme_choice(state_path: Path, name: str) -> str | None:
    """Remember ``name``; returns an error line instead of raising (a read-only home is not
    a reason to stop the dashboard)."""
    try:
        data: dict[str, Any] = {}
        try:
            loaded = json.loads(state_path.read_text(encoding="utf-8"))
            if isinstance(loaded, dict):
                data = loaded
        except (OSError, ValueError):
            pass
        data["theme"] = name
        state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        tmp.replace(state_path)
    except OSError as exc:
        log.warning("cannot save theme choice to %s: %s", state_path, exc)
        return f"cannot save theme choice to {state_path}: {exc}"
    return None
