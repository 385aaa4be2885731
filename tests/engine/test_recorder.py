"""The recorder's input handler on a fake timeline: a flood played in keeps a take bounded."""

from __future__ import annotations

import logging
from types import SimpleNamespace

from latentjam.engine.recorder import MAX_TAKE_EVENTS, LoopRecorder, Take
from latentjam.engine.timeline import Timeline


def test_a_flood_of_notes_played_in_keeps_the_take_bounded(caplog):
    recorder = LoopRecorder(None, None, lambda: Timeline.steady(120, 0, 0), spawn=print)
    take = Take(SimpleNamespace(name="melody"), slot=0, start_tick=0, end_tick=3840, bars=2)
    recorder.takes.append(take)
    with caplog.at_level(logging.WARNING):
        for k in range(3 * MAX_TAKE_EVENTS):
            recorder._played_in(0x90, bytes([60 + k % 12, 100]), 1_000_000 + k)
    assert len(take.events) == MAX_TAKE_EVENTS
    assert caplog.text.count("the rest is ignored") == 1
    recorder._played_in(0xB0, bytes([7, 100]), 2_000_000)  # not a note: not kept
    assert len(take.events) == MAX_TAKE_EVENTS
