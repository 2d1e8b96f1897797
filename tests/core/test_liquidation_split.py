"""``liquidation.assess`` is ``at_mark(assess_position(...))``: the part the engine keeps
between ticks (prices, model, tier, close fee) does not depend on the mark, and completing it
at a mark gives exactly (bit for bit) what ``assess`` gives at that mark, on every built-in
instrument, both sides and both margin modes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from core import liquidation
from core.instruments import BUILTIN_SPECS, ContractSpec


@settings(max_examples=300, deadline=None)
@given(
    spec=st.sampled_from(BUILTIN_SPECS),
    side=st.sampled_from(liquidation.SIDES),
    mode=st.sampled_from(liquidation.MODES),
    size=st.floats(100.0, 5e7),
    entry=st.floats(0.5, 2e5),
    leverage=st.floats(0.5, 100.0),
    move=st.floats(0.2, 5.0),
)
def test_assess_is_the_position_part_completed_at_the_mark(  # noqa: PLR0917 (drawn inputs)
    spec: ContractSpec,
    side: str,
    mode: str,
    size: float,
    entry: float,
    leverage: float,
    move: float,
) -> None:
    margin = size / entry / leverage
    mark = entry * move
    base = liquidation.assess_position(spec, side, size, entry, margin, mode=mode)
    assert base == liquidation.assess(spec, side, size, entry, margin, mode=mode)
    assert liquidation.at_mark(base, spec, side, size, entry, margin, None) is base
    full = liquidation.assess(spec, side, size, entry, margin, mode=mode, mark=mark)
    split = liquidation.at_mark(base, spec, side, size, entry, margin, mark)
    assert split == full
    assert split.maintenance_coin is not None
