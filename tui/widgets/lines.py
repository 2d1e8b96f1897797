"""Markup text kept line by line, so that a pane repaints only the lines whose markup changed.

A ``Static`` renders its whole text again on every update (parse, wrap, style every line) and
the compositor then repaints the whole widget. Most updates of the dashboard's text panes
change a figure or two: ``LinesVisual`` keeps one parsed ``Content`` and its rendered strips
per line of markup, and ``TextPane`` (``tui.widgets.panes``) refreshes only the rows of the
lines that changed. The strips are those ``Content`` renders for the whole text: each line is
rendered as the line it is (its selection offsets name its row), and while a text selection is
active the whole text is rendered as one ``Content``, exactly as a ``Static`` does.

Lines render alone only when every markup tag opened on a line is closed on it
(``self_contained``); a text with a tag spanning lines is left to ``Static`` whole.

A changed line is mostly a figure of the same width as before: ``StripTemplates`` keeps, per
line shape (its spans and length), the segment cuts and styles Textual rendered for it once,
and cuts the next line of that shape the same way instead of formatting it again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Sequence

from rich.cells import cell_len
from rich.segment import Segment
from textual.content import Content, Span
from textual.css.styles import RulesMap
from textual.strip import Strip
from textual.style import Style
from textual.visual import RenderOptions, Visual

# An unescaped markup tag: [b], [$gain], [/], [/b] (a bracket pair that is not a tag only makes
# a line look unbalanced, which falls back to the whole-text rendering: never a wrong render).
_TAG = re.compile(r"(?<!\\)\[(/?)[^\[\]\n]*\]")


def self_contained(line: str) -> bool:
    """True when every tag opened on ``line`` closes on it and it closes none opened before."""
    if "[" not in line:
        return True
    depth = 0
    for m in _TAG.finditer(line):
        if m.group(1):
            depth -= 1
            if depth < 0:
                return False
        else:
            depth += 1
    return depth == 0


class MarkupLines:
    """``Content.from_markup`` for one line, fast for lines shaped like the last ones.

    Textual's markup parser costs ~0.1 ms a line, and a pane re-parses each changed line on
    every frame, although from one frame to the next only the text between the tags changes.
    A line is cut at its tags into text pieces; the tags and which pieces are empty make its
    shape. The first line of a shape is parsed by Textual, and its spans are noted as pairs of
    piece boundaries; a later line of that shape gets the same spans at its own boundaries,
    which is what the parser gives it (its spans depend on the tags and the positions alone).
    A line whose text holds a bracket, a backslash or a control code, or whose tags the parser
    did not all take as tags, is always parsed by Textual."""

    LIMIT = 512  # shapes kept (a pane has a few dozen)

    def __init__(self) -> None:
        self._shapes: dict[tuple[tuple[str, ...], tuple[bool, ...]], _Shape | None] = {}

    def parse(self, line: str) -> Content:
        if "[" not in line or "\\" in line or not line.isprintable():
            return Content.from_markup(line)
        pieces = _TAG.split(line)[::2]  # text, slash, text, slash... (the group is kept)
        if any("[" in t or "]" in t for t in pieces):
            return Content.from_markup(line)
        key = (tuple(m.group(0) for m in _TAG.finditer(line)), tuple(not t for t in pieces))
        bounds = [0]
        for t in pieces:
            bounds.append(bounds[-1] + len(t))
        bounds.pop(0)
        shape = self._shapes.get(key, _UNSEEN)
        if shape is _UNSEEN:
            content = Content.from_markup(line)
            if len(self._shapes) >= self.LIMIT:
                self._shapes.clear()
            self._shapes[key] = _Shape.of(content, "".join(pieces), bounds)
            return content
        if shape is None:
            return Content.from_markup(line)
        return Content(
            "".join(pieces),
            [Span(bounds[a], bounds[b], style) for a, b, style in shape.spans],
        )


class _Shape:
    """A line shape's spans, as (start boundary, end boundary, style)."""

    def __init__(self, spans: list[tuple[int, int, str | Style]]) -> None:
        self.spans = spans

    @classmethod
    def of(cls, content: Content, plain: str, bounds: list[int]) -> _Shape | None:
        """The shape of a parsed line, or None when it cannot be told by its boundaries (a
        tag the parser kept as text)."""
        if content.plain != plain:
            return None
        spans = []
        for span in content.spans:
            if span.start not in bounds or span.end not in bounds:
                return None
            spans.append((bounds.index(span.start), bounds.index(span.end), span.style))
        return cls(spans)


