"""A sandbox's processes and memory, read from the host's /proc.

A per-process limit (`RLIMIT_AS`) lets four forked children hold four times the memory
of one, and a cgroup is not something every host lets us create. So a session is
accounted as a whole, from the outside: the proportional set size (PSS: a page shared
by n processes counts 1/n to each, so forked children are not counted twice) of every
process under the sandbox's bubblewrap, plus what its tmpfs mounts hold (they are
memory too). The session pool kills a session over its cap (sessions.py).

From the host, every process of the sandbox is a descendant of bubblewrap, whatever it
does inside (a double fork and `setsid` reparent to the namespace's pid 1, which is
still below bubblewrap).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["TMPFS_MOUNTS", "memory_bytes", "pss_bytes", "tmpfs_bytes", "tree"]

TMPFS_MOUNTS = ("/mnt/data", "/tmp", "/dev/shm")  # the sandbox's writable places
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _ppid(pid: int) -> int | None:
    try:
        # The command name, in parentheses, may hold spaces: split after its last ")".
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _children(pid: int) -> list[int] | None:
    """The children of `pid` from /proc/PID/task/*/children (None where the kernel
    lacks that file): only the subtree is read, not every process of the host."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return []  # gone meanwhile
    found: list[int] = []
    for task in tasks:
        try:
            found += [int(p) for p in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
        except FileNotFoundError:
            if not Path(f"/proc/{pid}").exists():
                return found
            return None
    return found


def tree(root: int) -> list[int]:
    """`root` and every process below it."""
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        children = _children(pid)
        if children is None:
            return _scan(root)
        found.append(pid)
        todo.extend(children)
    return found


def _scan(root: int) -> list[int]:
    """`tree` by reading every process's parent (kernels without `children` files)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            ppid = _ppid(int(entry.name))
            if ppid is not None:
                children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def pss_bytes(pid: int) -> int:
    """The process's proportional set size (its RSS where smaps_rollup is missing)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0  # gone meanwhile


def tmpfs_bytes(pid: int) -> int:
    """What the sandbox's tmpfs mounts hold, seen through a process inside it."""
    used = 0
    for mount in TMPFS_MOUNTS:
        try:
            stat = os.statvfs(f"/proc/{pid}/root{mount}")
        except OSError:
            continue
        used += (stat.f_blocks - stat.f_bfree) * stat.f_frsize
    return used


def memory_bytes(pids: list[int], inside: int | None) -> int:
    """The session's memory: every process's PSS, plus its tmpfs (read through `inside`,
    a process in the sandbox's mount namespace)."""
    return sum(pss_bytes(pid) for pid in pids) + (tmpfs_bytes(inside) if inside else 0)
