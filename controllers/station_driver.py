"""The arranger steering a running set: each bar's plan carried out about half a bar before
the bar sounds (track changes are heard from the next bar or loop, a tempo at once)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

from latentjam.controllers.arranger import Arranger
from latentjam.engine import commands as cmd
from latentjam.engine.errors import EngineError

log = logging.getLogger(__name__)

POLL_S = 0.01
AHEAD_BEAT = 2  # a bar's plan goes in at this beat (0-based) of the bar before


async def drive(performer, arranger: Arranger,
                on_cue: Callable[[Mapping[str, object]], None] = lambda cue: None) -> None:
    """Bar 0's plan, then Play, then every next bar's plan ahead of it, until cancelled;
    ``on_cue`` hears each section as its plan goes in."""
    _carry_out(performer, arranger, 0, on_cue)
    performer.command(cmd.Play())
    bar = 1
    while True:
        state = performer.state()
        if state.playing and (state.bar, state.beat) >= (bar - 1, AHEAD_BEAT):
            _carry_out(performer, arranger, bar, on_cue)
            bar += 1
            continue
        await asyncio.sleep(POLL_S)


def _carry_out(performer, arranger: Arranger, bar: int,
               on_cue: Callable[[Mapping[str, object]], None]) -> None:
    plan = arranger.at(bar)
    for command in plan.commands:
        try:
            performer.command(command)
        except EngineError as err:  # the station plays on without that one change
            log.warning("radio: bar %d: %s", bar + 1, err)
    if plan.cue is not None:
        on_cue(plan.cue)
