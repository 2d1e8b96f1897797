"""TextColumns draws what the detail pane's Horizontal of three ``1fr`` TextPanes (no wrap,
an ellipsis, ``padding-right: 1``) drew: the same cells in the same styles at any width (one
that three does not divide too), for columns of different heights, lines cut by the ellipsis,
a tag spanning lines, and after figures, line counts and the theme change."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.strip import Strip

from tui.widgets.columns import TextColumns
from tui.widgets.panes import TextPane

CSS = """
Vertical { height: auto; padding: 0 1; }
Horizontal { height: auto; }
.col { width: 1fr; height: auto; text-wrap: nowrap; text-overflow: ellipsis; padding-right: 1; }
"""

TEXTS = [
    ("[b]binance BTCUSD_PERP[/b] short\n[$muted]mark   [/]90,058.7 USD", "", "[b]BTC[/b] bench"),
    (
        "[b]binance BTCUSD_PERP[/b] short\n[$muted]mark   [/]90,061.2 USD",
        "[$muted]margin [/]0.2 BTC\n[$muted]APR    [/][$gain]+13.79%[/]\nthird",
        "[b]BTC[/b] bench",
    ),
    (
        "[b]binance BTCUSD_PERP[/b] short\n[$muted]mark   [/][$loss]90,061.2 USD[/]",
        "[$muted]margin [/]0.2 BTC\n[$muted]APR    [/][$loss]-13.79%[/]\nthird",
        "[b]BTC[/b] " + "a holding label much too long for its column " * 2,
    ),
    ("[b]spans\nlines[/b] here", "one", "[$warning]no hedge on this holding[/]"),
    ("waiting for the first snapshot…", "", ""),
]


class Twins(App[None]):
    CSS = CSS

    def compose(self) -> ComposeResult:
        with Vertical(id="old"), Horizontal():
            for n in range(3):
                yield TextPane(id=f"col{n}", classes="col")
        with Vertical(id="new"):
            yield TextColumns(3)


def _cells(strips: list[Strip]) -> list[list[tuple[str, object]]]:
    return [
        [(ch, s.style.clear_meta_and_links() if s.style else None) for s in strip for ch in s.text]
        for strip in strips
    ]


async def test_text_columns_draw_what_the_text_panes_drew() -> None:
    for width in (80, 100, 133, 200):
        app = Twins()
        async with app.run_test(size=(width, 30)) as pilot:
            for theme in ("textual-dark", "textual-light"):
                app.theme = theme
                for texts in TEXTS:
                    for n, text in enumerate(texts):
                        app.query_one(f"#col{n}", TextPane).set_text(text)
                    app.query_one(TextColumns).set_texts(texts)
                    await pilot.pause()
                    old, new = app.query_one("#old"), app.query_one("#new")
                    assert old.outer_size == new.outer_size, texts
                    screen = app.screen._compositor.render_strips()
                    top, height = old.region.y, old.outer_size.height
                    below = new.region.y
                    assert _cells(screen[top : top + height]) == _cells(
                        screen[below : below + height]
                    ), (width, texts)


async def test_a_changed_figure_repaints_only_its_row() -> None:
    app = Twins()
    async with app.run_test(size=(100, 30)) as pilot:
        columns = app.query_one(TextColumns)
        columns.set_texts(TEXTS[1])
        await pilot.pause()
        app.screen._compositor.render_strips()
        built: list[int] = []
        original = columns._build

        def build(y, *args):  # type: ignore[no-untyped-def]
            built.append(y)
            return original(y, *args)

        columns._build = build  # type: ignore[method-assign]
        assert columns.set_texts(TEXTS[2][:2] + TEXTS[1][2:])  # row 1 changes in two columns
        await pilot.pause()
        app.screen._compositor.render_strips()
        assert built == [1]
        assert columns.set_texts(TEXTS[2][:2] + TEXTS[1][2:]) is False
