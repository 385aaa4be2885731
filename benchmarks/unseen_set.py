"""Build the out-of-collection evaluation set: openly licensed MIDI the defaults never saw.

    python benchmarks/unseen_set.py [--out DIR] [--list]

Issue 14 measures reconstruction on "unseen music from sources unlike the training corpora".
The defaults learned from music21 folk tunes, Bach chorales and MMA groove renders; this set
takes its material from other Debian bookworm (main) packages, in three folders:

- ``melody/``: one monophonic line per file, the lead part of game and demo music (FreeDink,
  Yoshimi, Pang Zero, Faust and pyo examples), reduced to its top voice the way Magenta's
  melody extractor keeps the highest of simultaneous notes;
- ``drums/``: Hydrogen demo songs (``.h2song`` XML), converted here to GM drum files
  (channel 10, instruments mapped to GM notes by name);
- ``band/``: LMMS demo projects (``.mmp``/``.mmpz`` XML) converted here to multi-track MIDI:
  pitched tracks keep their notes, sample tracks whose name or sample is a drum go to
  channel 10, so the trio (melody, bass, drums) can be measured on them.

Each package is fetched with ``apt-get download`` and unpacked with ``dpkg-deb -x`` into a
temporary folder; its licence evidence (the copyright file, or a README the copyright file
points to) is checked for the lines quoted in ``SOURCES``, and the build stops if one is
missing. ``DIR/manifest.json`` records package, version, path inside the package, both
sha256 sums (source and written file), licence, the quoted lines and what the MIDI holds.

Never fetched: the packages reserved for a separate evaluation (``openttd-openmsx``,
``simutrans-data``, ``freedoom``; DESIGN §5) and those of the band set
(benchmarks/band_set.py), so the two sets stay disjoint. Nothing written here belongs in the
repository. Needs ``apt-get`` with current lists, ``dpkg-deb``, ``mido`` and ``pretty_midi``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import shutil
import sys
import tempfile
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

# Run as a script, this folder is on sys.path; the fetching, MIDI description and the
# reserved list are band_set's, so both sets follow one set of rules.
from band_set import RESERVED, _part_role, _say, _sha256, describe_midi, fetch_package
from band_set import SOURCES as BAND_SOURCES

DEFAULT_OUT = Path("~/.cache/latentjam/unseen-eval").expanduser()
BAND_PACKAGES = frozenset(s.package for s in BAND_SOURCES)
KINDS = ("melody", "drums", "band")
TICKS_PER_BEAT = 480          # what the written files use
H2_TICKS_PER_BEAT = 48        # Hydrogen and LMMS both count 48 ticks a quarter (192 a bar)
STEP_NOTE_TICKS = 12          # a one-shot (length -1) hit lasts a 16th: its end is not heard


@dataclass(frozen=True)
class Source:
    """One file inside one Debian package, how to turn it into MIDI, and its licence evidence."""

    package: str
    path: str                      # inside the package
    kind: str                      # melody | drums | band
    convert: str                   # midi | h2song | lmms
    licence: str
    holder: str
    evidence: tuple[str, ...]      # lines that must appear in the evidence file
    evidence_file: str = ""        # default: usr/share/doc/<package>/copyright (may be .gz)
    genre: str = ""
    note: str = ""
    lead_program: int | None = None  # melody: which program is the lead (default: chosen)


# ---------------------------------------------------------------------------------------
# The sources. Every quote below was read in the bookworm package named; see
# docs/data-sources.md for the packages looked at and rejected.

_H2_EVIDENCE = ("Files: *", "2008-2021, The hydrogen development team", "License: GPL-2+")
_H2_NOTE = ("the song's own <license> field reads 'Unknown license' (Hydrogen's default "
            "for a song saved without one); the package's copyright file covers it under "
            "Files: * (GPL-2+)")

_DRUMS: tuple[Source, ...] = tuple(
    Source(package="hydrogen-data", path=f"usr/share/hydrogen/data/demo_songs/{name}.h2song",
           kind="drums", convert="h2song", licence="GPL-2.0-or-later",
           holder=f"{author}; the Hydrogen development team", evidence=_H2_EVIDENCE,
           genre=genre, note=_H2_NOTE)
    for name, author, genre in (
        ("GM_kit_demo1", "Artemio", "rock/pop kit grooves and fills"),
        ("GM_kit_demo2", "Artemio", "rock/pop kit grooves and fills"),
        ("GM_kit_demo3", "Artemio", "rock/pop kit grooves and fills"),
        ("GM_kit_Diddley", "Emiliano Grilli", "Bo Diddley beat"),
        ("GM_kit_Jazzy", "Emiliano Grilli", "jazz ride/brush feel"),
        ("TR808kit-demo", "ArtemioLabs", "TR-808 electro"),
        ("tutorial_georgyporgy", "Toto", "pop-funk song groove (Hydrogen tutorial)"),
    )
) + (
    Source(package="hydrogen-drumkits",
           path="usr/share/hydrogen/data/drumkits/ColomboAcousticDrumkit/"
                "Colombo-Acoustic-Drumkit-demo.h2song",
           kind="drums", convert="h2song",
           licence="GPL-2.0-or-later (with composition exception)",
           holder="2006 Marcos Guglielmetti (kit); song by ArtemioLabs",
           evidence=("Files: drumkits/ColomboAcousticDrumkit.h2drumkit",
                     "Copyright: 2006, Marcos Guglielmetti",
                     "License: GPL-2+ with composition exception"),
           genre="acoustic kit demo", note="the demo song ships inside the kit's archive"),
)

_LMMS_DIR = "usr/share/lmms/projects"
_LMMS_GROUPS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    # (licence, files, lines of the one copyright stanza that covers them)
    ("Artistic-2.0",
     ("demos/CapDan/CapDan-ReggaeTry.mmpz", "demos/CapDan/CapDan-ReggaetonTry.mmpz",
      "demos/CapDan/CapDan-ZeroSumGame-OriginalByZakarra.mmpz", "demos/EsoXLB-CPU.mmpz",
      "demos/Impulslogik-Zen.mmpz", "demos/Momo64-esp.mmpz", "demos/Oglsdl-Dr8v2.mmpz",
      "demos/Oglsdl-PpTrip.mmpz", "demos/Settel-InnerRecreation.mmpz",
      "demos/Socceroos-Progress.mmpz", "demos/TameAnderson-MakeMe.mmpz",
      "demos/Thomasso-AxeFromThe80s.mmpz", "shorties/Crunk(Demo).mmp",
      "shorties/Greshz-CoolSnip.mmpz", "shorties/Surrender-Main.mmpz"),
     ("Files: data/projects/demos/CapDan/CapDan-ReggaeTry.*", "data/projects/demos/EsoXLB-*",
      "data/projects/shorties/Crunk*", "data/projects/shorties/Surrender-*",
      "License: Artistic-2")),
    ("BSD-2-Clause", ("demos/Saber-FinalStep.mmpz",),
     ("Files: data/projects/demos/Saber-*", "Saber Rastikerdar", "License: BSD-2-clause")),
    ("CC-BY-SA-3.0",
     ("demos/Alf42red-Mauiwowi.mmpz", "demos/CapDan/CapDan-TwilightArea-OriginalByAlf42red.mmpz"),
     ("Files: data/projects/demos/Alf42red-*",
      "data/projects/demos/CapDan/CapDan-TwilightArea-*", "License: CC-BY-SA-3")),
    ("CC-BY-SA-4.0",
     ("demos/Jousboxx-BuzzerBeater.mmpz", "demos/Skiessi/Skiessi-C64.mmpz",
      "demos/Skiessi/Skiessi-Onion.mmpz"),
     ("Files: data/projects/demos/Jousboxx-*", "data/projects/*/Skiessi/*",
      "License: CC-BY-SA-4")),
)

_BAND: tuple[Source, ...] = tuple(
    Source(package="lmms-common", path=f"{_LMMS_DIR}/{rel}", kind="band", convert="lmms",
           licence=licence, holder="the project's author (file name prefix), see evidence",
           evidence=quotes, genre="LMMS demo project (electronic: reggae, house, DnB, "
                                  "trance, chiptune, rock)",
           note="converted from LMMS: sample tracks with a drum name become GM drums; "
                "synth settings, effects and automation are dropped")
    for licence, files, quotes in _LMMS_GROUPS for rel in files
)

_DINK = "usr/share/games/dink/dink/Sound"
_DINK_README = "usr/share/doc/freedink-data/README-REPLACEMENTS.txt.gz"
_DINK_ORIGINAL = ("Copyright (C) 1997, 1998, 1999, 2002, 2003 Seth A. Robinson",
                  "Permission is granted to anyone to use this software for any purpose, "
                  "including commercial applications, and to alter it and redistribute it "
                  "freely")
_DINK_OLEARY = ("Composed by Joshua O'Leary", "+Copyright (C) 2011 Joshua O'Leary",
                "+License: GPLv3+")
_DINK_BEUCLER = ("Composed using Rosegarden", "+Copyright (C) 2008 Sylvain Beucler",
                 "+License: GPLv3+ | Art Libre | CC-BY-SA")


def _dink(name: str, licence: str, holder: str, quotes: tuple[str, ...], readme: bool,
          genre: str, lead: int | None = None) -> Source:
    return Source(package="freedink-data", path=f"{_DINK}/{name}", kind="melody",
                  convert="midi", licence=licence, holder=holder,
                  evidence=quotes, evidence_file=_DINK_README if readme else "",
                  genre=genre, lead_program=lead)


_MELODY: tuple[Source, ...] = tuple(
    _dink(n, "Zlib", "1997-2003 Seth A. Robinson (Dink Smallwood)",
          (*_DINK_ORIGINAL, f"Sound/{n}"), False, "1997 game soundtrack (Dink Smallwood)")
    for n in ("1003.mid", "2.mid", "dance.mid", "insper.mid", "lively.mid", "love.mid")
) + tuple(
    _dink(n, "GPL-3.0-or-later", "2011 Joshua O'Leary",
          (f"- {n} ({where})", *_DINK_OLEARY), True, "FreeDink replacement soundtrack")
    for n, where in (("7.mid", "Darklands"), ("12.mid", "inside GoodHearth castle"),
                     ("18.mid", "End Boss"))
) + (
    _dink("13.mid", "public domain", "Ofir Mo (MIDI file); Pachelbel (Canon in D)",
          ("- 13.mid (Church in the Edge of the World)", "MIDI file by Ofir Mo",
           "+License: public domain"), True, "baroque (Pachelbel's Canon), strings"),
    _dink("104.mid", "GPL-3.0-or-later OR Art Libre OR CC-BY-SA (any of them)",
          "2008 Sylvain Beucler (after Schubert, Serenade D957)",
          ("- 104.mid (Stonebrook, Dink's village)", *_DINK_BEUCLER), True,
          "romantic song arrangement (Schubert)"),
    _dink("105.mid", "GPL-3.0-or-later OR Art Libre OR CC-BY-SA (any of them)",
          "2008 Sylvain Beucler (after Debussy, Reverie)",
          ("- 105.mid (outside Stonebrook + Kernsin)", *_DINK_BEUCLER), True,
          "impressionist piano (Debussy)"),
    Source(package="yoshimi-data", path="usr/share/yoshimi/examples/Out_There.mid",
           kind="melody", convert="midi", licence="GPL-2.0-or-later",
           holder="the Yoshimi project (Will Godfrey & others)",
           evidence=("Files: *", "2014-2023, Will Godfrey & others", "License: GPL-2+"),
           genre="synth demo tune"),
    Source(package="pangzero", path="usr/share/perl5/auto/share/dist/Games-PangZero/UPiPang.mid",
           kind="melody", convert="midi", licence="GPL-2.0-or-later",
           holder="2006-2012 SAdam (music), Pang Zero",
           evidence=("Files: *", "Music: SAdam <sadam@apocalypse.rulez.org>",
                     "License: GPL-2+"),
           genre="game soundtrack (Pang Zero): synth pop with bass, no drums",
           lead_program=3),
    Source(package="python3-pyo",
           path="usr/lib/python3/dist-packages/pyo/examples/snds/mapleleafrag.mid",
           kind="melody", convert="midi", licence="LGPL-3.0-or-later",
           holder="2015 Olivier Bélanger (pyo); Joplin's 1899 composition is public domain",
           evidence=("Files: *", "Copyright: 2015 Olivier Bélanger", "License: LGPL-3"),
           genre="ragtime piano (Maple Leaf Rag), top voice"),
) + tuple(
    Source(package="faust-common",
           path=f"usr/share/faust/examples/physicalModeling/faust-stk/pd-patches/fancy/{rel}",
           kind="melody", convert="midi", licence="GPL-2.0-or-later",
           holder="2003-2022 GRAME (package); the tunes are public-domain compositions",
           evidence=("Files: *", "Copyright: 2003-2022, GRAME, Centre National de Creation "
                     "Musicale", "License: GPL-2+"),
           genre=genre)
    for rel, genre in (("daisy/daisy.mid", "1892 popular song (Daisy Bell)"),
                       ("turkish-march/turkish-march.mid", "classical (Mozart, Rondo alla "
                                                           "turca), top voice"),
                       ("what-a-friend/what_a_friend.mid", "19th-century hymn"))
)

SOURCES: tuple[Source, ...] = _MELODY + _DRUMS + _BAND


# ---------------------------------------------------------------------------------------
# Licence evidence

def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def read_evidence_text(path: Path) -> str:
    """The evidence file's text; a ``.gz`` (as Debian compresses long READMEs) is opened."""
    raw = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
    return raw.decode("utf-8", errors="replace")


