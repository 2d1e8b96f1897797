"""``hedgetop`` (the dashboard command): user errors are one line and exit code 2, before any
screen opens; the config's [keys] become the app's keymap."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.cli import main
from tui.commands.dashboard import ACTIONS, keymap_from_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_bad_toml_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[[holdings]]\ncoin = \n")
    assert main(["--config", str(cfg)]) == 2
    line = _one_line_error(capsys)
    assert str(cfg) in line


def test_unknown_key_action_names_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (ROOT / "examples" / "hedgetop.example.toml").read_text()
    cfg = tmp_path / "keys.toml"
    cfg.write_text(text.replace("[keys]\n", '[keys]\nlaunch_rockets = "x"\n'))
    assert main(["--config", str(cfg)]) == 2
    line = _one_line_error(capsys)
    assert "keys.launch_rockets" in line
    assert str(cfg) in line


def test_db_that_is_a_directory_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--db", str(tmp_path)]) == 2
    line = _one_line_error(capsys)
    assert "--db" in line
    assert str(tmp_path) in line


def test_keymap_from_config_maps_aliases_and_ids() -> None:
    keymap, error = keymap_from_config({"step_up": "u", "pause": "space"}, "c.toml")
    assert error is None
    assert keymap == {"ratio_up": "u", "pause": "space"}
    _, error = keymap_from_config({"nope": "n"}, "c.toml")
    assert error is not None
    assert error.startswith("c.toml: keys.nope: unknown dashboard action 'nope'")


def test_every_action_is_a_binding_id() -> None:
    from tui.app import HedgetopApp
    from tui.widgets.table import HedgeTable

    bindings = [*HedgetopApp.BINDINGS, *HedgeTable.BINDINGS]
    ids = {b.id for b in bindings if getattr(b, "id", None) is not None}
    assert set(ACTIONS) == ids


def test_dashboard_module_is_light_at_import() -> None:
    import subprocess
    import sys

    code = (
        "import sys, tui.commands.dashboard, tui.cli; tui.cli.build_parser(); "
        "print('textual' in sys.modules, 'ccxt' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["False", "False"]
