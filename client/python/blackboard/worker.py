"""Task workers: the handler runs for each task the server hands this client.

The worker registers with ``task.work`` (again after each reconnect), heartbeats each
running task every lease/3, and completes or fails it with the handler's outcome. A task
that is cancelled, or that this worker lost (its lease lapsed, its connection went, a
heartbeat was FENCED), has its handler cancelled: it is no longer this worker's to
finish, and whoever gets it next starts from its last checkpoint.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from types import TracebackType
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Literal, Union

from .connection import ConnectionState
from .errors import BlackboardError, FencedError, NotFoundError
from .types import Task

if TYPE_CHECKING:
    from .client import Client

log = logging.getLogger("blackboard")

MAX_ERROR_LENGTH = 4_096


def error_text(failure: BaseException) -> str:
    """What ``task.fail`` says of an exception, as the server takes it: valid Unicode (a lone
    surrogate, as in a file name decoded with ``surrogateescape``, is written as an escape)
    and at most MAX_ERROR_LENGTH UTF-16 code units (the server counts as JavaScript does)."""
    try:
        text = str(failure)
    except Exception:  # an exception whose __str__ fails still fails its task
        text = ""
    text = (text or type(failure).__name__)[:MAX_ERROR_LENGTH]
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > MAX_ERROR_LENGTH:
            return text[:index]
    return text


StopReason = Literal["cancelled", "lost", "stopped"]
TaskHandler = Callable[[Any, "TaskContext"], Union[Any, Awaitable[Any]]]
ErrorHook = Callable[[BaseException, str], None]


class PermanentTaskError(Exception):
    """Raise it from a handler to fail the task without a retry."""


class TaskContext:
    """What a handler gets besides the task's data."""

    def __init__(self, worker: Worker, task: Task) -> None:
        self.board = worker.board
        self.queue = worker.queue
        self.task_id = task.task_id
        self.attempt = task.attempt
        #: The last checkpoint saved, by this delivery or an earlier one (None if none yet).
        self.last_checkpoint: Any = task.checkpoint
        #: Set when the handler is being stopped: "cancelled", "lost" or "stopped".
        self.stop_reason: StopReason | None = None
        self._worker = worker
        self._token = task.token
        self._progress: float | None = None

    def _ids(self) -> dict[str, Any]:
        return {"board": self.board, "taskId": self.task_id, "token": self._token}

    async def checkpoint(self, state: Any, progress: float | None = None) -> int:
        """Saves the state to resume from; returns the checkpoint's sequence number.

        FencedError when this worker no longer holds the task (the handler is then cancelled).
        """
        args = self._ids()
        args["checkpoint"] = state
        if progress is not None:
            self._progress = progress
            args["progress"] = progress
        try:
            result = await self._worker.client.request("task.checkpoint", args)
        except (FencedError, NotFoundError):
            self._worker._abort(self.task_id, "lost")
            raise
        self.last_checkpoint = state
        seq: int = result["seq"]
        return seq

    async def progress(self, n: float) -> None:
        """Reports progress (0–100) with a heartbeat."""
        self._progress = n
        await self._heartbeat(raise_errors=True)

    async def _heartbeat(self, raise_errors: bool = False) -> None:
        args = self._ids()
        if self._progress is not None:
            args["progress"] = self._progress
        try:
            await self._worker.client.request("task.heartbeat", args)
        except (FencedError, NotFoundError):
            self._worker._abort(self.task_id, "lost")
            if raise_errors:
                raise
        except BlackboardError:
            if raise_errors:
                raise


class _Running:
    __slots__ = ("ctx", "handler", "heartbeat")

    def __init__(self, ctx: TaskContext, handler: asyncio.Task[Any], heartbeat: asyncio.Task[None]) -> None:
        self.ctx = ctx
        self.handler = handler
        self.heartbeat = heartbeat


