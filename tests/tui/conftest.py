from __future__ import annotations

import sys
from pathlib import Path

# tui_fakes.py sits next to the tests (importmode=importlib: no package, so put it on the path).
sys.path.insert(0, str(Path(__file__).resolve().parent))
