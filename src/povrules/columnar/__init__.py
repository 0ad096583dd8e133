"""Columnar evaluation: a caseload as one polars frame, each checked rule as one polars expression.

The row engine (:mod:`povrules.engine`) decides one subject at a time from compiled closures. This
package decides a whole frame at once, with the same answers: :mod:`.frame` turns facts into a
frame whose schema follows the fact models (or, in :mod:`.flat`'s layout, one column per fact path), :mod:`.translate` turns each checked rule into a polars
expression (null is unknown), and :mod:`.evaluate` gives rule values and outcomes per row. See
docs/columnar.md.

polars (and pyarrow, for Parquet) are optional: ``pip install 'povrules[columnar]'``. Importing
this package without them raises :class:`povrules.PovrulesError` naming that extra.
"""

from __future__ import annotations

from povrules.errors import PovrulesError

try:
    import polars  # noqa: F401  # only to fail early, with a message naming the extra
except ImportError as error:  # pragma: no cover - the test environment has polars
    raise PovrulesError("columnar evaluation needs polars: pip install 'povrules[columnar]'") from error

from povrules.columnar.compare import FrameHouseholds, compare_frame, sweep_frame
from povrules.columnar.evaluate import (
    FramePlan,
    check_supported,
    decide_frame,
    explain_row,
    frame_plan,
    rule_values_frame,
    translate_decision,
)
from povrules.columnar.flat import flat_frame, is_flat, nested_frame
from povrules.columnar.frame import (
    FrameShape,
    arrow_frame,
    caseload_frame,
    facts_of,
    frame_shape,
    read_frame,
    read_frames,
    write_frame,
)
from povrules.columnar.stream import FileReport, decide_file
from povrules.columnar.translate import NotSupported, Translator

__all__ = [
    "FileReport",
    "FramePlan",
    "FrameShape",
    "NotSupported",
    "Translator",
    "arrow_frame",
    "caseload_frame",
    "check_supported",
    "decide_file",
    "decide_frame",
    "explain_row",
    "facts_of",
    "flat_frame",
    "frame_plan",
    "frame_shape",
    "is_flat",
    "nested_frame",
    "read_frame",
    "read_frames",
    "rule_values_frame",
    "translate_decision",
    "write_frame",
]
__all__ += ["FrameHouseholds", "compare_frame", "sweep_frame"]  # what-if comparisons (.compare)
