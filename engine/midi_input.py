"""A MIDI input opened in a child process that does nothing else, for the engine's inputs
(an external clock to follow, loops a performer plays in).

The child stamps each message with ``time.perf_counter_ns()`` the moment its callback runs
and writes it to a pipe. In the engine's own process the input callback would need the GIL on
the MIDI system's real-time thread, beside an output thread that spins before its deadlines,
and JACK drops the MIDI of any cycle its client misses (measured: see tests/jack_server.py).
``perf_counter_ns`` is CLOCK_MONOTONIC on Linux, the same clock in both processes, so the
stamps need no conversion. The engine's side reads the pipe from the asyncio loop
(``add_reader``: never blocks) and hands each message to a callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import time
from collections.abc import Callable
from multiprocessing.connection import Connection

from latentjam.engine.errors import EngineError, PortError

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 10.0
_READY, _ERROR = b"R", b"E"

OnMessage = Callable[[int, bytes, int], None]  # (status byte, data bytes, arrival ns)


def listen(conn: Connection, name: str, virtual: bool, backend: str | None) -> None:
    """The child process: open the input, forward every message with its arrival time."""
    from latentjam.engine.ports import open_input

    try:
        port = open_input(name, virtual=virtual, backend=backend)
    except EngineError as err:
        conn.send_bytes(_ERROR + str(err).encode())
        return

    def received(message) -> None:
        stamp = time.perf_counter_ns()
        conn.send_bytes(stamp.to_bytes(8, "little") + bytes(message.bytes()))

    port.callback = received
    conn.send_bytes(_READY + port.name.encode())
    with contextlib.suppress(EOFError, OSError):
        conn.recv_bytes()  # until the engine closes its end
    port.close()


class MidiInputProcess:
    """``name``: a virtual input to create, or with ``virtual=False`` an existing one.
    ``on_message`` runs on the asyncio loop for each message; ``on_lost`` if the child dies."""

    def __init__(self, name: str, *, virtual: bool, backend: str | None,
                 on_message: OnMessage, on_lost: Callable[[], None] | None = None) -> None:
        self.name = name
        self._virtual = virtual
        self._backend = backend
        self._on_message = on_message
        self._on_lost = on_lost
        self._conn: Connection | None = None
        self._process: multiprocessing.Process | None = None
        self.port_name: str | None = None  # what the MIDI system calls the input
        self.received = 0

    async def open(self) -> str:
        """Start the child and wait until its port is open; ``PortError`` if it cannot."""
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe(duplex=True)
        self._process = context.Process(
            target=listen, args=(theirs, self.name, self._virtual, self._backend),
            name=f"latentjam input {self.name}", daemon=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._process.start)
        theirs.close()
        self._conn = ours
        ready = await loop.run_in_executor(None, self._wait_ready)
        if not ready.startswith(_READY):
            await self.close()
            raise PortError(ready[1:].decode(errors="replace") or
                            f"the MIDI input {self.name!r} did not open")
        self.port_name = ready[1:].decode(errors="replace")
        loop.add_reader(ours.fileno(), self._readable)
        return self.port_name

    def _wait_ready(self) -> bytes:
        if self._conn.poll(READY_TIMEOUT_S):
            with contextlib.suppress(EOFError, OSError):
                return self._conn.recv_bytes()
        return _ERROR + f"the MIDI input {self.name!r} did not open within " \
                        f"{READY_TIMEOUT_S:g} s".encode()

    def drain(self) -> None:
        """Hand on what has arrived but not been read yet (the loop reads the pipe when it
        gets to it; after a busy moment the pulses wait there, not in the MIDI system)."""
        if self._conn is not None:
            self._readable()

    def _readable(self) -> None:
        conn = self._conn
        try:
            while conn is not None and conn.poll():
                data = conn.recv_bytes()
                self.received += 1
                self._on_message(data[8], data[9:], int.from_bytes(data[:8], "little"))
        except (EOFError, OSError):
            asyncio.get_running_loop().remove_reader(conn.fileno())
            self._conn = None  # told once: ``drain`` and ``close`` find nothing to read
            conn.close()
            log.error("the MIDI input process for %r ended", self.name)
            if self._on_lost is not None:
                self._on_lost()

    async def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(ValueError, OSError, RuntimeError):
                asyncio.get_running_loop().remove_reader(self._conn.fileno())
            self._conn.close()  # the child's recv ends: it closes its port and exits
            self._conn = None
        process, self._process = self._process, None
        if process is not None:
            await asyncio.get_running_loop().run_in_executor(None, end_process, process)


def end_process(process: multiprocessing.process.BaseProcess) -> None:
    """Wait a little for a child that was told to go, then make it."""
    process.join(2.0)
    if process.is_alive():
        process.terminate()
        process.join(1.0)
    if process.is_alive():
        process.kill()
        process.join()
