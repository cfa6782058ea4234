# A minimal agent in Python: claims a step of a shared plan, counts it under a
# compare-and-set, and keeps a live replica of the plan.
# Run: PYTHONPATH=client/python python3 examples/agent.py [agent-name]
import asyncio, os, sys
import blackboard

async def main(agent: str) -> None:
    async with blackboard.Client(os.environ.get("BLACKBOARD_URL", "ws://127.0.0.1:8080"), agent=agent) as bb:
        # A live replica of the plan, kept current across reconnects.
        async with bb.watch("demo", ["plan/**"]) as plan:
            # Append our claim to a shared list: concurrent appends never lose one another.
            try:
                await bb.put("demo", "plan/claims", {"items": []}, if_version=0)
            except blackboard.ConflictError:
                pass  # another agent created it first
            await bb.patch("demo", "plan/claims", [{"op": "add", "path": "/items/-", "value": agent}])
            # Count finished steps with a read-modify-write that retries on conflict.
            done = await bb.update("demo", "plan/done", lambda n: (n or 0) + 1)
            print(f"{agent}: {done.value} steps done; the plan holds {len(plan.replica)} keys")

asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "agent-1"))
