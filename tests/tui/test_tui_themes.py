"""Theme files: shipped themes load and validate, bad files are reported once and skipped,
gain/loss stay apart for red-green colour blindness, and the TCSS holds no literal colours."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from textual.color import Color

from tui import themes

ROOT = Path(__file__).resolve().parents[2]

GOOD = """
name = "mine"
dark = false
[colors]
primary = "#112233"
background = "white"
[variables]
gain = "#0000ff"
loss = "#ff8800"
stale = "grey"
alert = "#ff0000"
muted = "#777777"
cursor = "#ccccff"
chart-hedged = "#0000ff"
chart-unhedged = "#887766"
"""


def _linear(c: float) -> float:
    c /= 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def _srgb(c: float) -> float:
    c = min(max(c, 0.0), 1.0)
    v = 12.92 * c if c <= 0.0031308 else 1.055 * c ** (1 / 2.4) - 0.055
    return v * 255


# Viénot, Brettel & Mollon (1999) dichromat simulation matrices, in linear RGB.
DEUTAN = ((0.29275, 0.70725, 0.0), (0.29275, 0.70725, 0.0), (-0.02234, 0.02234, 1.0))
PROTAN = ((0.11238, 0.88762, 0.0), (0.11238, 0.88762, 0.0), (0.00401, -0.00401, 1.0))


def simulate(color: str, matrix: tuple[tuple[float, ...], ...]) -> tuple[float, float, float]:
    c = Color.parse(color)
    lin = (_linear(c.r), _linear(c.g), _linear(c.b))
    r, g, b = (sum(m * v for m, v in zip(row, lin, strict=True)) for row in matrix)
    return _srgb(r), _srgb(g), _srgb(b)


def distance(a: str, b: str, matrix: tuple[tuple[float, ...], ...]) -> float:
    sa, sb = simulate(a, matrix), simulate(b, matrix)
    return sum((x - y) ** 2 for x, y in zip(sa, sb, strict=True)) ** 0.5


def test_colour_blind_check_can_fail() -> None:
    # Pure red and a green of similar lightness collapse for a deuteranope: the check bites.
    assert distance("#d03030", "#5a8f00", DEUTAN) < 60


def test_shipped_themes_load_and_gain_loss_are_colour_blind_safe() -> None:
    loaded = themes.load_themes([ROOT / "themes"])
    assert loaded.errors == ()
    names = set(loaded.themes)
    assert {"dark", "light", "high-contrast"} <= names
    assert not loaded.themes["light"].dark
    for name in ("dark", "light", "high-contrast"):
        v = loaded.themes[name].variables
        assert set(themes.APP_VARIABLES) <= set(v)
        for matrix in (DEUTAN, PROTAN):
            assert distance(v["gain"], v["loss"], matrix) > 100, name


def test_good_user_file_is_loaded_and_overrides_by_name(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text(GOOD)
    loaded = themes.load_themes([ROOT / "themes", tmp_path])
    assert loaded.errors == ()
    theme = loaded.themes["mine"]
    assert theme.primary == "#112233"
    assert theme.dark is False
    assert theme.variables["loss"] == "#ff8800"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GOOD.replace('loss = "#ff8800"', 'loss = "#ff88zz"'), "variables.loss = '#ff88zz'"),
        (GOOD.replace('primary = "#112233"', 'primary = "bluish"'), "colors.primary = 'bluish'"),
        (GOOD.replace('background = "white"', 'backdrop = "white"'), "unknown key colors.backdrop"),
        (GOOD.replace('stale = "grey"\n', ""), "variables.stale is required"),
        (GOOD.replace("dark = false", "dark = 3"), "dark must be true or false"),
        (GOOD.replace('name = "mine"', "name = 7"), "name must be a non-empty string"),
        ("extra = 1\n" + GOOD, "unknown key 'extra'"),
        ("name = [", "not valid TOML"),
    ],
)
def test_bad_file_is_skipped_with_one_clear_error(tmp_path: Path, text: str, expected: str) -> None:
    (tmp_path / "bad.toml").write_text(text)
    (tmp_path / "good.toml").write_text(GOOD.replace('"mine"', '"fine"'))
    loaded = themes.load_themes([tmp_path])
    assert len(loaded.errors) == 1
    assert "bad.toml" in loaded.errors[0]
    assert expected in loaded.errors[0]
    assert "fine" in loaded.themes
    assert themes.HOUSE_THEME.name in loaded.themes


def test_choice_round_trip_and_unreadable_state(tmp_path: Path) -> None:
    state = tmp_path / "sub" / "state.json"
    assert themes.load_theme_choice(state) is None
    assert themes.save_theme_choice(state, "light") is None
    assert themes.load_theme_choice(state) == "light"
    state.write_text("{not json")
    assert themes.load_theme_choice(state) is None
    blocker = tmp_path / "file"
    blocker.write_text("x")
    error = themes.save_theme_choice(blocker / "state.json", "x")
    assert error is not None
    assert "cannot save theme choice" in error


def _css_sources() -> list[tuple[str, str]]:
    out = [(str(p), p.read_text()) for p in (ROOT / "tui").glob("*.tcss")]
    for p in [*(ROOT / "tui" / "widgets").glob("*.py"), *(ROOT / "tui" / "screens").glob("*.py")]:
        for block in re.findall(r'DEFAULT_CSS = """(.*?)"""', p.read_text(), re.S):
            out.append((str(p), block))
    return out


def test_tcss_holds_no_literal_colours() -> None:
    sources = _css_sources()
    assert len(sources) >= 4
    literal = re.compile(
        r"#[0-9a-fA-F]{3,8}\b|\brgba?\(|\bhsl\(|:\s*(red|green|blue|white|black)\b"
    )
    for name, css in sources:
        assert not literal.search(css), name
