#!/usr/bin/env bash
# Before/after on one machine: run benchmarks on the code at REF and on this tree,
# interleaved (before, after, before, after) so drift hits both alike.
#   bench/ab.sh REF [ROUNDS]      e.g. bench/ab.sh 3d97d3c 2
# The benchmarks: messages_http (5 s cells), runs_orchestration, streaming (30 rounds).
set -uo pipefail
ref=${1:?usage: bench/ab.sh REF [ROUNDS]}
rounds=${2:-2}
here=$(cd "$(dirname "$0")/.." && pwd)
py="$here/.venv/bin/python"
old=$(mktemp -d)/before
git -C "$here" worktree add -f "$old" "$ref" >/dev/null
trap 'git -C "$here" worktree remove -f "$old"' EXIT
run() {
  cd "$2" && export PYTHONPATH="$2/src:$2"
  echo "=== $1 messages_http"; "$py" -m bench.messages_http --seconds 5
  echo "=== $1 runs_orchestration"; "$py" -m bench.runs_orchestration
  echo "=== $1 streaming"; "$py" -m bench.streaming --rounds 30
}
for _ in $(seq "$rounds"); do
  run "before ($ref)" "$old"
  run after "$here"
done
