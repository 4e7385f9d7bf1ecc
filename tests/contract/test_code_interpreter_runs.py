"""code_interpreter inside runs, driven by the official SDK: files in, logs, charts and
files out, sessions kept per thread, errors, timeouts, cancel, streaming; against the
scripted upstream (which writes the code each test scripts) and the embedded model."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from openai import AssistantEventHandler
from openai.types.beta.threads.runs import ToolCall, ToolCallDelta

from tests.conftest import make_client
from tests.requires import requires
from tests.servers import Server, running_server
from tests.upstream import Reply, ScriptedUpstream, route_env

pytestmark = requires("bwrap")

CSV = b"city,people\nOslo,700000\nBergen,290000\nTromso,77000\n"
IDLE_S = 8  # long enough that two back-to-back runs never see it lapse


@pytest.fixture(scope="module")
def ci_server(
    upstream: ScriptedUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    env = {
        **route_env(upstream, timeout_s=30),
        "ASSISTANTD_CODE_INTERPRETER_TIMEOUT_S": "4",
        "ASSISTANTD_CODE_INTERPRETER_IDLE_TIMEOUT_S": str(IDLE_S),
    }
    with running_server("sqlite", tmp_path_factory.mktemp("ci"), env) as srv:
        yield srv


@pytest.fixture
def cc(ci_server: Server, upstream: ScriptedUpstream) -> Iterator[openai.OpenAI]:
    upstream.reset()
    with make_client(ci_server.base_url) as client:
        yield client


def _call(code: str) -> Reply:
    return Reply(tool_calls=[("code_interpreter", json.dumps({"code": code}))])


def _assistant(client: openai.OpenAI, file_ids: list[str] | None = None) -> str:
    return client.beta.assistants.create(
        model="scripted-gpt",
        instructions="Use Python.",
        tools=[{"type": "code_interpreter"}],
        tool_resources={"code_interpreter": {"file_ids": file_ids or []}},
    ).id


def _run(client: openai.OpenAI, thread_id: str, assistant_id: str, **kw: Any) -> Any:
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread_id, assistant_id=assistant_id, poll_interval_ms=100, **kw
    )
    assert run.status == "completed", run.last_error
    return run


def _code_calls(client: openai.OpenAI, thread_id: str, run_id: str) -> list[Any]:
    steps = client.beta.threads.runs.steps.list(run_id=run_id, thread_id=thread_id, order="asc")
    return [
        call.code_interpreter
        for step in steps
        if step.step_details.type == "tool_calls"
        for call in step.step_details.tool_calls
        if call.type == "code_interpreter"
    ]


def _logs(call: Any) -> str:
    return "".join(o.logs for o in call.outputs if o.type == "logs")


def test_a_csv_attached_to_the_assistant_is_read_with_pandas(
    cc: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    f = cc.files.create(file=("cities.csv", CSV), purpose="assistants")
    code = "import pandas as pd\ndf = pd.read_csv('/mnt/data/cities.csv')\nprint(len(df))"
    upstream.script(_call(code), Reply(text="The file has 3 rows."))
    thread = cc.beta.threads.create(messages=[{"role": "user", "content": "How many rows?"}])
    run = _run(cc, thread.id, _assistant(cc, [f.id]))
    (call,) = _code_calls(cc, thread.id, run.id)
    assert call.input == code
    assert _logs(call) == "3\n"
    # The model was told where the file is, and read the output in the same run.
    tool = upstream.requests[0]["tools"][0]["function"]
    assert tool["name"] == "code_interpreter"
    assert "/mnt/data/cities.csv" in tool["description"]
    assert any(
        m["role"] == "tool" and m["content"].strip() == "3"
        for m in upstream.requests[1]["messages"]
    )
    answer = cc.beta.threads.messages.list(thread.id, run_id=run.id).data[0]
    assert answer.content[0].type == "text"
    assert answer.content[0].text.value == "The file has 3 rows."


def test_files_attached_to_a_message_for_code_interpreter_are_there(
    cc: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    f = cc.files.create(file=("notes.txt", b"hello from a message"), purpose="assistants")
    upstream.script(_call("print(open('/mnt/data/notes.txt').read())"), Reply(text="Read it."))
    thread = cc.beta.threads.create(
        messages=[
            {
                "role": "user",
                "content": "Read my notes.",
                "attachments": [{"file_id": f.id, "tools": [{"type": "code_interpreter"}]}],
            }
        ]
    )
    run = _run(cc, thread.id, _assistant(cc))
    (call,) = _code_calls(cc, thread.id, run.id)
    assert _logs(call) == "hello from a message\n"


def test_a_chart_comes_back_as_an_image_file(cc: openai.OpenAI, upstream: ScriptedUpstream) -> None:
    code = "import matplotlib.pyplot as plt\nplt.plot([1, 4, 9])\nplt.title('squares')"
    upstream.script(_call(code), Reply(text="Here is the chart."))
    thread = cc.beta.threads.create(messages=[{"role": "user", "content": "Plot squares."}])
    run = _run(cc, thread.id, _assistant(cc))
    (call,) = _code_calls(cc, thread.id, run.id)
    images = [o.image.file_id for o in call.outputs if o.type == "image"]
    assert len(images) == 1
    answer = cc.beta.threads.messages.list(thread.id, run_id=run.id).data[0]
    assert [p.type for p in answer.content] == ["image_file", "text"]
    assert answer.content[0].image_file.file_id == images[0]  # type: ignore[union-attr]
    png = cc.files.content(images[0]).read()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    meta = cc.files.retrieve(images[0])
    assert meta.purpose == "assistants_output"
    assert meta.bytes == len(png)
    # The model is told an image was shown, not handed its bytes.
    tool_message = next(m for m in upstream.requests[1]["messages"] if m["role"] == "tool")
    assert "image" in tool_message["content"]


def test_a_written_file_linked_in_the_answer_gets_a_file_path_annotation(
    cc: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    code = "import pandas as pd\ndf = pd.DataFrame({'n': [1, 2, 3]})\n"
    code += "df.to_csv('/mnt/data/out.csv', index=False)"
    answer_text = "Done: [download the CSV](sandbox:/mnt/data/out.csv)."
    upstream.script(_call(code), Reply(text=answer_text))
    thread = cc.beta.threads.create(messages=[{"role": "user", "content": "Make a CSV."}])
    run = _run(cc, thread.id, _assistant(cc))
    answer = cc.beta.threads.messages.list(thread.id, run_id=run.id).data[0]
    text = answer.content[0].text  # type: ignore[union-attr]
    assert text.value == answer_text
    (ann,) = text.annotations
    assert ann.type == "file_path"
    assert ann.text == "sandbox:/mnt/data/out.csv"
    assert text.value[ann.start_index : ann.end_index] == ann.text
    assert cc.files.content(ann.file_path.file_id).read() == b"n\n1\n2\n3\n"  # type: ignore[union-attr]
    assert cc.files.retrieve(ann.file_path.file_id).filename == "out.csv"  # type: ignore[union-attr]


def test_state_lasts_across_runs_on_a_thread_until_the_idle_timeout(
    cc: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    assistant_id = _assistant(cc)
    thread = cc.beta.threads.create(messages=[{"role": "user", "content": "Remember 41."}])
    upstream.script(_call("x = 41"), Reply(text="Kept."))
    _run(cc, thread.id, assistant_id)
    cc.beta.threads.messages.create(thread.id, role="user", content="Add one.")
    upstream.script(_call("print(x + 1)"), Reply(text="42."))
    second = _run(cc, thread.id, assistant_id)
    assert _logs(_code_calls(cc, thread.id, second.id)[0]) == "42\n"
    # Another thread has a session of its own.
    other = cc.beta.threads.create(messages=[{"role": "user", "content": "x?"}])
    upstream.script(_call("print('x' in globals())"), Reply(text="No."))
    third = _run(cc, other.id, assistant_id)
    assert _logs(_code_calls(cc, other.id, third.id)[0]) == "False\n"
    # Idle past the timeout (plus the reaper's period): the session is gone.
    time.sleep(IDLE_S + 2.5)
    cc.beta.threads.messages.create(thread.id, role="user", content="And now?")
    upstream.script(_call("print('x' in globals())"), Reply(text="Gone."))
    fourth = _run(cc, thread.id, assistant_id)
    assert _logs(_code_calls(cc, thread.id, fourth.id)[0]) == "False\n"


def test_an_exception_in_the_code_is_logs_not_a_failed_run(
    cc: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    upstream.script(_call("1 / 0"), Reply(text="Division by zero."))
    thread = cc.beta.threads.create(messages=[{"role": "user", "content": "Divide."}])
    run = _run(cc, thread.id, _assistant(cc))
    logs = _logs(_code_calls(cc, thread.id, run.id)[0])
    assert "ZeroDivisionError" in logs
    assert "Traceback" in logs or "Cell In" in logs
    assert "\x1b[" not in logs  # no terminal colours


def test_a_timeout_is_an_output_and_the_session_restarts(
    cc: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    upstream.script(
        _call("y = 1"),
        _call("import time\ntime.sleep(60)"),
        _call("print('y' in globals())"),
        Reply(text="It took too long."),
    )
    thread = cc.beta.threads.create(messages=[{"role": "user", "content": "Wait."}])
    started = time.monotonic()
    run = _run(cc, thread.id, _assistant(cc))
    assert time.monotonic() - started < 30
    calls = _code_calls(cc, thread.id, run.id)
    assert "timed out after 4 seconds" in _logs(calls[1])
    assert _logs(calls[2]) == "False\n"  # a fresh session after the restart


def test_cancel_kills_the_running_code(cc: openai.OpenAI, upstream: ScriptedUpstream) -> None:
    assistant_id = _assistant(cc)
    upstream.script(_call("import time\nz = 1\ntime.sleep(3)\nz = 2\ntime.sleep(30)"))
    thread = cc.beta.threads.create(messages=[{"role": "user", "content": "Sleep."}])
    run = cc.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant_id)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        steps = cc.beta.threads.runs.steps.list(run_id=run.id, thread_id=thread.id).data
        if any(s.step_details.type == "tool_calls" for s in steps):
            break
        time.sleep(0.05)
    cancelled_at = time.monotonic()
    cc.beta.threads.runs.cancel(run_id=run.id, thread_id=thread.id)
    while time.monotonic() < deadline + 10:
        run = cc.beta.threads.runs.retrieve(run_id=run.id, thread_id=thread.id)
        if run.status not in ("in_progress", "cancelling", "queued"):
            break
        time.sleep(0.05)
    assert run.status == "cancelled"
    # Killed at once: without the kill it would end only at the 4 s call timeout.
    assert time.monotonic() - cancelled_at < 3.5
    steps = cc.beta.threads.runs.steps.list(run_id=run.id, thread_id=thread.id).data
    assert [(s.step_details.type, s.status) for s in steps] == [("tool_calls", "cancelled")]
    # The killed session took its state along: a new call finds no z.
    upstream.script(_call("print('z' in globals())"), Reply(text="Fresh."))
    cc.beta.threads.messages.create(thread.id, role="user", content="Again.")
    after = _run(cc, thread.id, assistant_id)
    assert _logs(_code_calls(cc, thread.id, after.id)[0]) == "False\n"


class Printer(AssistantEventHandler):
    """The cookbook's handler: prints the code as it is written, then the logs."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[str] = []
        self.logs: list[str] = []
        self.images: list[str] = []
        self.created: list[str] = []
        self.text = ""

    def on_tool_call_created(self, tool_call: ToolCall) -> None:
        self.created.append(tool_call.type)

    def on_tool_call_delta(self, delta: ToolCallDelta, snapshot: ToolCall) -> None:
        if delta.type == "code_interpreter" and delta.code_interpreter:
            if delta.code_interpreter.input:
                self.inputs.append(delta.code_interpreter.input)
            for output in delta.code_interpreter.outputs or []:
                if output.type == "logs" and output.logs:
                    self.logs.append(output.logs)
                if output.type == "image" and output.image and output.image.file_id:
                    self.images.append(output.image.file_id)

    def on_text_delta(self, delta: Any, snapshot: Any) -> None:
        self.text += delta.value or ""