def missing_evidence(text: str, quotes: Iterable[str]) -> list[str]:
    """The quotes ``text`` does not hold as required; an empty list means the evidence holds.

    In a machine-readable (DEP-5) copyright file all quotes must sit in one paragraph, so a
    ``License:`` line cannot be borrowed from another file's stanza. Elsewhere the quotes
    must appear in the order given, so a file's entry is followed by its own licence line
    (not one met earlier). Whitespace runs compare equal, as files get re-wrapped.
    """
    quotes = [_norm(q) for q in quotes]
    if text.lstrip().startswith("Format:"):
        paragraphs = [_norm(p) for p in re.split(r"\n[ \t]*\n", text)]
        # report against the stanza the first quote (its Files: line) names, if any
        misses = [([q for q in quotes if q not in para], quotes[0] not in para)
                  for para in paragraphs]
        return min(misses, key=lambda m: (len(m[0]), m[1]))[0] if misses else quotes
    flat, at, miss = _norm(text), 0, []
    for q in quotes:
        found = flat.find(q, at)
        if found < 0:
            miss.append(q)
        else:
            at = found + len(q)
    return miss


def check_evidence(src: Source, root: Path) -> str:
    """Stops the build when the package no longer says what ``src`` quotes; returns the file."""
    rel = src.evidence_file or f"usr/share/doc/{src.package}/copyright"
    path = root / rel
    if not path.is_file():
        raise SystemExit(f"{src.package}: {rel} is missing; recheck the licence of {src.path}")
    miss = missing_evidence(read_evidence_text(path), src.evidence)
    if miss:
        raise SystemExit(f"{src.package}: {rel} no longer says {miss!r} (for {src.path}); "
                         "recheck its licence before using the file")
    return rel


