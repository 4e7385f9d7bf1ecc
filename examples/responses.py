"""The README's Responses example: a two-turn conversation chained by
`previous_response_id`, answered by whatever model the server routes `gpt-4o` to (the
embedded model by default)."""

from openai import OpenAI

client = OpenAI()  # OPENAI_BASE_URL=http://127.0.0.1:8000/v1, OPENAI_API_KEY=anything

first = client.responses.create(model="gpt-4o", input="My name is Ada.")
second = client.responses.create(
    model="gpt-4o", input="What is my name?", previous_response_id=first.id
)
print(second.output_text)
print(second.status, second.previous_response_id == first.id)
