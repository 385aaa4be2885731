"""The emission thread: sends each MIDI message at its absolute deadline.

It owns the ports it sends to, a heap of pending events and a note tracker. The asyncio
side talks to it only through ``submit``/``panic``/``stop``, which put items on a
thread-safe queue. The thread waits on that queue until about ``spin_ns`` before the next
deadline (so a new, earlier event wakes it), then spins on the monotonic clock to the
deadline: a timed wait alone is late by the kernel's timer slack and wake-up time, the spin
lands within microseconds. Deadlines are absolute, so lateness never accumulates.

For each message it records send time minus deadline in a ring buffer (benchmarks read it).
It may ask for SCHED_FIFO and carries on without it. It never raises out of its loop: a
failing port or a bug is logged and the next event goes out. Stopping it, or the
interpreter exiting while it runs, sends a note-off for every sounding note and CC 123 on
every channel used. Only complete MIDI messages reach a port (``midi_wire``): anything else
is refused, counted (``refused_count``) and logged once per kind.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from array import array
from collections.abc import Iterable, Mapping

from latentjam.engine.event_heap import EventHeap
from latentjam.engine.events import ScheduledMessage
from latentjam.engine.late import LATE_DROP_NS, is_note_start
from latentjam.engine.midi_wire import WireGuard
from latentjam.engine.note_tracker import NoteTracker
from latentjam.engine.sinks import MessageSink

log = logging.getLogger(__name__)

SPIN_NS = 1_000_000  # spin the last millisecond before a deadline
IDLE_WAIT_S = 0.5  # longest wait on the queue with nothing pending (bounds shutdown latency)
ERROR_CAPACITY = 65_536  # emission errors kept (about 20 minutes of a 120 BPM clock and notes)
# The SCHED_FIFO priority to ask for: below JACK's client threads (5 under jackd's default
# -P 10), which must run first; a thread spinning above them made JACK drop MIDI here.
REALTIME_PRIORITY = 4

_PANIC = object()
_STOP = object()
_realtime_refusal_logged = False


def _request_realtime(priority: int) -> bool:
    """Ask the kernel to run the calling thread SCHED_FIFO at ``priority``; log a refusal once."""
    global _realtime_refusal_logged
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
        return True
    except (AttributeError, OSError) as err:  # not Linux, or not permitted
        if not _realtime_refusal_logged:
            _realtime_refusal_logged = True
            log.info("SCHED_FIFO not granted (%s); the output thread runs at normal priority", err)
        return False


class OutputThread:
    """A dedicated thread sending ``ScheduledMessage``s to ``ports[event.port]`` on time.

    ``realtime_priority``: a SCHED_FIFO priority (1-99) to ask for (``REALTIME_PRIORITY``
    is the one to use), or None for none.
    Deadlines are on ``now_ns()``'s clock (``time.perf_counter_ns``, monotonic).
    """

    def __init__(
        self,
        ports: Mapping[str, MessageSink],
        *,
        realtime_priority: int | None = None,
        spin_ns: int = SPIN_NS,
        error_capacity: int = ERROR_CAPACITY,
        name: str = "latentjam-output",
    ) -> None:
        if not ports:
            raise ValueError("the output thread needs at least one port")
        self._ports = dict(ports)
        self._realtime_priority = realtime_priority
        self._spin_ns = spin_ns
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        self._heap = EventHeap()
        self._tracker = NoteTracker()
        self._errors = array("q", bytes(8 * error_capacity))
        self._sent = 0
        self._failed = 0
        self._late_dropped = 0
        self._failing_ports: set[str] = set()
        self._guard = WireGuard()
        self._stopping = False
        self._flushed = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.realtime = False  # whether SCHED_FIFO was granted

    # -- the asyncio side ------------------------------------------------------------------

    @staticmethod
    def now_ns() -> int:
        """The clock deadlines are measured on."""
        return time.perf_counter_ns()

    def start(self) -> None:
        self._thread.start()
        atexit.register(self.stop)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def submit(self, event: ScheduledMessage) -> None:
        """Queue an event for its deadline (thread-safe; never blocks)."""
        if not isinstance(event, ScheduledMessage):
            raise TypeError(f"expected a ScheduledMessage, got {event!r}")
        if event.port not in self._ports:
            raise ValueError(f"no port {event.port!r}; the output thread has {sorted(self._ports)}")
        self._inbox.put(event)

    def submit_many(self, events: Iterable[ScheduledMessage]) -> None:
        for event in events:
            self.submit(event)

    def panic(self) -> None:
        """Drop every pending event, then send note-offs and CC 123 (thread-safe)."""
        self._inbox.put(_PANIC)

    def stop(self, timeout_s: float = 2.0) -> None:
        """Drop pending events, silence every sounding note, end the thread. Idempotent."""
        atexit.unregister(self.stop)
        if self._thread.is_alive():
            self._inbox.put(_STOP)
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.error("output thread did not stop in %.1f s; silencing from here", timeout_s)
        if not self._flushed.is_set():  # never started, or stuck
            self._silence()
            self._flushed.set()

    def __enter__(self) -> OutputThread:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def sent_count(self) -> int:
        return self._sent

    @property
    def late_dropped(self) -> int:
        """Note-ons left out because they came due too late (the thread was held up)."""
        return self._late_dropped

    @property
    def failed_count(self) -> int:
        """Messages a port refused (logged once per run of failures on that port)."""
        return self._failed

    @property
    def refused_count(self) -> int:
        """Messages not sent because they were not complete MIDI messages (``midi_wire``)."""
        return self._guard.refused

    def refused_by_kind(self) -> dict[str, int]:
        """``refused_count`` by what was wrong (a copy)."""
        return dict(self._guard.by_kind)

    def emission_errors_ns(self) -> list[int]:
        """Send time minus deadline of the most recent messages, oldest first."""
        sent, capacity = self._sent, len(self._errors)
        if sent <= capacity:
            return self._errors[:sent].tolist()
        cut = sent % capacity
        return (self._errors[cut:] + self._errors[:cut]).tolist()

    # -- the thread ------------------------------------------------------------------------

    def _run(self) -> None:
        if self._realtime_priority is not None:
            self.realtime = _request_realtime(self._realtime_priority)
        while not self._stopping:
            try:
                self._step()
            except Exception:  # the clock must keep going: log, and on to the next event
                log.exception("output thread: unexpected error; carrying on")
        # What was due when the stop came goes out first (a Stop for the clock ports).
        for event in self._heap.pop_due(time.perf_counter_ns()):
            self._send(event)
        self._silence()
        self._flushed.set()

    def _step(self) -> None:
        deadline = self._heap.next_deadline_ns()
        if deadline is None:
            self._wait_for_inbox(IDLE_WAIT_S)
            return
        remaining = deadline - time.perf_counter_ns()
        if remaining > self._spin_ns:
            self._wait_for_inbox((remaining - self._spin_ns) / 1e9)
            return
        while time.perf_counter_ns() < deadline:
            pass
        now = time.perf_counter_ns()
        for event in self._heap.pop_due(now):
            if now - event.deadline_ns > LATE_DROP_NS and is_note_start(event.message):
                # after a stall: a burst of notes is no music (its clock pulses go, few as
                # they are this close; the performer drops the rest and resyncs)
                self._late_dropped += 1
                continue
            self._send(event)

    def _wait_for_inbox(self, timeout_s: float) -> None:
        try:
            self._take(self._inbox.get(timeout=timeout_s))
        except queue.Empty:
            return
        while not self._stopping:
            try:
                self._take(self._inbox.get_nowait())
            except queue.Empty:
                return

    def _take(self, item: object) -> None:
        if item is _STOP:
            self._stopping = True
        elif item is _PANIC:
            # What is already due goes first (a followed master's last pulses before its
            # Stop); only what lies ahead is dropped.
            for event in self._heap.pop_due(time.perf_counter_ns()):
                self._send(event)
            self._silence()
        elif self._guard.allows(item.message, item.port):
            # The last door before the wire (a sink below sends whatever bytes it is given,
            # and a cut message reads as garbage to every receiver: issue 10's one-byte
            # 0x99s), kept here rather than in ``_send``: messages are frozen, so checking
            # them on arrival is the same check, and costs nothing at their deadlines.
            self._heap.push(item)

    def _send(self, event: ScheduledMessage) -> None:
        sent_at = time.perf_counter_ns()
        try:
            self._ports[event.port].send(event.message)
        except Exception as err:
            self._failed += 1
            if event.port not in self._failing_ports:
                self._failing_ports.add(event.port)
                log.error("port %r failed to send %s: %s", event.port, event.message, err)
            return
        self._failing_ports.discard(event.port)
        self._errors[self._sent % len(self._errors)] = sent_at - event.deadline_ns
        self._sent += 1
        self._tracker.observe(event.port, event.message)

    def _silence(self) -> None:
        """Drop pending events; note-offs for sounding notes, then CC 123 per used channel."""
        self._heap.clear()
        for port, message in self._tracker.panic_messages():
            try:
                self._ports[port].send(message)
            except Exception as err:
                log.error("port %r failed to send %s while silencing: %s", port, message, err)
        self._tracker.clear()
