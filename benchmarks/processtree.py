"""The processes under a process, read from /proc: for benchmarks that measure a whole tree's memory
(a command and its workers; Spark's JVM and Python workers)."""

from __future__ import annotations

import os


def descendants(root: int) -> list[int]:
    """``root`` and every process under it, found through each process's parent in ``/proc``."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    parent = int(f.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue  # gone while listing, or not a process
            children.setdefault(parent, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, ()))
    return out
