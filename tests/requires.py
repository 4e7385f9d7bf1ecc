"""Tests that need a system program skip without it on a developer's machine, but never
in CI (`CI` set): there `.ci/run` installs it, and a missing one must fail loudly."""

from __future__ import annotations

import os
import shutil

import pytest

__all__ = ["requires"]


def requires(program: str) -> pytest.MarkDecorator:
    missing = shutil.which(program) is None and not os.environ.get("CI")
    return pytest.mark.skipif(missing, reason=f"{program} is not installed")
