"""Why a piece gave no training windows, in words a musician acts on.

The converters count reasons (``no melody``, ``missing part``, ``not 4/4``...) the way
Magenta's statistics do; a user with fifteen files needs to know what in the file made it
useless ("its lead plays on a synth program the melody model does not read", "drums only").
``why_nothing`` reads the piece's instruments once more to say so. No TensorFlow here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from latentjam.models.configs import MEL_PROGRAMS, ModelConfig
from latentjam.models.encodings.drums import PITCH_TO_CLASS
from latentjam.models.notesequence import NoteSequence

# General MIDI's program families, eight programs each
FAMILIES = ("piano", "chromatic percussion", "organ", "guitar", "bass", "strings", "ensemble",
            "brass", "reed", "pipe", "synth lead", "synth pad", "synth effects", "ethnic",
            "percussive", "sound effects")
BASS_PROGRAMS = range(32, 40)  # the trio's bass (Magenta's TrioConverter)


def family(program: int) -> str:
    return FAMILIES[program // 8] if 0 <= program < 128 else "unknown"


def describe_programs(programs: Iterable[int]) -> str:
    """``33 (bass), 61 (brass)``: the programs and their families."""
    return ", ".join(f"{p} ({family(p)})" for p in sorted(set(programs)))


def describe_ranges(values: Iterable[int]) -> str:
    """``0-31, 40-127``: runs of consecutive integers."""
    runs: list[list[int]] = []
    for value in sorted(set(values)):
        if runs and value == runs[-1][-1] + 1:
            runs[-1].append(value)
        else:
            runs.append([value])
    return ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)


def _programs_range(programs: Iterable[int]) -> str:
    """``programs 0-31 (piano, ..., guitar)`` or ``programs 0-31, 40-127``: runs of
    consecutive programs, with the families when they are few."""
    programs = sorted(set(programs))
    text = describe_ranges(programs)
    families = sorted({family(p) for p in programs}, key=FAMILIES.index)
    if len(families) <= 4:
        text += f" ({', '.join(families)})"
    return f"programs {text}"


def why_nothing(ns: NoteSequence, config: ModelConfig, skipped: Mapping[str, int]) -> str:
    """A hint at why ``ns`` gave no window under ``config``; ``skipped``: the converter's
    reasons."""
    pitched = [n for n in ns.notes if not n.is_drum]
    drums = [n for n in ns.notes if n.is_drum]
    if not ns.notes:
        return "no notes"
    kind = config.converter.kind
    reasons = {reason for reason, count in skipped.items() if count}
    hints: list[str] = []
    if kind == "melody":
        hints += _melody_hints(pitched, config, reasons)
    elif kind == "drums":
        if not drums:
            hints.append("no drums (the drum model reads drum-channel notes)")
        elif "no drums" in reasons:
            if not any(n.pitch in PITCH_TO_CLASS for n in drums):
                hints.append("its drum notes are none of the 9 drum classes")
            else:
                hints.append("some of its passages have no drum hits")
    elif kind == "trio":
        hints += _trio_hints(pitched, drums, reasons)
    elif kind == "multiperf":
        hints += _multiperf_hints(ns, config, reasons)
    cfg = config.converter
    if "not 4/4" in reasons:
        hints.append("only its 4/4 passages are read")
    if "shorter than a window" in reasons:
        hints.append(f"shorter than one {cfg.slice_bars}-bar window")
    if "window with a silent part" in reasons:
        hints.append(f"in every {cfg.slice_bars}-bar window a part rests for more than "
                     f"{cfg.gap_bars or 2} bars")
    if "too short" in reasons:
        hints.append("its phrases last less than a bar")
    if "polyphonic" in reasons:
        hints.append("its melody instruments play chords")
    if "too few pitches" in reasons:
        hints.append("too few pitches")
    if "repeated window" in reasons and not hints:
        hints.append("every window repeats one taken already")
    return "; ".join(dict.fromkeys(hints)) or "nothing usable found"


def _melody_hints(pitched: list, config: ModelConfig, reasons: set[str]) -> list[str]:
    cfg = config.converter
    if not pitched:
        return ["drums only"]
    # the converter says "no melody", or (newer) names the programs it found
    if not any(r == "no melody" or r.startswith("no note on a melody program")
               for r in reasons):
        return []
    valid = cfg.valid_programs
    readable = [n for n in pitched if valid is None or n.program in valid]
    if not readable:
        hint = (f"no melody instrument: its pitched parts play "
                f"{describe_programs(n.program for n in pitched)}; the melody model reads "
                f"{_programs_range(valid or MEL_PROGRAMS)}")
        if any(n.program not in BASS_PROGRAMS for n in pitched):
            hint += " (`--melody-programs leads` reads every program but the basses)"
        return [hint]
    if not any(cfg.min_pitch <= n.pitch <= cfg.max_pitch for n in readable):
        return [f"no notes in the melody range (MIDI {cfg.min_pitch}-{cfg.max_pitch})"]
    return []


def _trio_hints(pitched: list, drums: list, reasons: set[str]) -> list[str]:
    if "missing part" not in reasons:
        return []
    melody = [n for n in pitched if n.program in MEL_PROGRAMS]
    bass = [n for n in pitched if n.program in BASS_PROGRAMS]
    missing = []
    if not melody:
        missing.append(f"no melody part: none on {_programs_range(MEL_PROGRAMS)}")
    if not bass:
        missing.append(f"no bass part: none on {_programs_range(BASS_PROGRAMS)}")
    if not drums:
        missing.append("no drums")
    others = [n.program for n in pitched if n.program not in MEL_PROGRAMS
              and n.program not in BASS_PROGRAMS]
    text = ", ".join(missing) or "a part is missing in some passage"
    if others and missing:
        text += f"; its other parts play {describe_programs(others)}"
    return [text]


def _multiperf_hints(ns: NoteSequence, config: ModelConfig, reasons: set[str]) -> list[str]:
    """The multi-instrument model's bar filters (Magenta's, for training data)."""
    cfg = config.converter
    hints = []
    if f"fewer than {cfg.min_instruments} instruments" in reasons:
        hints.append(f"bars with fewer than {cfg.min_instruments} instruments (MIDI tracks) "
                     f"playing are skipped" + (": the whole file is one track"
                                               if len({n.instrument for n in ns.notes}) < 2
                                               else ""))
    if f"more than {cfg.max_instruments} instruments" in reasons:
        hints.append(f"bars with more than {cfg.max_instruments} instruments playing are "
                     f"skipped")
    if "too many events in an instrument" in reasons:
        hints.append(f"an instrument plays more than {cfg.max_events_per_instrument - 2} "
                     f"events (notes on and off, time shifts, velocity changes) in a bar")
    if "too few events" in reasons:
        hints.append(f"bars with fewer than {cfg.min_total_events} events in all are skipped")
    if "pitch out of range" in reasons:
        hints.append(f"notes outside MIDI {cfg.min_pitch}-{cfg.max_pitch}")
    return hints
