"""How much a model's samples sound like a band: style profiles and the table that compares them.

A ``StyleProfile`` summarises many windows (NoteSequences cut to a model's windows and read
back through its converter, band and samples alike) part by part as normalised histograms:
notes per bar, pitch range, pitch classes, onset position in the bar, melodic interval, note
length, drum classes and drum steps, plus the shares of empty and one-note windows. Two
profiles differ, statistic by statistic, by the total variation of their histograms (0 the
same, 1 disjoint); ``compare`` lays out a band against several models, the first the base the
others' change is measured from. Everything here is a pure function of notes except
``band_windows``, which reads the band's MIDI files.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from latentjam.models.errors import InputError, ModelError
from latentjam.models.evaluation.metrics import (
    DRUM_NAMES,
    drum_hits_per_bar,
    part_of,
    pitch_class_histogram,
    total_variation,
)
from latentjam.models.midi_io import MIDI_SUFFIXES, find_midi_files, read_midi
from latentjam.models.notesequence import Note, NoteSequence
from latentjam.models.parts import DRUMS, MELODY, TRIO_PARTS

if TYPE_CHECKING:
    from latentjam.models.trained_model import TrainedModel

NOTES_PER_BAR = "notes per bar"
PITCH_RANGE = "pitch range"
PITCH_CLASS = "pitch class"
ONSET = "onset position"
INTERVAL = "interval"
LENGTH = "note length"
DRUM_CLASS = "drum class"
DRUM_STEP = "drum step"
EMPTY = "empty windows"
ONE_NOTE = "one-note windows"
PITCHED_STATISTICS = (NOTES_PER_BAR, PITCH_RANGE, PITCH_CLASS, ONSET, INTERVAL, LENGTH)
DRUM_STATISTICS = (NOTES_PER_BAR, DRUM_CLASS, DRUM_STEP)
SHARES = (EMPTY, ONE_NOTE)
KIND_PARTS = {"melody": (MELODY,), "drums": (DRUMS,), "trio": TRIO_PARTS}

# Left edges of the notes-per-bar bins after a bin of its own for silence: a melody plays a
# few notes a bar, a drum part tens of hits, so each gets a scale that separates its styles.
PITCHED_DENSITY_EDGES = (0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0)
DRUM_DENSITY_EDGES = (0.0, 2.0, 4.0, 8.0, 12.0, 16.0, 24.0, 32.0, 48.0)
# Left edges of the semitone span of a window: a repeated note, a step, a third, up to a
# fourth, an octave, a twelfth, two octaves, wider.
RANGE_EDGES = (0, 1, 3, 5, 8, 13, 20, 25)
INTERVAL_LIMIT = 12  # leaps wider than an octave count as an octave: 25 bins, -12..12
# Right edges, in sixteenths, of the note-length bins 1, 2, 3-4, 5-8, 9-16 and longer.
LENGTH_EDGES = (1, 2, 4, 8, 16)
SIXTEENTHS_PER_BAR = 16
PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


@dataclass(frozen=True, eq=False)
class PartProfile:
    """One part's statistics over many windows; each histogram sums to 1 (or is all zeros
    when the part has nothing to count: no notes, or no window with two notes for
    intervals)."""

    part: str
    windows: int
    empty_share: float  # windows without a note of this part
    one_note_share: float  # windows with exactly one
    mean_notes_per_bar: float
    mean_pitch_range: float  # semitones, over windows with notes; 0 for drums
    histograms: dict[str, np.ndarray] = field(default_factory=dict)  # statistic -> histogram


@dataclass(frozen=True, eq=False)
class StyleProfile:
    """The statistics of windows of one encoding (kind, window length, grid), part by part."""

    encoding: str  # e.g. "melody, 2-bar windows": only profiles of one encoding compare
    windows: int
    bars: int
    steps_per_quarter: int
    parts: dict[str, PartProfile]

    @classmethod
    def of(cls, windows: Sequence[NoteSequence], kind: str, bars: int,
           steps_per_quarter: int = 4) -> StyleProfile:
        """The profile of ``windows`` (each ``bars`` bars of 4/4) of a ``kind`` model
        (melody, drums or trio: which parts are counted)."""
        if kind not in KIND_PARTS:
            raise ValueError(f"unknown kind {kind!r} (known: {', '.join(KIND_PARTS)})")
        if bars < 1 or steps_per_quarter < 1:
            raise ValueError(f"bars and steps per quarter must be positive, got {bars}, "
                             f"{steps_per_quarter}")
        parts = {part: _part_profile(windows, part, bars, steps_per_quarter)
                 for part in KIND_PARTS[kind]}
        return cls(encoding=encoding(kind, bars, steps_per_quarter), windows=len(windows),
                   bars=bars, steps_per_quarter=steps_per_quarter, parts=parts)

    def keys(self) -> list[str]:
        """The statistics measured, as ``part/statistic``, in table order."""
        return [f"{part}/{statistic}" for part, profile in self.parts.items()
                for statistic in (*profile.histograms, *SHARES)]


def encoding(kind: str, bars: int, steps_per_quarter: int = 4) -> str:
    """The name of a kind of window (``melody, 2-bar windows``): profiles compare only
    within one."""
    grid = "" if steps_per_quarter == 4 else f", {steps_per_quarter} steps per quarter"
    return f"{kind}, {bars}-bar windows{grid}"


def model_encoding(model: TrainedModel) -> str:
    """The kind of window ``model`` reads and writes."""
    converter = model.config.converter
    return encoding(converter.kind, converter.slice_bars, converter.steps_per_quarter)


def model_profile(model: TrainedModel, windows: Sequence[NoteSequence]) -> StyleProfile:
    """The profile of ``windows`` read the way ``model``'s converter cuts them."""
    converter = model.config.converter
    return StyleProfile.of(windows, converter.kind, converter.slice_bars,
                           converter.steps_per_quarter)


