"""The code_interpreter sandbox against code that tries to get out.

Each attempt prints ESCAPED if it gets anywhere it must not; the tests drive the same
SessionPool the server uses (bubblewrap, the kernel, the limits), without HTTP.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from assistantd.tools.code_interpreter.sandbox import Limits, bwrap_path
from assistantd.tools.code_interpreter.sessions import SessionPool
from tests.processes import descendants, running, uids_alive
from tests.requires import requires

pytestmark = requires("bwrap")

LIMITS = Limits(call_timeout_s=30, memory_mb=1024, processes=48, disk_mb=32, tmp_mb=16)


@pytest.fixture
async def pool() -> AsyncIterator[SessionPool]:
    pool = SessionPool(bwrap=bwrap_path(), python=sys.executable, limits=LIMITS, max_sessions=4)
    try:
        yield pool
    finally:
        await pool.close()


async def run(pool: SessionPool, code: str, thread: str = "thread_a") -> str:
    session = pool.session("proj", thread)
    async with session.lock:
        result = await pool.execute(session, code)
    return result.logs


async def test_host_files_are_invisible(pool: SessionPool, tmp_path: Path) -> None:
    secret = tmp_path / "data" / "assistantd.db"
    secret.parent.mkdir()
    secret.write_text("the server's data")
    logs = await run(
        pool,
        f"""
for path in ["/etc/shadow", "/etc/passwd", "/root/.bash_history", {str(secret)!r},
             "/proc/1/environ", "/var/lib/postgresql"]:
    try:
        open(path).read(1)
        print("ESCAPED", path)
    except (OSError, PermissionError) as e:
        print("blocked", path, type(e).__name__)
import os
print("etc:", sorted(os.listdir("/etc")) if os.path.exists("/etc") else [])
print("root:", sorted(os.listdir("/")))
""",
    )
    assert "ESCAPED" not in logs, logs
    assert logs.count("blocked") == 6
    assert "etc: ['fonts']" in logs or "etc: []" in logs  # fontconfig's files only
    listed = logs.split("root:")[1]
    assert "'home'" not in listed
    assert "'var'" not in listed


async def test_writes_outside_mnt_data_fail(pool: SessionPool) -> None:
    logs = await run(
        pool,
        """
import os
for path in ["/evil", "/usr/evil", "/opt/assistantd/evil", "/dev/evil", "/proc/evil",
             os.path.join(os.path.dirname(os.__file__), "evil.py")]:
    try:
        with open(path, "w") as f:
            f.write("x")
        print("ESCAPED", path)
    except OSError as e:
        print("blocked", path, type(e).__name__)
with open("/mnt/data/ok.txt", "w") as f:
    f.write("fine")
print("wrote", open("/mnt/data/ok.txt").read())
""",
    )
    assert "ESCAPED" not in logs, logs
    assert "wrote fine" in logs


async def test_another_sessions_files_are_invisible(pool: SessionPool) -> None:
    await run(pool, "open('/mnt/data/secret.txt', 'w').write('thread a only')", "thread_a")
    logs = await run(
        pool,
        """
import glob, os
print("mine:", os.listdir("/mnt/data"))
hits = glob.glob("/proc/*/root/mnt/data/*") + glob.glob("/proc/*/cwd/*")
print("ESCAPED" if any("secret" in h for h in hits) else "none", hits)
print("pids:", sorted(int(p) for p in os.listdir("/proc") if p.isdigit()))
""",
        "thread_b",
    )
    assert "mine: []" in logs
    assert "ESCAPED" not in logs, logs
    pids = eval(logs.split("pids:")[1].strip())
    assert max(pids) < 100  # its own pid namespace: the host's processes are not there


async def test_no_network_not_even_the_hosts_loopback(pool: SessionPool) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    try:
        logs = await run(
            pool,
            f"""
import socket
for host, port in [("127.0.0.1", {port}), ("127.0.0.1", 5432), ("127.0.0.1", 6379),
                   ("1.1.1.1", 53), ("10.0.0.1", 80)]:
    s = socket.socket()
    s.settimeout(3)
    try:
        s.connect((host, port))
        print("ESCAPED", host, port)
    except OSError as e:
        print("blocked", host, port, type(e).__name__)
try:
    socket.getaddrinfo("pypi.org", 443)
    print("ESCAPED dns")
except OSError:
    print("blocked dns")
""",
        )
    finally:
        listener.close()
    assert "ESCAPED" not in logs, logs
    assert logs.count("blocked") == 6


async def test_signals_cannot_reach_host_processes(pool: SessionPool) -> None:
    me = os.getpid()
    logs = await run(
        pool,
        f"""
import os, signal
for pid in [{me}, 1]:
    try:
        os.kill(pid, signal.SIGKILL)
        print("sent", pid)
    except OSError as e:
        print("blocked", pid, type(e).__name__)
