"""Auditing: decision records that prove what was decided, on which facts, under which rules."""

from povrules.audit.log import (
    DecisionLog,
    LogEntry,
    LogError,
    LogProblem,
    LogReport,
    Repair,
    anchor_of,
    iter_log,
    parse_head,
    verify_log,
)
from povrules.audit.record import (
    RECORD_SCHEMA,
    RECORD_SCHEMA_V1,
    RecordError,
    explain_record,
    load_record,
    make_record,
    make_record_json,
    record_digest,
    record_json,
    record_schema,
    redact_decision,
    redact_facts,
    redact_id,
    verify_record,
)
from povrules.audit.replay import (
    Divergence,
    Replay,
    ReplayError,
    RulesetStore,
    replay,
    replay_with_current,
)

__all__ = [
    "RECORD_SCHEMA", "RECORD_SCHEMA_V1", "RecordError", "load_record", "make_record", "make_record_json", "record_digest", "record_json", "record_schema",
    "redact_decision", "redact_facts", "redact_id", "verify_record",
    "DecisionLog", "LogEntry", "LogError", "LogProblem", "LogReport", "Repair", "anchor_of", "iter_log", "parse_head",
    "verify_log",
    "Divergence", "Replay", "ReplayError", "RulesetStore", "replay", "replay_with_current", "explain_record",
]
