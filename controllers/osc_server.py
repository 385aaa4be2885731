"""The OSC server: UDP datagrams in, engine commands out, state fed back to subscribers.

One asyncio datagram endpoint; each datagram is parsed (messages and bundles, by
python-osc's packet parser) and carried out in its own callback, so a flood never holds the
loop for long. Bundle timetags are not honoured: a bundle's messages act at once, in order
(the engine quantizes changes to bars anyway). Nothing a client sends can raise out of
here: a malformed packet, an unknown address, a wrong type or a value out of range is logged
with the reason and ignored, and the log is rate-limited so that a flood cannot flood it.
Feedback goes to subscribed clients at most ``feedback_hz`` times a second, only what changed.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable

from latentjam.controllers.osc_addresses import (
    Ignored,
    OscMessageError,
    StateQuery,
    Subscribe,
    Unsubscribe,
    changed,
    feedback,
    parse,
)
from latentjam.controllers.osc_config import OscConfig
from latentjam.engine.commands import Command
from latentjam.engine.engine_state import EngineState
from latentjam.engine.errors import EngineError
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket, ParseError

log = logging.getLogger(__name__)

RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024  # a burst of a thousand messages fits (DESIGN §6)
LOGGED_PER_SECOND = 5  # rejections logged one by one each second; the rest are counted
MAX_SUBSCRIBERS = 16

Address = tuple[str, int]


def encode(address: str, args: tuple) -> bytes:
    builder = OscMessageBuilder(address)
    for arg in args:
        builder.add_arg(arg)
    return builder.build().dgram


class OscServer:
    """``OscServer(config, submit=performer.command, state=performer.state)``."""

    def __init__(self, config: OscConfig, submit: Callable[[Command], None],
                 state: Callable[[], EngineState]) -> None:
        self.config = config
        self._submit = submit
        self._state = state
        self._transport: asyncio.DatagramTransport | None = None
        self._subscribers: set[Address] = set()
        self._sent_state: dict[Address, dict[str, tuple]] = {}
        self._feedback_task: asyncio.Task | None = None
        self._log_window = 0.0
        self._logged = 0
        self._suppressed = 0
        self.handled = 0  # messages carried out
        self.rejected = 0  # messages and packets ignored, for whatever reason

    async def start(self) -> tuple[str, int]:
        """Bind and serve; returns the bound (host, port) (a port of 0 picks a free one)."""
        loop = asyncio.get_running_loop()
        try:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Protocol(self), local_addr=(self.config.host, self.config.port))
        except OSError as err:
            raise EngineError(f"OSC: cannot listen on {self.config.host}:{self.config.port}: "
                              f"{err.strerror or err}") from None
        sock = transport.get_extra_info("socket")
        _enlarge_receive_buffer(sock)
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

    # -- incoming ---------------------------------------------------------------------------

    def datagram(self, data: bytes, sender: Address) -> None:
        if self.config.allow and sender[0] not in self.config.allow:
            self._reject(f"from {sender[0]}, which is not in osc.allow")
            return
        try:
            messages = [timed.message for timed in OscPacket(data).messages]
        except (ParseError, ValueError, IndexError, TypeError) as err:
            self._reject(f"a malformed packet of {len(data)} bytes from {sender[0]}: {err}")
            return
        for message in messages:
            self._handle(message.address, tuple(message.params), sender)

    def _handle(self, address: str, args: tuple, sender: Address) -> None:
        try:
            what = parse(address, args)
        except OscMessageError as err:
            self._reject(str(err))
            return
        if isinstance(what, Ignored):
            return
        if isinstance(what, StateQuery):
            self._send_all(sender, feedback(self._state()))
        elif isinstance(what, Subscribe):
            client = (sender[0], what.port or sender[1])
            if client not in self._subscribers and len(self._subscribers) >= MAX_SUBSCRIBERS:
                self._reject(f"{address}: already {MAX_SUBSCRIBERS} subscribers")
                return
            self._subscribers.add(client)
            self._sent_state[client] = feedback(self._state())
            self._send_all(client, self._sent_state[client])
        elif isinstance(what, Unsubscribe):
            for client in [c for c in self._subscribers if c[0] == sender[0]]:
                self._subscribers.discard(client)
                self._sent_state.pop(client, None)
        else:
            try:
                self._submit(what)
            except EngineError as err:
                self._reject(f"{address}: {err}")
                return
        self.handled += 1

    def _reject(self, reason: str) -> None:
        self.rejected += 1
        now = time.monotonic()
        if now - self._log_window >= 1.0:
            if self._suppressed:
                log.warning("OSC: %d more messages ignored in the last second", self._suppressed)
            self._log_window, self._logged, self._suppressed = now, 0, 0
        if self._logged < LOGGED_PER_SECOND:
            self._logged += 1
            log.warning("OSC: ignored %s", reason)
        else:
            self._suppressed += 1

    # -- outgoing ---------------------------------------------------------------------------

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
            if not self._subscribers:
                continue
            now = feedback(self._state())
            for client in list(self._subscribers):
                before = self._sent_state.get(client, {})
                self._send_all(client, changed(before, now))
                self._sent_state[client] = now


def _enlarge_receive_buffer(sock) -> None:
    """Ask for a big receive buffer: beyond the system's cap (net.core.rmem_max, about
    200 kB by default) when allowed (Linux, CAP_NET_ADMIN), else up to the cap."""
    force = getattr(socket, "SO_RCVBUFFORCE", None)
    if force is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, force, RECEIVE_BUFFER_BYTES)
            return
        except OSError:
            pass
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, server: OscServer) -> None:
        self._server = server

    def datagram_received(self, data: bytes, addr: Address) -> None:
        try:
            self._server.datagram(data, addr)
        except Exception:  # a bug here must not end the server
            log.exception("OSC: unexpected error handling a packet from %s", addr[0])

    def error_received(self, exc: Exception) -> None:
        log.debug("OSC socket error: %s", exc)