""",
    )
    # The host pid does not exist in its namespace; its pid 1 is bwrap's, not its own.
    assert f"blocked {me}" in logs
    assert "blocked 1" in logs
    assert "still here" in await run(pool, "print('still here')")


async def test_a_fork_bomb_hits_the_process_limit_and_leaves_nothing(pool: SessionPool) -> None:
    if pool.uids is None:
        pytest.skip("the per-session process limit needs the server to run as root")
    logs = await run(
        pool,
        """
import os, time
children = 0
while True:
    try:
        pid = os.fork()
    except OSError as e:
        print("LIMITED after", children, type(e).__name__)
        break
    if pid == 0:
        time.sleep(600)
        os._exit(0)
    children += 1
""",
    )
    assert "LIMITED after" in logs, logs
    session = pool.sessions[("proj", "thread_a")]
    assert session.sandbox is not None
    uid = session.sandbox.uid
    assert uid is not None
    assert uids_alive({uid})  # the children are there while the session lives
    await pool.close()
    for _ in range(50):
        if not uids_alive({uid}):
            break
        await asyncio.sleep(0.1)
    assert uids_alive({uid}) == []


async def test_memory_bombs_raise_memory_error(pool: SessionPool) -> None:
    logs = await run(
        pool,
        """
try:
    x = bytearray(8 * 1024**3)
    print("ESCAPED one block")
except MemoryError:
    print("limited one block")
chunks = []
try:
    while True:
        chunks.append(bytearray(64 * 1024**2))
except MemoryError:
    print("limited after", len(chunks) * 64, "MB")
del chunks
""",
    )
    assert "ESCAPED" not in logs
    assert "limited one block" in logs
    assert "limited after" in logs
    assert "alive" in await run(pool, "print('alive')")  # the session survived


async def test_filling_the_disk_stops_at_the_sessions_own_cap(pool: SessionPool) -> None:
    logs = await run(
        pool,
        """
written = 0
for path in ["/mnt/data/fill", "/tmp/fill", "/dev/shm/fill"]:
    try:
        with open(path, "wb") as f:
            while True:
                f.write(b"0" * 2**20)
                written += 1
    except OSError as e:
        print("stopped", path, type(e).__name__, e.errno)
print("MB", written)
for line in open("/proc/self/mountinfo"):
    fields = line.split()
    mount, fstype = fields[4], fields[fields.index("-") + 1]
    if mount in ("/mnt/data", "/tmp", "/dev/shm"):
        print("mount", mount, fstype)
""",
    )
    assert logs.count("stopped") == 3, logs
    written = int(logs.split("MB")[1].split()[0])
    assert written <= LIMITS.disk_mb + 2 * LIMITS.tmp_mb + 3
    # Every writable place is a size-capped tmpfs: nothing of it lands on the host's disk.
    for mount in ("/mnt/data", "/tmp", "/dev/shm"):
        assert f"mount {mount} tmpfs" in logs, logs


async def test_leftover_processes_end_with_the_session(pool: SessionPool) -> None:
    logs = await run(
        pool,
        """
import subprocess, os
subprocess.Popen(["sleep", "1000"], start_new_session=True)
if os.fork() == 0:          # a daemon: double fork, new session
    os.setsid()
    if os.fork() == 0:
        import time; time.sleep(1000)
    os._exit(0)
