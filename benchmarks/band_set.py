"""Build the band-style evaluation set: openly licensed multi-instrument MIDI from Debian.

    python benchmarks/band_set.py [--out DIR] [--list]

The default models learned from folk tunes, Bach chorales and MMA groove renders; this set
is what they never saw: game and demo soundtracks arranged for a band (GM drums on channel
10, a bass, and lead/accompaniment parts). It measures whether personalizing a model moves
it toward "a band's sound". Every file comes from a Debian bookworm binary package, fetched
with ``apt-get download`` and unpacked with ``dpkg-deb -x`` into a temporary folder; the
package's copyright file is checked for the lines quoted in ``SOURCES`` (the build stops if
one is missing), and each file's licence and copyright holder go to ``DIR/manifest.json``
together with what the MIDI holds (programs, drum channel, bars, tempo, 2-bar windows).

The Debian packages ``openttd-openmsx``, ``simutrans-data`` and ``freedoom`` are reserved
for a separate evaluation (DESIGN §5): they are never fetched here. Nothing this script
writes belongs in the repository. Needs ``apt-get`` with current lists (``apt-get update``),
``dpkg-deb``, ``mido`` and ``pretty_midi``.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

RESERVED = frozenset({"openttd-openmsx", "simutrans-data", "freedoom"})
DEFAULT_OUT = Path("~/.cache/latentjam/band-eval").expanduser()
STEPS_PER_BAR = 16


@dataclass(frozen=True)
class Source:
    """One MIDI file inside one Debian package, with the licence evidence to check."""

    package: str
    path: str                      # inside the package (a .gz is unpacked)
    licence: str
    holder: str
    genre: str
    evidence: tuple[str, ...]      # lines that must appear in the evidence file
    evidence_file: str = ""        # default: usr/share/doc/<package>/copyright
    note: str = ""


_BLUPI_EVIDENCE = (
    "Files: *",
    "Copyright: 2017,2018, Mathieu Schroeter",
    "1997, Daniel Roux, EPSITEC SA & Denis Dumoulin",
    "License: GPL-3+",
)

SOURCES: tuple[Source, ...] = tuple(
    Source(
        package="planetblupi-music-midi",
        path=f"usr/share/planetblupi/music/music{i:03d}.mid",
        licence="GPL-3.0-or-later",
        holder="1997 Daniel Roux, EPSITEC SA & Denis Dumoulin; 2017-2018 Mathieu Schroeter",
        genre="1997 game soundtrack (Planet Blupi): GM pop/funk/electro band arrangement",
        evidence=_BLUPI_EVIDENCE,
        note="" if i >= 4 else "the file plays its song several times over (loops)",
    )
    for i in range(10)
) + (
    Source(
        package="crimson",
        path="usr/share/games/crimson/music/default.mid",
        licence="GPL-2.0-or-later OR CC-BY-SA-1.0 (the author's choice of either)",
        holder="2004 Dave Fancella",
        genre="game soundtrack (Crimson Fields, 'Default Symphony'): strings and pad over "
              "electric bass and drums",
        evidence=("Files: music/default.mid", "Copyright: © 2004 Dave Fancella",
                  "http://creativecommons.org/licenses/by-sa/1.0/"),
        note="written as many short tracks (380): merge parts by program",
    ),
    Source(
        package="liquidwar-data",
        path="usr/share/games/liquidwar/music/colossus.mid",
        licence="GPL-2.0-or-later",
        holder="1998-2018 Christian Mauduit (package); music written by Tim Chadburn",
        genre="game soundtrack (Liquid War 5): piano, viola and drums, 6/8 with 4/4 section",
        evidence=("Files: *", "Copyright: 1998-2018 Christian Mauduit", "License: GPL-2+"),
        note="composer credited in usr/share/doc/liquidwar-data/html/authors.html: "
             "'Tim Chadburn : wrote midi files for the game ... GNU GPL compliant artwork'",
    ),
    Source(
        package="pinball-table-hurd-data",
        path="usr/share/games/pinball/hurd/intro.mid",
        licence="GPL-2.0-or-later",
        holder="2001 Henrik Enqvist",
        genre="game soundtrack (Emilia Pinball 'hurd' table intro): drums and acoustic bass",
        evidence=("data/hurd/intro.mid", "Copyright: 2001 Henrik Enqvist <henqvist@excite.com>",
                  "License: GPL-2+"),
        note="drums and bass only: no lead part",
    ),
    Source(
        package="timidity",
        path="usr/share/doc/timidity/examples/test_sample.mid.gz",
        licence="CC-BY-3.0",
        holder="2009 Dogman15 (Wikipedia 'File:MIDI_sample.mid')",
        genre="jazz/pop combo demo: bass, piano, jazz guitar, drums",
        evidence=("Files: debian/test_sample.mid", "Copyright: 2009, Dogman15",
                  "License: CC-BY-3.0"),
    ),
)


def _say(msg: str) -> None:
    print(msg, flush=True)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _run(cmd: list[str], cwd: Path | None = None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr.strip()}\n"
                         "(is apt's package list current? try: apt-get update)")
    return proc.stdout


def fetch_package(package: str, work: Path) -> tuple[Path, str]:
    """apt-get download + dpkg-deb -x; returns (unpacked root, package version)."""
    if package in RESERVED:
        raise SystemExit(f"{package} is reserved for another evaluation; refusing to fetch it")
    debs = work / "debs"
    debs.mkdir(exist_ok=True)
    _run(["apt-get", "download", "-q", package], cwd=debs)
    found = sorted(debs.glob(f"{package}_*.deb"))
    if not found:
        raise SystemExit(f"apt-get download {package} produced no .deb")
    deb = found[-1]
    version = _run(["dpkg-deb", "-f", str(deb), "Version"]).strip()
    root = work / "root" / package
    root.mkdir(parents=True, exist_ok=True)
    _run(["dpkg-deb", "-x", str(deb), str(root)])
    return root, version


def check_evidence(src: Source, root: Path) -> tuple[str, list[str]]:
    rel = src.evidence_file or f"usr/share/doc/{src.package}/copyright"
    text = _norm((root / rel).read_text(encoding="utf-8", errors="replace"))
    missing = [line for line in src.evidence if _norm(line) not in text]
    if missing:
        raise SystemExit(f"{src.package}: {rel} no longer says {missing!r}; recheck its licence")
    return rel, list(src.evidence)


def _part_role(is_drum: bool, program: int, pitches: list[int]) -> str:
    if is_drum:
        return "drums"
    median = sorted(pitches)[len(pitches) // 2] if pitches else 60
    return "bass" if median < 48 or (32 <= program <= 39 and median < 55) else "pitched"


def describe_midi(path: Path) -> dict:
    """What the file holds: parts merged by (drum, program), bars, tempo, 2-bar windows.

    Windows are 2 bars long with a 1-bar hop (as a 2-bar MusicVAE corpus would slice them),
    notes quantized to 16 steps per bar; a part's window counts when it has at least two
    onsets there. ``unique`` drops windows whose quantized content repeats one already seen
    in the same part (looped sections). Melody windows are counted per pitched non-bass part.
    """
    import mido
    import pretty_midi

    mf = mido.MidiFile(str(path))
    pm = pretty_midi.PrettyMIDI(str(path))
    end = pm.get_end_time()
    downbeats = [float(t) for t in pm.get_downbeats() if t < end]
    bars = len(downbeats)
    edges = downbeats + [end]
    tempo_times, tempi = pm.get_tempo_changes()

    parts: dict[tuple[bool, int], list] = {}
    for inst in pm.instruments:
        parts.setdefault((bool(inst.is_drum), int(inst.program)), []).extend(inst.notes)

    def bar_of(t: float) -> int:
        lo, hi = 0, bars - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if downbeats[mid] <= t:
                lo = mid
            else:
                hi = mid - 1
        return lo

    described, windows = [], {"drums": [0, 0], "bass": [0, 0], "melody": [0, 0]}
    drum_cells: dict[int, set] = {}
    for (is_drum, program), notes in sorted(parts.items()):
        pitches = [int(n.pitch) for n in notes]
        role = _part_role(is_drum, program, pitches)
        onsets = len({round(n.start, 3) for n in notes})
        described.append({
            "program": program,
            "name": "drums" if is_drum else pretty_midi.program_to_instrument_name(program),
            "is_drum": is_drum, "role": role, "notes": len(notes),
            "pitch_range": [min(pitches), max(pitches)] if pitches else None,
            "notes_per_onset": round(len(notes) / onsets, 2) if onsets else 0.0,
        })
        cells: dict[int, set] = {}
        for n in notes:
            b = bar_of(n.start)
            span = max(edges[b + 1] - edges[b], 1e-6)
            step = min(int((n.start - edges[b]) / span * STEPS_PER_BAR), STEPS_PER_BAR - 1)
            cells.setdefault(b, set()).add((step, n.pitch))
        if role == "drums":
            for b, c in cells.items():
                drum_cells.setdefault(b, set()).update(c)
        else:
            _count_windows(cells, bars, windows["bass" if role == "bass" else "melody"])
    _count_windows(drum_cells, bars, windows["drums"])

    programs = sorted({p["program"] for p in described if not p["is_drum"]})
    return {
        "midi_type": mf.type, "tracks": len(mf.tracks), "ticks_per_beat": mf.ticks_per_beat,
        "seconds": round(end, 1), "bars": bars,
        "tempo_bpm": round(float(tempi[0]), 1) if len(tempi) else 120.0,
        "tempo_changes": max(len(tempi) - 1, 0),
        "time_signatures": sorted({f"{ts.numerator}/{ts.denominator}"
                                   for ts in pm.time_signature_changes}) or ["4/4"],
        "drum_channel": any(p["is_drum"] for p in described),
        "has_bass": any(p["role"] == "bass" for p in described),
        "has_lead": any(p["role"] == "pitched" for p in described),
        "programs": programs,
        "parts": described,
        "windows_2bar": {k: {"total": v[0], "unique": v[1]} for k, v in windows.items()},
    }


def _count_windows(cells: dict[int, set], bars: int, tally: list[int]) -> None:
    seen = set()
    for b in range(max(bars - 1, 0)):
        content = frozenset({(s, p) for s, p in cells.get(b, ())}
                            | {(s + STEPS_PER_BAR, p) for s, p in cells.get(b + 1, ())})
        if len({s for s, _ in content}) < 2:
            continue
        tally[0] += 1
        if content not in seen:
            seen.add(content)
            tally[1] += 1


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(out: Path) -> dict:
    if RESERVED & {s.package for s in SOURCES}:
        raise SystemExit("a reserved package is listed in SOURCES")
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    packages = sorted({s.package for s in SOURCES})
    with tempfile.TemporaryDirectory(prefix="band-set-") as tmp:
        work = Path(tmp)
        unpacked: dict[str, tuple[Path, str]] = {}
        for i, package in enumerate(packages, 1):
            _say(f"[{i}/{len(packages)}] apt-get download {package}")
            unpacked[package] = fetch_package(package, work)
        for i, src in enumerate(SOURCES, 1):
            root, version = unpacked[src.package]
            evidence_file, quotes = check_evidence(src, root)
            inside = root / src.path
            name = f"{src.package}--{Path(src.path).name.removesuffix('.gz')}"
            dest = out / name
            if src.path.endswith(".gz"):
                with gzip.open(inside, "rb") as fin, dest.open("wb") as fout:
                    shutil.copyfileobj(fin, fout)
            else:
                shutil.copyfile(inside, dest)
            info = describe_midi(dest)
            w = info["windows_2bar"]
            _say(f"  ({i:2d}/{len(SOURCES)}) {name}: {info['bars']} bars, "
                 f"{info['tempo_bpm']} bpm, drums={'yes' if info['drum_channel'] else 'no'}, "
                 f"programs={info['programs']}, 2-bar windows drums "
                 f"{w['drums']['unique']}/{w['drums']['total']}, melody "
                 f"{w['melody']['unique']}/{w['melody']['total']} (unique/total)")
            entries.append({
                "file": name,
                "sha256": _sha256(dest),
                "source": {"registry": "debian (bookworm, main)", "package": src.package,
                           "version": version, "path": "/" + src.path},
                "licence": src.licence,
                "copyright_holder": src.holder,
                "licence_evidence": {"file": "/" + evidence_file, "quotes": quotes},
                "genre": src.genre,
                "note": src.note,
                "midi": info,
            })
    totals = {role: {k: sum(e["midi"]["windows_2bar"][role][k] for e in entries)
                     for k in ("total", "unique")} for role in ("drums", "bass", "melody")}
    manifest = {
        "what": "band-style evaluation set for latentjam personalization (benchmarks/"
                "band_set.py); genres the default models never saw",
        "reserved_never_used": sorted(RESERVED),
        "count": len(entries),
        "with_drums_and_pitched": sum(e["midi"]["drum_channel"] and bool(e["midi"]["programs"])
                                      for e in entries),
        "windows_2bar_totals": totals,
        "files": entries,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"where the MIDI files and manifest.json go (default {DEFAULT_OUT})")
    parser.add_argument("--list", action="store_true",
                        help="print the chosen files and their licences; fetch nothing")
    args = parser.parse_args(argv)
    if args.list:
        for src in SOURCES:
            _say(f"debian:{src.package}:/{src.path}  [{src.licence}]  {src.holder}")
        return 0
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        _say("needs apt-get and dpkg-deb (a Debian machine)")
        return 2
    manifest = build(args.out.expanduser())
    t = manifest["windows_2bar_totals"]
    _say(f"wrote {manifest['count']} files ({manifest['with_drums_and_pitched']} with drums and "
         f"a pitched part) and manifest.json to {args.out}")
    _say(f"2-bar windows (1-bar hop), unique/total: drums {t['drums']['unique']}/"
         f"{t['drums']['total']}, melody parts {t['melody']['unique']}/{t['melody']['total']}, "
         f"bass {t['bass']['unique']}/{t['bass']['total']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
