"""A seccomp filter for the sandbox: no new namespaces, no tracing, no kernel extras.

bubblewrap applies it (`--seccomp FD`) to the code and everything it starts. Namespaces
are how container escapes begin (a user namespace hands its creator every capability
inside it, and with them kernel code that is otherwise out of reach), and `ptrace` lets
one process of the session take over another. So, as Flatpak and Docker's default
profile do, these answer EPERM:

- `unshare`, `setns`, and `clone` with `CLONE_NEWUSER`; `clone3` answers ENOSYS, which
  makes the C library fall back to `clone` (its flags sit in memory, where a filter
  cannot read them);
- `ptrace`, `process_vm_readv`/`process_vm_writev`;
- `bpf`, `perf_event_open`, `userfaultfd`, `keyctl`/`add_key`/`request_key`,
  `kexec_load`, `mount`, `umount2`, `pivot_root`;
- any system call of another architecture (a 32-bit call from a 64-bit process would
  use other numbers).

It is classic BPF, built here (a few dozen instructions) rather than through libseccomp,
which has no wheel on PyPI. x86_64 and aarch64 are covered; elsewhere `program()` is
None and the sandbox runs without the filter (logged once).
"""

from __future__ import annotations

import os
import platform
import struct

__all__ = ["program", "program_fd"]

_LD_W_ABS = 0x20
_JEQ = 0x15
_JGE = 0x35
_JSET = 0x45
_RET = 0x06
_ALLOW = 0x7FFF0000
_ERRNO = 0x00050000
_EPERM, _ENOSYS = 1, 38
_CLONE_NEWUSER = 0x10000000
_X32_BIT = 0x40000000

# arch -> (AUDIT_ARCH, denied syscalls, clone, clone3)
_ARCHES: dict[str, tuple[int, dict[str, int], int, int]] = {
    "x86_64": (
        0xC000003E,
        {
            "ptrace": 101, "unshare": 272, "setns": 308, "process_vm_readv": 310,
            "process_vm_writev": 311, "bpf": 321, "perf_event_open": 298,
            "userfaultfd": 323, "keyctl": 250, "add_key": 248, "request_key": 249,
            "kexec_load": 246, "mount": 165, "umount2": 166, "pivot_root": 155,
        },
        56,
        435,
    ),
    "aarch64": (
        0xC00000B7,
        {
            "ptrace": 117, "unshare": 97, "setns": 268, "process_vm_readv": 270,
            "process_vm_writev": 271, "bpf": 280, "perf_event_open": 241,
            "userfaultfd": 282, "keyctl": 219, "add_key": 217, "request_key": 218,
            "kexec_load": 104, "mount": 40, "umount2": 39, "pivot_root": 41,
        },
        220,
        435,
    ),
}  # fmt: skip


def program(machine: str | None = None) -> bytes | None:
    """The filter as `struct sock_filter[]` bytes, or None on an architecture not covered."""
    machine = machine or platform.machine()
    found = _ARCHES.get(machine)
    if found is None:
        return None
    audit_arch, denied, clone, clone3 = found
    # (opcode, k, jump target label or None); the labelled instructions come last.
    ops: list[tuple[int, int, str | None]] = [
        (_LD_W_ABS, 4, None),  # the architecture
        (_JEQ, audit_arch, "!eperm"),  # "!": jump when the test fails
        (_LD_W_ABS, 0, None),  # the system call's number
    ]
    if machine == "x86_64":
        ops.append((_JGE, _X32_BIT, "eperm"))  # the x32 ABI's numbers
    ops += [(_JEQ, number, "eperm") for number in denied.values()]
    ops += [(_JEQ, clone3, "enosys"), (_JEQ, clone, "clone"), (_RET, _ALLOW, None)]
    labels = {"clone": len(ops), "eperm": len(ops) + 3, "enosys": len(ops) + 4}
    ops += [
        (_LD_W_ABS, 16, None),  # clone's flags: the low 32 bits of its first argument
        (_JSET, _CLONE_NEWUSER, "eperm"),
        (_RET, _ALLOW, None),
        (_RET, _ERRNO | _EPERM, None),
        (_RET, _ERRNO | _ENOSYS, None),
    ]
    out = b""
    for at, (code, k, target) in enumerate(ops):
        jt = jf = 0
        if target is not None:
            offset = labels[target.lstrip("!")] - at - 1
            if target.startswith("!"):
                jf = offset
            else:
                jt = offset
        out += struct.pack("<HBBI", code, jt, jf, k)
    return out


def program_fd() -> int | None:
    """A file descriptor holding the program, at its start, for `bwrap --seccomp FD`
    (bwrap reads it once; the caller closes it after the sandbox started)."""
    data = program()
    if data is None:
        return None
    fd = os.memfd_create("assistantd-seccomp", 0)
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd
