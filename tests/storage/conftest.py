"""Load this area's ``factories.py`` as ``storage_factories`` (under --import-mode=importlib
test directories are not on sys.path, and another area may have its own ``factories``)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

if "storage_factories" not in sys.modules:
    _spec = importlib.util.spec_from_file_location(
        "storage_factories", Path(__file__).with_name("factories.py")
    )
    assert _spec is not None
    assert _spec.loader is not None
    _mod = importlib.util.module_from_spec(_spec)
    sys.modules["storage_factories"] = _mod
    _spec.loader.exec_module(_mod)
