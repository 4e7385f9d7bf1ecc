"""What runs on the host, read from /proc: for the sandbox tests and its benchmark."""

from __future__ import annotations

from pathlib import Path

__all__ = ["children_of", "descendants", "processes_with", "pss_kib", "running", "uids_alive"]


def _stat(pid: int) -> list[str]:
    # The command name, in parentheses, may hold spaces: split after its last ")".
    return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1]).split()


def descendants(root: int) -> list[int]:
    """Every process below `root` (not `root` itself)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int(_stat(int(entry.name))[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def children_of(parent: int) -> list[int]:
    """The processes whose parent is `parent`."""
    return [pid for pid in descendants(parent) if int(_stat(pid)[1]) == parent]


def processes_with(text: str) -> list[int]:
    """Live processes whose command line contains `text`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if text in command and running(int(entry.name)):
                found.append(int(entry.name))
    return found


def running(pid: int) -> bool:
    """Alive and not a zombie (a zombie is only an exit status waiting to be read)."""
    try:
        return _stat(pid)[0] != "Z"
    except (OSError, IndexError):
        return False


def uids_alive(uids: set[int]) -> list[int]:
    """Host pids whose real uid is one of `uids`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("Uid:") and int(line.split()[1]) in uids:
                found.append(int(entry.name))
    return found


def pss_kib(pids: list[int]) -> int:
    """Proportional set size of these processes (shared pages split between sharers)."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total