# ---------------------------------------------------------------------------------------
# Drum names to General MIDI notes (used for Hydrogen instruments and LMMS sample tracks).
# First match wins, so the specific names come before the general ones ("cowbell" before
# "bell", "open hat" before "hat", "bass drum" before any "bass").

GM_DRUM_NAMES: tuple[tuple[str, int], ...] = (
    (r"kick|\bkik|bass ?drum|bassdrum|\bbd\b|\bbd[ _-]?\d", 36),
    (r"side ?stick|\bstick|rim", 37),
    (r"clap", 39),
    (r"snare|\bsd\b|\bsd[ _-]?\d|\bredo", 38),   # "redo(blante)": Spanish kit names
    (r"pedal", 44),
    (r"open|semi", 46),          # checked only for hats, below
    (r"hi.?hat|hihh|hh|\bhat|(?<!\bt)(?<!\bw)(?<!\bc)hats?(?![a-z])|chh", 42),
    (r"floor", 41),
    (r"tom.*(low|\blo\b|3|4)|low.*tom", 45),
    (r"tom.*(hi|high|1)|hi.*tom|high.*tom", 50),
    (r"tom", 47),
    (r"cowbell", 56),
    (r"china", 52),
    (r"splash", 55),
    (r"crash|cymbal", 49),
    (r"ride.*bell|\bbell", 53),
    (r"ride", 51),
    (r"tambourine|tamb", 54),
    (r"shaker|maraca", 70),
    (r"cabasa", 69),
    (r"conga", 63),
    (r"bongo", 60),
    (r"timbale", 65),
    (r"agogo", 67),
    (r"guiro", 73),
    (r"clave", 75),
    (r"wood", 76),
    (r"triangle", 81),
)
_HAT = re.compile(r"hi.?hat|hihh|hh|\bhat|(?<!\bt)(?<!\bw)(?<!\bc)hats?(?![a-z])|chh", re.I)


