"""The control page's server: HTTP for the page's few files, a WebSocket for commands in and
state out (aiohttp, on the engine's asyncio loop).

A frame from a page is read by ``protocol.read_frame`` and ``osc_addresses.parse`` and
carried out as an OSC message would be; every open page gets the OSC feedback messages that
changed, at most ``feedback_hz`` times a second and at once after a command (so two pages
stay in step, and OSC subscribers see a page's changes in the engine's state). Each page has
a sender task of its own that coalesces what it has not sent yet: a slow tablet gets the
latest state late, never a backlog, and never holds up the others.

Guards: every request comes from an address in the OSC ``allow`` list (when it is set) and
carries the token drawn at start (``?token=``, then a cookie the page's answer sets), else a
403, logged once a minute per address and reason; frames are at most
``MAX_MESSAGE_BYTES``, ``MESSAGES_PER_SECOND`` a socket (bursts of ``BURST``), and at most
``MAX_SOCKETS`` pages are open. The files are read once at start and served from memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import secrets
import socket
import time
from collections.abc import Callable
from pathlib import Path

from aiohttp import WSMsgType, web
from latentjam.controllers.osc_addresses import (
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
from latentjam.controllers.osc_config import canonical_ip
from latentjam.controllers.web.config import WebConfig
from latentjam.controllers.web.protocol import (
    FrameError,
    OncePerWindow,
    RateLimit,
    anchors_frame,
    error_frame,
    feedback_frame,
    read_frame,
)
from latentjam.engine.commands import Command
from latentjam.engine.engine_state import EngineState
from latentjam.engine.errors import EngineError

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
TYPES = {".html": "text/html", ".css": "text/css", ".js": "text/javascript",
         ".svg": "image/svg+xml"}
COOKIE = "latentjam_token"
MAX_MESSAGE_BYTES = 4096  # a frame from a page (the longest is an anchor file's name)
MESSAGES_PER_SECOND = 120  # per page: an XY pad dragged sends 60 a second
BURST = 240  # messages a page may send at once before the rate applies
MAX_SOCKETS = 16  # open pages; one more is refused (503)
ERRORS_PER_SECOND = 5  # error frames sent back to a page each second
MIN_FEEDBACK_GAP_S = 0.01  # state read at most this often, however many commands come
MAX_QUEUED_FRAMES = 32  # anchors and errors a page has not taken yet; the oldest go first


def read_static(folder: Path = STATIC) -> dict[str, tuple[bytes, str]]:
    """The page's files: name -> (bytes, content type)."""
    return {path.name: (path.read_bytes(), TYPES[path.suffix])
            for path in sorted(folder.iterdir()) if path.suffix in TYPES}


class _Page:
    """One open page: what it was sent, what it has yet to be sent, its sender task."""

    def __init__(self, ws: web.WebSocketResponse, sent: dict[str, tuple]) -> None:
        self.ws = ws
        self.sent = sent
        self.pending: dict[str, tuple] = {}
        self.frames: list[str] = []  # anchors and errors, in order
        self.wake = asyncio.Event()
        self.limit = RateLimit(MESSAGES_PER_SECOND, BURST)
        self.errors = RateLimit(ERRORS_PER_SECOND, ERRORS_PER_SECOND)
        self.dropped = 0  # frames over the rate, not carried out
        self.listing = False  # the anchor folders being listed for it (one at a time)

    def offer(self, now: dict[str, tuple], whole: bool = False) -> None:
        diff = now if whole else changed(self.sent, now)
        self.sent = now
        if diff:
            self.pending.update(diff)
            self.wake.set()

    def say(self, frame: str) -> None:
        if len(self.frames) >= MAX_QUEUED_FRAMES:  # a page that does not read
            del self.frames[0]
        self.frames.append(frame)
        self.wake.set()

    async def send_forever(self) -> None:
        while not self.ws.closed:
            await self.wake.wait()
            self.wake.clear()
            frames, self.frames = self.frames, []
            if self.pending:
                frames.insert(0, feedback_frame(self.pending))
                self.pending = {}
            try:
                for frame in frames:
                    await self.ws.send_str(frame)
            except (ConnectionError, RuntimeError):  # the page went away mid-send
                return


