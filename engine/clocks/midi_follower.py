"""Following an external MIDI clock (a DAW or a drum machine leads; the engine follows).

The MIDI input lives in a child process that does nothing else: it stamps each message with
``time.perf_counter_ns()`` the moment its callback runs and writes it to a pipe. In the
engine's own process the input callback would need the GIL on the MIDI system's real-time
thread, beside an output thread that spins before its deadlines, and JACK drops the MIDI of
any cycle its client misses (measured: see tests/jack_server.py). ``perf_counter_ns`` is
CLOCK_MONOTONIC on Linux, the same clock in both processes, so the stamps need no
conversion. The engine's side reads the pipe from the asyncio loop (``add_reader``: never
blocks), feeds ``TempoFollower`` and reports its transport events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import time
from multiprocessing.connection import Connection

from latentjam.engine.clocks.base import ClockLost, TransportEvent
from latentjam.engine.clocks.tempo_follower import TempoFollower
from latentjam.engine.errors import EngineError, PortError
from latentjam.engine.timeline import Timeline

log = logging.getLogger(__name__)

VIRTUAL_INPUT = "latentjam clock in"
READY_TIMEOUT_S = 10.0
CHECK_PERIOD_S = 0.02  # how often a silent clock is looked for
_READY, _ERROR = b"R", b"E"


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


class MidiClockFollower:
    kind = "midi"
    leads = False

    def __init__(self, port_name: str | None = None, *, virtual: bool = True,
                 backend: str | None = None, initial_bpm: float = 120.0) -> None:
        self._name = port_name or VIRTUAL_INPUT
        self._virtual = virtual
        self._backend = backend
        self.follower = TempoFollower(initial_bpm)
        self._events: asyncio.Queue[TransportEvent] | None = None
        self._conn: Connection | None = None
        self._process: multiprocessing.Process | None = None
        self._check_task: asyncio.Task | None = None
        self._refusal_logged = False
        self.port_name: str | None = None  # what the MIDI system calls the input
        self.received = 0

    async def open(self, events: asyncio.Queue[TransportEvent]) -> None:
        self._events = events
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe(duplex=True)
        self._process = context.Process(
            target=listen, args=(theirs, self._name, self._virtual, self._backend),
            name="latentjam clock in", daemon=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._process.start)
        theirs.close()
        self._conn = ours
        ready = await loop.run_in_executor(None, self._wait_ready)
        if not ready.startswith(_READY):
            await self.close()
            raise PortError(ready[1:].decode(errors="replace") or
                            f"the MIDI clock input {self._name!r} did not open")
        self.port_name = ready[1:].decode(errors="replace")
        loop.add_reader(ours.fileno(), self._readable)
        self._check_task = loop.create_task(self._check_loop(), name="midi clock: silence")
        log.info("following the MIDI clock on %r", self.port_name)

    def _wait_ready(self) -> bytes:
        if self._conn.poll(READY_TIMEOUT_S):
            with contextlib.suppress(EOFError, OSError):
                return self._conn.recv_bytes()
        return _ERROR + f"the MIDI clock input {self._name!r} did not open within " \
                        f"{READY_TIMEOUT_S:g} s".encode()

    def _readable(self) -> None:
        conn = self._conn
        try:
            while conn is not None and conn.poll():
                data = conn.recv_bytes()
                self.received += 1
                at_ns = int.from_bytes(data[:8], "little")
                for event in self.follower.on_message(data[8], data[9:], at_ns):
                    self._events.put_nowait(event)
        except (EOFError, OSError):
            asyncio.get_running_loop().remove_reader(conn.fileno())
            log.error("the MIDI clock input process ended; free-running at %.1f BPM",
                      self.follower.bpm)
            if self.follower.playing:
                self.follower.lost = True
                self._events.put_nowait(ClockLost(self.follower.bpm))

    async def _check_loop(self) -> None:
        while True:
            await asyncio.sleep(CHECK_PERIOD_S)
            for event in self.follower.check(time.perf_counter_ns()):
                self._events.put_nowait(event)

    async def close(self) -> None:
        if self._check_task is not None:
            self._check_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._check_task
            self._check_task = None
        if self._conn is not None:
            with contextlib.suppress(ValueError, OSError, RuntimeError):
                asyncio.get_running_loop().remove_reader(self._conn.fileno())
            self._conn.close()  # the child's recv ends: it closes its port and exits
            self._conn = None
        process, self._process = self._process, None
        if process is not None:
            await asyncio.get_running_loop().run_in_executor(None, _end, process)

    def timeline(self) -> Timeline | None:
        return self.follower.timeline()

    def _refuse(self, what: str) -> None:
        if not self._refusal_logged:
            self._refusal_logged = True
            log.warning("%s ignored: the engine follows an external MIDI clock, which decides "
                        "start, stop and tempo", what)

    def start(self, resume: bool = False) -> None:
        self._refuse("play")

    def stop(self) -> None:
        self._refuse("stop")

    def set_tempo(self, bpm: float, from_tick: int) -> None:
        self._refuse("a tempo change")

    def status(self) -> str:
        if self.follower.lost:
            return "free-running"
        if self.follower.playing:
            return "playing"
        return "stopped" if self.received else "waiting"


def _end(process: multiprocessing.Process) -> None:
    process.join(2.0)
    if process.is_alive():
        process.terminate()
        process.join(1.0)
    if process.is_alive():
        process.kill()
        process.join()