_UNSEEN = _Shape([])


class LinesVisual(Visual):
    """A text as one ``Content`` per line, each line's strips kept until the line or the way
    it renders (width, style, rules, theme) changes. Renders what ``Content`` renders for the
    lines joined with newlines."""

    def __init__(
        self,
        contents: Sequence[Content],
        generation: Callable[[], Hashable] = lambda: None,
        templates: StripTemplates | None = None,
    ) -> None:
        self.contents: list[Content] = list(contents)
        #: what else the strips depend on, read at each render (the theme: "$gain" and the
        #: other variables of the markup resolve through it)
        self.generation = generation
        self.templates = templates if templates is not None else StripTemplates()
        self._strips: list[tuple[Hashable, list[Strip]] | None] = [None] * len(self.contents)

    def __str__(self) -> str:
        return "\n".join(c.plain for c in self.contents)

    def replace(self, index: int, content: Content) -> None:
        self.contents[index] = content
        self._strips[index] = None

    def keep(self, index: int, other: LinesVisual, other_index: int) -> None:
        """Take line ``other_index`` of ``other`` (the same markup) with its strips."""
        self.contents[index] = other.contents[other_index]
        self._strips[index] = other._strips[other_index] if index == other_index else None

    def whole(self) -> Content:
        return Content("\n").join(self.contents)

    def line_heights(self, rules: RulesMap, width: int) -> list[int]:
        return [line_height(c, rules, width) for c in self.contents]

    # --- the Visual protocol ---------------------------------------------------------------

    def render_strips(
        self, width: int, height: int | None, style: Style, options: RenderOptions
    ) -> list[Strip]:
        if not width:
            return []
        if options.selection is not None:  # its offsets span lines: render it whole
            return self.whole().render_strips(width, height, style, options)
        key = self._key(width, style, options)
        out: list[Strip] = []
        for y in range(len(self.contents)):
            if height is not None and len(out) >= height:
                break
            out.extend(self._line_strips(y, key, width, style, options))
        return out if height is None else out[:height]

    def row(self, y: int, width: int, style: Style, options: RenderOptions) -> Strip | None:
        """Row ``y`` of what ``render_strips`` renders (None below the text), rendering only
        the lines down to it whose strips are not kept. ``options`` without a selection."""
        key = self._key(width, style, options)
        top = 0
        for i in range(len(self.contents)):
            strips = self._line_strips(i, key, width, style, options)
            if y < top + len(strips):
                return strips[y - top]
            top += len(strips)
        return None

    def _key(self, width: int, style: Style, options: RenderOptions) -> tuple[Hashable, ...]:
        get = options.rules.get
        return (
            width,
            style,
            options.post_style,
            get("text_align", "left"),
            get("text_overflow", "fold"),
            get("text_wrap", "wrap"),
            get("line_pad", 0),
            self.generation(),
        )

    def _line_strips(
        self, y: int, key: tuple[Hashable, ...], width: int, style: Style, options: RenderOptions
    ) -> list[Strip]:
        hit = self._strips[y]
        if hit is None or hit[0] != key:
            strips = self.templates.render(
                self.contents[y], y, key, width=width, style=style, options=options
            )
            hit = self._strips[y] = (key, strips)
        return hit[1]

    def get_optimal_width(self, rules: RulesMap, container_width: int) -> int:
        return max((c.get_optimal_width(rules, container_width) for c in self.contents), default=0)

    def get_minimal_width(self, rules: RulesMap) -> int:
        return max((c.get_minimal_width(rules) for c in self.contents), default=0)

    def get_height(self, rules: RulesMap, width: int) -> int:
        return sum(self.line_heights(rules, width))


def _one_row(plain: str, width: int) -> bool:
    """True when ``plain`` fills one row of ``width`` cells as it is: no wrap, fold, cut or tab
    can apply, one cell a character."""
    return len(plain) <= width and plain.isprintable() and cell_len(plain) == len(plain)