def gm_drum_note(name: str) -> int | None:
    """The GM drum note for a drum's name, or None when the name says no drum we know."""
    low = name.lower().replace("_", " ")
    for pattern, note in GM_DRUM_NAMES:
        if pattern == r"open|semi":
            # "open"/"semi" alone means nothing; with a hat it is the open hi-hat
            if _HAT.search(low) and re.search(pattern, low):
                return note
            continue
        if re.search(pattern, low):
            return note
    return None


# ---------------------------------------------------------------------------------------
# Writing MIDI with mido

def _write_midi(dest: Path, bpm: float, tracks: list[tuple[str, int, int, list]],
                time_sig: tuple[int, int] = (4, 4), src_ticks: int = H2_TICKS_PER_BEAT) -> None:
    """tracks: (name, channel, program, [(start, length, pitch, velocity)] in source ticks)."""
    import mido

    scale = TICKS_PER_BEAT / src_ticks
    mf = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    meta = mido.MidiTrack()
    meta.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    meta.append(mido.MetaMessage("time_signature", numerator=time_sig[0],
                                 denominator=time_sig[1], time=0))
    mf.tracks.append(meta)
    for name, channel, program, notes in tracks:
        if not notes:
            continue
        events = []
        for start, length, pitch, vel in notes:
            on = round(start * scale)
            off = max(on + 1, round((start + length) * scale))
            # offs sort before ons at the same tick, so a repeated note is re-struck
            events.append((on, 1, pitch, vel))
            events.append((off, 0, pitch, 0))
        events.sort()
        tr = mido.MidiTrack()
        tr.append(mido.MetaMessage("track_name", name=name[:60], time=0))
        if channel != 9:
            tr.append(mido.Message("program_change", channel=channel, program=program, time=0))
        now = 0
        for tick, is_on, pitch, vel in events:
            kind = "note_on" if is_on else "note_off"
            tr.append(mido.Message(kind, channel=channel, note=pitch, velocity=vel,
                                   time=tick - now))
            now = tick
        mf.tracks.append(tr)
    mf.save(str(dest))


