"""The radio stream's encoders: Ogg Vorbis, Ogg Opus and MP3, all libsndfile's (bundled in
the soundfile wheels: libvorbis, libopus, LAME), never hand-written.

A song is cut at its section changes into parts, each carrying its now-playing title
("song 3 - build"). In Ogg each part is a logical stream of its own (a chained Ogg stream),
its title in its comment header: that is how Ogg carries new metadata, and Icecast shows a
new Vorbis stream's title as the mount's title. MP3 has no in-stream titles: the song is
encoded once (no encoder gap at a section change) and cut into parts at frame-size
granularity, and the stream's sender tells Icecast each title (/admin/metadata).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from latentjam.engine.errors import SettingError

# name -> (libsndfile format, subtype, the mount's content type)
STREAM_FORMATS = {"vorbis": ("OGG", "VORBIS", "audio/ogg"),
                  "opus": ("OGG", "OPUS", "audio/ogg"),
                  "mp3": ("MP3", "MPEG_LAYER_III", "audio/mpeg")}
OPUS_RATES = (8000, 12000, 16000, 24000, 48000)  # the only rates Opus codes
MP3_LEVEL = 0.5  # LAME at constant 160 kbit/s (0: 320, libsndfile's scale)
WRITE_FRAMES = 1 << 14  # libsndfile's Vorbis encoder crashes on one large write


@dataclass(frozen=True)
class Part:
    """Some of a song's encoded audio and the title it plays under."""

    title: str
    data: bytes
    seconds: float
    ogg: bool  # a logical Ogg stream of its own (its headers first) or raw MP3 frames


def check_encoder(name: str) -> tuple[str, str, str]:
    """(format, subtype, content type) of stream format ``name``; one line when it is not
    one or this libsndfile has no encoder for it."""
    import soundfile

    try:
        audio_format, subtype, content_type = STREAM_FORMATS[name]
    except KeyError:
        raise SettingError(f"--stream-format must be one of {', '.join(STREAM_FORMATS)}, "
                           f"got {name!r}") from None
    if audio_format not in soundfile.available_formats() \
            or subtype not in soundfile.available_subtypes(audio_format):
        raise SettingError(f"--stream-format {name}: this libsndfile "
                           f"({soundfile.__libsndfile_version__}) has no {name} encoder "
                           f"(the soundfile wheels of 0.12 and later bundle one: pip install "
                           f"-U soundfile), or choose --stream-format vorbis")
    return audio_format, subtype, content_type


def stream_rate(name: str, rate: int) -> int:
    """The rate to render at for stream format ``name``: Opus codes only a few."""
    return rate if name != "opus" or rate in OPUS_RATES else 48000


def encode_parts(samples: np.ndarray, rate: int, name: str,
                 sections: list[tuple[float, str]]) -> list[Part]:
    """``samples`` (frames × channels, float) cut at ``sections`` (seconds into the song,
    title; the first at 0) and encoded as stream format ``name``."""
    audio_format, subtype, _ = check_encoder(name)
    bounds = [min(max(int(round(at * rate)), 0), len(samples)) for at, _ in sections]
    bounds = [0, *bounds[1:], len(samples)]
    titles = [title for _, title in sections]
    if audio_format == "MP3":
        data = _encode(samples, rate, audio_format, subtype, titles[0])
        total = max(len(samples), 1)
        cuts = [len(data) * b // total for b in bounds]
        cuts[-1] = len(data)
        return [Part(title, data[start:end], (b_end - b_start) / rate, ogg=False)
                for title, start, end, b_start, b_end
                in zip(titles, cuts, cuts[1:], bounds, bounds[1:], strict=False)]
    return [Part(title, _encode(samples[start:end], rate, audio_format, subtype, title),
                 (end - start) / rate, ogg=True)
            for title, start, end in zip(titles, bounds, bounds[1:], strict=False)
            if end > start]


def _encode(samples: np.ndarray, rate: int, audio_format: str, subtype: str,
            title: str) -> bytes:
    import soundfile

    out = io.BytesIO()
    extra = {"compression_level": MP3_LEVEL, "bitrate_mode": "CONSTANT"} \
        if audio_format == "MP3" else {}
    with soundfile.SoundFile(out, "w", rate, samples.shape[1], subtype=subtype,
                             format=audio_format, **extra) as sink:
        sink.title, sink.artist = title, "latentjam"
        for start in range(0, len(samples), WRITE_FRAMES):
            sink.write(samples[start:start + WRITE_FRAMES])
    return out.getvalue()
