"""A MIDI file rendered to audio through FluidSynth with a General MIDI soundfont.

The ``fluidsynth`` program renders faster than real time to a float WAV in a scratch folder
(program changes and the drum channel honoured, as any GM synth does); the result is cut two
seconds after the last note-off at most (sooner once the tail has died away), brought to a
loudness target (about -16 LUFS, the level of streamed music) with a look-ahead limiter
keeping the peaks below -1 dBFS, or given a fixed gain, and written as WAV, FLAC or Ogg
Vorbis. Nothing is written over an existing file, and a half-written file never appears
under the output's name.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from latentjam.app.audio.loudness import integrated_loudness, to_loudness
from latentjam.app.audio.soundfont import find_fluidsynth, find_soundfont
from latentjam.app.midi_files import open_midi
from latentjam.engine.errors import SettingError

AUDIO_FORMATS = {".wav": ("WAV", "PCM_16"), ".flac": ("FLAC", "PCM_16"),
                 ".ogg": ("OGG", "VORBIS")}
TAIL_S = 2.0  # most audio kept after the last note-off (reverb, release)
SILENT_DBFS = -80.0  # a tail below this has died away
FADE_S = 0.02  # the last moment of a cut tail fades out, so the cut does not click
DEFAULT_LUFS = -16.0
PEAK_DBFS = -1.0
WRITE_FRAMES = 1 << 14


@dataclass(frozen=True)
class RenderOptions:
    soundfont: str | Path | None = None  # None: where the system keeps one (find_soundfont)
    sample_rate: int = 44100
    gain_db: float | None = None  # a fixed gain instead of the loudness target
    loudness_lufs: float = DEFAULT_LUFS
    reverb: bool = True
    chorus: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.sample_rate, bool) or self.sample_rate not in range(8000, 192001):
            raise SettingError(f"--sample-rate must be 8000..192000 Hz, got {self.sample_rate}")
        if not -40.0 <= self.loudness_lufs <= -5.0:
            raise SettingError(f"--loudness must be -40..-5 LUFS, got {self.loudness_lufs:g}")
        if self.gain_db is not None and not -60.0 <= self.gain_db <= 40.0:
            raise SettingError(f"--gain must be -60..40 dB, got {self.gain_db:g}")


@dataclass(frozen=True)
class Rendered:
    path: Path
    seconds: float  # of audio written
    loudness_lufs: float  # of what was written
    peak_dbfs: float
    render_s: float  # wall time of the whole render


def check_output(path: Path) -> tuple[str, str]:
    """(libsndfile format, subtype) for ``path``'s suffix; a SettingError naming the file."""
    try:
        return AUDIO_FORMATS[path.suffix.lower()]
    except KeyError:
        raise SettingError(f"{path}: an audio file is .wav, .flac or .ogg") from None


def last_note_off_s(path: Path) -> float:
    """When the last note of a MIDI file ends, in seconds (its tempo map followed)."""
    now, last = 0.0, None
    for message in open_midi(path):
        now += message.time
        if message.type in ("note_on", "note_off"):
            last = now
    if last is None:
        raise SettingError(f"{path}: no notes to render")
    return last


def render_midi(midi_path: Path, out_path: Path, options: RenderOptions = RenderOptions(),
                title: str | None = None) -> Rendered:
    """Render ``midi_path`` to ``out_path`` (.wav, .flac or .ogg), tagged with ``title``
    when given (an Ogg stream's title is what Icecast shows as playing); a SettingError says
    why not, naming the file."""
    import soundfile

    began = time.perf_counter()
    audio_format, subtype = check_output(out_path)
    if out_path.exists():
        raise SettingError(f"{out_path} exists; nothing was written over it")
    program, soundfont = find_fluidsynth(), find_soundfont(options.soundfont)
    end_s = last_note_off_s(midi_path)
    rate = options.sample_rate
    with tempfile.TemporaryDirectory(prefix="latentjam-render-") as scratch:
        raw = Path(scratch) / "render.wav"
        command = [program, "-ni", "-q", "-g", "1.0", "-r", str(rate), "-O", "float",
                   "-T", "wav", "-F", str(raw), "-R", str(int(options.reverb)),
                   "-C", str(int(options.chorus)), str(soundfont), str(midi_path)]
        try:
            result = subprocess.run(command, capture_output=True, text=True,
                                    timeout=60 + end_s, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise SettingError(f"{midi_path}: FluidSynth did not finish within "
                               f"{60 + end_s:.0f} s") from None
        if result.returncode != 0 or not raw.is_file():
            last = (result.stderr.strip().splitlines() or ["no message"])[-1][:200]
            raise SettingError(f"{midi_path}: FluidSynth failed (exit {result.returncode}: "
                               f"{last})")
        samples, rate = soundfile.read(raw, dtype="float32", always_2d=True)
    samples = _cut_tail(samples, rate, end_s)
    if options.gain_db is not None:
        samples = samples * np.float32(10 ** (options.gain_db / 20))
    elif samples.size:
        samples = to_loudness(samples, rate, options.loudness_lufs, PEAK_DBFS)
    peak = float(np.abs(samples).max()) if samples.size else 0.0
    if peak > 1.0:  # a fixed gain too high: lowered to full scale rather than clipped
        samples /= np.float32(peak)
        peak = 1.0
    partial = out_path.with_name(f".{out_path.name}.partial")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    # in blocks: libsndfile's Vorbis encoder crashes on one large write
    with soundfile.SoundFile(partial, "w", rate, samples.shape[1], subtype=subtype,
                             format=audio_format) as sink:
        if title:
            sink.title, sink.artist = title, "latentjam"
        for start in range(0, len(samples), WRITE_FRAMES):
            sink.write(samples[start:start + WRITE_FRAMES])
    os.replace(partial, out_path)
    return Rendered(out_path, len(samples) / rate, integrated_loudness(samples, rate),
                    20 * np.log10(peak) if peak > 0 else -np.inf, time.perf_counter() - began)


def _cut_tail(samples: np.ndarray, rate: int, end_s: float) -> np.ndarray:
    """Up to ``TAIL_S`` after the last note-off, less once the tail is below SILENT_DBFS."""
    limit = min(len(samples), int((end_s + TAIL_S) * rate))
    start = min(int(end_s * rate), limit)
    loud = np.flatnonzero(np.abs(samples[start:limit]).max(axis=1) > 10 ** (SILENT_DBFS / 20))
    end = min(limit, start + (int(loud[-1]) + int(FADE_S * rate) if loud.size else 0))
    out = samples[:end].copy()
    fade = min(int(FADE_S * rate), len(out))
    if fade and end < len(samples):
        out[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)[:, None]
    return out
