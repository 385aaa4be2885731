"""A snapshot of what the engine is doing, for controllers to show (OSC feedback, the CLI's
status line). Plain frozen data; the performer makes a new one on request."""

from __future__ import annotations

from dataclasses import dataclass

from latentjam.engine.humanize import HumanizeParams


@dataclass(frozen=True, slots=True)
class TrackState:
    name: str
    mode: str  # one of commands.MODES
    temperature: float
    walk_step: float
    loop_bars: int
    every: int  # loops between new ones in sample and walk modes
    muted: bool
    soloed: bool
    humanize: HumanizeParams
    port: str  # the port key of the routing
    channel: int  # 0..15 (mido's numbering)
    loops_played: int  # loops started so far
    late_answers: int  # times a model answer came too late and the loop repeated
    anchors: tuple[int, ...]  # slots holding a latent vector
    blend_point: tuple[float, float] = (0.5, 0.5)  # blend and grid modes: (x, y) in 0..1
    blend_path: str = "circle"  # how that point moves (engine.blend)
    grid_size: int = 5  # grid mode: cells a side
    roll: tuple[int, ...] = ()  # the loop playing, summarized (loops.roll); () before one
    queued_roll: tuple[int, ...] = ()  # the next loop once the model has answered, else ()


@dataclass(frozen=True, slots=True)
class EngineState:
    playing: bool
    clock: str  # "internal", "midi" or "link"
    clock_status: str  # "stopped", "playing", "free-running", "waiting"
    bpm: float
    tick: int  # the tick sounding now (0 while stopped before the first start)
    bar: int  # 0-based bar of the performance
    beat: int  # 0-based beat in the bar
    tracks: tuple[TrackState, ...]
    skipped_notes: int = 0  # note-ons left out because they came due too late (a stall)
    skipped_pulses: int = 0  # clock pulses left out for the same reason
    refused_messages: int = 0  # messages not sent: not complete MIDI messages (midi_wire)
    jack_xruns: int = 0  # xruns the JACK server reported while the set ran (xrun_process)
