"""Finding and ending the sandbox's processes by where they run, so that nothing a sandbox started outlives it.

Every process the sandbox starts runs inside one of its directories: execution environments (and whatever their
handlers fork) in the function code folders under the home's ``work/``, PostgreSQL in its data directory. A process
belongs to a sandbox when its working directory is inside one of that sandbox's roots. This finds them even after
the server was killed (Linux ``/proc``; elsewhere nothing is found and only the server itself is stopped).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable
from pathlib import Path

__all__ = ["alive", "end_processes", "processes_under"]

PROC = Path("/proc")


def alive(pid: int) -> bool:
    """Whether ``pid`` is a running process (a zombie child of ours counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
        return waited == 0
    except ChildProcessError:
        return _state(pid) not in {"Z", "X", None}


def _state(pid: int) -> str | None:
    try:
        return (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def processes_under(roots: Iterable[Path]) -> list[int]:
    """The live processes (other than this one) whose working directory is inside one of ``roots``."""
    resolved = [Path(os.path.realpath(root)) for root in roots]
    found = []
    for entry in PROC.glob("[0-9]*") if PROC.is_dir() else ():
        pid = int(entry.name)
        if pid == os.getpid() or _state(pid) in {"Z", "X", None}:
            continue
        try:
            cwd = Path(str((entry / "cwd").readlink()).removesuffix(" (deleted)"))
        except OSError:
            continue
        if any(cwd == root or root in cwd.parents for root in resolved):
            found.append(pid)
    return found


def end_processes(pids: Iterable[int], grace_s: float = 2.0) -> list[int]:
    """End ``pids`` and their process groups: SIGTERM, then SIGKILL after ``grace_s``. Returns the pids ended.

    A process group is signalled only when it is not this process's own.
    """
    pids = [pid for pid in pids if alive(pid)]
    own_group = os.getpgrp()
    groups = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            group = os.getpgid(pid)
            if group != own_group:
                groups.add(group)
    _signal(pids, groups, signal.SIGCONT)  # a stopped process cannot act on SIGTERM
    _signal(pids, groups, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    _signal(pids, groups, signal.SIGKILL)
    deadline = time.monotonic() + grace_s
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    return pids


def _signal(pids: list[int], groups: set[int], signum: signal.Signals) -> None:
    for group in groups:
        with contextlib.suppress(OSError):
            os.killpg(group, signum)
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signum)
