"""Audio: loudness as BS.1770 measures it, and MIDI files rendered through the real FluidSynth
with a real soundfont (skipped, saying why, where either is missing)."""

from __future__ import annotations

import shutil
from pathlib import Path

import mido
import numpy as np
import pytest
from latentjam.app.audio import render as render_module
from latentjam.app.audio import soundfont
from latentjam.app.audio.loudness import (
    SILENCE_LUFS,
    integrated_loudness,
    limited,
    to_loudness,
)
from latentjam.app.audio.render import RenderOptions, render_midi
from latentjam.engine.errors import SettingError

RATE = 48000


def sine(seconds: float, amplitude: float = 1.0, hz: float = 997.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return amplitude * np.sin(2 * np.pi * hz * t)


def test_a_full_scale_sine_measures_as_the_standard_says():
    assert integrated_loudness(sine(5), RATE) == pytest.approx(-3.01, abs=0.05)
    assert integrated_loudness(np.stack([sine(5)] * 2, axis=1), RATE) == \
        pytest.approx(0.0, abs=0.05)  # two channels: twice the power
    assert integrated_loudness(sine(5, 0.1), RATE) == pytest.approx(-23.01, abs=0.05)


def test_silence_is_gated_out():
    assert integrated_loudness(np.zeros(RATE * 2), RATE) == SILENCE_LUFS
    loud_then_silent = np.concatenate([sine(3, 0.1), np.zeros(RATE * 30)])
    # blocks across the edge count too (above both gates): a little below the tone alone
    assert integrated_loudness(loud_then_silent, RATE) == pytest.approx(-23.01, abs=0.3)


def test_the_limiter_keeps_every_peak_under_the_ceiling_and_leaves_the_rest():
    tone = np.stack([sine(2, 0.1)] * 2, axis=1).astype(np.float32)
    tone[RATE, 0] = 0.99  # one click near full scale, a second in
    out = limited(tone, RATE, -6.0)
    assert np.abs(out).max() <= 10 ** (-6.0 / 20) + 1e-6
    far = slice(int(1.3 * RATE), 2 * RATE)  # a moment on, the gain is back
    np.testing.assert_allclose(out[far], tone[far], atol=1e-4)
    assert np.array_equal(out[:RATE // 2], tone[:RATE // 2])


def test_to_loudness_reaches_the_target_with_the_peaks_limited():
    spiky = np.stack([sine(5, 0.05)] * 2, axis=1).astype(np.float32)
    spiky[100::RATE] = 0.9  # a click a second, 10 dB over where the target would put it
    out = to_loudness(spiky, RATE, -16.0, ceiling_dbfs=-1.0)
    assert integrated_loudness(out, RATE) == pytest.approx(-16.0, abs=0.3)
    assert 20 * np.log10(np.abs(out).max()) <= -1.0 + 1e-4


def test_no_soundfont_names_the_package_and_the_flag(monkeypatch, tmp_path):
    monkeypatch.setattr(soundfont, "SOUNDFONT_PLACES", (str(tmp_path / "none.sf2"),))
    monkeypatch.delenv(soundfont.SOUNDFONT_ENV, raising=False)
    with pytest.raises(SettingError) as err:
        soundfont.find_soundfont()
    assert "apt-get install timgm6mb-soundfont" in str(err.value)
    assert "--soundfont" in str(err.value)


# -- the real FluidSynth ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def sound() -> Path:
    if shutil.which("fluidsynth") is None:
        pytest.skip("rendering needs the fluidsynth program (apt-get install fluidsynth)")
    try:
        return soundfont.find_soundfont()
    except SettingError as err:
        pytest.skip(str(err))


def midi_file(path: Path, program: int, drums: bool = True, seconds: float = 2.0) -> Path:
    """A piano-ish note on channel 1 (``program``) for ``seconds``, a kick on channel 10."""
    mid = mido.MidiFile(ticks_per_beat=480)  # 120 BPM: a beat is 0.5 s
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.Message("program_change", channel=0, program=program, time=0))
    track.append(mido.Message("note_on", channel=0, note=60, velocity=100, time=0))
    if drums:
        track.append(mido.Message("note_on", channel=9, note=36, velocity=110, time=0))
        track.append(mido.Message("note_off", channel=9, note=36, velocity=0, time=120))
    track.append(mido.Message("note_off", channel=0, note=60, velocity=0,
                              time=int(seconds * 960) - (120 if drums else 0)))
    mid.save(path)
    return path


def test_a_render_is_at_the_loudness_target_with_its_tail_and_no_more(sound, tmp_path):
    import soundfile

    source = midi_file(tmp_path / "a.mid", 0)
    quiet = render_midi(source, tmp_path / "a.wav", RenderOptions(soundfont=sound,
                                                                   loudness_lufs=-23.0))
    samples, rate = soundfile.read(quiet.path, always_2d=True)
    assert rate == 44100 and samples.shape[1] == 2
    assert 2.0 < len(samples) / rate <= 2.0 + render_module.TAIL_S + 0.01
    assert integrated_loudness(samples, rate) == pytest.approx(-23.0, abs=0.2)
    assert quiet.loudness_lufs == pytest.approx(-23.0, abs=0.2)
    # -16 LUFS would clip a lone struck note: the limiter holds its peak at -1 dBFS
    loud = render_midi(source, tmp_path / "a.flac", RenderOptions(soundfont=sound))
    samples, _ = soundfile.read(loud.path, always_2d=True)
    assert 20 * np.log10(np.abs(samples).max()) <= -1.0 + 0.01
    assert integrated_loudness(samples, 44100) == pytest.approx(-16.0, abs=0.5)


def test_programs_and_the_drum_channel_are_honoured(sound, tmp_path):
    import soundfile

    def spectrum(name: str, program: int, drums: bool) -> np.ndarray:
        out = render_midi(midi_file(tmp_path / f"{name}.mid", program, drums),
                          tmp_path / f"{name}.wav", RenderOptions(soundfont=sound, gain_db=0))
        samples, _ = soundfile.read(out.path, always_2d=True)
        return np.abs(np.fft.rfft(samples[:44100, 0]))

    piano, flute = spectrum("piano", 0, False), spectrum("flute", 73, False)
    with_kick = spectrum("kick", 0, True)
    low = slice(20, 120)  # 20-120 Hz: a kick's, not a middle C's
    assert np.corrcoef(piano, flute)[0, 1] < 0.9  # another instrument, not the same sound
    assert with_kick[low].sum() > 3 * piano[low].sum()


def test_nothing_is_written_over_a_file_or_in_an_unknown_format(sound, tmp_path):
    source = midi_file(tmp_path / "a.mid", 0)
    (tmp_path / "taken.wav").write_bytes(b"mine")
    with pytest.raises(SettingError, match="taken.wav exists"):
        render_midi(source, tmp_path / "taken.wav", RenderOptions(soundfont=sound))
    assert (tmp_path / "taken.wav").read_bytes() == b"mine"
    with pytest.raises(SettingError, match=r"\.wav, \.flac or \.ogg"):
        render_midi(source, tmp_path / "a.mp3", RenderOptions(soundfont=sound))
    (tmp_path / "bad.mid").write_bytes(b"not midi at all")
    with pytest.raises(SettingError, match="bad.mid: not a readable MIDI file"):
        render_midi(tmp_path / "bad.mid", tmp_path / "bad.wav", RenderOptions(soundfont=sound))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mid", "bad.mid", "taken.wav"]
