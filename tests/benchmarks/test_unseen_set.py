"""The pure parts of benchmarks/unseen_set.py: drum-name mapping, Hydrogen and LMMS conversion,
the top-voice line and the licence-evidence check. No network, no apt: small inputs written here."""

from __future__ import annotations

import gzip
import sys
import zlib
from pathlib import Path

import mido
import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))  # unseen_set imports band_set as a sibling, as when run

import unseen_set as us  # noqa: E402

H2SONG = """<?xml version="1.0" encoding="UTF-8"?>
<song>
 <bpm>100</bpm>
 <license>Unknown license</license>
 <instrumentList>
  <instrument><id>0</id><name>Kick</name><midiOutNote>36</midiOutNote></instrument>
  <instrument><id>1</id><name>Snare Rimshot</name><midiOutNote>37</midiOutNote></instrument>
  <instrument><id>2</id><name>Hat Closed</name><midiOutNote>38</midiOutNote></instrument>
  <instrument><id>3</id><name>Theremin</name><midiOutNote>39</midiOutNote></instrument>
 </instrumentList>
 <patternList>
  <pattern><name>a</name><size>192</size><noteList>
   <note><position>0</position><velocity>1</velocity><length>-1</length><instrument>0</instrument></note>
   <note><position>96</position><velocity>0.5</velocity><length>-1</length><instrument>1</instrument></note>
   <note><position>48</position><velocity>0.8</velocity><length>-1</length><instrument>3</instrument></note>
  </noteList></pattern>
  <pattern><name>hats</name><size>96</size><noteList>
   <note><position>0</position><velocity>0.8</velocity><length>-1</length><instrument>2</instrument></note>
  </noteList></pattern>
 </patternList>
 <virtualPatternList>
  <pattern><name>a</name><virtual>hats</virtual></pattern>
 </virtualPatternList>
 <patternSequence>
  <group><patternID>a</patternID></group>
  <group><patternID>hats</patternID></group>
 </patternSequence>
</song>
"""


def _notes(path: Path) -> list[tuple[int, int, int, int]]:
    """(absolute tick, channel, note, velocity) of every note-on."""
    out = []
    for track in mido.MidiFile(str(path)).tracks:
        now = 0
        for msg in track:
            now += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                out.append((now, msg.channel, msg.note, msg.velocity))
    return sorted(out)


@pytest.mark.parametrize("name, note", [
    ("Kick", 36), ("BassDrum", 36), ("bassdrum_acoustic01", 36), ("Snare", 38),
    ("Snare Rimshot", 37), ("Stick", 37), ("Hand Clap", 39), ("Hat Closed", 42),
    ("hihat_closed03", 42), ("Hat Pedal", 44), ("Open HiHat 02", 46), ("Hat Semi-Open", 46),
    ("Floor Tom", 41), ("Tom Low", 45), ("Tom Mid", 47), ("Tom Hi", 50), ("Crash", 49),
    ("Ride 2", 51), ("Cowbell", 56), ("Bell", 53), ("Splash", 55), ("Shaker", 70),
    ("Bass High", None), ("E-Piano", None), ("it's like that", None), ("Lead", None),
])
def test_drum_names_map_to_general_midi(name, note):
    assert us.gm_drum_note(name) == note


def test_a_hydrogen_song_becomes_a_gm_drum_file(tmp_path):
    dest = tmp_path / "song.mid"
    conv = us.h2song_to_midi(H2SONG, dest)
    mf = mido.MidiFile(str(dest))
    assert mf.ticks_per_beat == us.TICKS_PER_BEAT
    tempo = next(m.tempo for m in mf.tracks[0] if m.type == "set_tempo")
    assert round(mido.tempo2bpm(tempo)) == 100
    # group 1: pattern a (one bar) plus its virtual "hats"; group 2: hats alone (half a bar)
    assert _notes(dest) == [(0, 9, 36, 127), (0, 9, 42, 102), (960, 9, 37, 64),
                            (1920, 9, 42, 102)]
    assert conv.dropped == {"Theremin": 1}     # no GM drum for it: left out, and said so
    assert conv.bars == pytest.approx(1.5)