def _steps(notes: Sequence[Note], seconds_per_step: float) -> tuple[np.ndarray, np.ndarray]:
    """Start step and length in steps of each note (rounded: decoded notes lie on the grid,
    the rounding only absorbs float error)."""
    starts = np.array([n.start_time for n in notes], float)
    ends = np.array([n.end_time for n in notes], float)
    return np.rint(starts / seconds_per_step).astype(int), \
        np.rint((ends - starts) / seconds_per_step).astype(int)


def _normalised(counts: np.ndarray) -> np.ndarray:
    counts = np.asarray(counts, float)
    total = counts.sum()
    return counts / total if total else counts


def _density_bin(per_bar: float, edges: Sequence[float]) -> int:
    # bin 0 is silence; a window of one note in two bars is not a silent one
    if per_bar == 0:
        return 0
    return 1 + int(np.searchsorted(edges[1:], per_bar, side="right"))


def _part_profile(windows: Sequence[NoteSequence], part: str, bars: int,
                  steps_per_quarter: int) -> PartProfile:
    drums = part == DRUMS
    edges = DRUM_DENSITY_EDGES if drums else PITCHED_DENSITY_EDGES
    steps_per_bar = steps_per_quarter * 4
    density = np.zeros(len(edges) + 1)
    spans = np.zeros(len(RANGE_EDGES))
    onsets = np.zeros(SIXTEENTHS_PER_BAR)
    intervals = np.zeros(2 * INTERVAL_LIMIT + 1)
    lengths = np.zeros(len(LENGTH_EDGES) + 1)
    counts, span_values, all_notes = [], [], []
    for window in windows:
        notes = sorted((n for n in window.notes if part_of(n) == part),
                       key=lambda n: (n.start_time, n.pitch))
        counts.append(len(notes))
        density[_density_bin(len(notes) / bars, edges)] += 1
        if not notes:
            continue
        all_notes.extend(notes)
        seconds_per_step = 60.0 / window.qpm / steps_per_quarter
        starts, durations = _steps(notes, seconds_per_step)
        # position in sixteenths whatever the grid, so that models of other grids compare
        np.add.at(onsets, (starts % steps_per_bar) * SIXTEENTHS_PER_BAR // steps_per_bar, 1)
        if drums:
            continue
        pitches = np.array([n.pitch for n in notes])
        span = int(pitches.max() - pitches.min())
        span_values.append(span)
        spans[int(np.searchsorted(RANGE_EDGES, span, side="right")) - 1] += 1
        # a part is monophonic once through a converter: successive onsets make a line
        leaps = np.clip(np.diff(pitches), -INTERVAL_LIMIT, INTERVAL_LIMIT)
        np.add.at(intervals, leaps + INTERVAL_LIMIT, 1)
        sixteenths = durations * 4 / steps_per_quarter
        np.add.at(lengths, np.searchsorted(LENGTH_EDGES, sixteenths, side="left"), 1)
    if drums:
        hits = drum_hits_per_bar(all_notes, 1.0)  # counts: any bar count normalises away
        histograms = {NOTES_PER_BAR: density, DRUM_CLASS: hits, DRUM_STEP: onsets}
    else:
        histograms = {NOTES_PER_BAR: density, PITCH_RANGE: spans,
                      PITCH_CLASS: pitch_class_histogram(all_notes), ONSET: onsets,
                      INTERVAL: intervals, LENGTH: lengths}
    histograms = {name: _normalised(h) for name, h in histograms.items()}
    for histogram in histograms.values():
        histogram.setflags(write=False)  # a frozen profile, arrays included
    n = len(counts)
    return PartProfile(
        part=part, windows=n,
        empty_share=sum(c == 0 for c in counts) / n if n else 0.0,
        one_note_share=sum(c == 1 for c in counts) / n if n else 0.0,
        mean_notes_per_bar=float(np.mean(counts)) / bars if n else 0.0,
        mean_pitch_range=float(np.mean(span_values)) if span_values else 0.0,
        histograms=histograms)


def _histogram_distance(p: np.ndarray, q: np.ndarray) -> float:
    # An all-zero histogram is "nothing to count" (a silent part): equal to another silent
    # one, and as far as can be from one that plays, not the 0.5 a plain formula would give.
    empty_p, empty_q = not p.any(), not q.any()
    if empty_p or empty_q:
        return 0.0 if empty_p and empty_q else 1.0
    return total_variation(p, q)


def distance(band: StyleProfile, other: StyleProfile) -> dict[str, float]:
    """Per ``part/statistic``: the total variation between the two profiles' histograms,
    and for the empty and one-note shares their absolute difference; each in 0..1."""
    if band.encoding != other.encoding:
        raise ValueError(f"profiles of different windows do not compare: {band.encoding!r} "
                         f"vs {other.encoding!r}")
    out = {}
    for part, mine in band.parts.items():
        theirs = other.parts[part]
        for statistic, histogram in mine.histograms.items():
            out[f"{part}/{statistic}"] = _histogram_distance(histogram,
                                                             theirs.histograms[statistic])
        out[f"{part}/{EMPTY}"] = abs(mine.empty_share - theirs.empty_share)
        out[f"{part}/{ONE_NOTE}"] = abs(mine.one_note_share - theirs.one_note_share)
    return out


def _share(profile: PartProfile, statistic: str) -> float:
    return profile.empty_share if statistic == EMPTY else profile.one_note_share


def summary(profile: PartProfile, statistic: str) -> str:
    """A few words on what one statistic of a part looks like, for the band's column."""
    if statistic in SHARES:
        return f"{_share(profile, statistic):.1%}"
    histogram = profile.histograms[statistic]
    if not histogram.any():
        return "—"
    if statistic == NOTES_PER_BAR:
        return f"mean {profile.mean_notes_per_bar:.1f}"
    if statistic == PITCH_RANGE:
        return f"mean {profile.mean_pitch_range:.1f} st"
    if statistic == PITCH_CLASS:
        top = np.argsort(-histogram, kind="stable")[:3]
        return " ".join(f"{PITCH_NAMES[k]} {histogram[k]:.0%}" for k in top)
    if statistic in (ONSET, DRUM_STEP):
        return f"{histogram[::4].sum():.0%} on beats"
    if statistic == INTERVAL:
        sizes = np.abs(np.arange(-INTERVAL_LIMIT, INTERVAL_LIMIT + 1))
        return f"mean leap {(histogram * sizes).sum():.1f} st, " \
               f"{histogram[INTERVAL_LIMIT]:.0%} repeats"
    if statistic == LENGTH:
        labels = ("1", "2", "3-4", "5-8", "9-16", ">16")
        top = int(np.argmax(histogram))
        return f"mostly {labels[top]}/16 ({histogram[top]:.0%})"
    if statistic == DRUM_CLASS:
        top = np.argsort(-histogram, kind="stable")[:2]
        return " ".join(f"{DRUM_NAMES[k]} {histogram[k]:.0%}" for k in top)
    raise ValueError(f"unknown statistic {statistic!r}")


@dataclass(frozen=True)
class LikenessRow:
    part: str
    statistic: str
    band: str  # the band's summary
    distances: tuple[float, ...]  # per model, in the table's order
    changes: tuple[float | None, ...]  # per model after the first: % vs the first, None if
    #                                    the first is at 0 and this one is not
    shares: tuple[float, ...] = ()  # per model, for the empty and one-note rows


@dataclass(frozen=True)
class LikenessTable:
    """A band against models of one encoding; the first model is the base."""

    encoding: str
    band_windows: int
    models: tuple[str, ...]
    model_windows: tuple[int, ...]
    rows: tuple[LikenessRow, ...]

    def distance(self, model: str, key: str) -> float:
        """The distance of ``model`` to the band on ``part/statistic``."""
        index = self.models.index(model)
        for row in self.rows:
            if f"{row.part}/{row.statistic}" == key:
                return row.distances[index]
        raise KeyError(key)

    def mean_distance(self, model: str) -> float:
        """The mean of a model's distances over every row: one number for "closer or not"."""
        index = self.models.index(model)
        return float(np.mean([row.distances[index] for row in self.rows]))

    def render(self, markdown: bool = False) -> str:
        """The table as aligned plain text, or as a Markdown table."""
        return _render(self, markdown)


def _change(value: float, base: float) -> float | None:
    if base == 0:
        return 0.0 if value == 0 else None
    return (value - base) / base * 100.0


def compare(band: StyleProfile, profiles: Mapping[str, StyleProfile]) -> LikenessTable:
    """Each model's distance to the band per statistic, and for the second model on its
    relative change against the first (negative: closer to the band than the base)."""
    if not profiles:
        raise ValueError("compare needs at least one model's profile")
    names = tuple(profiles)
    measured = {name: distance(band, profile) for name, profile in profiles.items()}
    rows = []
    for key in band.keys():
        part, statistic = key.split("/", 1)
        distances = tuple(measured[name][key] for name in names)
        shares = tuple(_share(profiles[name].parts[part], statistic) for name in names) \
            if statistic in SHARES else ()
        rows.append(LikenessRow(
            part=part, statistic=statistic, band=summary(band.parts[part], statistic),
            distances=distances, changes=tuple(_change(d, distances[0]) for d in distances[1:]),
            shares=shares))
    return LikenessTable(encoding=band.encoding, band_windows=band.windows, models=names,
                         model_windows=tuple(p.windows for p in profiles.values()),
                         rows=tuple(rows))


def _format_change(change: float | None) -> str:
    if change is None:
        return "from 0"  # the base matched the band exactly: no ratio to give
    return f"{change:+.0f}%" if round(change) else "0%"


def _cells(table: LikenessTable) -> tuple[list[str], list[list[str]]]:
    several_parts = len({row.part for row in table.rows}) > 1
    header = (["part"] if several_parts else []) + ["statistic", "band"]
    for index, name in enumerate(table.models):
        header.append(name)
        if index:
            header.append(f"vs {table.models[0]}")
    lines = []
    for row in table.rows:
        cells = ([row.part] if several_parts else []) + [row.statistic, row.band]
        for index, value in enumerate(row.distances):
            cells.append(f"{value:.3f}" + (f" ({row.shares[index]:.1%})" if row.shares else ""))
            if index:
                cells.append(_format_change(row.changes[index - 1]))
        lines.append(cells)
    means = [table.mean_distance(name) for name in table.models]
    cells = ([""] if several_parts else []) + ["mean of the rows", ""]
    for index, value in enumerate(means):
        cells.append(f"{value:.3f}")
        if index:
            cells.append(_format_change(_change(value, means[0])))
    lines.append(cells)
    return header, lines


def _render(table: LikenessTable, markdown: bool) -> str:
    header, lines = _cells(table)
    windows = ", ".join(f"{name} {n}" for name, n in zip(table.models, table.model_windows,
                                                          strict=True))
    title = f"{table.encoding}: band {table.band_windows} windows; samples {windows}"
    legend = ("A model's cell: its distance to the band, the total variation of the two "
              "histograms (0 the same, 1 disjoint); for the empty and one-note rows, the "
              "difference of the shares (the model's share in brackets).")
    if len(table.models) > 1:
        legend += (f" \"vs {table.models[0]}\": how much the distance changed against "
                   f"{table.models[0]}; negative is closer to the band.")
    if markdown:
        out = [f"**{title}**", "", "| " + " | ".join(header) + " |",
               "|" + "|".join(" --- " for _ in header) + "|"]
        out += ["| " + " | ".join(cells) + " |" for cells in lines]
        return "\n".join([*out, "", legend]) + "\n"
    widths = [max(len(cells[k]) for cells in [header, *lines]) for k in range(len(header))]
    text_columns = len(header) - (2 * len(table.models) - 1)  # part?, statistic, band

    def line(cells: list[str]) -> str:
        # words to the left, numbers to the right, so that decimal points line up
        return "  ".join(cell.ljust(width) if k < text_columns else cell.rjust(width)
                         for k, (cell, width) in enumerate(zip(cells, widths, strict=True)))

    rule = "  ".join("-" * width for width in widths)
    body = [title, "", line(header).rstrip(), rule, *(line(c).rstrip() for c in lines[:-1]),
            rule, line(lines[-1]).rstrip(), ""]
    return "\n".join(body + textwrap.wrap(legend, width=max(len(rule), 72))) + "\n"


@dataclass(frozen=True)
class FileWindows:
    """What one band file gave: its windows, or why none."""

    path: Path
    windows: int
    reason: str = ""  # why it gave none


def band_files(folder: Path) -> list[Path]:
    """The MIDI files under ``folder`` (subfolders included), in name order; InputError when
    the folder is missing or holds none."""
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder of MIDI files")
    files = find_midi_files(folder)
    if not files:
        raise InputError(f"{folder}: no MIDI files ({', '.join(MIDI_SUFFIXES)}) in it")
    return files


def band_windows(model: TrainedModel, paths: str | Path | Sequence[str | Path],
                 reader: Callable[[Path], NoteSequence] = read_midi
                 ) -> tuple[list[NoteSequence], list[FileWindows]]:
    """The band's windows as ``model`` cuts them, each read back through its converter (so
    band and samples pass through the same encoding), and what each file gave.

    ``paths``: a folder (its MIDI files) or a list of files; ``reader`` reads one (a cached
    one saves reading a folder again for a model of another kind). A file that cannot be
    read or gives no window is recorded with its reason; InputError when none gives any.
    """
    if isinstance(paths, str | Path):
        folder = Path(paths).expanduser()
        files = band_files(folder)
        where = str(folder)
    else:
        files = [Path(p) for p in paths]
        if not files:
            raise InputError("no MIDI files given")
        where = ", ".join(str(p) for p in files[:3]) + (", ..." if len(files) > 3 else "")
    # The windows personalize learns from. ``model.windows`` takes every piece as a clip: a
    # song's melody is padded with rests to the song's end, and 91% of the band set's melody
    # windows came out empty that way.
    windows: list[NoteSequence] = []
    report = []
    for path in files:
        try:
            classes, reason = model.distinct_windows(reader(path))
        except ModelError as err:
            report.append(FileWindows(path, 0, str(err)))
            continue
        windows.extend(model.converter.to_sequence(c) for c in classes)
        report.append(FileWindows(path, len(classes), "" if classes else f"{path}: {reason}"))
    if not windows:
        raise InputError(f"{where}: no usable MIDI for {model.config.name}; first: "
                         f"{report[0].reason}")
    return windows, report


__all__ = ["FileWindows", "LikenessRow", "LikenessTable", "PartProfile",
           "StyleProfile", "band_windows", "compare", "distance", "encoding", "band_files",
           "model_encoding", "model_profile", "summary"]
