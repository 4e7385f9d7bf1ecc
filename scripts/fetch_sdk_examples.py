"""Unpack openai-python's own examples for the installed `openai` version into
tests/third_party/ (git-ignored), for tests/contract/test_sdk_examples.py.

The examples ship in the package's source distribution on PyPI, not in its wheel, so
this downloads that sdist (the pinned version, from the configured package index, as
any other test dependency is installed) and keeps only `examples/`. They are run
unmodified; nothing of them is committed here.

    .venv/bin/python scripts/fetch_sdk_examples.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import openai

TARGET = Path(__file__).parents[1] / "tests" / "third_party" / "openai-python"


def main() -> None:
    version = openai.__version__
    stamp = TARGET / "VERSION"
    if stamp.exists() and stamp.read_text().strip() == version:
        return
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--no-binary", ":all:", "--dest", tmp, f"openai=={version}"],
            check=True,
        )  # fmt: skip
        (sdist,) = Path(tmp).glob("openai-*.tar.gz")
        with tarfile.open(sdist) as archive:
            members = [m for m in archive.getmembers() if "/examples/" in m.name]
            archive.extractall(tmp, members=members, filter="data")
        shutil.rmtree(TARGET, ignore_errors=True)
        TARGET.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(Path(tmp) / f"openai-{version}" / "examples", TARGET / "examples")
    stamp.write_text(version + "\n")
    print(f"openai {version} examples in {TARGET}")  # noqa: T201 - a command


if __name__ == "__main__":
    main()
