"""The basis chart's renderable draws the cells Textual's sparkline draws: the same character
in the same style in every cell, for short and long series, flat ones, any width and height."""

from __future__ import annotations

import random

from rich.color import Color
from rich.console import Console
from rich.segment import Segment
from textual.renderables.sparkline import Sparkline as SparklineRenderable

from tui.widgets.spark import RunSparklineRenderable


def _cells(renderable: object, width: int) -> list[list[tuple[str, object]]]:
    console = Console(width=width, color_system="truecolor", file=None, legacy_windows=False)
    lines = Segment.split_lines(console.render(renderable, console.options.update_width(width)))
    return [[(ch, s.style) for s in line for ch in s.text] for line in lines]


def test_runs_draw_the_cells_of_textuals_sparkline() -> None:
    rng = random.Random(7)
    lo, hi = Color.from_rgb(10, 200, 30), Color.from_rgb(220, 20, 90)
    series: list[list[float]] = [[], [0.5], [1.0, 1.0, 1.0], [0.066, 0.059, 0.061]]
    series += [[rng.uniform(-0.4, 0.4) for _ in range(n)] for n in (2, 7, 29, 60, 61, 120, 333)]
    series += [[round(rng.uniform(0, 3)) * 0.01 for _ in range(80)]]  # repeated levels
    for data in series:
        for width, height in ((1, 1), (16, 3), (29, 6), (60, 4), (97, 5)):
            args = {"width": width, "height": height, "min_color": lo, "max_color": hi}
            want = _cells(SparklineRenderable(data, **args), width)
            got = _cells(RunSparklineRenderable(data, **args), width)
            assert got == want, (len(data), width, height)
