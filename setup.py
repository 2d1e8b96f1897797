"""Only what pyproject.toml cannot say: the top-level ``themes/`` folder (where the client keeps
the colour themes) ships inside the wheel as the package data of ``tui.builtin_themes``, read
with ``importlib.resources``. Everything else is in pyproject.toml."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["core*", "storage*", "tui*"]), "tui.builtin_themes"],
    package_dir={"tui.builtin_themes": "themes"},
)
