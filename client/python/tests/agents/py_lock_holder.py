"""A Python agent that holds a lock in its own process, for tests that freeze it (SIGSTOP).

    py_lock_holder.py <ws url> <agent> <board> <lock> <ttlMs>

Holds the lock with ``async with client.lock`` and writes ``agent/w<seq>`` with its fence
every 25 ms, paying no heed to ``lock.lost`` (the worst case), until a write is FENCED;
then exits. One JSON line per event: acquired, wrote, fenced.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import blackboard
from _frame_file import frame_observer


def report(**line: Any) -> None:
    print(json.dumps({**line, "at": int(time.time() * 1000)}), flush=True)


async def main(url: str, agent: str, board: str, name: str, ttl_ms: int) -> None:
    async with blackboard.Client(url, agent=agent, frame_observer=frame_observer()) as bb:
        async with bb.lock(board, name, ttl_ms=ttl_ms, wait_ms=5_000) as lock:
            report(event="acquired", token=lock.token)
            seq = 0
            while True:
                try:
                    result = await bb.put(board, f"agent/w{seq}", {"seq": seq, "token": lock.token}, fence=lock)
                except blackboard.FencedError:
                    report(event="fenced", seq=seq, lost=lock.lost)
                    return
                report(event="wrote", seq=seq, rev=result.rev)
                seq += 1
                await asyncio.sleep(0.025)


if __name__ == "__main__":
    url, agent, board, name, ttl = sys.argv[1:6]
    asyncio.run(main(url, agent, board, name, int(ttl)))
