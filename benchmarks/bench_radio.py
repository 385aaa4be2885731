"""A station rendered offline for hours (seeded), and what a listener would check: speed
against real time, memory at the start and the end, hanging notes, the longest silence,
32-bar stretches heard twice, songs and sections.

    python benchmarks/bench_radio.py --hours 24 --seed 1      # about 3 minutes here
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import tempfile
import time
from collections import Counter
from pathlib import Path

import mido
from latentjam.app.cli_radio import render, seeded
from latentjam.app.station_file import EXAMPLE_STATION, load_station
from latentjam.controllers.arranger import Arranger
from latentjam.engine.transport import PPQN, bars_to_ticks

STRETCH_BARS = 32


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def in_key_shares(out: Path, cues: list[dict]) -> list[float]:
    """Per song: the share of its pitched notes' time on its key's scale (drums aside)."""
    from latentjam.engine.harmony import NAMES, Key

    keys = {}
    for cue in cues:
        name, mode = cue["key"].split()
        keys[cue["song"]] = Key(NAMES.index(name), mode == "minor")
    shares = []
    for path in sorted(out.glob("song-*.mid")):
        scale = keys[int(path.stem.split("-")[1])].pitch_classes
        on = total = 0
        for track in mido.MidiFile(path).tracks:
            now, started = 0, {}
            for message in track:
                now += message.time
                if getattr(message, "channel", 9) == 9:
                    continue
                if message.type == "note_on" and message.velocity:
                    started[message.note] = now
                elif message.type in ("note_on", "note_off") and message.note in started:
                    length = now - started.pop(message.note)
                    total += length
                    on += length if message.note % 12 in scale else 0
        if total:
            shares.append(on / total)
    return shares


def density_by_energy(out: Path, cues: list[dict]) -> dict[float, float]:
    """Note-ons a bar (every track) in the sections of each energy."""
    bar = bars_to_ticks(1)
    starts: dict[int, list[int]] = {}
    song_start: dict[int, int] = {}
    for cue in cues:
        song_start.setdefault(cue["song"], cue["bar"])
    for path in sorted(out.glob("song-*.mid")):
        number, onsets = int(path.stem.split("-")[1]), []
        for track in mido.MidiFile(path).tracks:
            now = 0
            for message in track:
                now += message.time
                if message.type == "note_on" and message.velocity:
                    onsets.append(song_start[number] + now // bar)
        starts[number] = onsets
    notes, bars = Counter(), Counter()
    for cue, following in zip(cues, cues[1:], strict=False):
        length = following["bar"] - cue["bar"]
        heard = sum(1 for b in starts.get(cue["song"], ()) if cue["bar"] <= b < following["bar"])
        notes[cue["energy"]] += heard
        bars[cue["energy"]] += length
    return {energy: notes[energy] / bars[energy] for energy in sorted(bars) if bars[energy]}


def check_files(out: Path) -> dict:
    """Hanging notes, the longest silence and repeated stretches over every song file."""
    bar = bars_to_ticks(1)
    hanging, longest_silent, repeats, stretches, total_bars = 0, 0, 0, set(), 0
    for path in sorted(out.glob("song-*.mid")):
        midi = mido.MidiFile(path)
        assert midi.ticks_per_beat == PPQN
        onsets: dict[int, list[tuple]] = {}
        end = 0
        for track_index, track in enumerate(midi.tracks):
            now, sounding = 0, Counter()
            for message in track:
                now += message.time
                if message.type == "note_on" and message.velocity:
                    sounding[(message.channel, message.note)] += 1
                    onsets.setdefault(now // bar, []).append(
                        (track_index, message.channel, message.note, now % bar))
                elif message.type in ("note_on", "note_off"):
                    sounding[(message.channel, message.note)] -= 1
            hanging += sum(count for count in sounding.values() if count > 0)
            end = max(end, now)
        bars = end // bar
        total_bars += bars
        silent = 0
        for index in range(bars):
            silent = 0 if onsets.get(index) else silent + 1
            longest_silent = max(longest_silent, silent)
        for start in range(0, max(bars - STRETCH_BARS + 1, 0)):
            key = tuple(tuple(sorted(onsets.get(start + i, ()))) for i in range(STRETCH_BARS))
            if any(key) and key in stretches:
                repeats += 1
            stretches.add(key)
    return {"hanging": hanging, "longest_silence_bars": longest_silent,
            "repeated_32_bar_stretches": repeats, "bars": total_bars}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--config", type=Path, default=EXAMPLE_STATION)
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} before; station "
          f"{args.config.name}, seed {args.seed}, {args.hours:g} h")
    station, seed = seeded(load_station(args.config), args.seed)
    arranger = Arranger(station.plan, station.energy, station.blend_tracks, seed,
                        station.pitched_tracks)
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "set"
        start_rss = rss_mb()
        began = time.perf_counter()
        asyncio.run(render(station, arranger, args.hours * 3600, out))
        elapsed = time.perf_counter() - began
        end_rss, peak_rss = rss_mb(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        cues = [json.loads(line) for line in (out / "arrangement.jsonl").open()]
        checks = check_files(out)
        shares = in_key_shares(out, cues)
        density = density_by_energy(out, cues)
    kinds = Counter(c["section"] for c in cues)
    print(f"rendered {args.hours:g} h in {elapsed:.1f} s: {args.hours * 3600 / elapsed:.0f}x "
          f"real time (load {os.getloadavg()[0]:.2f} after)")
    print(f"RSS {start_rss:.0f} MB before, {end_rss:.0f} MB after, peak {peak_rss:.0f} MB")
    print(f"songs {cues[-1]['song']}, sections {len(cues)} ({dict(kinds)}), bars "
          f"{checks['bars']}")
    print(f"hanging notes {checks['hanging']}, longest silence {checks['longest_silence_bars']}"
          f" bars, repeated {STRETCH_BARS}-bar stretches {checks['repeated_32_bar_stretches']}")
    print("notes a bar by section energy: " + ", ".join(f"{e:g}: {d:.1f}"
                                                          for e, d in density.items()))
    ordered = sorted(shares)
    print(f"in-key share of the pitched notes per song: lowest {ordered[0]:.3f}, median "
          f"{ordered[len(ordered) // 2]:.3f}, songs under 0.9: "
          f"{sum(1 for s in shares if s < 0.9)} of {len(shares)}")


if __name__ == "__main__":
    main()
