"""Embedded model: generation tokens/s through a run vs llama-cpp-python called directly.

Same GGUF, same prompt, same max_tokens, temperature 0, in the same benchmark run.
Direct: `Llama.create_chat_completion(stream=True)` in this process, timed from the call
to the last token. Through a run: `runs.create` to `completed` on a local assistantd
(its worker runs llama.cpp in-process), polled every 50 ms; tokens are the run's
`usage.completion_tokens`. Both include prompt processing.

Reproduce: make dev && .venv/bin/python -m bench.runs_embedded
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import openai
from llama_cpp import Llama

from assistantd.providers.embedded import bundled_model_path
from bench.harness import assistantd_server, machine

SYSTEM = "You are a helpful assistant."
PROMPT = "Write a long story about a penguin who learns to fly."


def _direct(max_tokens: int, rounds: int) -> float:
    llama = Llama(model_path=str(bundled_model_path()), n_ctx=8192, n_threads=2, verbose=False)
    rates = []
    for _ in range(rounds):
        started = time.perf_counter()
        tokens = 0
        for chunk in llama.create_chat_completion(
            messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": PROMPT}],
            stream=True,
            max_tokens=max_tokens,
            temperature=0,
        ):
            if chunk["choices"][0]["delta"].get("content"):
                tokens += 1
        rates.append(tokens / (time.perf_counter() - started))
    return statistics.median(rates)


def _through_runs(base_url: str, max_tokens: int, rounds: int) -> float:
    client = openai.OpenAI(base_url=f"{base_url}/v1", api_key="x")
    assistant = client.beta.assistants.create(model="gpt-4o", instructions=SYSTEM, temperature=0)
    rates = []
    for i in range(rounds + 1):
        thread = client.beta.threads.create(messages=[{"role": "user", "content": PROMPT}])
        started = time.perf_counter()
        run = client.beta.threads.runs.create(
            thread_id=thread.id, assistant_id=assistant.id, max_completion_tokens=max_tokens
        )
        run = client.beta.threads.runs.poll(run.id, thread_id=thread.id, poll_interval_ms=50)
        elapsed = time.perf_counter() - started
        assert run.usage is not None, run.last_error
        if i:  # the first run loads the model
            rates.append(run.usage.completion_tokens / elapsed)
    return statistics.median(rates)


def main() -> None:
    warnings.simplefilter("ignore", DeprecationWarning)
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-tokens", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    direct = _direct(args.max_tokens, args.rounds)
    with assistantd_server(Path(tempfile.mkdtemp(prefix="assistantd-embedded-"))) as server:
        through = _through_runs(server, args.max_tokens, args.rounds)
    shape = f"SmolLM2-135M Q4_1, max_tokens {args.max_tokens}, median of {args.rounds}"
    print(f"machine: {machine()}; {shape}")
    print("| path | tokens/s | ratio |")
    print("|---|---|---|")
    print(f"| llama-cpp-python directly (baseline) | {direct:.1f} | 1.00 |")
    print(f"| through a run (runs.create → completed) | {through:.1f} | {through / direct:.2f} |")
    flags = f"--max-tokens {args.max_tokens} --rounds {args.rounds}"
    print(f"reproduce: .venv/bin/python -m bench.runs_embedded {flags}")


if __name__ == "__main__":
    main()
