"""hedgetop as users install it: a wheel built from a copy of the checkout, installed into a
fresh virtual environment outside it, gives a ``hedgetop`` command that runs (``--help``,
``--version``, ``calc``) and finds its themes as package data (the top-level ``themes/`` folder
mapped into ``tui.builtin_themes``), not in the checkout.

The fresh environment gets the dependencies from this one through a path entry (a ``.pth``
line: this environment's editable hedgetop is not loaded by it), so that the test checks what
the wheel carries without installing ccxt and the rest again; resolving them from PyPI is what
``pipx install .`` / ``uv tool install .`` do (README).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IGNORE = shutil.ignore_patterns(
    ".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "results"
)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("install")
    src = base / "src"
    shutil.copytree(ROOT, src, ignore=IGNORE)
    dist = base / "dist"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(dist), str(src)], check=True)
    (wheel,) = dist.glob("hedgetop-*.whl")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    here = sysconfig.get_paths()["purelib"]
    Path(purelib, "_hedgetop_test_dependencies.pth").write_text(here + "\n")
    subprocess.run([*pip, "--python", str(python), "install", "--no-deps", str(wheel)], check=True)
    return venv


def _run(venv: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        list(argv),
        cwd=venv.parent,  # outside the checkout
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_installed_command_runs_outside_the_checkout(installed: Path) -> None:
    hedgetop = str(installed / "bin" / "hedgetop")
    helped = _run(installed, hedgetop, "--help")
    assert helped.returncode == 0, helped.stderr
    assert "serve" in helped.stdout
    versioned = _run(installed, hedgetop, "--version")
    assert versioned.stdout.strip() == "hedgetop 0.1.0"
    calc = _run(
        installed,
        *(hedgetop, "calc", "--venue", "bybit", "--symbol", "BTCUSD", "--side", "short"),
        *("--size-usd", "10000", "--entry", "100000", "--mark", "90000"),
    )
    assert calc.returncode == 0, calc.stderr
    assert "10,000 contracts" in calc.stdout


def test_installed_themes_are_package_data(installed: Path) -> None:
    probe = _run(
        installed,
        str(installed / "bin" / "python"),
        "-c",
        "import tui; from tui.themes import builtin_theme_dir, load_themes; "
        "d = builtin_theme_dir(); print(tui.__file__); print(d); "
        "print(sorted(load_themes([d]).themes))",
    )
    assert probe.returncode == 0, probe.stderr
    module, themes_dir, names = probe.stdout.strip().splitlines()
    assert module.startswith(str(installed))  # the wheel's code, not the checkout's
    assert str(ROOT) not in themes_dir
    assert "builtin_themes" in themes_dir
    assert names == "['dark', 'high-contrast', 'light']"
