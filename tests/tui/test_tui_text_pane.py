"""TextPane repaints only the lines whose markup changed, and what it shows is what a plain
Static updated the same way shows (the whole text, a layout pass when the line count changes):
the same strips, styles and selection offsets included, wrapped or not, whatever changed
between two texts (a figure, a line's wrapped height, the line count, a tag spanning lines,
the theme)."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.widgets import Static

from tui.widgets.panes import TextPane

CSS = """
.nowrap { text-wrap: nowrap; text-overflow: ellipsis; }
TextPane, Static { height: auto; padding: 0 1; width: 30; }
"""

TEXTS = [
    "[b]BTC[/b] bench\n[$muted]spot   [/]0.5 BTC\n[$muted]price  [/][$gain]90,000.0 USD[/]",
    "[b]BTC[/b] bench\n[$muted]spot   [/]0.5 BTC\n[$muted]price  [/][$loss]89,999.5 USD[/]",
    "[b]BTC[/b] bench\n[$muted]spot   [/]0.6 BTC\n[$muted]price  [/][$loss]89,999.5 USD[/]",
    # the middle line wraps to two rows (where wrapping is on): a changed height
    "[b]BTC[/b] bench\n[$muted]spot   [/]0.6 BTC and a much longer tail that wraps\n[$muted]p[/]",
    "[b]BTC[/b] bench\n[$muted]spot   [/]0.6 BTC\n[$muted]p[/]\nfour",  # one line more
    "[b]BTC\nspans[/b] lines\nthree",  # a tag opened on one line, closed on the next
    "[b]BTC[/b] back\nto lines\nthree",
    "",
    "one [$warning]line[/]",
    "one [$warning]line[/]\n[$success]two[/]",
]


class WholeText(Static):
    """The reference: the whole markup on every change, laid out when its line count changes."""

    def __init__(self, *, id: str, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.text = ""

    def set_text(self, text: str) -> None:
        if text != self.text:
            layout = text.count("\n") != self.text.count("\n")
            self.text = text
            self.update(text, layout=layout)


class Twins(App[None]):
    CSS = CSS

    def compose(self) -> ComposeResult:
        yield TextPane(id="pane-wrap")
        yield WholeText(id="static-wrap")
        yield TextPane(id="pane-nowrap", classes="nowrap")
        yield WholeText(id="static-nowrap", classes="nowrap")


def _lines(widget: TextPane | Static) -> list[list[tuple[str, object]]]:
    region = Region(0, 0, widget.outer_size.width, widget.outer_size.height)
    return [[(s.text, s.style) for s in strip] for strip in widget.render_lines(region)]


async def test_text_pane_renders_what_a_static_renders() -> None:
    app = Twins()
    async with app.run_test(size=(80, 30)) as pilot:
        for theme in ("textual-dark", "textual-light"):
            app.theme = theme
            for text in TEXTS:
                for kind in ("wrap", "nowrap"):
                    pane = app.query_one(f"#pane-{kind}", TextPane)
                    static = app.query_one(f"#static-{kind}", WholeText)
                    pane.set_text(text)
                    static.set_text(text)
                await pilot.pause()
                for kind in ("wrap", "nowrap"):
                    pane = app.query_one(f"#pane-{kind}", TextPane)
                    static = app.query_one(f"#static-{kind}", Static)
                    assert pane.outer_size == static.outer_size, (kind, text)
                    assert _lines(pane) == _lines(static), (kind, text)
                    assert str(pane.render()) == str(static.render())
        app.theme = "textual-dark"  # the same text in another theme: its colours follow
        await pilot.pause()
        for kind in ("wrap", "nowrap"):
            pane = app.query_one(f"#pane-{kind}", TextPane)
            assert _lines(pane) == _lines(app.query_one(f"#static-{kind}", WholeText))


async def test_a_changed_figure_repaints_only_its_line() -> None:
    app = Twins()
    async with app.run_test(size=(80, 30)) as pilot:
        pane = app.query_one("#pane-nowrap", TextPane)
        pane.set_text(TEXTS[0])
        await pilot.pause()
        _lines(pane)  # everything rendered once
        rendered: list[int] = []
        original = pane.render_line

        def render_line(y: int):  # type: ignore[no-untyped-def]
            rendered.append(y)
            return original(y)

        pane.render_line = render_line  # type: ignore[method-assign]
        pane.set_text(TEXTS[1])  # only the price line differs
        assert pane.updates == 2
        _lines(pane)
        assert rendered == [2]
        assert pane.set_text(TEXTS[1]) is False  # the same text: nothing at all


SHAPES = [
    "[$muted]spot   [/]{}",
    "[b][$gain] PAPER [/][/b] [b]Total {} USD[/b] │ [$muted]liq[/] {}",
    "[$muted]       [/][$loss]{}[/]",
    "[$muted][/]{}",  # an empty tag pair: no span
    "{}[b]{}[/b]{}",
    "[b]{}",  # left open: to the end of the line
    "[$muted]{}[/] [$alert]{}[/]",
    "a [1, 2] {}",  # brackets that are no tag
    "[b]{} and \\[escaped] {}[/b]",
    "plain {} text",
]
FILLS = ["", "0.5 BTC", "+12.21 USD", "−0.000281", "90,056.9", "±0.00", "x" * 40, "5h36m"]


def test_the_line_parser_gives_what_textual_parses() -> None:
    """Lines of one shape with other figures (and empty ones) parse to Textual's Content."""
    from textual.content import Content

    from tui.widgets.lines import MarkupLines

    parse = MarkupLines().parse
    for shape in SHAPES:
        for n, fill in enumerate(FILLS * 2):
            args = [fill if (n + i) % 3 else FILLS[(n + i) % len(FILLS)] for i in range(3)]
            line = shape.format(*args[: shape.count("{}")])
            got, want = parse(line), Content.from_markup(line)
            assert (got.plain, got.spans) == (want.plain, want.spans), line


