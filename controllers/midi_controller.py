"""A MIDI controller steering a running set: its CCs and notes in, feedback CCs out, MIDI CC
learn from OSC (``/latentjam/learn``) or the control page.

The input is opened in a process of its own (``engine.midi_input``, as the clock follower's
and the recorder's are), so the controller's MIDI never waits for the GIL on the MIDI
system's real-time thread; its messages reach the asyncio loop through a pipe, at most
``max_messages_per_second`` a second (beyond that, the latest of each control is held and
let through as the bound allows). Each message costs one state read and a table lookup
(``cc_map``). Feedback goes to an output port opened here (sending is a copy into the MIDI
system's buffer), at most ``feedback_hz`` times a second per control. Learned and
forgotten mappings are handed to ``save`` (the app writes them into the set file), in a
thread, one save at a time. A controller unplugged is noticed in the port list (read in a
process of its own, ``engine.port_lister``) and opened again when it is back; its knobs then
take over by soft takeover and its lights are sent every value.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import mido
from latentjam.controllers.cc_config import CcMapping, ControllerConfig
from latentjam.controllers.cc_map import CcMap, MessageBound
from latentjam.controllers.osc_addresses import (
    ROOT,
    CancelLearn,
    Forget,
    Learn,
    LearnRequest,
)
from latentjam.controllers.osc_server import RefusalLog
from latentjam.engine.commands import Command
from latentjam.engine.engine_state import EngineState
from latentjam.engine.errors import EngineError, SettingError
from latentjam.engine.midi_input import MidiInputProcess
from latentjam.engine.port_lister import PortLister
from latentjam.engine.ports import PortListing

log = logging.getLogger(__name__)

WATCH_PERIOD_S = 0.5  # how often the port list is looked at for the controller's ports

Save = Callable[[tuple[CcMapping, ...]], None]


class MidiController:
    """``MidiController(config, tracks, submit=performer.command, state=performer.state)``;
    ``save`` writes the mappings somewhere lasting (None: they last until the set stops)."""

    def __init__(self, config: ControllerConfig, tracks: tuple[str, ...] | list[str],
                 submit: Callable[[Command], None], state: Callable[[], EngineState], *,
                 backend: str | None = None, save: Save | None = None) -> None:
        if config.input is None:
            raise SettingError("controller: no input port (--controller PORT or [controller] "
                               "input)")
        self.config = config
        self.map = CcMap(config.mappings, tracks)
        self._submit = submit
        self._state = state
        self._backend = backend
        self._save = save
        self._bound = MessageBound(config.max_messages_per_second)
        self._input = MidiInputProcess(config.input, virtual=False, backend=backend,
                                       on_message=self._message, on_lost=self._lost)
        self._output: mido.ports.BaseOutput | None = None
        self._task: asyncio.Task | None = None
        self._watch_task: asyncio.Task | None = None
        self._input_gone = self._output_gone = False
        self._output_name: str | None = None
        self.reopened = 0  # times a port of the controller was opened again
        self._saving: asyncio.Task | None = None
        self._save_again = False
        self._refusals = RefusalLog(log, source="MIDI controller")
        self._output_failed = False
        self.handled = 0  # messages from the controller carried out
        self.fed_back = 0  # feedback messages sent
        self.saved = 0  # times the mappings were written

    async def start(self) -> str:
        """Open the input (and the feedback output); the input's port name. ``PortError``
        naming what is there when a port cannot be opened."""
        name = await self._input.open()
        if self.config.feedback is not None:
            try:
                await self._open_output()
            except EngineError:
                await self._input.close()
                raise
        loop = asyncio.get_running_loop()
        self._task = loop.create_task(self._feedback_loop(), name="controller feedback")
        self._watch_task = loop.create_task(self._watch_loop(), name="controller ports")
        log.info("MIDI controller: %s (%d mapping%s)%s", name, len(self.map.mappings),
                 "" if len(self.map.mappings) == 1 else "s",
                 f", feedback to {self._output.name}" if self._output else "")
        return name

    async def _open_output(self) -> None:
        from latentjam.engine.ports import open_output

        self._output = await asyncio.get_running_loop().run_in_executor(
            None, lambda: open_output(self.config.feedback, virtual=False,
                                      backend=self._backend))
        self._output_name = self._output.name
        self._output_failed = False

    async def close(self) -> None:
        for task in (self._task, self._watch_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._watch_task = None
        if self._saving is not None:  # a save under way finishes: the file stays whole
            with contextlib.suppress(Exception):
                await self._saving
        await self._input.close()
        if self._output is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._output.close)
            self._output = None
        self._refusals.flush(time.monotonic(), final=True)

    # -- learn (OSC, the page) --------------------------------------------------------------

    def learn(self, request: LearnRequest) -> None:
        """Carry out ``/latentjam/learn ADDRESS``, ``/learn/cancel``, ``/learn/forget
        ADDRESS``; ``SettingError`` when the address is no control of the set."""
        if isinstance(request, Learn):
            self.map.learn(request.address)
            log.info("MIDI controller: move a knob, fader or button to map it to %s",
                     request.address)
        elif isinstance(request, CancelLearn):
            if self.map.cancel():
                log.info("MIDI controller: learning cancelled")
        elif isinstance(request, Forget):
            if self.map.forget(request.address):
                log.info("MIDI controller: %s is no longer mapped", request.address)
                self._changed()
        else:
            raise SettingError(f"not a learn request: {request!r}")

    def feedback(self) -> dict[str, tuple]:
        """OSC feedback messages: the controller's input and whether it is there, the address
        being learned ("" none) and the mappings."""
        return {f"{ROOT}/controller": (self.config.input,
                                       "gone" if self._input_gone else "connected"),
                f"{ROOT}/learn": (self.map.learning or "",),
                f"{ROOT}/learn/mapped": tuple(m.address for m in self.map.mappings)}

    # -- input ------------------------------------------------------------------------------

    def _message(self, status: int, data: bytes, _arrival_ns: int) -> None:
        if self._bound.admit(status, data, time.monotonic()):
            self._handle(status, data)

    def _handle(self, status: int, data: bytes) -> None:
        try:
            outcome = self.map.message(status, data, self._state())
        except Exception:  # a bug must not end the controller's input
            log.exception("MIDI controller: a message %02X %s failed", status, data.hex())
            return
        if outcome.refused:
            self._refusals.refuse(outcome.refused, time.monotonic())
        if outcome.learned is not None:
            mapping = outcome.learned
            what = f"CC {mapping.cc}" if mapping.cc is not None else f"note {mapping.note}"
            log.info("MIDI controller: channel %d %s moves %s", mapping.channel, what,
                     mapping.address)
            self._changed()
        for address, command in outcome.commands:
            try:
                self._submit(command)
            except EngineError as err:
                self._refusals.refuse(f"{address}: {err}", time.monotonic())
                continue
            self.handled += 1

    def _lost(self) -> None:
        if not self._input_gone:
            self._input_gone = True
            log.error("MIDI controller: the input process for %r ended; it is opened again "
                      "once its port is listed", self.config.input)

    # -- ports coming and going -------------------------------------------------------------

    async def _watch_loop(self) -> None:
        lister = PortLister(self._backend)  # listing here would stall the loop (port_lister)
        await lister.open()
        try:
            while True:
                await asyncio.sleep(WATCH_PERIOD_S)
                if lister.latest is not None:
                    await self._watch(lister.latest)
        finally:
            await lister.close()

    async def _watch(self, listing: PortListing) -> None:
        """Notice the controller's ports going; open them again when they are back."""
        listed = _listed(self.config.input, self._input.port_name, listing.inputs)
        if not listed and not self._input_gone:
            self._input_gone = True
            log.warning("MIDI controller: %s is gone; its knobs do nothing until it comes "
                        "back", self._input.port_name)
        elif listed and self._input_gone:
            await self._input.close()
            try:
                await self._input.open()
            except EngineError as err:
                log.warning("MIDI controller: %s is listed but does not open yet: %s",
                            self.config.input, err)
                return
            self._input_gone = False
            self.reopened += 1
            self.map.resync()
            log.info("MIDI controller: %s is back", self._input.port_name)
        if self._output_name is None:
            return
        listed = _listed(self.config.feedback, self._output_name, listing.outputs)
        if not listed and not self._output_gone:
            self._output_gone = True
            output, self._output = self._output, None
            if output is not None:
                await asyncio.get_running_loop().run_in_executor(None, output.close)
        elif listed and self._output_gone:
            try:
                await self._open_output()
            except EngineError as err:
                log.warning("MIDI controller: feedback port %s does not open yet: %s",
                            self.config.feedback, err)
                return
            self._output_gone = False
            self.reopened += 1
            self.map.resync(knobs=False)

    # -- feedback ---------------------------------------------------------------------------

    async def _feedback_loop(self) -> None:
        period = 1.0 / self.config.feedback_hz
        while True:
            await asyncio.sleep(period)
            now = time.monotonic()
            for status, data in self._bound.release(now):
                self._handle(status, data)
            self._refusals.flush(now)
            try:
                messages = self.map.observe(self._state())
            except Exception:  # the engine's bug; feedback carries on at the next tick
                log.debug("MIDI controller feedback: state() failed", exc_info=True)
                continue
            if self._output is None:
                continue
            for message in messages:
                try:
                    self._output.send(mido.Message.from_bytes(message))
                    self.fed_back += 1
                except Exception as err:  # a port gone must not end the feedback
                    if not self._output_failed:
                        self._output_failed = True
                        log.error("MIDI controller: feedback to %s failed: %s",
                                  self.config.feedback, err)

    # -- saving -----------------------------------------------------------------------------

    def _changed(self) -> None:
        if self._save is None:
            log.warning("MIDI controller: the mappings last until the set stops (play a set "
                        "file, --config FILE, to keep them)")
            return
        if self._saving is not None and not self._saving.done():
            self._save_again = True  # the latest mappings are written once this save ends
            return
        self._saving = asyncio.get_running_loop().create_task(self._write())

    async def _write(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._save_again = False
            mappings = self.map.mappings
            try:
                await loop.run_in_executor(None, self._save, mappings)
                self.saved += 1
                log.info("MIDI controller: %d mapping%s saved", len(mappings),
                         "" if len(mappings) == 1 else "s")
            except EngineError as err:
                log.error("MIDI controller: the mappings were not saved: %s", err)
            except Exception:
                log.exception("MIDI controller: the mappings were not saved")
            if not self._save_again:
                return


def _listed(wanted: str, opened: str | None, available: tuple[str, ...] | list[str]) -> bool:
    """Whether the port opened as ``opened`` (asked for as ``wanted``, part of a name) is
    there: under its name, or as the one port ``wanted`` names (a controller plugged in
    again may come back under another number)."""
    if opened in available:
        return True
    return sum(wanted.lower() in port.lower() for port in available) == 1