print("spawned")
""",
    )
    assert "spawned" in logs
    session = pool.sessions[("proj", "thread_a")]
    assert session.sandbox is not None
    before = descendants(session.sandbox.process.pid)
    assert len(before) >= 3
    await pool.close()
    for _ in range(50):
        left = [pid for pid in before if running(pid)]
        if not left:
            break
        await asyncio.sleep(0.1)
    assert left == [], [Path(f"/proc/{pid}/stat").read_text() for pid in left]


async def test_a_timeout_restarts_the_session_cleanly(pool: SessionPool) -> None:
    quick = SessionPool(
        bwrap=bwrap_path(),
        python=sys.executable,
        limits=Limits(call_timeout_s=2, memory_mb=1024, disk_mb=8, tmp_mb=8),
    )
    try:
        await run(quick, "x = 1")
        session = quick.sessions[("proj", "thread_a")]
        async with session.lock:
            result = await quick.execute(session, "import time\nwhile True: time.sleep(0.1)")
        assert result.restarted
        assert "timed out after 2 seconds" in result.logs
        logs = await run(quick, "print('x' in globals())")
        assert "False" in logs  # a fresh session
    finally:
        await quick.close()


async def test_a_killed_kernel_restarts_the_session_at_once(pool: SessionPool) -> None:
    await run(pool, "x = 1")
    session = pool.session("proj", "thread_a")
    async with session.lock:
        result = await pool.execute(
            session, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"
        )
    assert result.restarted  # seen when the kernel died, not at the 30 s call timeout
    assert "ended unexpectedly" in result.logs
    assert "False" in await run(pool, "print('x' in globals())")  # a fresh session


async def test_the_code_cannot_write_on_the_pipe_to_the_server(pool: SessionPool) -> None:
    if pool.uids is None:
        pytest.skip("as the server's own user the code may (its own session is all it spoils)")
    session = pool.session("proj", "thread_a")
    async with session.lock:
        result = await pool.execute(
            session,
            "import os\nos.write(os.open(f'/proc/{os.getppid()}/fd/1', os.O_WRONLY), b'{oops\\n')",
        )
    # The bridge changed uid, so its /proc entries are not the code's to open.
    assert "PermissionError" in result.logs
    assert not result.restarted
    assert "alive" in await run(pool, "print('alive')")


SESSION_LIMITS = Limits(
    call_timeout_s=30,
    memory_mb=2048,
    processes=48,
    disk_mb=32,
    tmp_mb=16,
    session_memory_mb=1536,
    max_images=5,
)


@pytest.fixture
async def bounded() -> AsyncIterator[SessionPool]:
    pool = SessionPool(
        bwrap=bwrap_path(),
        python=sys.executable,
        limits=SESSION_LIMITS,
        max_sessions=4,
        storage_budget_mb=64,
        spare=False,
    )
    try:
        yield pool
    finally:
        await pool.close()


async def test_forked_children_share_one_memory_cap(bounded: SessionPool) -> None:
    """Each child stays under the per-process limit (2 GB); together they pass the
    session's (1.5 GB)."""
    session = bounded.session("proj", "thread_a")
    async with session.lock:
        result = await bounded.execute(
            session,
            """
import os, time
kids = []
for _ in range(4):
    pid = os.fork()
    if pid == 0:
        try:
            block = bytearray(500 * 1024**2)  # zero-filled: every page touched
            time.sleep(10)
        finally:
            os._exit(0)
    kids.append(pid)
for pid in kids:
    os.waitpid(pid, 0)
print("ESCAPED: 2 GB held by one session")
""",
        )
    assert "ESCAPED" not in result.logs
    assert result.restarted
    assert "more than its 1536 MB" in result.logs
    again = await run(bounded, "print('fresh', 'block' in globals())")
    assert "fresh False" in again


async def test_background_processes_end_when_the_call_returns(bounded: SessionPool) -> None:
    logs = await run(
        bounded,
        """
import subprocess, os, sys
burn = "while True: pass"
subprocess.Popen([sys.executable, "-c", burn], start_new_session=True)
if os.fork() == 0:          # a daemon: double fork, new session
    os.setsid()
    if os.fork() == 0:
        while True: pass
    os._exit(0)
print("spawned")
""",
    )
    assert "spawned" in logs
    session = bounded.sessions[("proj", "thread_a")]
    assert session.sandbox is not None
    left = [p for p in descendants(session.sandbox.process.pid) if running(p)]
    assert sorted(left) == sorted(session.sandbox.core - {session.sandbox.process.pid})
    # The kernel's state is kept: only processes end.
    assert "kept" in await run(bounded, "x = 'kept'\nprint(x)")


async def test_idle_sessions_files_count_against_the_servers_budget(bounded: SessionPool) -> None:
    write = "open('/mnt/data/blob', 'wb').write(b'0' * 30 * 1024**2)\nprint('wrote')"
    assert "wrote" in await run(bounded, write, thread="thread_a")
    assert "wrote" in await run(bounded, write, thread="thread_b")
    # 60 MB of a 64 MB budget: both kept. A third session's files pass it: the least
    # recently used idle session (thread_a) is ended, its memory released.
    assert set(bounded.sessions) == {("proj", "thread_a"), ("proj", "thread_b")}
    assert "wrote" in await run(bounded, write, thread="thread_c")
    assert ("proj", "thread_a") not in bounded.sessions
    assert ("proj", "thread_c") in bounded.sessions


async def test_a_call_keeps_at_most_max_images(bounded: SessionPool) -> None:
    session = bounded.session("proj", "thread_a")
    async with session.lock:
        result = await bounded.execute(
            session,
            """
import base64
from IPython.display import Image, display
png = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
for _ in range(3000):
    display(Image(data=png))
print("shown")
""",
        )
    assert len(result.images) == 5
    assert result.images_dropped == 2995
    assert "shown" in result.logs


async def test_new_namespaces_and_ptrace_are_denied(pool: SessionPool) -> None:
    logs = await run(
        pool,
        """
import ctypes, os, shutil, subprocess
libc = ctypes.CDLL(None, use_errno=True)
for name, call in [
    ("unshare user", lambda: libc.unshare(0x10000000)),
    ("unshare mount", lambda: libc.unshare(0x00020000)),
    ("ptrace", lambda: libc.ptrace(0, 0, 0, 0)),
]:
    ok = call() == 0
    print(("ESCAPED " if ok else "denied ") + name, ctypes.get_errno())
if shutil.which("unshare"):
    done = subprocess.run(["unshare", "-U", "true"], capture_output=True)
    print("ESCAPED unshare -U" if done.returncode == 0 else "denied unshare -U")
print("threads and children work:", subprocess.run(["true"]).returncode == 0)
""",
    )
    assert "ESCAPED" not in logs, logs
    assert logs.count("denied") >= 3
    assert "threads and children work: True" in logs
