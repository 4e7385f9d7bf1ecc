"""Unpack the SDKs' own examples for the installed versions into tests/third_party/
(git-ignored), for tests/contract/test_sdk_examples.py and test_conversation_clients.py:
openai-python's `examples/` and the OpenAI Agents SDK's `examples/memory/`.

The examples ship in each package's source distribution on PyPI, not in its wheel, so
this downloads that sdist (the pinned version, from the configured package index, as
any other test dependency is installed) and keeps only the examples. They are run
unmodified; nothing of them is committed here.

    .venv/bin/python scripts/fetch_sdk_examples.py
"""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

THIRD_PARTY = Path(__file__).parents[1] / "tests" / "third_party"
# (distribution, its sdist's file-name stem, the examples folder kept, target folder)
SDKS = (
    ("openai", "openai", "examples", "openai-python"),
    ("openai-agents", "openai_agents", "examples/memory", "openai-agents"),
)


def fetch(distribution: str, stem: str, kept: str, target: Path) -> None:
    version = importlib.metadata.version(distribution)
    stamp = target / "VERSION"
    if stamp.exists() and stamp.read_text().strip() == version:
        return
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--no-binary", ":all:", "--dest", tmp, f"{distribution}=={version}"],
            check=True,
        )  # fmt: skip
        (sdist,) = Path(tmp).glob(f"{stem}-*.tar.gz")
        root = f"{stem}-{version}"
        with tarfile.open(sdist) as archive:
            members = [m for m in archive.getmembers() if m.name.startswith(f"{root}/{kept}/")]
            archive.extractall(tmp, members=members, filter="data")
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True, exist_ok=True)
        shutil.copytree(Path(tmp) / root / kept, target / kept)
    stamp.write_text(version + "\n")
    print(f"{distribution} {version} examples in {target}")  # noqa: T201 - a command


def main() -> None:
    for distribution, stem, kept, folder in SDKS:
        fetch(distribution, stem, kept, THIRD_PARTY / folder)


if __name__ == "__main__":
    main()
