"""Wall-clock time in the unit every `*_at` field uses: whole Unix seconds."""

from __future__ import annotations

import time

__all__ = ["now"]


def now() -> int:
    return int(time.time())
