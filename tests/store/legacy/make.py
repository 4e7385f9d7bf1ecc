"""Make tests/store/legacy/<name>.tar.gz: a data directory (SQLite database and blobs)
written by an older assistantd, for tests/store/test_legacy_rows.py.

    python -m tests.store.legacy.make 3d97d3c 0.x

checks the commit out in a temporary worktree, serves it (its code, this tree's tests),
drives it with the official SDK against the scripted upstream until two runs wait in
`requires_action` with every kind of private state that code kept (file_search sources
and exchanges, include[], code_interpreter files and a pending image), then packs the
data directory. Needs bwrap for the code_interpreter run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import openai

from tests.servers import Server
from tests.upstream import Reply, ScriptedUpstream, route_env

HERE = Path(__file__).parent
CHART = (
    "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [2, 4, 8])\nplt.show()\n"
    "open('/mnt/data/out.txt', 'w').write('kept')\nprint(open('/mnt/data/notes.txt').read())"
)


def _wait(client: openai.OpenAI, thread_id: str, run_id: str) -> str:
    for _ in range(600):
        run = client.beta.threads.runs.retrieve(run_id, thread_id=thread_id)
        if run.status not in ("queued", "in_progress"):
            return run.status
        time.sleep(0.1)
    raise TimeoutError(run_id)


def scenario(client: openai.OpenAI, upstream: ScriptedUpstream) -> dict[str, str]:
    lookup = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}
    doc = client.files.create(
        file=("favorite_foods.txt", b"Filip's favorite food is carrot cake."),
        purpose="assistants",
    )
    store = client.vector_stores.create(name="foods", file_ids=[doc.id])
    while client.vector_stores.retrieve(store.id).status == "in_progress":
        time.sleep(0.1)
    searcher = client.beta.assistants.create(
        model="scripted-old",
        instructions="Answer from the files.",
        tools=[{"type": "file_search"}, lookup],
        tool_resources={"file_search": {"vector_store_ids": [store.id]}},
        metadata={"made_by": "0.x"},
    )
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Food?"}])
    upstream.script(
        Reply(tool_calls=[("file_search", json.dumps({"query": "favorite food"}))]),
        Reply(tool_calls=[("lookup", "{}")]),
    )
    run = client.beta.threads.runs.create(
        thread_id=thread.id,
        assistant_id=searcher.id,
        additional_instructions="Be brief.",
        include=["step_details.tool_calls[*].file_search.results[*].content"],
    )
    assert _wait(client, thread.id, run.id) == "requires_action"

    notes = client.files.create(file=("notes.txt", b"from the old server"), purpose="assistants")
    coder = client.beta.assistants.create(
        model="scripted-old",
        tools=[{"type": "code_interpreter"}, lookup],
        tool_resources={"code_interpreter": {"file_ids": [notes.id]}},
    )
    code_thread = client.beta.threads.create(messages=[{"role": "user", "content": "Plot."}])
    upstream.script(
        Reply(tool_calls=[("code_interpreter", json.dumps({"code": CHART}))]),
        Reply(tool_calls=[("lookup", "{}")]),
    )
    code_run = client.beta.threads.runs.create(thread_id=code_thread.id, assistant_id=coder.id)
    assert _wait(client, code_thread.id, code_run.id) == "requires_action"
    return {
        "file_id": doc.id,
        "store_id": store.id,
        "search_thread": thread.id,
        "search_run": run.id,
        "notes_id": notes.id,
        "code_thread": code_thread.id,
        "code_run": code_run.id,
    }


def main(ref: str, name: str) -> None:
    root = Path(subprocess.check_output(["git", "rev-parse", "--show-toplevel"], text=True).strip())
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "old"
        subprocess.run(["git", "-C", str(root), "worktree", "add", "-f", str(old), ref], check=True)
        data = Path(tmp) / "data"
        data.mkdir()
        try:
            with ScriptedUpstream().running() as upstream:
                env = {
                    **route_env(upstream),
                    "PYTHONPATH": str(old / "src"),
                    # The runs wait for tool outputs for ten years, not ten minutes.
                    "ASSISTANTD_REQUIRES_ACTION_TTL_S": str(10 * 365 * 86400),
                }
                server = Server(f"sqlite:///{data / 'assistantd.db'}", data, env).start()
                try:
                    client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="x")
                    ids = scenario(client, upstream)
                finally:
                    server.stop()
        finally:
            subprocess.run(["git", "-C", str(root), "worktree", "remove", "-f", str(old)])
        (data / "server.log").unlink()
        (data / "ids.json").write_text(json.dumps({"ref": ref, **ids}, indent=1))
        with tarfile.open(HERE / f"{name}.tar.gz", "w:gz") as tar:
            tar.add(data, arcname=name)
    print(f"wrote {HERE / name}.tar.gz from {ref}: {ids}")  # noqa: T201 - a command


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