async def test_lines_cut_like_their_shape_render_what_a_static_renders() -> None:
    """Figures of the same width in lines of one shape take the cuts of the first such line
    (not formatted again), and still give the Static's strips; as do lines that do not fit."""
    import tui.widgets.lines as lines_module

    formatted: list[str] = []
    original = lines_module._render_line

    def counting(content, y, width, style, options):  # type: ignore[no-untyped-def]
        formatted.append(content.plain)
        return original(content, y, width, style, options)

    lines_module._render_line = counting  # type: ignore[assignment]
    try:
        app = Twins()
        async with app.run_test(size=(80, 30)) as pilot:
            fills = ["90,000.0", "89,999.5", "-0.0003", "+12.21", "±0.00", "—", "x" * 30]
            for n in range(len(fills) * 2):
                a, b = fills[n % len(fills)], fills[(n * 3) % len(fills)]
                text = "\n".join(
                    [
                        f"[b]BTC[/b] {a}",
                        f"[$muted]mark   [/][$gain]{a}[/] [$loss]{b}[/]",
                        f"[$muted]    [/]{b} USD  ",  # trailing spaces
                        f"plain {a} {b}",
                    ]
                )
                for kind in ("wrap", "nowrap"):
                    app.query_one(f"#pane-{kind}", TextPane).set_text(text)
                    app.query_one(f"#static-{kind}", WholeText).set_text(text)
                await pilot.pause()
                for kind in ("wrap", "nowrap"):
                    pane = app.query_one(f"#pane-{kind}", TextPane)
                    static = app.query_one(f"#static-{kind}", Static)
                    assert pane.outer_size == static.outer_size, (kind, text)
                    assert _lines(pane) == _lines(static), (kind, text)
    finally:
        lines_module._render_line = original  # type: ignore[assignment]
    # the static's own renders do not go through tui.widgets.lines: these are the pane's
    assert 0 < len(formatted) < 2 * 4 * len(fills) * 2
