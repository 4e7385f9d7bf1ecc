"""code_interpreter, as OpenAI's cookbook used it: a CSV for the assistant, a streamed
run whose handler prints the code as the model writes it and the output once it ran.
Against `make serve` it runs offline on the embedded model (needs bubblewrap)."""

import os
import sys

from openai import AssistantEventHandler, OpenAI
from openai.types.beta.threads.runs import ToolCall, ToolCallDelta

client = OpenAI(
    base_url=os.environ.get("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1"),
    api_key=os.environ.get("OPENAI_API_KEY", "sk-anything-while-open"),
)

csv = client.files.create(
    file=("cities.csv", b"city,people\nOslo,700000\nBergen,290000\nTromso,77000\n"),
    purpose="assistants",
)
assistant = client.beta.assistants.create(
    model="gpt-4o",
    instructions="You are a data analyst. Write and run Python to answer.",
    tools=[{"type": "code_interpreter"}],
    tool_resources={"code_interpreter": {"file_ids": [csv.id]}},
)
thread = client.beta.threads.create(
    messages=[{"role": "user", "content": "Load /mnt/data/cities.csv and print its rows."}]
)


class EventHandler(AssistantEventHandler):
    def on_text_delta(self, delta, snapshot):  # type: ignore[no-untyped-def]
        print(delta.value, end="", flush=True)

    def on_tool_call_created(self, tool_call: ToolCall) -> None:
        print(f"\nassistant > {tool_call.type}\n", flush=True)

    def on_tool_call_delta(self, delta: ToolCallDelta, snapshot: ToolCall) -> None:
        if delta.type == "code_interpreter" and delta.code_interpreter:
            if delta.code_interpreter.input:
                print(delta.code_interpreter.input, end="", flush=True)
            if delta.code_interpreter.outputs:
                print("\n\noutput >", flush=True)
                for output in delta.code_interpreter.outputs:
                    if output.type == "logs":
                        print(output.logs, flush=True)


with client.beta.threads.runs.stream(
    thread_id=thread.id,
    assistant_id=assistant.id,
    tool_choice={"type": "code_interpreter"},
    max_completion_tokens=300,
    event_handler=EventHandler(),
) as stream:
    stream.until_done()
    run = stream.get_final_run()
print("\nrun:", run.status)

steps = client.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id)
calls = [
    call.code_interpreter
    for step in steps
    if step.step_details.type == "tool_calls"
    for call in step.step_details.tool_calls
    if call.type == "code_interpreter"
]
logs = "".join(o.logs for c in calls for o in c.outputs if o.type == "logs")
if not calls or "Python session" in logs or run.status == "failed":
    sys.exit(f"the code did not run: {run.last_error or logs}")