def _velocity(x: float) -> int:
    return max(1, min(127, round(x * 127)))


# ---------------------------------------------------------------------------------------
# Hydrogen .h2song -> GM drum MIDI

@dataclass
class Converted:
    """What a conversion wrote and what it had to leave out."""

    notes: int = 0
    bars: float = 0.0
    dropped: dict[str, int] = field(default_factory=dict)   # unmapped instrument -> notes


def h2song_to_midi(xml_text: str, dest: Path) -> Converted:
    """Renders a Hydrogen song's pattern sequence to a GM drum file (channel 10).

    Each group of the sequence plays its patterns together for as long as the longest of
    them (as Hydrogen's song mode does); a virtual pattern adds the patterns it stands for.
    Instruments are mapped by name (``gm_drum_note``) rather than by their ``midiOutNote``,
    which many kits leave at Hydrogen's default of 36 + instrument index. Hits with no
    length last a 16th; lead/lag micro-timing is left out (the models quantize to 16ths).
    """
    root = ET.fromstring(xml_text)
    bpm = float(root.findtext("bpm") or 120)
    names = {i.findtext("id"): (i.findtext("name") or "")
             for i in root.findall("instrumentList/instrument")}
    patterns = {p.findtext("name"): p for p in root.findall("patternList/pattern")}
    virtual = {}
    for vp in root.findall("virtualPatternList/pattern"):
        virtual[vp.findtext("name")] = [v.text for v in vp.findall("virtual")]
    out, conv, pos = [], Converted(), 0
    for group in root.findall("patternSequence/group"):
        ids = [e.text for e in group.findall("patternID")]
        for pid in list(ids):
            ids.extend(v for v in virtual.get(pid, []) if v not in ids)
        chosen = [patterns[i] for i in ids if i in patterns]
        if not chosen:
            continue
        length = max(int(p.findtext("size") or 192) for p in chosen)
        for p in chosen:
            # 0.9.x songs keep notes under sequenceList/sequence; later ones directly
            for n in p.iter("note"):
                inst = names.get(n.findtext("instrument"), "")
                gm = gm_drum_note(inst)
                if gm is None:
                    conv.dropped[inst] = conv.dropped.get(inst, 0) + 1
                    continue
                start = int(float(n.findtext("position") or 0))
                if start >= length:
                    continue
                hold = int(float(n.findtext("length") or -1))
                out.append((pos + start, hold if hold > 0 else STEP_NOTE_TICKS, gm,
                            _velocity(float(n.findtext("velocity") or 0.8))))
        pos += length
    conv.notes, conv.bars = len(out), pos / (4 * H2_TICKS_PER_BEAT)
    _write_midi(dest, bpm, [("drums", 9, 0, out)])
    return conv


# ---------------------------------------------------------------------------------------
# LMMS .mmp/.mmpz -> multi-track MIDI

def load_lmms(data: bytes) -> ET.Element:
    """An LMMS project's XML: ``.mmpz`` is a 4-byte length followed by zlib data."""
    if data.lstrip()[:1] == b"<":
        return ET.fromstring(data)
    return ET.fromstring(zlib.decompress(data[4:]))


def _lmms_track_kind(track: ET.Element) -> tuple[str, int]:
    """('drums', GM note) | ('bass', program) | ('pitched', program) for an instrument track."""
    inst = track.find("instrumenttrack/instrument")
    plugin = inst.get("name", "") if inst is not None else ""
    name = track.get("name", "")
    by_name = gm_drum_note(name)
    if plugin == "kicker" and inst is not None:
        # LMMS's kick synthesizer; with startnote="1" its pitch follows the key, and some
        # projects play whole leads and chords on it, so only a fixed-pitch one is a kick
        k = inst.find("kicker")
        if by_name is not None:
            return "drums", by_name
        if k is None or k.get("startnote", "0") != "1":
            return "drums", 36
    elif plugin == "audiofileprocessor" and inst is not None:
        afp = inst.find("audiofileprocessor")
        src = (afp.get("src", "") if afp is not None else "").lower()
        stem = Path(src).stem
        from_sample = gm_drum_note(stem)
        if from_sample is None and "drumsynth" in src:
            # LMMS's drumsynth kits name kicks K_... and snares S_...
            from_sample = {"k": 36, "s": 38}.get(stem[:2].rstrip("_"))
        if from_sample is not None and ("drum" in src or "perc" in src):
            return "drums", from_sample
        if by_name is not None:
            return "drums", by_name
    elif by_name is not None:
        return "drums", by_name      # a synth track named "snare", "hats", ...
    if re.search(r"bass", name, re.I):
        return "bass", 33
    return "pitched", 0


