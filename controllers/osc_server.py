"""The OSC server: UDP datagrams in, engine commands out, state fed back to subscribers.

One asyncio datagram endpoint. asyncio reads one datagram per callback, and each is unpacked
(``osc_packet``), parsed (``osc_addresses``) and carried out there, so a flood never holds
the loop for more than one packet's work (a packet carries at most
``MAX_MESSAGES_PER_PACKET`` messages). Bundle timetags are not honoured: a bundle's messages
act at once, in order (the engine quantizes changes to bars anyway). Nothing a client sends
can raise out of here: a malformed packet, an unknown address, a wrong type, a value out of
range or a sender not in ``allow`` is logged with the reason and ignored, and that log is
rate-limited so that a flood cannot flood it. Subscribed clients get what changed at most
``feedback_hz`` times a second; ``/latentjam/state`` and a new subscription get it all.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections import OrderedDict
from collections.abc import Callable

from latentjam.controllers.osc_addresses import (
    ROOT,
    AnchorFiles,
    CancelLearn,
    Forget,
    Ignored,
    Learn,
    LearnRequest,
    OscMessageError,
    StateQuery,
    Subscribe,
    Unsubscribe,
    changed,
    feedback,
    parse,
)
from latentjam.controllers.osc_config import OscConfig, canonical_ip
from latentjam.controllers.osc_packet import MalformedPacket, unpack
from latentjam.engine.commands import Command
from latentjam.engine.engine_state import EngineState
from latentjam.engine.errors import EngineError
from pythonosc.osc_message_builder import OscMessageBuilder

log = logging.getLogger(__name__)

RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024  # a burst of thousands of messages fits (DESIGN §6)
MAX_MESSAGES_PER_PACKET = 64  # a tablet bundles a handful; this many takes about 1 ms
MAX_SUBSCRIBERS = 16  # a new one beyond this replaces the longest-standing
LOGGED_PER_SECOND = 5  # refusals logged one by one each second; the rest are counted

Address = tuple[str, int]


def encode(address: str, args: tuple) -> bytes:
    """One OSC message as a datagram."""
    builder = OscMessageBuilder(address)
    for arg in args:
        builder.add_arg(arg)
    return builder.build().dgram


class RefusalLog:
    """Logs the first ``per_second`` refusals of each one-second window with their reasons,
    then counts the rest and logs the count when the window is over (``flush``)."""

    def __init__(self, logger: logging.Logger, per_second: int = LOGGED_PER_SECOND,
                 source: str = "OSC") -> None:
        self._log = logger
        self._source = source  # what the log lines start with
        self._per_second = per_second
        self._window_start = -1.0e9
        self._logged = 0
        self._suppressed = 0

    def refuse(self, reason: str, now: float) -> None:
        self.flush(now)
        if self._logged < self._per_second:
            self._logged += 1
            self._log.warning(f"{self._source}: ignored %s", reason)
        else:
            self._suppressed += 1

    def flush(self, now: float, final: bool = False) -> None:
        """Close the window if a second has passed (or ``final``), saying how many went
        unlogged."""
        if now - self._window_start < 1.0 and not final:
            return
        if self._suppressed:
            self._log.warning(f"{self._source}: ignored %d more in the last second (not "
                              "logged one by one)", self._suppressed)
        self._window_start, self._logged, self._suppressed = now, 0, 0


class OscServer:
    """``OscServer(config, submit=performer.command, state=performer.state)``: ``submit``
    carries out a command (``SettingError`` refuses it), ``state`` reads the engine;
    ``extra`` gives more feedback messages (address -> arguments), e.g. the radio's;
    ``anchors`` lists the anchor folders' MIDI files (``controllers.anchor_files``, run in a
    thread) for ``/latentjam/anchors``; ``learn`` takes ``/latentjam/learn...`` (the MIDI
    controller's, ``controllers.midi_controller``; ``EngineError`` refuses)."""

    def __init__(self, config: OscConfig, submit: Callable[[Command], None],
                 state: Callable[[], EngineState],
                 extra: Callable[[], dict[str, tuple]] | None = None,
                 anchors: Callable[[], tuple[str, ...]] | None = None,
                 learn: Callable[[LearnRequest], None] | None = None) -> None:
        self.config = config
        self._anchors = anchors
        self._learn = learn
        self._submit = submit
        self._state = state
        self._extra = extra
        self._allow = frozenset(config.allow)
        self._transport: asyncio.DatagramTransport | None = None
        self._subscribers: OrderedDict[Address, dict[str, tuple]] = OrderedDict()  # -> sent
        self._feedback_task: asyncio.Task | None = None
        self._refusals = RefusalLog(log)
        self.handled = 0  # messages carried out (commands and queries)
        self.rejected = 0  # messages and packets ignored, for whatever reason
        self.receive_buffer_bytes = 0  # what the kernel granted (it reports double the ask)

    def _feedback(self) -> dict[str, tuple]:
        messages = feedback(self._state())
        if self._extra is not None:
            messages.update(self._extra())
        return messages

    async def start(self) -> tuple[str, int]:
        """Bind and serve; returns the bound (host, port) (a port of 0 picks a free one).
        ``EngineError`` naming the address if it cannot be bound."""
        if self._transport is not None:
            raise EngineError("OSC: the server is already started")
        loop = asyncio.get_running_loop()
        try:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Protocol(self), local_addr=(self.config.host, self.config.port))
        except OSError as err:
            raise EngineError(f"OSC: cannot listen on {self.config.host}:{self.config.port}: "
                              f"{err.strerror or err}") from None
        sock = transport.get_extra_info("socket")
        self.receive_buffer_bytes = _enlarge_receive_buffer(sock)
        self._transport = transport
        self._feedback_task = loop.create_task(self._feedback_loop(), name="osc feedback")
        host, port = sock.getsockname()[:2]
        return host, port

    async def close(self) -> None:
        if self._feedback_task is not None:
            self._feedback_task.cancel()
            try:
                await self._feedback_task
            except asyncio.CancelledError:
                pass
            self._feedback_task = None
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        self._subscribers.clear()
        self._refusals.flush(time.monotonic(), final=True)

    @property
    def subscribers(self) -> tuple[Address, ...]:
        return tuple(self._subscribers)

    # -- incoming ---------------------------------------------------------------------------

    def datagram(self, data: bytes, sender: Address) -> None:
        """Carry out one datagram from ``sender``; never raises for what a client sends."""
        if self._allow and _canonical_sender(sender[0]) not in self._allow:
            self._reject(f"a packet from {sender[0]}, which is not in osc.allow")
            return
        try:
            messages = unpack(data, MAX_MESSAGES_PER_PACKET)
        except MalformedPacket as err:
            self._reject(f"a malformed packet of {len(data)} bytes from {sender[0]}: {err}")
            return
        # A packet acts whole or not at all: every message is read before any is carried out.
        parsed = []
        for address, args in messages:
            try:
                parsed.append((address, parse(address, args)))
            except OscMessageError as err:
                whole = f" (none of the packet's {len(messages)} messages is carried out)" \
                    if len(messages) > 1 else ""
                self._reject(f"{err}{whole}")
                return
        for address, what in parsed:
            self._handle(address, what, sender)

    def _handle(self, address: str, what: object, sender: Address) -> None:
        if isinstance(what, Ignored):
            return
        if isinstance(what, StateQuery):
            self._send_all(sender, self._feedback())
        elif isinstance(what, Subscribe):
            self._subscribe((sender[0], what.port or sender[1]))
        elif isinstance(what, Unsubscribe):
            for client in [c for c in self._subscribers if c[0] == sender[0]]:
                del self._subscribers[client]
        elif isinstance(what, AnchorFiles):
            if self._anchors is None:
                self._reject(f"{address}: this server lists no anchor folder")
                return
            asyncio.get_running_loop().create_task(self._send_anchor_files(sender))
        elif isinstance(what, Learn | CancelLearn | Forget):
            if self._learn is None:
                self._reject(f"{address}: no MIDI controller to learn (--controller PORT or "
                             f"[controller] input)")
                return
            try:
                self._learn(what)
            except EngineError as err:
                self._reject(f"{address}: {err}")
                return
        else:
            try:
                self._submit(what)
            except EngineError as err:
                self._reject(f"{address}: {err}")
                return
        self.handled += 1

    def _subscribe(self, client: Address) -> None:
        self._subscribers.pop(client, None)
        if len(self._subscribers) >= MAX_SUBSCRIBERS:
            gone, _ = self._subscribers.popitem(last=False)
            log.info("OSC: %d subscribers already; %s:%d no longer gets feedback",
                     MAX_SUBSCRIBERS, *gone)
        state = self._feedback()
        self._subscribers[client] = state
        self._send_all(client, state)

    def _reject(self, reason: str) -> None:
        self.rejected += 1
        self._refusals.refuse(reason, time.monotonic())

    # -- outgoing ---------------------------------------------------------------------------

    async def _send_anchor_files(self, client: Address) -> None:
        names = await asyncio.to_thread(self._anchors)  # a folder's listing is disk I/O
        self._send_all(client, {f"{ROOT}/anchors": names})

    def _send_all(self, client: Address, messages: dict[str, tuple]) -> None:
        if self._transport is None:
            return
        for address, args in messages.items():
            try:
                self._transport.sendto(encode(address, args), client)
            except OSError as err:  # an unreachable client must not stop the others
                log.debug("OSC feedback to %s failed: %s", client, err)

    async def _feedback_loop(self) -> None:
        period = 1.0 / self.config.feedback_hz
        while True:
            await asyncio.sleep(period)
            self._refusals.flush(time.monotonic())
            if not self._subscribers:
                continue
            try:
                now = self._feedback()
            except Exception:  # the engine's bug; feedback carries on at the next tick
                self._reject("a feedback tick: reading the engine's state failed")
                log.debug("OSC feedback: state() failed", exc_info=True)
                continue
            for client, before in list(self._subscribers.items()):
                self._send_all(client, changed(before, now))
                self._subscribers[client] = now


def _canonical_sender(host: str) -> str:
    try:
        return canonical_ip(host)
    except ValueError:
        return host


def _enlarge_receive_buffer(sock: socket.socket) -> int:
    """Ask for a big receive buffer: beyond the system's cap (net.core.rmem_max, about
    200 kB by default) where allowed (Linux, CAP_NET_ADMIN), else up to the cap. Returns
    the size granted."""
    force = getattr(socket, "SO_RCVBUFFORCE", None)
    try:
        if force is None:
            raise OSError
        sock.setsockopt(socket.SOL_SOCKET, force, RECEIVE_BUFFER_BYTES)
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)
    return sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, server: OscServer) -> None:
        self._server = server
        self._traceback_shown = False

    def datagram_received(self, data: bytes, addr: Address) -> None:
        try:
            self._server.datagram(data, addr)
        except Exception as err:  # a bug (ours or the engine's) must not end the server
            if not self._traceback_shown:  # once: a flood of the same bug must not flood
                self._traceback_shown = True
                log.exception("OSC: unexpected error handling a packet from %s", addr[0])
            self._server._reject(f"a packet from {addr[0]}: unexpected {err!r}")

    def error_received(self, exc: Exception) -> None:
        log.debug("OSC socket error: %s", exc)
