"""Worker processes: how many cores this process may use, and how to start workers safely.

Batch decisions (:mod:`povrules.batch`) and log verification (:mod:`povrules.audit.log`) both hand
work to a process pool; this is the one place that decides how.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from multiprocessing.context import BaseContext

__all__ = ["cores", "start_context"]


def cores() -> int:
    """The cores this process may run on (its affinity, where the platform tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        return os.cpu_count() or 1


def start_context() -> BaseContext:
    """How to start workers: fork when this process runs one thread (the workers start in milliseconds,
    with everything already imported and built); otherwise forkserver (or spawn), since forking a process
    with other threads can copy a lock one of them holds into the child, where nothing ever releases it.
    What a worker is given must then pickle (a :class:`~povrules.Ruleset` does)."""
    methods = multiprocessing.get_all_start_methods()
    if threading.active_count() == 1 and "fork" in methods:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
