"""The model in a process of its own, and the asyncio client that asks it without waiting.

Decoding a loop takes milliseconds of NumPy with Python between every step, which would shake
the clock if it ran beside it under one GIL. So ``serve`` (a spawned process) loads the
model once (the model service's ``LoadedModel``) and answers its requests one at a time,
and ``ModelClient`` talks to it over a pipe from the asyncio loop without ever blocking it:
a writer thread sends, a reader thread receives and hands each answer to the loop with
``call_soon_threadsafe``; process start and stop run in the loop's executor.

Each request has an id and a deadline. Past its deadline the caller gets
``ModelTimeoutError`` (and keeps playing its current loop); the worker skips requests whose
deadline has passed before it reaches them, so a slow moment leaves no backlog, and a late
answer is dropped. If the worker dies, what was pending fails with ``ModelCrashedError`` and
the next request starts a new worker. The worker ignores Ctrl-C (the engine stops it) and
leaves when the engine's end of the pipe closes, so it never outlives the engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

from latentjam.engine.errors import (
    ModelCrashedError,
    ModelRequestError,
    ModelTimeoutError,
    ModelWorkerError,
)
from latentjam.models.service import LoadedModel, ModelError, ModelInfo, ModelRequest, ModelResult

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 2.0  # longest wait for one answer
DEFAULT_START_TIMEOUT_S = 60.0  # longest wait for the worker to load its model
DEFAULT_NICE = 5  # the worker yields the CPU to the clock and output thread on a busy machine
STOP_TIMEOUT_S = 2.0  # then terminate, then kill
_CLOSE_PIPE = object()  # tells the writer thread to finish

# On the pipe, engine -> worker: (request id, deadline on time.monotonic(), request), or None
# to stop. Worker -> engine: ("ready", ModelInfo) | ("failed", text) |
# ("result", id, ModelResult) | ("error", id, text) | ("expired", id).


def _describe(err: BaseException) -> str:
    return str(err) if str(err) else type(err).__name__


def serve(conn: Connection, model: str | Path | None, config: object, nice: int) -> None:
    """The worker process: load the model once, answer until told to stop or the engine
    goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if nice:
        with contextlib.suppress(OSError):
            os.nice(nice)
    try:
        loaded = LoadedModel(model, config)
    except Exception as err:  # every failure to load goes back as its message
        with contextlib.suppress(OSError):
            conn.send(("failed", _describe(err)))
        return
    with contextlib.suppress(EOFError, OSError):
        conn.send(("ready", loaded.info))
        while (message := conn.recv()) is not None:
            request_id, deadline, request = message
            if time.monotonic() > deadline:
                conn.send(("expired", request_id))
                continue
            try:
                reply = ("result", request_id, loaded.answer(request))
            except ModelError as err:
                reply = ("error", request_id, str(err))
            except Exception as err:  # a bug in one answer: say so and keep serving
                log.exception("model worker: %s failed", type(request).__name__)
                reply = ("error", request_id, f"{type(err).__name__}: {_describe(err)}")
            conn.send(reply)


