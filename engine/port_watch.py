"""Output ports that survive their device: a port that disappears is reopened when it returns.

A synth unplugged mid-set, or a DAW restarted, takes its input port away. Sending to a MIDI
system port that has gone either raises or silently goes nowhere (JACK drops the connection),
so the performer checks the named ports about once a second with the system's port list:
a port that is no longer listed is marked lost (sends to it are skipped, not errors: the rest
of the set plays on), and when it is listed again it is opened again and told all-notes-off
on the channels it had, so that nothing left sounding from before the loss hangs.

Virtual ports are ours: they cannot disappear, and are never watched.
"""

from __future__ import annotations

import logging
import threading

import mido
from latentjam.engine.errors import PortError
from latentjam.engine.note_tracker import ALL_NOTES_OFF
from latentjam.engine.ports import PortListing, list_ports, open_output

log = logging.getLogger(__name__)


class WatchedOutput:
    """A ``MessageSink`` over an output port opened by name, reopened after a loss.

    ``send`` is called from the output thread, ``check`` from the asyncio loop; a lock keeps
    the swap of the underlying port atomic for both.
    """

    def __init__(self, name: str, *, virtual: bool = True, backend: str | None = None) -> None:
        self.name = name
        self.virtual = virtual
        self._backend = backend
        self._lock = threading.Lock()
        self._port: mido.ports.BaseOutput | None = open_output(name, virtual=virtual,
                                                               backend=backend)
        self._system_name = self._port.name  # what the MIDI system lists for it
        self._channels: set[int] = set()
        self.losses = 0

    @property
    def lost(self) -> bool:
        return self._port is None

    def send(self, message: mido.Message) -> None:
        with self._lock:
            port = self._port
            if port is None:
                return  # lost: the set plays on; ``check`` reopens it
            channel = getattr(message, "channel", None)
            if channel is not None:
                self._channels.add(channel)
            port.send(message)

    def check(self, listing: PortListing | None = None) -> None:
        """Mark the port lost if the system no longer lists it; reopen it when it does again.
        ``listing``: the system's ports as a ``PortLister`` keeps them (listing them here
        takes long and holds the GIL); None lists them now. Reopening blocks: call it off
        the loop."""
        if self.virtual:
            return
        try:
            listed = self._system_name in (listing or list_ports(self._backend)).outputs
        except PortError as err:
            log.debug("cannot list ports to watch %r: %s", self.name, err)
            return
        if not listed and self._port is not None:
            with self._lock:
                port, self._port = self._port, None
            self.losses += 1
            log.warning("MIDI port %r has gone; its notes are dropped until it comes back",
                        self.name)
            try:
                port.close()
            except Exception as err:  # the system may already have torn it down
                log.debug("closing lost port %r: %s", self.name, err)
        elif listed and self._port is None:
            try:
                port = open_output(self.name, virtual=False, backend=self._backend)
            except PortError as err:
                log.debug("port %r is listed but does not open yet: %s", self.name, err)
                return
            with self._lock:
                self._port = port
                for channel in sorted(self._channels):
                    port.send(mido.Message("control_change", channel=channel,
                                           control=ALL_NOTES_OFF, value=0))
            log.warning("MIDI port %r is back", self.name)

    def close(self) -> None:
        with self._lock:
            port, self._port = self._port, None
        if port is not None:
            port.close()