def test_streamed_deltas_through_the_event_handler(
    cc: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    code = "total = sum(range(10))\nprint('total é', total)"
    upstream.script(_call(code), Reply(text="The total is 45."))
    thread = cc.beta.threads.create(messages=[{"role": "user", "content": "Sum."}])
    handler = Printer()
    with cc.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=_assistant(cc), event_handler=handler
    ) as stream:
        stream.until_done()
        final = stream.get_final_run()
    assert final.status == "completed"
    assert handler.created == ["code_interpreter"]
    assert len(handler.inputs) > 3  # the code arrived piece by piece, as it was written
    assert "".join(handler.inputs) == code
    assert handler.logs == ["total é 45\n"]
    assert handler.text == "The total is 45."
    steps = stream.get_final_run_steps()
    tool_step = next(s for s in steps if s.step_details.type == "tool_calls")
    (call,) = tool_step.step_details.tool_calls  # type: ignore[union-attr]
    assert call.code_interpreter.input == code  # type: ignore[union-attr]


def test_forcing_code_interpreter(cc: openai.OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.script(_call("print(2 ** 10)"), Reply(text="1024."))
    thread = cc.beta.threads.create(messages=[{"role": "user", "content": "Compute."}])
    _run(cc, thread.id, _assistant(cc), tool_choice={"type": "code_interpreter"})
    assert upstream.requests[0]["tool_choice"] == {
        "type": "function",
        "function": {"name": "code_interpreter"},
    }
    assert upstream.requests[1]["tool_choice"] == "auto"


def _run_on_a_server_that_cannot(
    upstream: ScriptedUpstream, tmp: Path, setting: dict[str, str]
) -> tuple[Any, Any, str]:
    """On a server with `setting`, a run whose model calls code_interpreter, then a run
    of an assistant without the tool; both runs, and the server's log."""
    env = {**route_env(upstream), **setting}
    with running_server("sqlite", tmp, env) as srv, make_client(srv.base_url) as client:
        upstream.script(_call("print(1)"), Reply(text="Fine."))
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "Run."}])
        run = client.beta.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=_assistant(client), poll_interval_ms=100
        )
        plain = client.beta.assistants.create(model="scripted-gpt")
        other = client.beta.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=plain.id, poll_interval_ms=100
        )
    return run, other, (tmp / "server.log").read_text()


