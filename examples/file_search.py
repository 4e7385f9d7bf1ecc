"""File search, as OpenAI's guide wrote it: a vector store, an assistant that searches it,
and an answer whose citations are listed. Against `make serve` everything runs offline."""

import os

from openai import OpenAI

client = OpenAI(
    base_url=os.environ.get("OPENAI_BASE_URL", "http://127.0.0.1:8000/v1"),
    api_key=os.environ.get("OPENAI_API_KEY", "sk-anything-while-open"),
)

store = client.vector_stores.create(name="Financial statements")
batch = client.vector_stores.file_batches.upload_and_poll(
    vector_store_id=store.id,
    files=[
        ("goog-10k.md", b"# Alphabet 10-K\nTotal revenues were $282.8 billion in 2022."),
        ("brka-10k.md", b"# Berkshire 10-K\nInsurance float reached $164 billion."),
    ],
)
print(batch.status, batch.file_counts.completed, "files")

results = client.vector_stores.search(store.id, query="What were Alphabet's revenues?")
print("top result:", results.data[0].filename)

assistant = client.beta.assistants.create(
    model="gpt-4o",
    instructions="You are an expert financial analyst. Answer from the statements.",
    tools=[{"type": "file_search"}],
    tool_resources={"file_search": {"vector_store_ids": [store.id]}},
)
thread = client.beta.threads.create(
    messages=[{"role": "user", "content": "What were Alphabet's total revenues in 2022?"}]
)
run = client.beta.threads.runs.create_and_poll(
    thread_id=thread.id,
    assistant_id=assistant.id,
    tool_choice={"type": "file_search"},
    max_completion_tokens=300,
)
print(run.status)

# As the guide does: replace each citation by [n] and list the cited files.
message = client.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data[0]
text = message.content[0].text
value, citations = text.value, []
for n, annotation in enumerate(text.annotations):
    value = value.replace(annotation.text, f"[{n}]")
    cited = client.files.retrieve(annotation.file_citation.file_id)
    citations.append(f"[{n}] {cited.filename}")
print(value)
print("\n".join(citations))
