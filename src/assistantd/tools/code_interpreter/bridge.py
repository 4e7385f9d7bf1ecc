"""Runs inside the sandbox: a Jupyter kernel, and a pipe to the server.

The server cannot reach the kernel's ZeroMQ sockets (the sandbox has its own network
namespace), and binding a host directory for IPC sockets would hand the code a writable
place outside its size-capped tmpfs. So this small process starts `ipykernel` with
`jupyter_client` on the sandbox's private loopback and relays requests from stdin and
results to stdout, one JSON object per line. It imports nothing from assistantd: it
is bound into the sandbox as a single file.

Requests: {"op": "exec", "code"}, {"op": "put", "name", "data" (base64), "append"},
{"op": "get", "name", "offset", "length"}, {"op": "list"}.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import re
import subprocess
import sys
from typing import Any

DATA = "/mnt/data"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_MAX_LOGS = 64 * 1024  # what the model and the step are shown of one call's output


def _drop_privileges() -> None:
    """bwrap sets the mounts up as root when the server is root; the code runs as the
    session's own unprivileged uid (so RLIMIT_NPROC applies, per session)."""
    uid = int(os.environ.pop("SANDBOX_UID", "0") or 0)
    if os.getuid() == 0 and uid:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)


def _send(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def _safe(name: str) -> str:
    base = os.path.basename(name)
    if base in ("", ".", "..") or base != name:
        raise ValueError(f"bad file name: {name!r}")
    return os.path.join(DATA, base)


def _shown(data: dict[str, Any], logs: list[str], images: list[str], max_images: int) -> int:
    """Keep what a display shows (a PNG, else its text); 1 if it was a PNG past the cap."""
    if "image/png" in data:
        if len(images) >= max_images:
            return 1
        images.append(data["image/png"])
    elif "text/plain" in data:
        logs.append(data["text/plain"] + "\n")
    return 0


class Bridge:
    def __init__(self) -> None:
        from jupyter_client.manager import KernelManager

        self.km = KernelManager(kernel_name="python3")
        # The kernel's own stdout/stderr must not reach the pipe to the server.
        self.km.start_kernel(
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL
        )
        self.kc = self.km.blocking_client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)

    def execute(self, code: str, max_images: int) -> dict[str, Any]:
        msg_id = self.kc.execute(code, store_history=True, allow_stdin=False)
        logs: list[str] = []
        images: list[str] = []
        dropped = 0  # images past `max_images`: counted, never sent
        error = False
        while True:
            try:
                msg = self.kc.get_iopub_msg(timeout=1)
            except queue.Empty:
                if not self.km.is_alive():
                    # Killed (a signal, the OOM killer): end the bridge too, so the server
                    # sees the session end now instead of at the call's timeout.
                    sys.exit(3)
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                logs.append(content["text"])
            elif kind in ("execute_result", "display_data"):
                dropped += _shown(content.get("data", {}), logs, images, max_images)
            elif kind == "error":
                error = True
                logs.append(_ANSI.sub("", "\n".join(content["traceback"])) + "\n")
            elif kind == "status" and content["execution_state"] == "idle":
                break
        text = "".join(logs)
        if len(text) > _MAX_LOGS:
            text = text[: _MAX_LOGS // 2] + "\n[... output cut ...]\n" + text[-_MAX_LOGS // 2 :]
        return {
            "ok": True,
            "logs": text,
            "images": images,
            "images_dropped": dropped,
            "error": error,
        }

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "exec":
            return self.execute(str(request["code"]), int(request.get("max_images", 10)))
        if op == "put":
            with open(_safe(request["name"]), "ab" if request.get("append") else "wb") as f:
                f.write(base64.b64decode(request["data"]))
            return {"ok": True}
        if op == "get":
            path = _safe(request["name"])
            if not os.path.isfile(path):
                return {"ok": False, "error": "missing"}
            with open(path, "rb") as f:
                f.seek(int(request["offset"]))
                data = f.read(int(request["length"]))
            size = os.path.getsize(path)
            return {"ok": True, "size": size, "data": base64.b64encode(data).decode()}
        if op == "list":
            names = sorted(n for n in os.listdir(DATA) if os.path.isfile(os.path.join(DATA, n)))
            return {"ok": True, "names": names}
        return {"ok": False, "error": f"unknown op {op!r}"}


def main() -> None:
    _drop_privileges()
    bridge = Bridge()
    _send({"ok": True, "ready": True})
    for line in sys.stdin:
        try:
            reply = bridge.handle(json.loads(line))
        except Exception as exc:  # one bad request must not end the session
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        _send(reply)


if __name__ == "__main__":
    main()