def test_without_bubblewrap_the_server_starts_and_the_run_says_how_to_install_it(
    upstream: ScriptedUpstream, tmp_path_factory: pytest.TempPathFactory
) -> None:
    run, other, log = _run_on_a_server_that_cannot(
        upstream,
        tmp_path_factory.mktemp("no-bwrap"),
        {"ASSISTANTD_CODE_INTERPRETER_BWRAP": "/nonexistent/bwrap"},
    )
    assert run.status == "failed"
    assert run.last_error is not None
    assert run.last_error.code == "server_error"
    assert "apt-get install bubblewrap" in run.last_error.message
    assert other.status == "completed"  # a run without the tool is unaffected
    assert log.count("code_interpreter needs bubblewrap") == 1


def test_a_python_without_ipykernel_fails_the_run_with_how_to_fix_it(
    upstream: ScriptedUpstream, tmp_path_factory: pytest.TempPathFactory
) -> None:
    tmp = tmp_path_factory.mktemp("no-kernel")
    python = tmp / "python-without-site"
    python.write_text(f'#!/bin/sh\nexec {sys.executable} -S "$@"\n')  # no site-packages
    python.chmod(0o755)
    run, other, log = _run_on_a_server_that_cannot(
        upstream, tmp, {"ASSISTANTD_CODE_INTERPRETER_PYTHON": str(python)}
    )
    assert run.status == "failed"
    assert run.last_error is not None
    assert "cannot run a Jupyter kernel" in run.last_error.message
    assert "code-interpreter" in run.last_error.message
    assert other.status == "completed"
    assert "cannot run a Jupyter kernel" in log


