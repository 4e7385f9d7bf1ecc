"""The README's tutorial: run it against `make serve` (or set OPENAI_BASE_URL)."""

import os

from openai import OpenAI

client = OpenAI(
    base_url=os.environ.get("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1"),
    api_key=os.environ.get("OPENAI_API_KEY", "sk-anything-while-open"),
)

assistant = client.beta.assistants.create(
    model="gpt-4-turbo",
    instructions="You are a helpful assistant.",
    name="Message Holder",
    metadata={"holds_messages": "True", "likes_messages": "True"},
    temperature=1,
    top_p=1,
)
thread = client.beta.threads.create(metadata={"user": "abc123"})
message = client.beta.threads.messages.create(
    thread_id=thread.id, role="user", content="What is a penguin?"
)

for m in client.beta.threads.messages.list(thread_id=thread.id, order="asc"):  # auto-paginates
    print(m.id, m.role, m.content[0].text.value)  # type: ignore[union-attr]

client.beta.threads.messages.update(message.id, thread_id=thread.id, metadata={"seen": "yes"})
client.beta.assistants.update(assistant.id, name="Renamed")
print([a.name for a in client.beta.assistants.list()])
client.beta.threads.messages.delete(message.id, thread_id=thread.id)
client.beta.threads.delete(thread.id)  # deletes its messages too
client.beta.assistants.delete(assistant.id)
