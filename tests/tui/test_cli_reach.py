"""The command line behaves like a good one: ``--version``, shell completion generated from the
parser (and working in a real bash), ``HEDGETOP_CONFIG`` / ``HEDGETOP_DB`` beside the flags, and
the config looked for where macOS and Linux users keep it."""

from __future__ import annotations

import argparse
import shutil
import subprocess
from importlib.metadata import version
from pathlib import Path

import pytest

from core.config import config_candidates, resolve_config_path
from tui.cli import COMMANDS, UsageError, apply_environment, main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "hedgetop.example.toml"


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.delenv("HEDGETOP_CONFIG", raising=False)
    monkeypatch.delenv("HEDGETOP_DB", raising=False)


def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == f"hedgetop {version('hedgetop')}\n"


def _bash_complete(script: Path, *words: str) -> list[str]:
    line = " ".join(words)
    cmd = (
        f"source {script}; COMP_WORDS=({' '.join(repr(w) for w in words)}); "
        f"COMP_CWORD={len(words) - 1}; COMP_LINE={line!r}; COMP_POINT=${{#COMP_LINE}}; "
        '_shtab_hedgetop; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    out = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, check=True)
    return out.stdout.split()


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash on this machine")
def test_bash_completion_completes_commands_options_and_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["completion", "bash"]) == 0
    script = tmp_path / "hedgetop.bash"
    script.write_text(capsys.readouterr().out)
    assert _bash_complete(script, "hedgetop", "co") == ["config", "completion"]
    assert "--read-only" in _bash_complete(script, "hedgetop", "dashboard", "--r")
    assert "serve" in _bash_complete(script, "hedgetop", "")
    assert "--allow-trading" in _bash_complete(script, "hedgetop", "serve", "--a")
    assert _bash_complete(script, "hedgetop", "completion", "z") == ["zsh"]
    (tmp_path / "my-portfolio.toml").write_text("")
    files = _bash_complete(script, "hedgetop", "--config", str(tmp_path / "my-"))
    assert files == [str(tmp_path / "my-portfolio.toml")]


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_name_every_command(
    shell: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["completion", shell]) == 0
    script = capsys.readouterr().out
    for command in COMMANDS:
        assert command in script
    assert "--config" in script


def test_unknown_shell_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["completion", "cmd.exe"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_environment_fills_flags_that_were_not_given(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("")
    args = argparse.Namespace(config=None, db=None)
    apply_environment(args, {"HEDGETOP_CONFIG": str(cfg), "HEDGETOP_DB": "/data/h.db"})
    assert (args.config, args.db) == (str(cfg), "/data/h.db")
    flags = argparse.Namespace(config="given.toml", db="given.db")
    apply_environment(flags, {"HEDGETOP_CONFIG": str(cfg), "HEDGETOP_DB": "/data/h.db"})
    assert (flags.config, flags.db) == ("given.toml", "given.db")  # a flag wins
    empty = argparse.Namespace(config=None, db=None)
    apply_environment(empty, {"HEDGETOP_CONFIG": " ", "HEDGETOP_DB": ""})
    assert (empty.config, empty.db) == (None, None)


def test_missing_config_from_the_environment_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"HEDGETOP_CONFIG=.*nope\.toml: no such config file"):
        apply_environment(
            argparse.Namespace(config=None, db=None),
            {"HEDGETOP_CONFIG": str(tmp_path / "nope.toml")},
        )


def test_hedgetop_config_reaches_config_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "mine.toml"
    cfg.write_text(EXAMPLE.read_text())
    monkeypatch.setenv("HEDGETOP_CONFIG", str(cfg))
    assert main(["config", "check"]) == 0
    assert f"config: {cfg}" in capsys.readouterr().out
    assert main(["config", "path"]) == 0
    assert str(cfg) in capsys.readouterr().out


def test_hedgetop_db_reaches_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "elsewhere.db"
    monkeypatch.setenv("HEDGETOP_DB", str(db))
    main(["history"])
    captured = capsys.readouterr()
    assert str(db) in captured.out + captured.err


def test_missing_env_config_is_one_line_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HEDGETOP_CONFIG", str(tmp_path / "gone.toml"))
    assert main(["record", "--seconds", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "HEDGETOP_CONFIG" in err[0]


def test_linux_looks_in_the_xdg_config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config_candidates("linux") == (tmp_path / "xdg" / "hedgetop" / "config.toml",)


def test_macos_looks_in_application_support_then_dot_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CONFIG_HOME")
    native = tmp_path / "Library" / "Application Support" / "hedgetop" / "config.toml"
    dotconfig = tmp_path / ".config" / "hedgetop" / "config.toml"
    assert config_candidates("darwin") == (native, dotconfig)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "x"))  # XDG set: it alone
    assert config_candidates("darwin") == (tmp_path / "x" / "hedgetop" / "config.toml",)


def test_the_first_existing_candidate_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert resolve_config_path(None) is None  # nothing there: the demo
    path = tmp_path / "xdg" / "hedgetop" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text("")
    assert resolve_config_path(None) == path
    explicit = tmp_path / "explicit.toml"
    explicit.write_text("")
    assert resolve_config_path(str(explicit)) == explicit  # --config wins on every platform