def line_height(content: Content, rules: RulesMap, width: int) -> int:
    """``content.get_height(rules, width)``, without wrapping a line that fits as it is."""
    if content.plain and not rules.get("line_pad", 0) and _one_row(content.plain, width):
        return 1
    return content.get_height(rules, width)


class StripTemplates:
    """The strips of lines that fit their row, cut like the last line of the same shape.

    What Textual renders for a line that fits (no wrap, fold or cut; left aligned; one cell a
    character; no line padding) depends on its spans, its length, its row and how the text is
    rendered (width, base style, theme...), not on its characters: the segments are cut at the
    span boundaries, styled by the spans and the offset they start at. The first line of a
    shape is rendered by Textual and its cuts and styles kept; a later one gets its own
    characters in those cuts."""

    LIMIT = 2048  # shapes kept (a pane has a few dozen lines, each a few widths of figures)

    def __init__(self) -> None:
        self._cuts: dict[Hashable, tuple[list[tuple[int, int, object]], int] | None] = {}

    def render(
        self,
        content: Content,
        y: int,
        key: tuple[Hashable, ...],
        *,
        width: int,
        style: Style,
        options: RenderOptions,
    ) -> list[Strip]:
        """What ``_render_line(content, y, width, style, options)`` gives; ``key`` says how
        the text renders (``LinesVisual._key``)."""
        plain = content.plain
        _, _, _, align, _, _, line_pad, _ = key
        if align not in ("left", "start") or line_pad or not plain or not _one_row(plain, width):
            return _render_line(content, y, width, style, options)
        try:
            shape: Hashable = (key, y, len(plain), tuple(content.spans))
            cuts = self._cuts.get(shape, _NO_CUTS)
        except TypeError:  # an unhashable style in a span
            return _render_line(content, y, width, style, options)
        if cuts is None:
            return _render_line(content, y, width, style, options)
        if cuts is not _NO_CUTS:
            pieces, length = cuts
            return [Strip([Segment(plain[a:b], s) for a, b, s in pieces], length)]  # type: ignore[arg-type]
        strips = _render_line(content, y, width, style, options)
        if len(self._cuts) >= self.LIMIT:
            self._cuts.clear()
        self._cuts[shape] = _cuts_of(strips, plain)
        return strips


_NO_CUTS: tuple[list[tuple[int, int, object]], int] = ([], -1)


def _cuts_of(strips: list[Strip], plain: str) -> tuple[list[tuple[int, int, object]], int] | None:
    """The (start, end, style) of each segment of a one-row render of ``plain``, or None when
    the render is not ``plain`` cut in order (then the shape is always rendered by Textual)."""
    if len(strips) != 1:
        return None
    pieces: list[tuple[int, int, object]] = []
    at = 0
    for segment in strips[0]:
        text, seg_style, control = segment
        if control or plain[at : at + len(text)] != text:
            return None
        pieces.append((at, at + len(text), seg_style))
        at += len(text)
    if at != len(plain):
        return None
    return pieces, strips[0].cell_length


def _render_line(
    content: Content, y: int, width: int, style: Style, options: RenderOptions
) -> list[Strip]:
    """Line ``y`` of a text as ``Content.render_strips`` renders it within the whole text: its
    wrapped rows carry ``y`` (their selection offsets name the line). Through the formatting
    step ``render_strips`` itself uses; where a Textual lacks it, the line is rendered after
    ``y`` blank lines (one row each), which gives the same strips at a higher cost."""
    if not y:
        return content.render_strips(width, None, style, options)
    wrap = getattr(content, "_wrap_and_format", None)
    if wrap is None:
        return (Content("\n" * y) + content).render_strips(width, None, style, options)[y:]
    get = options.rules.get
    lines = wrap(
        width,
        align=get("text_align", "left"),
        overflow=get("text_overflow", "fold"),
        no_wrap=get("text_wrap", "wrap") == "nowrap",
        line_pad=get("line_pad", 0),
        tab_size=8,
        selection=None,
        selection_style=None,
        post_style=options.post_style,
        get_style=options.get_style,
    )
    for line in lines:
        line.y = y
    return [Strip(*line.to_strip(style)) for line in lines]
