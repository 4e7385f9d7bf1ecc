"""The bubblewrap command line of a sandbox, and the limits it sets.

What the code inside can see and do is decided here (docs/embedded.md records the
flags checked): the namespaces it gets, what is bound into its fresh root and how, the
size-capped tmpfs mounts, its environment, the per-process rlimits `prlimit` sets
before bwrap starts, and the seccomp filter's descriptor. `sandbox.py` runs it.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BRIDGE", "INSIDE_BRIDGE", "Limits", "command"]

BRIDGE = Path(__file__).with_name("bridge.py")
INSIDE_BRIDGE = "/opt/assistantd/bridge.py"


@dataclass(frozen=True)
class Limits:
    call_timeout_s: float = 60.0
    memory_mb: int = 2048  # address space per process: numpy alone wants 256 MB
    cpu_s: int = 600  # CPU seconds per process, over the session's life
    processes: int = 64  # threads count too (ipykernel runs about 10)
    open_files: int = 256
    disk_mb: int = 512  # /mnt/data
    tmp_mb: int = 64  # /tmp (matplotlib's font cache, IPython's history), and /dev/shm
    start_timeout_s: float = 60.0
    session_memory_mb: int = 2048  # every process of the session and its tmpfs, together
    max_images: int = 10  # images one call may display; more are counted, not kept


def _ro_binds(python: str) -> list[str]:
    """The interpreter's own prefix and the venv holding numpy and ipykernel, read-only,
    at the paths they have outside (a venv's interpreter is a symlink to its base)."""
    args: list[str] = []
    prefixes = {os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)}
    exe = Path(python)
    prefixes.add(str(exe.resolve().parent.parent))
    prefixes.add(str(exe.absolute().parent.parent))
    made: set[str] = {"/", "/tmp"}
    for prefix in sorted(prefixes):
        if prefix == "/usr" or prefix.startswith("/usr/"):
            continue
        # bwrap would copy a parent's mode (/root is 0700, and the code runs as
        # another uid): make the parents first, traversable.
        for parent in reversed(Path(prefix).parents):
            if str(parent) not in made:
                made.add(str(parent))
                args += ["--perms", "0755", "--dir", str(parent)]
        args += ["--ro-bind", prefix, prefix]
    return args


def command(
    bwrap: str,
    python: str,
    limits: Limits,
    uid: int | None,
    info_fd: int | None = None,
    seccomp_fd: int | None = None,
) -> list[str]:
    mb = 1024 * 1024
    rlimits = [
        "prlimit",
        f"--as={limits.memory_mb * mb}",
        f"--cpu={limits.cpu_s}",
        f"--nofile={limits.open_files}",
        f"--fsize={limits.disk_mb * mb}",
    ]
    if uid is not None:
        # Counted per real uid: meaningful only for a uid of the session's own.
        rlimits.append(f"--nproc={limits.processes}")
    sandbox = [
        bwrap,
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--hostname",
        "sandbox",
        "--die-with-parent",
        "--new-session",
        "--ro-bind",
        "/usr",
        "/usr",
        "--symlink",
        "usr/lib",
        "/lib",
        "--symlink",
        "usr/lib64",
        "/lib64",
        "--symlink",
        "usr/bin",
        "/bin",
        # /tmp first: a venv under /tmp (a CI checkout's) is bound over it, not hidden.
        "--perms",
        "1777",
        "--size",
        str(limits.tmp_mb * mb),
        "--tmpfs",
        "/tmp",
        *_ro_binds(python),
        "--ro-bind",
        str(BRIDGE),
        INSIDE_BRIDGE,
        "--perms",
        "0755",
        "--dir",
        "/etc",
        "--ro-bind-try",
        "/etc/fonts",  # fontconfig's configuration (matplotlib complains without it)
        "/etc/fonts",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        # Unprivileged, bwrap's /dev is a tmpfs the code owns: make it read-only (device
        # nodes still work) and give shared memory a capped mount of its own.
        "--perms",
        "1777",
        "--size",
        str(limits.tmp_mb * mb),
        "--tmpfs",
        "/dev/shm",
        "--remount-ro",
        "/dev",
        "--perms",
        "1777",
        "--size",
        str(limits.disk_mb * mb),
        "--tmpfs",
        "/mnt/data",
        # The root bwrap builds is a tmpfs of no set size: read-only, it cannot be
        # filled (the sized /tmp and /mnt/data mounted on it stay writable).
        "--remount-ro",
        "/",
        "--chdir",
        "/mnt/data",
        "--clearenv",
        "--setenv",
        "HOME",
        "/tmp",
        "--setenv",
        "PATH",
        f"{Path(python).absolute().parent}:/usr/bin:/bin",
        "--setenv",
        "MPLCONFIGDIR",
        "/tmp/matplotlib",
        "--setenv",
        "JUPYTER_RUNTIME_DIR",
        "/tmp/jupyter",
        "--setenv",
        "IPYTHONDIR",
        "/tmp/ipython",
        "--setenv",
        "PYTHONDONTWRITEBYTECODE",
        "1",
        "--setenv",
        "OPENBLAS_NUM_THREADS",
        "1",
        "--setenv",
        "OMP_NUM_THREADS",
        "1",
    ]
    if uid is not None:
        # Root sets the mounts up; the bridge then becomes `uid`, and keeps no capability.
        sandbox += ["--setenv", "SANDBOX_UID", str(uid)]
        sandbox += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    if info_fd is not None:
        sandbox += ["--info-fd", str(info_fd)]  # bwrap tells us its child's pid there
    if seccomp_fd is not None:
        sandbox += ["--seccomp", str(seccomp_fd)]
    return [*rlimits, "--", *sandbox, "--", python, "-I", INSIDE_BRIDGE]
