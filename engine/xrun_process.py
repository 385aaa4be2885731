"""JACK's xruns heard in a process of its own and told to the engine: the child runs the
``XrunWatch`` client (``engine/port_xruns.py``) and sends its running count over a pipe; the
engine reads the pipe from the asyncio loop (``add_reader``: never blocks), counts the xruns
in its state and logs them, the first at once and then a count at most every 10 s.

Why a child: the watch's JACK client in the engine's own process, after a SIGSTOP and SIGCONT
of the engine, left the server reporting an xrun every period and the engine's shutdown
never ending. A stall of the engine does not stop the child, which goes on counting the
xruns the stall causes; the engine hears of them when it runs again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
from multiprocessing.connection import Connection

from latentjam.engine.midi_input import end_process
from latentjam.engine.port_xruns import REPEAT_LOG_S, XrunLog

log = logging.getLogger(__name__)

SEND_PERIOD_S = 0.05  # how often the child looks whether the count grew


class _ToPipe(logging.Handler):
    """The child's own log lines (why it cannot watch), sent for the engine to log."""

    def __init__(self, conn: Connection) -> None:
        super().__init__(logging.INFO)
        self._conn = conn

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._conn.send(("log", record.levelno, record.getMessage()))


def serve(conn: Connection, period_s: float = SEND_PERIOD_S) -> None:
    """The child: watch the server the engine's JACK ports use (``JACK_DEFAULT_SERVER`` is
    inherited) and send ``("count", total)`` whenever the count grew, until the engine's end
    of the pipe closes. Its first message says whether it watches: ``("watching", bool)``."""
    from latentjam.engine import port_xruns

    quiet = logging.getLogger("latentjam.engine.xrun_process.child")
    quiet.propagate = False  # the engine logs the xruns, rate-limited, from the counts
    quiet.addHandler(logging.NullHandler())
    port_xruns.log.addHandler(_ToPipe(conn))
    port_xruns.log.setLevel(logging.INFO)
    port_xruns.log.propagate = False
    watch = port_xruns.XrunWatch(logger=quiet)
    with contextlib.suppress(EOFError, OSError, KeyboardInterrupt):
        watching = watch.open()
        conn.send(("watching", watching))
        sent = 0
        while watching and not conn.poll(period_s):  # the engine sends nothing: EOF = stop
            count = watch.count
            if count != sent:
                conn.send(("count", count))
                sent = count
        if not watching:
            conn.poll(None)  # stay until the engine goes, so that it tells one story
    watch.close()


class XrunReporter:
    """The xruns of the JACK server, counted by a child process (``serve``): ``count`` so
    far, logged as they arrive (``flush`` tells a pending count once its window is over)."""

    def __init__(self, repeat_log_s: float = REPEAT_LOG_S) -> None:
        self.log = XrunLog(repeat_log_s, logger=log)
        self.watching: bool | None = None  # None until the child has said
        self._heard = 0  # the child's last total
        self._conn: Connection | None = None
        self._process: multiprocessing.process.BaseProcess | None = None

    @property
    def count(self) -> int:
        return self.log.count

    async def open(self) -> None:
        """Start the child (off the loop: spawning takes a while); it says later whether it
        watches."""
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe(duplex=True)
        self._process = context.Process(target=serve, name="latentjam xruns", daemon=True,
                                        args=(theirs,))
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._process.start)
        theirs.close()
        self._conn = ours
        loop.add_reader(ours.fileno(), self._readable)

    def _readable(self) -> None:
        conn = self._conn
        try:
            while conn is not None and conn.poll():
                self._heard_from_child(conn.recv())
        except (EOFError, OSError):
            asyncio.get_running_loop().remove_reader(conn.fileno())
            self._conn = None
            if self.watching:
                log.warning("the JACK xrun watcher ended; xruns are no longer counted")

    def _heard_from_child(self, message: tuple) -> None:
        kind, *rest = message
        if kind == "count":
            total = int(rest[0])
            self.log.xrun(total - self._heard)
            self._heard = total
        elif kind == "watching":
            self.watching = bool(rest[0])
        elif kind == "log":
            log.log(int(rest[0]), "%s", rest[1])

    def flush(self) -> None:
        self.log.flush()

    async def close(self) -> None:
        """End the child and log any count not yet told."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(ValueError, OSError, RuntimeError):
                asyncio.get_running_loop().remove_reader(conn.fileno())
            with contextlib.suppress(EOFError, OSError):
                while conn.poll():  # what the child counted up to now
                    self._heard_from_child(conn.recv())
            conn.close()
        process, self._process = self._process, None
        if process is not None:
            await asyncio.get_running_loop().run_in_executor(None, end_process, process)
        self.log.flush(final=True)
