"""The Redis the scale-out tests use: the machine's (127.0.0.1:6379, started by
scripts/ensure-services.sh), or ASSISTANTD_TEST_REDIS. Each test keys its data under a
prefix of its own, so tests and test runs never see each other's events or limits."""

from __future__ import annotations

import os
import uuid

REDIS_URL = os.environ.get("ASSISTANTD_TEST_REDIS", "redis://127.0.0.1:6379/0")


def new_prefix() -> str:
    return f"assistantd-test-{uuid.uuid4().hex[:12]}:"
