"""A caseload file → its decision table through the columnar engine, a block at a time.

:func:`decide_file` reads the file with :func:`~povrules.columnar.read_frames`, decides each block
with one :class:`~povrules.columnar.FramePlan` (so each pattern of rule values is settled once for
the whole file) and appends the block's rows to a decision table
(:func:`povrules.caseload.open_table`): memory holds about one block, whatever the file's size.

The table has the row path's columns and, where they overlap, its values (a test compares them
with :func:`povrules.batch.decide_caseload`'s table): ``record_digest`` is null, as on the row path
without records, because the columnar engine makes no records. All or nothing: the table is
written to a temporary file renamed into place at the end; on any error it is removed.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import attrs

from povrules.caseload import COLUMNS, open_table
from povrules.columnar.evaluate import frame_plan
from povrules.columnar.frame import BLOCK, read_frames
from povrules.columnar.translate import NotSupported
from povrules.errors import UsageError
from povrules.ruleset import Ruleset

__all__ = ["FileReport", "decide_file"]


@attrs.frozen
class FileReport:
    """What :func:`decide_file` did: how many subjects, their outcomes, how long, and where the table went."""

    decision: str
    as_of: date
    subjects: int
    outcomes: dict[str, int]
    blocks: int
    seconds: float
    output: str

    @property
    def rate(self) -> float:
        """Subjects per second."""
        return self.subjects / self.seconds if self.seconds > 0 else 0.0


def decide_file(
    ruleset: Ruleset,
    decision: str,
    source: str | os.PathLike[str] | Any,
    *,
    as_of: date,
    output: str | os.PathLike[str],
    format: str | None = None,
    mapping: str | os.PathLike[str] | None = None,
    table_format: str | None = None,
    block: int = BLOCK,
    progress: Callable[[int], None] | None = None,
) -> FileReport:
    """Decide ``decision`` as of ``as_of`` for every subject of a caseload file; write its decision table whole or not at all.

    ``source``, ``format`` and ``mapping`` are as for :func:`povrules.caseload.read_caseload` (a
    binary stream is read as JSON Lines). ``output`` is a Parquet or CSV file (by its extension,
    or ``table_format``) with the columns :data:`povrules.caseload.COLUMNS`; ``record_digest`` is
    null. ``block`` subjects are read and decided at a time. ``progress`` is called with the number
    of subjects decided so far after each block.

    Raises :class:`~povrules.columnar.NotSupported` for a ranking decision,
    :class:`~povrules.EvaluationError` for an unknown decision or a parameter not in force (before
    any input is read), :class:`~povrules.caseload.CaseloadError` for an unreadable input or an
    unwritable output, :class:`~povrules.FactsError` for the first subject whose facts fail
    validation (``source`` its ``file:line`` or ``file:row N``), :class:`~povrules.errors.UsageError` for a block below 1.
    In every case nothing is written.
    """
    if block < 1:
        raise UsageError(f"block: a block holds at least one subject, not {block}")
    plan = frame_plan(ruleset, decision, as_of)
    if plan.is_ranking:
        raise NotSupported(decision, "a ranking decision (sort keys)", plan.plan.spec.name)
    started = time.perf_counter()
    outcomes: Counter[str] = Counter()
    count = blocks = 0
    blocks_read = read_frames(source, format=format, mapping=mapping, subject=ruleset.subject, block=block)
    table = open_table(output, table_format)
    try:
        for frame in blocks_read:
            decided = plan.decide(frame, missing=True)
            outcomes.update(dict(decided["outcome"].value_counts().iter_rows()))
            # Columns in the table's order; the row path's rows are tuples of the same values.
            table.write(decided.select(*COLUMNS[: COLUMNS.index("record_digest")]).iter_rows())
            count += decided.height
            blocks += 1
            if progress is not None:
                progress(count)
        table.commit()
    except BaseException:
        table.abort()
        raise
    return FileReport(
        decision, as_of, count, dict(sorted(outcomes.items())), blocks, time.perf_counter() - started, str(Path(output))
    )
