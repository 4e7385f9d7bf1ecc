"""docs/migrating.md, right column: the same app on Responses + Conversations.

Given the ids the Assistants version printed, it goes on with the same data: the
assistant is the prompt, the thread is the conversation. Without them it starts
afresh, as new code would."""

import json
import os
import sys

from openai import OpenAI

client = OpenAI(
    base_url=os.environ.get("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1"),
    api_key=os.environ.get("OPENAI_API_KEY", "sk-anything-while-open"),
)

if len(sys.argv) > 1:  # the Assistants app's data, as it left it
    ids = json.loads(sys.argv[1])
    assistant_id, conversation_id = ids["assistant_id"], ids["thread_id"]
else:
    notes = client.files.create(
        file=("launch.md", b"# Launch notes\n\nThe launch code is 4242. Ada chose it."),
        purpose="assistants",
    )
    store = client.vector_stores.create(name="Launch notes", file_ids=[notes.id])
    assistant_id = client.beta.assistants.create(
        model="gpt-4o",
        name="Launch desk",
        instructions="Answer from the launch notes.",
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [store.id]}},
    ).id
    conversation_id = client.conversations.create().id

# A run is a response: the assistant gives it its model, instructions and tools.
response = client.responses.create(
    prompt={"id": assistant_id},
    conversation=conversation_id,
    input="Who chose it?",
)
print("response:", response.status)
print("answer:", response.output_text)

# The thread's messages are the conversation's items, old and new, newest last.
for item in client.conversations.items.list(conversation_id, order="asc"):
    if item.type == "message":
        print(item.role, "|", item.content[0].type)  # type: ignore[union-attr]
