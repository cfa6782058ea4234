"""Plain asyncio for tests: each test runs its coroutine with ``run``; waits are bounded."""

from __future__ import annotations

import asyncio
import inspect
import secrets
from typing import Any, Awaitable, Callable, Coroutine, TypeVar, Union

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T], timeout: float = 180.0) -> T:
    """Runs a test's coroutine in a fresh event loop, failing it after ``timeout`` seconds."""

    async def bounded() -> T:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


async def wait_until(
    condition: Callable[[], Union[bool, Awaitable[bool]]], timeout: float = 20.0, what: str = "condition", interval: float = 0.01
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        outcome = condition()
        if inspect.isawaitable(outcome):
            outcome = await outcome
        if outcome:
            return
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(interval)


def random_board(prefix: str = "py") -> str:
    """A random board name, so tests never see each other's state."""
    return f"{prefix}-{secrets.token_hex(6)}"
