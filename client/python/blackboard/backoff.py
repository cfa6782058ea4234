"""Full-jitter exponential backoff, so that clients reconnecting together spread out."""

from __future__ import annotations

import random as _random
from typing import Callable


def full_jitter_delay(
    attempt: int,
    base_ms: float = 100,
    cap_ms: float = 5_000,
    random: Callable[[], float] = _random.random,
) -> float:
    """A delay in milliseconds, uniform between 0 and ``min(cap_ms, base_ms * 2**attempt)``."""
    ceiling = min(cap_ms, base_ms * (1 << min(max(attempt, 0), 30)))
    return random() * ceiling
