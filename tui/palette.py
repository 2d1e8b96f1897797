"""hedgetop's own commands in Textual's command palette (ctrl+p), beside Textual's built-in ones.

Each command runs the same app action as its key, so a command and its key can never disagree
(the action refuses what is refused: read-only, no hedge selected, another screen on top).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from tui.host import DashboardHost


@dataclass(frozen=True, slots=True)
class PaletteCommand:
    name: str  # what the palette lists (and matches)
    help: str
    action: str  # the app action it runs (``action_<name>``)


def commands(app: DashboardHost) -> Iterator[PaletteCommand]:
    """The commands on offer now: those the app allows on the current screen (no resizing
    over the history screen), the read-only toggle saying which way it goes."""
    for cmd in _all_commands(app):
        if app.check_action(cmd.action, ()) is not False:
            yield cmd


def _all_commands(app: DashboardHost) -> Iterator[PaletteCommand]:
    step = f"{app.ratio_step * 100:g} pts"
    yield PaletteCommand(
        "Resize: hedge ratio up", f"preview raising the selected hedge by {step}", "ratio_up"
    )
    yield PaletteCommand(
        "Resize: hedge ratio down", f"preview lowering the selected hedge by {step}", "ratio_down"
    )
    yield PaletteCommand(
        "Resize: back to target", "preview resizing the selected hedge to its target", "to_target"
    )
    yield PaletteCommand("Close the selected hedge", "preview closing it", "close_hedge")
    yield PaletteCommand(
        "Margin: add or take out isolated margin",
        "type the coins to move, then the liquidation price before and after",
        "margin",
    )
    yield PaletteCommand(
        "History of the selected holding", "charts and events from the database", "history"
    )
    yield PaletteCommand(
        "Export the selected holding's history (CSV)",
        "series and events of the last range, as CSV files",
        "export_history",
    )
    yield PaletteCommand("Theme: house themes", "choose a colour theme (remembered)", "themes")
    yield PaletteCommand(
        "Resume the screen" if app.paused else "Pause the screen",
        "freeze the figures (the session goes on)",
        "pause",
    )
    if app.read_only:
        yield PaletteCommand(
            "Read-only: off (allow resizing)",
            app.read_only_reason or "allow the resize keys again",
            "toggle_read_only",
        )
    else:
        yield PaletteCommand(
            "Read-only: on (disable resizing)", "disable every key that acts", "toggle_read_only"
        )
    yield PaletteCommand("Help: keys and columns", "what every key and column means", "help")


class HedgetopCommands(Provider):
    """The palette's provider for ``commands``."""

    @property
    def hedgetop(self) -> DashboardHost:
        return self.app  # type: ignore[return-value]

    def _run(self, action: str) -> Callable[[], None]:
        def run() -> None:
            self.app.call_later(self.app.run_action, action)

        return run

    async def discover(self) -> Hits:
        for cmd in commands(self.hedgetop):
            yield DiscoveryHit(cmd.name, self._run(cmd.action), help=cmd.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for cmd in commands(self.hedgetop):
            score = matcher.match(cmd.name)
            if score > 0:
                yield Hit(score, matcher.highlight(cmd.name), self._run(cmd.action), help=cmd.help)
