"""docs/migrating.md, left column: a small Assistants app. It makes an assistant that
answers from a file, a thread whose first message attaches the file, runs it and
prints the answer; then the ids the Responses version continues from."""

import json
import os

from openai import OpenAI

client = OpenAI(
    base_url=os.environ.get("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1"),
    api_key=os.environ.get("OPENAI_API_KEY", "sk-anything-while-open"),
)

notes = client.files.create(
    file=("launch.md", b"# Launch notes\n\nThe launch code is 4242. Ada chose it."),
    purpose="assistants",
)
assistant = client.beta.assistants.create(
    model="gpt-4o",
    name="Launch desk",
    instructions="Answer from the launch notes.",
    tools=[{"type": "file_search"}],
)
thread = client.beta.threads.create(
    messages=[
        {
            "role": "user",
            "content": "What is the launch code?",
            "attachments": [{"file_id": notes.id, "tools": [{"type": "file_search"}]}],
        }
    ]
)
run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
answer = client.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data[0]
print("run:", run.status)
print("answer:", answer.content[0].text.value)  # type: ignore[union-attr]
print(json.dumps({"assistant_id": assistant.id, "thread_id": thread.id}))