class _Worker:
    """One worker process, its pipe, and the two threads on the engine's side of it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.ready: asyncio.Future[ModelInfo] = loop.create_future()
        self.pending: dict[int, asyncio.Future[ModelResult]] = {}
        self.outbox: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.alive = False
        self.stopping = False
        self.process: multiprocessing.process.BaseProcess | None = None
        self.conn: Connection | None = None
        self._threads: list[threading.Thread] = []
        self._reaping = threading.Lock()  # one thread at a time waits for the process

    # -- in an executor thread ---------------------------------------------------------------

    def spawn(self, args: tuple) -> None:
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe(duplex=True)
        self.process = context.Process(target=serve, args=(theirs, *args), daemon=True,
                                       name="latentjam-model")
        # Batch-1 decodes are small products: OpenBLAS threads only cost (see app/cli.py).
        saved = os.environ.get("OPENBLAS_NUM_THREADS")
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        try:
            self.process.start()
        finally:
            if saved is None:
                os.environ.pop("OPENBLAS_NUM_THREADS", None)
        theirs.close()  # so that the worker's exit reads as end-of-file here
        self.conn = ours
        self.alive = True
        self._threads = [threading.Thread(target=self._read, name="model-reader", daemon=True),
                         threading.Thread(target=self._write, name="model-writer", daemon=True)]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        self.stopping = True
        if self.process is None or self.process.pid is None:  # never started
            return
        self.outbox.put(None)
        self.outbox.put(_CLOSE_PIPE)
        with self._reaping:
            self.process.join(timeout_s)
            for end in (self.process.terminate, self.process.kill):
                if self.process.is_alive():
                    end()
                    self.process.join(1.0)
        for thread in self._threads:
            thread.join(1.0)
        if self.conn is not None:
            self.conn.close()

    # -- pipe threads ------------------------------------------------------------------------

    def _read(self) -> None:
        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                break
            except Exception:  # a message that does not unpickle: treat the worker as lost
                log.exception("model worker: unreadable message")
                break
            if not self._post(self._on_message, message):
                return
        with self._reaping:
            self.process.join(1.0)  # reap it, for its exit code
            exit_code = self.process.exitcode
        self._post(self._on_gone, exit_code)

    def _write(self) -> None:
        while (message := self.outbox.get()) is not _CLOSE_PIPE:
            try:
                self.conn.send(message)
            except (OSError, ValueError):
                return  # the reader sees the worker go

    def _post(self, callback, *args: object) -> bool:
        try:
            self.loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            return False
        return True

    # -- on the loop -------------------------------------------------------------------------

    def _on_message(self, message: tuple) -> None:
        kind = message[0]
        if kind in ("ready", "failed"):
            if not self.ready.done():
                if kind == "ready":
                    self.ready.set_result(message[1])
                else:
                    self.stopping = True  # it leaves by itself: no crash to report
                    self.ready.set_exception(
                        ModelWorkerError(f"model worker could not load the model: {message[1]}"))
            return
        future = self.pending.pop(message[1], None)
        if future is None or future.done():
            log.debug("model worker: dropped a late %s for request %d", kind, message[1])
        elif kind == "result":
            future.set_result(message[2])
        elif kind == "error":
            future.set_exception(ModelRequestError(f"the model refused the request: "
                                                   f"{message[2]}"))
        else:
            future.set_exception(ModelTimeoutError("the request's deadline passed before the "
                                                   "model worker reached it"))

    def _on_gone(self, exit_code: int | None) -> None:
        self.alive = False
        self.outbox.put(_CLOSE_PIPE)
        pid = self.process.pid if self.process else None
        if self.stopping:
            error: ModelWorkerError = ModelWorkerError("the model client was closed")
        else:
            log.warning("model worker (pid %s) exited with code %s; it restarts on the next "
                        "request", pid, exit_code)
            error = ModelCrashedError(f"model worker (pid {pid}) exited with code {exit_code}; "
                                      f"it restarts on the next request")
        if not self.ready.done():
            self.ready.set_exception(error)
        self.fail_pending(error)
        if not self.stopping:  # reap the threads and the pipe of a worker that died
            self.loop.run_in_executor(None, self.stop)

    def fail_pending(self, error: ModelWorkerError) -> None:
        for future in self.pending.values():
            if not future.done():
                future.set_exception(error)
        self.pending.clear()


class ModelClient:
    """The engine's handle on a model worker process (use from one asyncio loop).

    ``async with ModelClient(model, config) as client: result = await client.request(...)``.
    ``model``/``config`` are those of the service's ``LoadedModel``: a shipped model's name
    or a checkpoint path, and a config name, file or ``ModelConfig`` (None: the checkpoint's).
    """

    def __init__(self, model: str | Path | None = None, config: object = None, *,
                 timeout_s: float = DEFAULT_TIMEOUT_S,
                 start_timeout_s: float = DEFAULT_START_TIMEOUT_S,
                 nice: int = DEFAULT_NICE) -> None:
        self._args = (model, config, nice)
        self.timeout_s = timeout_s
        self.start_timeout_s = start_timeout_s
        self.info: ModelInfo | None = None
        self.starts = 0  # worker processes started so far (a restart after a crash adds one)
        self._worker: _Worker | None = None
        self._starting: asyncio.Task[ModelInfo] | None = None
        self._ids = itertools.count(1)
        self._closed = False

    @property
    def pid(self) -> int | None:
        """The worker process's id while one is running."""
        worker = self._worker
        return worker.process.pid if worker and worker.alive and worker.process else None

    async def __aenter__(self) -> ModelClient:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self) -> ModelInfo:
        """Start the worker unless it runs; returns what it loaded. Concurrent callers share
        one start, which goes on even when a caller stops waiting for it."""
        if self._closed:
            raise ModelWorkerError("the model client is closed")
        if self._worker is not None and self._worker.alive and self.info is not None:
            return self.info
        if self._starting is None:
            self._starting = asyncio.get_running_loop().create_task(self._start())
            self._starting.add_done_callback(_retrieve_exception)
        return await asyncio.shield(self._starting)

    async def _start(self) -> ModelInfo:
        loop = asyncio.get_running_loop()
        worker = _Worker(loop)
        try:
            await loop.run_in_executor(None, worker.spawn, self._args)
            self.starts += 1
            try:
                info = await asyncio.wait_for(asyncio.shield(worker.ready),
                                              self.start_timeout_s)
            except TimeoutError:
                what = self._args[0] or "the default model"
                raise ModelWorkerError(f"the model worker did not load {what} within "
                                       f"{self.start_timeout_s:g} s") from None
        except BaseException:
            await loop.run_in_executor(None, worker.stop)
            raise
        finally:
            self._starting = None
        self._worker, self.info = worker, info
        return info

    async def request(self, request: ModelRequest, timeout_s: float | None = None
                      ) -> ModelResult:
        """The model's answer, or ``ModelTimeoutError`` after ``timeout_s`` (default: the
        client's), ``ModelRequestError`` if it refused, ``ModelCrashedError`` if it died."""
        timeout = self.timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + timeout
        worker = self._worker
        if worker is None or not worker.alive:
            try:
                await asyncio.wait_for(self.start(), timeout)
            except TimeoutError:
                raise ModelTimeoutError(f"the model worker is starting; no answer to "
                                        f"{type(request).__name__} within {timeout:g} s"
                                        ) from None
            worker = self._worker
        request_id = next(self._ids)
        future: asyncio.Future[ModelResult] = asyncio.get_running_loop().create_future()
        worker.pending[request_id] = future
        worker.outbox.put((request_id, deadline, request))
        try:
            return await asyncio.wait_for(future, max(deadline - time.monotonic(), 0.0))
        except TimeoutError:
            raise ModelTimeoutError(f"no answer to {type(request).__name__} within "
                                    f"{timeout:g} s") from None
        finally:
            worker.pending.pop(request_id, None)

    async def close(self) -> None:
        """Stop the worker (asked, then terminated, then killed) and fail what is pending."""
        self._closed = True
        if self._starting is not None:
            with contextlib.suppress(BaseException):
                await asyncio.shield(self._starting)
        worker, self._worker = self._worker, None
        if worker is None:
            return
        worker.stopping = True
        worker.fail_pending(ModelWorkerError("the model client was closed"))
        await asyncio.get_running_loop().run_in_executor(None, worker.stop)


def _retrieve_exception(task: asyncio.Task) -> None:
    # A start nobody awaits any more must not warn "exception was never retrieved".
    if not task.cancelled():
        task.exception()
