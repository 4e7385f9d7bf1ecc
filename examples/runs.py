"""Runs, polled and streamed: against `make serve` this answers with the embedded model."""

import os

from openai import AssistantEventHandler, OpenAI

client = OpenAI(
    base_url=os.environ.get("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1"),
    api_key=os.environ.get("OPENAI_API_KEY", "sk-anything-while-open"),
)

assistant = client.beta.assistants.create(
    model="gpt-4o", instructions="You are a helpful assistant."
)
thread = client.beta.threads.create(messages=[{"role": "user", "content": "What is a penguin?"}])

run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
print(run.status, run.usage)
print(client.beta.threads.messages.list(thread_id=thread.id).data[0].content[0].text.value)


class Printer(AssistantEventHandler):
    def on_text_delta(self, delta, snapshot):  # type: ignore[no-untyped-def]
        print(delta.value, end="", flush=True)


client.beta.threads.messages.create(thread.id, role="user", content="And where do they live?")
with client.beta.threads.runs.stream(
    thread_id=thread.id, assistant_id=assistant.id, event_handler=Printer()
) as stream:
    stream.until_done()
print()
print(stream.get_final_run().status)