def _lmms_notes(pattern: ET.Element, offset: int, span: int | None,
                shift: int = 0) -> list[tuple]:
    out = []
    for n in pattern.findall("note"):
        pos, length = int(n.get("pos", 0)), int(n.get("len", 0))
        if span is not None and pos >= span:
            continue
        # LMMS key 57 is A4 (MIDI 69); ``shift`` moves it to the pitch the track sounds
        key = int(n.get("key", 57)) + 12 + shift
        vol = float(n.get("vol", 100)) / 100.0
        out.append((offset + pos, length if length > 0 else STEP_NOTE_TICKS, key,
                    _velocity(min(vol, 1.0) * 0.8)))
    return out


def _lmms_shift(track: ET.Element) -> int:
    """Semitones a track sounds away from its keys: LMMS plays key k at k - (basenote - 57)."""
    it = track.find("instrumenttrack")
    try:
        return 57 - int(float(it.get("basenote", 57))) if it is not None else 0
    except ValueError:
        return 0


def lmms_to_midi(data: bytes, dest: Path) -> Converted:
    """Renders an LMMS project's song editor to MIDI: one MIDI track per LMMS track.

    Pattern clips play at their position; beat/bassline clips play the beat/bassline's
    patterns (the nth pattern of each of its tracks belongs to the nth beat/bassline),
    repeated to fill the clip. Muted tracks and clips are skipped. Drum tracks go to channel
    10 at the GM note of their sample's name; the rest keep their keys, a track named
    "bass" gets a bass program so roles can be told apart. Sounds, effects and automation
    do not survive (the models see only notes).
    """
    root = load_lmms(data)
    head = root.find("head")
    bpm = float(head.get("bpm", 120)) if head is not None else 120.0
    tsig = (int(head.get("timesig_numerator", 4)), int(head.get("timesig_denominator", 4))) \
        if head is not None else (4, 4)
    song = root.find("song/trackcontainer")
    if song is None:
        raise ValueError("no song track container")
    parts: dict[tuple[str, int, str], list] = {}
    conv = Converted()

    def add(track: ET.Element, notes: list) -> None:
        kind, value = _lmms_track_kind(track)
        if kind == "drums":
            notes = [(s, ln, value, v) for s, ln, _, v in notes]
            key = ("drums", 9, "drums")
        else:
            key = (kind, value, track.get("name", kind))
        parts.setdefault(key, []).extend(notes)

    top = song.findall("track")
    bb_tracks = [t for t in top if t.get("type") == "1"]
    inner = []
    for t in bb_tracks:
        c = t.find("bbtrack/trackcontainer")
        if c is not None:
            inner.extend(c.findall("track"))
    bar = 4 * H2_TICKS_PER_BEAT
    for t in top:
        if t.get("muted") == "1":
            continue
        if t.get("type") == "0":
            for p in t.findall("pattern"):
                if p.get("muted") == "1":
                    continue
                span = int(p.get("len")) if p.get("len") else None
                add(t, _lmms_notes(p, int(p.get("pos", 0)), span, _lmms_shift(t)))
        elif t.get("type") == "1":
            index = bb_tracks.index(t)
            # the beat/bassline's patterns sit at pos = index * one bar in each inner track
            pats = [(it, p) for it in inner if it.get("muted") != "1"
                    for p in it.findall("pattern")
                    if int(p.get("pos", 0)) // bar == index and p.get("muted") != "1"]
            if not pats:
                continue
            length = max(max(int(p.get("steps", 16)), 16) * STEP_NOTE_TICKS for _, p in pats)
            for clip in t.findall("bbtco"):
                if clip.get("muted") == "1":
                    continue
                start, clip_len = int(clip.get("pos", 0)), int(clip.get("len", bar))
                for rep in range(0, clip_len, length):
                    for it, p in pats:
                        notes = _lmms_notes(p, 0, min(length, clip_len - rep), _lmms_shift(it))
                        add(it, [(start + rep + s, ln, k, v) for s, ln, k, v in notes])
    tracks, channel = [], 0
    for (kind, value, name), notes in sorted(parts.items(), key=lambda kv: kv[0][0] != "drums"):
        if kind == "drums":
            tracks.append(("drums", 9, 0, notes))
            continue
        notes = [n for n in notes if 0 <= n[2] <= 127]
        tracks.append((name, channel, value, notes))
        channel = channel + 1 if channel + 1 != 9 else 10
        channel = min(channel, 15)   # more than 15 pitched tracks share the last channel
    conv.notes = sum(len(n) for *_, n in tracks)
    conv.bars = max((s + ln for *_, ns in tracks for s, ln, _, _ in ns), default=0) / bar
    _write_midi(dest, bpm, tracks, time_sig=tsig)
    return conv


# ---------------------------------------------------------------------------------------
# A lead line from a MIDI file

def skyline(notes: list) -> list:
    """The top voice: at each onset the highest note, cut where the next onset begins.

    Magenta's melody extractor keeps the highest of simultaneous notes too; cutting held
    notes at the next onset makes the line monophonic without moving any onset.
    """
    by_onset: dict[float, object] = {}
    for n in notes:
        key = round(n.start, 4)
        if key not in by_onset or n.pitch > by_onset[key].pitch:
            by_onset[key] = n
    line = [by_onset[k] for k in sorted(by_onset)]
    for a, b in zip(line, line[1:], strict=False):
        a.end = min(a.end, b.start)
    return [n for n in line if n.end > n.start]


def extract_lead(src: Path, dest: Path, program: int | None = None) -> dict:
    """Writes the lead part of ``src`` as one monophonic track; returns what was chosen.

    The lead is the part with ``program`` when given, else the non-drum, non-bass part
    with the most onsets among those whose median pitch is at or above middle C (a lead
    sits above the accompaniment), else the busiest non-drum part.
    """
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(str(src))
    merged: dict[int, pretty_midi.Instrument] = {}
    for inst in pm.instruments:
        if inst.is_drum:
            continue
        merged.setdefault(inst.program, pretty_midi.Instrument(program=inst.program)) \
            .notes.extend(inst.notes)
    if not merged:
        raise SystemExit(f"{src.name}: no pitched part to take a melody from")

    def onsets(inst: pretty_midi.Instrument) -> int:
        return len({round(n.start, 3) for n in inst.notes})

    def median(inst: pretty_midi.Instrument) -> int:
        ps = sorted(n.pitch for n in inst.notes)
        return ps[len(ps) // 2] if ps else 0

    if program is not None:
        if program not in merged:
            raise SystemExit(f"{src.name}: no part with program {program}")
        lead = merged[program]
    else:
        upper = [i for i in merged.values()
                 if _part_role(False, i.program, [n.pitch for n in i.notes]) != "bass"
                 and median(i) >= 60]
        lead = max(upper or merged.values(), key=onsets)
    line = skyline(sorted(lead.notes, key=lambda n: (n.start, -n.pitch)))
    out = pretty_midi.Instrument(program=lead.program, name="melody")
    out.notes = line
    pm.instruments = [out]
    pm.write(str(dest))
    return {"program": int(lead.program), "notes_in": len(lead.notes), "notes_out": len(line)}


# ---------------------------------------------------------------------------------------
# 16-bar trio spans

def trio_spans(path: Path, bars_per_span: int = 16) -> dict:
    """How many 16-bar spans hold a drum part, a bass and a melody at once.

    A role counts in a span when it sounds in at least half its bars. ``sliding`` counts
    spans starting at every bar (as a 16-bar corpus with a 1-bar hop would slice them),
    ``disjoint`` counts non-overlapping ones: the number of independent 16-bar clips.
    """
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(str(path))
    end = pm.get_end_time()
    downbeats = [float(t) for t in pm.get_downbeats() if t < end]
    bars = len(downbeats)
    present: dict[str, set[int]] = {"drums": set(), "bass": set(), "pitched": set()}
    import bisect
    for inst in pm.instruments:
        role = _part_role(inst.is_drum, inst.program, [n.pitch for n in inst.notes])
        for n in inst.notes:
            present[role].add(max(bisect.bisect_right(downbeats, n.start) - 1, 0))
    need = bars_per_span // 2

    def full(b0: int) -> bool:
        return all(len({b for b in present[r] if b0 <= b < b0 + bars_per_span}) >= need
                   for r in present)

    sliding = [b for b in range(max(bars - bars_per_span + 1, 0)) if full(b)]
    disjoint, nxt = 0, 0
    for b in sliding:
        if b >= nxt:
            disjoint, nxt = disjoint + 1, b + bars_per_span
    return {"sliding": len(sliding), "disjoint": disjoint}


# ---------------------------------------------------------------------------------------
# The build

def _out_name(src: Source) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(src.path).name)
    stem = re.sub(r"\.(mid|midi|kar|h2song|mmpz?)(\.gz)?$", "", stem, flags=re.I)
    return f"{src.package}--{stem}.mid"


def _check_sources(sources: Iterable[Source]) -> None:
    for s in sources:
        if s.package in RESERVED:
            raise SystemExit(f"{s.package} is reserved for another evaluation (DESIGN §5)")
        if s.package in BAND_PACKAGES:
            raise SystemExit(f"{s.package} belongs to the band set; the sets must stay apart")
        if s.kind not in KINDS:
            raise SystemExit(f"{s.path}: unknown kind {s.kind!r}")


def build(out: Path) -> dict:
    """Fetches every package, checks the evidence, writes the files and manifest.json."""
    _check_sources(SOURCES)
    for kind in KINDS:
        (out / kind).mkdir(parents=True, exist_ok=True)
    entries = []
    packages = sorted({s.package for s in SOURCES})
    with tempfile.TemporaryDirectory(prefix="unseen-set-") as tmp:
        work = Path(tmp)
        unpacked: dict[str, tuple[Path, str]] = {}
        for i, package in enumerate(packages, 1):
            _say(f"[{i}/{len(packages)}] apt-get download {package}")
            unpacked[package] = fetch_package(package, work)
        # every quote is checked before anything is written, so a failed check leaves
        # no half-built set behind
        evidence_files = {s: check_evidence(s, unpacked[s.package][0]) for s in SOURCES}
        for i, src in enumerate(SOURCES, 1):
            root, version = unpacked[src.package]
            inside = root / src.path
            if not inside.is_file():
                raise SystemExit(f"{src.package} {version} has no /{src.path}")
            dest = out / src.kind / _out_name(src)
            conversion: dict = {"how": src.convert}
            if src.convert == "h2song":
                c = h2song_to_midi(inside.read_text(encoding="utf-8"), dest)
                conversion.update(notes=c.notes, unmapped_instruments=c.dropped)
            elif src.convert == "lmms":
                c = lmms_to_midi(inside.read_bytes(), dest)
                conversion.update(notes=c.notes)
            elif src.kind == "melody":
                conversion.update(how="lead line (top voice)",
                                  **extract_lead(inside, dest, src.lead_program))
            else:
                shutil.copyfile(inside, dest)
            info = describe_midi(dest)
            if src.kind == "band":
                info["trio_16bar"] = trio_spans(dest)
            w = info["windows_2bar"]
            _say(f"  ({i:2d}/{len(SOURCES)}) {src.kind}/{dest.name}: {info['bars']} bars, "
                 f"drums {w['drums']['unique']}, melody {w['melody']['unique']}, bass "
                 f"{w['bass']['unique']} unique 2-bar windows"
                 + (f", trio 16-bar spans {info['trio_16bar']['disjoint']} disjoint"
                    if "trio_16bar" in info else ""))
            entries.append({
                "file": f"{src.kind}/{dest.name}",
                "kind": src.kind,
                "sha256": _sha256(dest),
                "source": {"registry": "debian (bookworm, main)", "package": src.package,
                           "version": version, "path": "/" + src.path,
                           "sha256": _sha256(inside)},
                "licence": src.licence,
                "copyright_holder": src.holder,
                "licence_evidence": {"file": "/" + evidence_files[src],
                                     "quotes": list(src.evidence)},
                "genre": src.genre,
                "note": src.note,
                "conversion": conversion,
                "midi": info,
            })
    manifest = {
        "what": "out-of-collection evaluation set for latentjam (benchmarks/unseen_set.py): "
                "openly licensed music from sources unlike the training corpora (issue 14)",
        "reserved_never_used": sorted(RESERVED),
        "band_set_packages_not_used": sorted(BAND_PACKAGES),
        "counts": summarize(entries),
        "files": entries,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return manifest


def summarize(entries: list[dict]) -> dict:
    """Per folder: files, unique 2-bar windows by role, and 16-bar trio spans."""
    counts = {}
    for kind in KINDS:
        mine = [e for e in entries if e["kind"] == kind]
        counts[kind] = {
            "files": len(mine),
            "windows_2bar_unique": {
                role: sum(e["midi"]["windows_2bar"][role]["unique"] for e in mine)
                for role in ("melody", "drums", "bass")},
            "trio_16bar": {k: sum(e["midi"].get("trio_16bar", {}).get(k, 0) for e in mine)
                           for k in ("sliding", "disjoint")},
            "files_with_a_trio_span": sum(e["midi"].get("trio_16bar", {}).get("disjoint", 0) > 0
                                          for e in mine),
        }
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"where the folders and manifest.json go (default {DEFAULT_OUT})")
    parser.add_argument("--list", action="store_true",
                        help="print the chosen files and their licences; fetch nothing")
    args = parser.parse_args(argv)
    if args.list:
        _check_sources(SOURCES)
        for src in SOURCES:
            _say(f"{src.kind:6s} debian:{src.package}:/{src.path}  [{src.licence}]")
        return 0
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        _say("needs apt-get and dpkg-deb (a Debian machine)")
        return 2
    out = args.out.expanduser()
    manifest = build(out)
    c = manifest["counts"]
    _say(f"wrote {len(manifest['files'])} files and manifest.json to {out}")
    for kind in KINDS:
        w = c[kind]["windows_2bar_unique"]
        _say(f"{kind}: {c[kind]['files']} files; unique 2-bar windows (1-bar hop): melody "
             f"{w['melody']}, drums {w['drums']}, bass {w['bass']}"
             + (f"; 16-bar trio spans {c[kind]['trio_16bar']['disjoint']} disjoint "
                f"({c[kind]['trio_16bar']['sliding']} sliding) in "
                f"{c[kind]['files_with_a_trio_span']} files" if kind == "band" else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