class Worker:
    def __init__(
        self,
        client: Client,
        board: str,
        queue: str,
        handler: TaskHandler,
        *,
        concurrency: int | None = None,
        lease_ms: int = 30_000,
        on_error: ErrorHook | None = None,
    ) -> None:
        self.client = client
        self.board = board
        self.queue = queue
        #: The server's name for this worker on the current connection.
        self.worker_id: str | None = None
        self._handler = handler
        self._concurrency = concurrency
        self._lease_ms = lease_ms
        self._on_error = on_error
        self._running: dict[str, _Running] = {}
        self._jobs: set[asyncio.Task[None]] = set()
        self._started = False
        self._registered = False
        self._stopped = asyncio.Event()

    @property
    def active(self) -> int:
        return len(self._running)

    async def start(self) -> Worker:
        """Registers on the current connection; tasks arrive once it returns."""
        if not self._started:
            self._started = True
            self.client.add_listener("push", self._on_push)
            self.client.add_listener("open", self._on_open)
            self.client.add_listener("close", self._on_close)
            await self.client.connect()
            await self._register()
            self._registered = True
        return self

    async def _register(self) -> None:
        args: dict[str, Any] = {"board": self.board, "queue": self.queue, "leaseMs": self._lease_ms}
        if self._concurrency is not None:
            args["concurrency"] = self._concurrency

        def take_id(result: Any) -> None:
            # With the reply itself, before the first task push that follows it.
            self.worker_id = str(result["worker"])

        await self.client.request("task.work", args, on_result=take_id)

    async def serve(self) -> None:
        """Starts (if needed) and works until ``stop()``."""
        await self.start()
        await self._stopped.wait()

    async def stop(self, *, cancel_running: bool = False) -> None:
        """Takes no new tasks; returns once the running ones have ended (cancelled, if asked)."""
        if not self._stopped.is_set():
            self._stopped.set()
            worker_id = self.worker_id
            if worker_id is not None and self.client.state is ConnectionState.CONNECTED:
                try:
                    await self.client.request("task.stop", {"worker": worker_id}, timeout_ms=5_000)
                except BlackboardError:
                    pass
        if cancel_running:
            for task_id in list(self._running):
                self._abort(task_id, "stopped")
        if self._jobs:
            await asyncio.gather(*self._jobs, return_exceptions=True)
        self.client.remove_listener("push", self._on_push)
        self.client.remove_listener("open", self._on_open)
        self.client.remove_listener("close", self._on_close)

    async def __aenter__(self) -> Worker:
        return await self.start()

    async def __aexit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        await self.stop(cancel_running=kind is not None)

    # --- connection events ---

    def _on_open(self) -> None:
        # The first registration is start()'s; this one follows a reconnect.
        if self._stopped.is_set() or not self._registered:
            return
        job = asyncio.get_running_loop().create_task(self._reregister())
        self._jobs.add(job)
        job.add_done_callback(self._jobs.discard)

    async def _reregister(self) -> None:
        try:
            await self._register()
        except BlackboardError as err:
            self._report(err, "")

    def _on_close(self, code: int, reason: str) -> None:
        # The server releases a closed connection's tasks: their handlers must stop.
        self.worker_id = None
        for task_id in list(self._running):
            self._abort(task_id, "lost")

    def _on_push(self, message: dict[str, Any]) -> None:
        kind = message.get("push")
        if kind == "task" and message.get("worker") == self.worker_id and self.worker_id is not None:
            task = Task.from_wire(message["task"])
            job = asyncio.get_running_loop().create_task(self._run(task))
            self._jobs.add(job)
            job.add_done_callback(self._jobs.discard)
        elif kind == "task.cancel":
            task_id = message.get("taskId")
            if isinstance(task_id, str):
                self._abort(task_id, "cancelled")

    # --- running one task ---

    def _abort(self, task_id: str, reason: StopReason) -> None:
        running = self._running.get(task_id)
        if running is None or running.ctx.stop_reason is not None:
            return
        running.ctx.stop_reason = reason
        running.heartbeat.cancel()
        running.handler.cancel()

    def _report(self, err: BaseException, task_id: str) -> None:
        if self._on_error is not None:
            self._on_error(err, task_id)
        else:
            log.warning("blackboard worker %s/%s: task %s: %r", self.board, self.queue, task_id, err)

    async def _call_handler(self, task: Task, ctx: TaskContext) -> Any:
        outcome = self._handler(task.data, ctx)
        if inspect.isawaitable(outcome):
            outcome = await outcome
        return outcome

    async def _beat(self, ctx: TaskContext) -> None:
        interval = max(self._lease_ms / 3, 50) / 1000
        while True:
            await asyncio.sleep(interval)
            await ctx._heartbeat()

    async def _run(self, task: Task) -> None:
        loop = asyncio.get_running_loop()
        ctx = TaskContext(self, task)
        handler = loop.create_task(self._call_handler(task, ctx), name=f"blackboard-task-{task.task_id}")
        running = _Running(ctx, handler, loop.create_task(self._beat(ctx)))
        self._running[task.task_id] = running
        try:
            try:
                result = await asyncio.shield(handler)
                failure: BaseException | None = None
            except asyncio.CancelledError:
                if ctx.stop_reason is None:
                    raise  # this job itself was cancelled
                return  # cancelled or lost: no longer this worker's to finish
            except Exception as err:
                result, failure = None, err
            if ctx.stop_reason is not None:
                return
            ids = ctx._ids()
            try:
                if failure is None:
                    if result is not None:
                        ids["result"] = result
                    await self.client.request("task.complete", ids)
                else:
                    ids["error"] = error_text(failure)
                    ids["retryable"] = not isinstance(failure, PermanentTaskError)
                    await self.client.request("task.fail", ids)
            except BlackboardError as err:
                self._report(err, task.task_id)
        finally:
            running.heartbeat.cancel()
            if self._running.get(task.task_id) is running:
                del self._running[task.task_id]
