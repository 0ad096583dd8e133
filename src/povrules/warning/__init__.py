"""Department screening and early warning (部门筛查预警): department events in, warnings, verification cases
with working-day deadlines, and monthly reports out, on durable-rules (the ``warning`` extra).

``events`` (the feeds' schema and readers) and ``rules`` (a plan's ``screening.yaml``) need nothing beyond
povrules; ``stream`` imports durable-rules only when a stream starts, and says so in one line when it is
missing. ``reference`` evaluates the same screening without durable-rules; ``synth`` makes event streams.
"""

from povrules.warning.events import DEPARTMENTS, EVENT_KINDS, DepartmentEvent, parse_event, read_events, to_message
from povrules.warning.reference import reference_warnings
from povrules.warning.rules import Screening, ScreeningParameter, ScreeningRule, load_screening
from povrules.warning.stream import (
    Case,
    Cause,
    ScreeningWarning,
    WarningStream,
    durable_definition,
    durable_engine,
)
from povrules.warning.synth import synth_events

__all__ = [
    "DEPARTMENTS",
    "EVENT_KINDS",
    "DepartmentEvent",
    "parse_event",
    "read_events",
    "to_message",
    "Screening",
    "ScreeningParameter",
    "ScreeningRule",
    "load_screening",
    "Case",
    "Cause",
    "ScreeningWarning",
    "WarningStream",
    "durable_definition",
    "durable_engine",
    "reference_warnings",
    "synth_events",
]
