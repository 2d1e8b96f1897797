"""The simulator shares no code with the clients it tests: the import-linter contract that says
so must name every module of ``core`` outside ``core.sim``, also the ones added later."""

from __future__ import annotations

import pkgutil
import tomllib
from pathlib import Path

import core

ROOT = Path(__file__).resolve().parents[2]


def test_the_sim_contract_forbids_every_other_core_module() -> None:
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = cfg["tool"]["importlinter"]["contracts"]
    sim = next(c for c in contracts if c["source_modules"] == ["core.sim"])
    forbidden = set(sim["forbidden_modules"])
    siblings = {f"core.{m.name}" for m in pkgutil.iter_modules(core.__path__) if m.name != "sim"}
    assert siblings - forbidden == set(), "add these to the core.sim contract in pyproject.toml"
