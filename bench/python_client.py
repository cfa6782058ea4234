"""The Python client's side of the benchmark's "Python client" section (bench/python.ts).

Reads one JSON command per line on stdin and answers each with one JSON line on stdout:
  {"cmd": "connect", "url": ...}                      → {"ok": true}
  {"cmd": "put", "board", "inFlight", "count"}        → {"seconds", "latencies": [ms, ...], "refused"}
  {"cmd": "subscribe", "board", "expect"}             → {"ready": true}, then, once `expect`
                                                        events arrived, {"events", "lastAt"}
                                                        (epoch ms of the last one)
  {"cmd": "replay", "board", "expect"}                → {"events", "seconds"}: subscribe with
                                                        fromRev 1 until `expect` events arrived
  {"cmd": "quit"}
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import blackboard

SAMPLE_VALUE = {"status": "working", "step": 3, "notes": "a small agent state value"}
#: Replies refusing a request with RATE_LIMITED (the client sends those again after retryAfterMs).
refused = 0


def count_refusals(direction: str, text: str) -> None:
    global refused
    if direction == "receive" and '"RATE_LIMITED"' in text:
        refused += 1


def answer(reply: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()


async def put(bb: blackboard.Client, board: str, in_flight: int, count: int) -> dict[str, Any]:
    latencies: list[float] = [0.0] * count
    next_index = 0

    async def lane() -> None:
        nonlocal next_index
        while next_index < count:
            i = next_index
            next_index += 1
            t0 = time.perf_counter()
            await bb.put(board, f"k/{i % 100}", SAMPLE_VALUE)
            latencies[i] = (time.perf_counter() - t0) * 1000

    refused_before = refused
    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(in_flight)))
    return {"seconds": time.perf_counter() - started, "latencies": latencies, "refused": refused - refused_before}


async def subscribe(bb: blackboard.Client, board: str, expect: int, from_rev: int | None = None) -> None:
    received = 0
    done: asyncio.Future[float] = asyncio.get_running_loop().create_future()

    def count(events: list[blackboard.Event]) -> None:
        nonlocal received
        received += len(events)
        if received >= expect and not done.done():
            done.set_result(time.time() * 1000)

    started = time.time() * 1000
    result = await bb.subscribe(board, ["**"], from_rev=from_rev, on_events=count)
    if from_rev is None:
        answer({"ready": True})
    last_at = await asyncio.wait_for(done, 300)
    await bb.unsubscribe(result.sub)
    answer({"events": received, "lastAt": last_at, "seconds": (last_at - started) / 1000})


async def main() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    bb: blackboard.Client | None = None
    pending: set[asyncio.Task[None]] = set()
    while line := await reader.readline():
        command = json.loads(line)
        kind = command["cmd"]
        if kind == "connect":
            bb = blackboard.Client(command["url"], agent="bench-python", request_timeout_ms=120_000, frame_observer=count_refusals)
            # A subscription ends with its socket: say so, or the wait for its events would be a mystery.
            bb.add_listener("close", lambda code, reason: print(f"connection closed: {code} {reason}", file=sys.stderr, flush=True))
            await bb.connect()
            answer({"ok": True})
        elif kind == "put" and bb is not None:
            answer(await put(bb, command["board"], command["inFlight"], command["count"]))
        elif kind in ("subscribe", "replay") and bb is not None:
            from_rev = 1 if kind == "replay" else None
            task = loop.create_task(subscribe(bb, command["board"], command["expect"], from_rev))
            pending.add(task)
            task.add_done_callback(pending.discard)
        elif kind == "quit":
            break
    if bb is not None:
        await bb.close()


if __name__ == "__main__":
    asyncio.run(main())