def _lmms_project() -> bytes:
    xml = """<?xml version="1.0"?>
<lmms-project version="1.0"><head bpm="125" timesig_numerator="4" timesig_denominator="4"/>
<song><trackcontainer>
 <track type="0" name="lead" muted="0">
  <instrumenttrack basenote="57"><instrument name="tripleoscillator"/></instrumenttrack>
  <pattern pos="192" len="192" steps="16"><note pos="0" len="48" key="60" vol="100"/></pattern>
 </track>
 <track type="0" name="sub bass" muted="0">
  <instrumenttrack basenote="69"><instrument name="tripleoscillator"/></instrumenttrack>
  <pattern pos="0" len="192" steps="16"><note pos="24" len="24" key="45" vol="100"/></pattern>
 </track>
 <track type="0" name="muted one" muted="1">
  <instrumenttrack basenote="57"><instrument name="tripleoscillator"/></instrumenttrack>
  <pattern pos="0" len="192" steps="16"><note pos="0" len="24" key="50" vol="100"/></pattern>
 </track>
 <track type="1" name="Beat">
  <bbtrack><trackcontainer>
   <track type="0" name="kick01.ogg" muted="0">
    <instrumenttrack basenote="57"><instrument name="audiofileprocessor">
     <audiofileprocessor src="drums/kick01.ogg"/></instrument></instrumenttrack>
    <pattern pos="0" steps="16"><note pos="0" len="-192" key="57" vol="100"/>
     <note pos="96" len="-192" key="57" vol="100"/></pattern>
   </track>
  </trackcontainer></bbtrack>
  <bbtco pos="0" len="384" muted="0"/>
 </track>
</trackcontainer></song></lmms-project>"""
    raw = xml.encode()
    return len(raw).to_bytes(4, "big") + zlib.compress(raw)   # the .mmpz layout


def test_an_lmms_project_becomes_band_midi(tmp_path):
    dest = tmp_path / "project.mid"
    conv = us.lmms_to_midi(_lmms_project(), dest)
    notes = _notes(dest)
    kicks = [t for t, ch, n, _ in notes if ch == 9]
    assert kicks == [0, 960, 1920, 2880]                 # the one-bar beat fills its 2-bar clip
    assert all(n == 36 for _, ch, n, _ in notes if ch == 9)
    pitched = {(t, n) for t, ch, n, _ in notes if ch != 9}
    # LMMS key + 12 is MIDI; a basenote of 69 plays an octave below the written key
    assert pitched == {(1920, 72), (240, 45)}
    assert all(n != 62 for _, _, n, _ in notes)          # the muted track stays out
    assert conv.bars == pytest.approx((288 + us.STEP_NOTE_TICKS) / 192)  # to the last hit's end
    programs = {m.channel: m.program for tr in mido.MidiFile(str(dest)).tracks for m in tr
                if m.type == "program_change"}
    assert 33 in programs.values()                       # a track named bass gets a bass


def test_the_top_voice_keeps_every_onset_and_one_note_at_a_time():
    import pretty_midi

    chord = [pretty_midi.Note(80, p, 0.0, 1.0) for p in (60, 64, 67)]
    line = us.skyline(chord + [pretty_midi.Note(80, 62, 0.5, 1.5)])
    assert [(n.pitch, n.start, n.end) for n in line] == [(67, 0.0, 0.5), (62, 0.5, 1.5)]


DEP5 = """Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/

Files: *
Copyright: 2001 Someone
License: GPL-2+

Files: data/song.mid
Copyright: 2009 Composer
License: CC-BY-NC-3.0
"""


def test_dep5_evidence_must_sit_in_one_stanza():
    assert us.missing_evidence(DEP5, ["Files: *", "License: GPL-2+"]) == []
    assert us.missing_evidence(DEP5, ["Files: data/song.mid", "License:   CC-BY-NC-3.0"]) == []
    # the song's stanza does not say GPL-2+: that line belongs to another stanza
    assert us.missing_evidence(DEP5, ["Files: data/song.mid", "License: GPL-2+"]) == \
        ["License: GPL-2+"]


def test_free_form_evidence_must_follow_the_order_quoted(tmp_path):
    text = "- a.mid (Town)\n  +License: public domain\n\n- b.mid (Cave)\n  +License: GPLv3+\n"
    path = tmp_path / "README.txt.gz"
    path.write_bytes(gzip.compress(text.encode()))
    read = us.read_evidence_text(path)
    assert us.missing_evidence(read, ["- b.mid (Cave)", "+License: GPLv3+"]) == []
    assert us.missing_evidence(read, ["- b.mid (Cave)", "+License: public domain"]) == \
        ["+License: public domain"]


def test_the_build_stops_when_a_copyright_file_lacks_the_quotes(tmp_path):
    doc = tmp_path / "usr/share/doc/pkg"
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(DEP5)
    src = us.Source(package="pkg", path="data/song.mid", kind="melody", convert="midi",
                    licence="GPL-2.0-or-later", holder="x",
                    evidence=("Files: data/song.mid", "License: GPL-2+"))
    with pytest.raises(SystemExit, match="no longer says"):
        us.check_evidence(src, tmp_path)
    ok = us.Source(package="pkg", path="x.mid", kind="melody", convert="midi", licence="GPL",
                   holder="x", evidence=("Files: *", "License: GPL-2+"))
    assert us.check_evidence(ok, tmp_path) == "usr/share/doc/pkg/copyright"


def test_no_source_is_reserved_or_from_the_band_set():
    us._check_sources(us.SOURCES)           # raises SystemExit otherwise
    assert not {s.package for s in us.SOURCES} & (us.RESERVED | us.BAND_PACKAGES)
    with pytest.raises(SystemExit, match="reserved"):
        us._check_sources([us.Source(package="freedoom", path="x", kind="drums",
                                     convert="midi", licence="", holder="", evidence=())])
