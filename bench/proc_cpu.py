"""CPU time of other processes on this machine, from /proc (Linux): what a benchmark's
server side used, beside its own load generator."""

import os
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def children_cpu(parent_pid: int) -> float:
    """CPU seconds used so far by the children of ``parent_pid`` (gunicorn's workers)."""
    try:
        children = Path(f"/proc/{parent_pid}/task/{parent_pid}/children").read_text().split()
    except OSError:
        return 0.0
    return sum(process_cpu(int(pid)) for pid in children)


def named_cpu(name: str) -> float:
    """CPU seconds used so far by every process whose command name is ``name`` (e.g. all
    of PostgreSQL's: its backends, WAL writer and checkpointer)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    total += process_cpu(int(entry.name))
            except OSError:
                continue
    return total
