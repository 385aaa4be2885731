"""The MIDI system's port list, read in a process of its own for the ports the engine watches.

Listing JACK's ports opens a JACK client each time: about 170 ms, during which python-rtmidi
holds the GIL for up to 46 ms at a stretch (measured here with a second thread timing its own
loop). In the engine's process that stalls the output thread and the asyncio loop, once a
second, for as long as an existing port is watched. So a child lists the ports every
``period_s`` and sends the listing when it changes; the engine keeps the latest
(``PortLister.latest``) and reads it without a system call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
from multiprocessing.connection import Connection

from latentjam.engine.errors import PortError
from latentjam.engine.midi_input import end_process
from latentjam.engine.ports import PortListing

log = logging.getLogger(__name__)

LIST_PERIOD_S = 0.5  # how often the child reads the port list


def serve(conn: Connection, backend: str | None, period_s: float) -> None:
    """The child: send the port listing whenever it changes, until the engine goes."""
    from latentjam.engine.ports import list_ports

    last = None
    with contextlib.suppress(EOFError, OSError, KeyboardInterrupt):
        while True:
            try:
                listing = list_ports(backend)
            except PortError as err:
                listing = err
            key = (listing.inputs, listing.outputs) if isinstance(listing, PortListing) \
                else str(listing)
            if key != last:
                conn.send(listing if isinstance(listing, PortListing) else str(listing))
                last = key
            if conn.poll(period_s):  # the engine sends nothing: data or EOF means stop
                return


class PortLister:
    """The latest port listing of ``backend``, kept up to date by a child process."""

    def __init__(self, backend: str | None, period_s: float = LIST_PERIOD_S) -> None:
        self._backend, self._period_s = backend, period_s
        self._conn: Connection | None = None
        self._process: multiprocessing.process.BaseProcess | None = None
        self.latest: PortListing | None = None  # None until the first listing arrives

    async def open(self) -> None:
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe(duplex=True)
        self._process = context.Process(target=serve, name="latentjam ports", daemon=True,
                                        args=(theirs, self._backend, self._period_s))
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._process.start)
        theirs.close()
        self._conn = ours
        loop.add_reader(ours.fileno(), self._readable)

    def _readable(self) -> None:
        conn = self._conn
        try:
            while conn is not None and conn.poll():
                message = conn.recv()
                if isinstance(message, PortListing):
                    self.latest = message
                else:
                    log.debug("cannot list MIDI ports: %s", message)
        except (EOFError, OSError):
            asyncio.get_running_loop().remove_reader(conn.fileno())
            self._conn = None
            log.warning("the MIDI port watcher ended; lost ports are no longer reopened")

    async def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(ValueError, OSError, RuntimeError):
                asyncio.get_running_loop().remove_reader(self._conn.fileno())
            self._conn.close()
            self._conn = None
        process, self._process = self._process, None
        if process is not None:
            await asyncio.get_running_loop().run_in_executor(None, end_process, process)

