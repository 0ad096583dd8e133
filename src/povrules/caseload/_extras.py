"""The optional libraries behind the caseload formats, imported only when a format needs them."""

from __future__ import annotations

import importlib
from types import ModuleType

from povrules.errors import CaseloadError

_WHAT = {"python_calamine": "Excel files", "pyarrow": "Parquet files", "pyarrow.parquet": "Parquet files"}


def need(module: str) -> ModuleType:
    """Import an optional library. Raises :class:`CaseloadError` saying which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        top = module.split(".")[0].replace("_", "-")
        raise CaseloadError(f"{_WHAT.get(module, module)} need {top}: pip install 'povrules[caseload]'") from None