def test_embedded_model_forced_code_interpreter_records_its_step(cc: openai.OpenAI) -> None:
    assistant = cc.beta.assistants.create(
        model="smollm2-135m-instruct", tools=[{"type": "code_interpreter"}]
    )
    thread = cc.beta.threads.create(
        messages=[{"role": "user", "content": "Use Python to print the sum of 2 and 3."}]
    )
    run = cc.beta.threads.runs.create_and_poll(
        thread_id=thread.id,
        assistant_id=assistant.id,
        tool_choice={"type": "code_interpreter"},
        temperature=0,
        max_completion_tokens=300,
        poll_interval_ms=200,
    )
    assert run.status in ("completed", "incomplete"), run.last_error
    (call,) = _code_calls(cc, thread.id, run.id)[:1]
    assert call.input.strip()
    assert isinstance(call.outputs, list)


def test_after_six_rounds_of_code_the_model_must_answer(
    cc: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    upstream.script(*[_call(f"print({n})") for n in range(6)], Reply(text="Enough."))
    thread = cc.beta.threads.create(messages=[{"role": "user", "content": "Loop."}])
    run = _run(cc, thread.id, _assistant(cc))
    calls = _code_calls(cc, thread.id, run.id)
    assert [_logs(c) for c in calls] == [f"{n}\n" for n in range(6)]
    assert all("tools" in r for r in upstream.requests[:6])
    assert "tools" not in upstream.requests[6]  # the last turn is offered no tool


def test_upstream_models_get_no_grammar_limits_and_long_code_runs(
    cc: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    """The 512-character bound exists for the embedded model's grammar: an upstream that
    enforces schemas must not see it, and code longer than it runs."""
    lines = [f"v{i} = {i} * 3" for i in range(80)]
    code = "\n".join([*lines, "print(sum([" + ", ".join(f"v{i}" for i in range(80)) + "]))"])
    assert len(code) > 885
    upstream.script(_call(code), Reply(text="done"))
    assistant = cc.beta.assistants.create(
        model="scripted-gpt", tools=[{"type": "code_interpreter"}, {"type": "file_search"}]
    )
    thread = cc.beta.threads.create(messages=[{"role": "user", "content": "sum"}])
    run = _run(cc, thread.id, assistant.id)
    offered = json.dumps(upstream.requests[0]["tools"])
    assert "maxLength" not in offered
    assert "x-grammar" not in offered
    (call,) = _code_calls(cc, thread.id, run.id)
    assert call.input == code
    assert _logs(call).strip() == str(sum(i * 3 for i in range(80)))


def test_an_answer_turns_at_most_max_files_links_into_files(
    cc: openai.OpenAI, upstream: ScriptedUpstream
) -> None:
    code = "for i in range(25):\n    open(f'/mnt/data/f{i}.txt', 'w').write(str(i))"
    answer_text = " ".join(f"[{i}](sandbox:/mnt/data/f{i}.txt)" for i in range(25))
    upstream.script(_call(code), Reply(text=answer_text))
    thread = cc.beta.threads.create(messages=[{"role": "user", "content": "Many files."}])
    run = _run(cc, thread.id, _assistant(cc))
    answer = cc.beta.threads.messages.list(thread.id, run_id=run.id).data[0]
    text = answer.content[0].text  # type: ignore[union-attr]
    assert text.value == answer_text  # every link is still there, as text
    linked = [a.text for a in text.annotations]
    assert linked == [f"sandbox:/mnt/data/f{i}.txt" for i in range(20)]  # the default cap