class WebServer:
    """``WebServer(config, submit=performer.command, state=performer.state)``, as
    ``OscServer``: ``extra`` adds feedback messages (the radio's), ``anchors`` lists the
    anchor folders' MIDI files, ``learn`` takes ``/latentjam/learn...`` (the MIDI
    controller's), ``allow`` is the OSC allow-list."""

    def __init__(self, config: WebConfig, submit: Callable[[Command], None],
                 state: Callable[[], EngineState],
                 extra: Callable[[], dict[str, tuple]] | None = None,
                 anchors: Callable[[], tuple[str, ...]] | None = None,
                 allow: tuple[str, ...] = (), token: str | None = None,
                 learn: Callable[[LearnRequest], None] | None = None) -> None:
        self.config = config
        self._learn = learn
        self._submit, self._state, self._extra, self._anchors = submit, state, extra, anchors
        self._allow = frozenset(canonical_ip(a) for a in allow)
        self.token = token or secrets.token_urlsafe(16)
        self._files = read_static()
        self._pages: set[_Page] = set()
        self._tasks: set[asyncio.Task] = set()
        self._runner: web.AppRunner | None = None
        self._feedback_task: asyncio.Task | None = None
        self._wake = asyncio.Event()
        self._refusals = OncePerWindow()
        self.address: tuple[str, int] | None = None
        self.handled = 0  # frames carried out
        self.refused = 0  # requests and frames refused

    @property
    def url(self) -> str:
        """The page's address with its token (for the terminal and the QR code)."""
        if self.address is None:
            raise EngineError("web: the server is not started")
        host, port = self.address
        if host in ("0.0.0.0", "::"):  # every interface: the one a tablet on the LAN reaches
            host = lan_address(ipv6=host == "::")
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}/?token={self.token}"

    @property
    def pages(self) -> int:
        return len(self._pages)

    def _feedback(self) -> dict[str, tuple]:
        messages = feedback(self._state())
        if self._extra is not None:
            messages.update(self._extra())
        return messages

    async def start(self) -> tuple[str, int]:
        """Serve; the bound (host, port). ``EngineError`` naming the address if it cannot be
        bound (with ``fallback``, a taken port gives way to any free one)."""
        app = web.Application(middlewares=[self._guard], client_max_size=MAX_MESSAGE_BYTES)
        app.router.add_get("/", self._index)
        app.router.add_get("/ws", self._socket)
        app.router.add_get("/static/{name}", self._static)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        port = self.config.port
        try:
            try:
                await web.TCPSite(runner, self.config.host, port).start()
            except OSError:
                if not self.config.fallback or port == 0:
                    raise
                log.info("web: port %d is taken; the page takes another", port)
                await web.TCPSite(runner, self.config.host, 0).start()
        except OSError as err:
            await runner.cleanup()
            raise EngineError(f"web: cannot listen on {self.config.host}:{port}: "
                              f"{err.strerror or err}") from None
        self._runner = runner
        self.address = tuple(runner.addresses[0][:2])
        self._feedback_task = asyncio.get_running_loop().create_task(
            self._feedback_loop(), name="web feedback")
        return self.address

    async def close(self) -> None:
        if self._feedback_task is not None:
            self._feedback_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._feedback_task
            self._feedback_task = None
        for page in list(self._pages):
            await page.ws.close(code=1001, message=b"the set is over")
        for task in list(self._tasks):
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- HTTP ----------------------------------------------------------------------------

    def _refuse(self, request: web.Request, reason: str) -> web.Response:
        self.refused += 1
        remote = request.remote or "?"
        if self._refusals.should_log(f"{remote} {reason}", time.monotonic()):
            log.warning("web: refused %s %s from %s: %s (logged once a minute)",
                        request.method, request.path, remote, reason)
        return web.Response(status=403, text=f"403: {reason}\n")

    @web.middleware
    async def _guard(self, request: web.Request, handler) -> web.StreamResponse:
        if self._allow and _canonical(request.remote) not in self._allow:
            return self._refuse(request, "this address is not in osc.allow")
        given = request.query.get("token") or request.cookies.get(COOKIE) or ""
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            return self._refuse(request, "no valid token (open the URL printed at start)")
        return await handler(request)

    async def _index(self, request: web.Request) -> web.Response:
        body, kind = self._files["index.html"]
        response = web.Response(body=body, content_type=kind, charset="utf-8",
                                headers={"Cache-Control": "no-store"})
        # the page's CSS, JS and socket then carry the token without it in every address
        response.set_cookie(COOKIE, self.token, httponly=True, samesite="Strict")
        return response

    async def _static(self, request: web.Request) -> web.Response:
        found = self._files.get(request.match_info["name"])
        if found is None:
            return web.Response(status=404, text="404\n")
        return web.Response(body=found[0], content_type=found[1], charset="utf-8")

    # -- the WebSocket ---------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        if len(self._pages) >= MAX_SOCKETS:
            return web.Response(status=503, text=f"{MAX_SOCKETS} pages are open already\n")
        ws = web.WebSocketResponse(max_msg_size=MAX_MESSAGE_BYTES, heartbeat=10.0)
        await ws.prepare(request)
        page = _Page(ws, {})
        page.offer(self._feedback(), whole=True)
        self._pages.add(page)
        sender = asyncio.get_running_loop().create_task(page.send_forever())
        self._tasks.add(sender)
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._frame(page, message.data)
                elif message.type == WSMsgType.ERROR:
                    break
        finally:
            self._pages.discard(page)
            sender.cancel()
            self._tasks.discard(sender)
        return ws

    def _frame(self, page: _Page, text: str) -> None:
        now = time.monotonic()
        if not page.limit.take(now):
            page.dropped += 1
            self._frame_error(page, f"more than {MESSAGES_PER_SECOND} messages a second: "
                                    "dropped", now)
            return
        try:
            address, args = read_frame(text)
            what = parse(address, args)
        except (FrameError, OscMessageError) as err:
            self._frame_error(page, str(err), now)
            return
        if isinstance(what, Ignored | Subscribe | Unsubscribe):
            return  # an open page is subscribed
        if isinstance(what, StateQuery):
            page.offer(self._feedback(), whole=True)
        elif isinstance(what, AnchorFiles):
            if page.listing:
                return  # the answer on its way serves this ask too
            page.listing = True
            task = asyncio.get_running_loop().create_task(self._list_anchors(page))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            if isinstance(what, Learn | CancelLearn | Forget) and self._learn is None:
                self._frame_error(page, f"{address}: no MIDI controller to learn "
                                        "(--controller PORT or [controller] input)", now)
                return
            try:
                (self._learn if isinstance(what, Learn | CancelLearn | Forget)
                 else self._submit)(what)
            except EngineError as err:
                self._frame_error(page, f"{address}: {err}", now)
                return
            self._wake.set()  # every page (this one too) hears the change now
        self.handled += 1

    def _frame_error(self, page: _Page, text: str, now: float) -> None:
        self.refused += 1
        if page.errors.take(now):
            page.say(error_frame(text))
        # once a minute per address (the text before its colon), whatever the values
        if self._refusals.should_log(f"frame {text.split(':', 1)[0]}", now):
            log.warning("web: ignored %s (logged once a minute)", text)

    async def _list_anchors(self, page: _Page) -> None:
        try:
            files = await asyncio.to_thread(self._anchors) if self._anchors else ()
        finally:
            page.listing = False
        page.say(anchors_frame(files))

    async def _feedback_loop(self) -> None:
        period = 1.0 / self.config.feedback_hz
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), period)
            self._wake.clear()
            if not self._pages:
                continue
            try:
                now = self._feedback()
            except Exception:  # the engine's bug; the pages get the next tick's
                log.debug("web feedback: state() failed", exc_info=True)
                await asyncio.sleep(period)
                continue
            for page in list(self._pages):
                page.offer(now)
            await asyncio.sleep(MIN_FEEDBACK_GAP_S)  # a flood of commands: one read a gap


def lan_address(ipv6: bool = False) -> str:
    """This machine's address on its default route (no packet is sent: a UDP socket's
    connect only picks the route), or the loopback where there is none."""
    family, probe = (socket.AF_INET6, ("fd00::1", 1)) if ipv6 else (socket.AF_INET,
                                                                  ("10.255.255.255", 1))
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(probe)
            return sock.getsockname()[0]
        except OSError:
            return "::1" if ipv6 else "127.0.0.1"


def _canonical(host: str | None) -> str:
    try:
        return canonical_ip(host or "")
    except ValueError:
        return host or ""
