"""Loudness as broadcasters measure it (ITU-R BS.1770-4, integrated, in LUFS), and the gain
that brings a render to a target without clipping. Pure NumPy.

The K-weighting is applied in the frequency domain, block by block (the magnitude response
of the standard's two 48 kHz biquads, at the block's frequencies): a block's mean square is
what the filtered signal's would be, up to the block edges, which is within a few tenths of
a dB of a time-domain filter on music.
"""

from __future__ import annotations

import numpy as np

BLOCK_S = 0.4  # the gating block
OVERLAP = 0.75
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
SILENCE_LUFS = -120.0  # what a silent signal measures
# BS.1770's stage 1 (a high shelf, the head's effect) and stage 2 (a high pass), at 48 kHz
_SHELF = ((1.53512485958697, -2.69169618940638, 1.19839281085285),
          (1.0, -1.69065929318241, 0.73248077421585))
_HIGH_PASS = ((1.0, -2.0, 1.0), (1.0, -1.99004745483398, 0.99007225036621))


def _k_power(frequencies: np.ndarray) -> np.ndarray:
    """|H(f)|² of the K-weighting at ``frequencies`` (Hz)."""
    z = np.exp(-1j * 2 * np.pi * frequencies / 48000.0)
    power = np.ones_like(frequencies)
    for (b0, b1, b2), (a0, a1, a2) in (_SHELF, _HIGH_PASS):
        power = power * np.abs((b0 + b1 * z + b2 * z * z) / (a0 + a1 * z + a2 * z * z)) ** 2
    return power


def integrated_loudness(samples: np.ndarray, rate: int) -> float:
    """Integrated loudness in LUFS of ``samples`` ``[n]`` or ``[n, channels]`` (float, full
    scale 1.0; left and right weigh 1, as BS.1770 weighs front channels)."""
    audio = np.asarray(samples, np.float32)  # no copy of a render's float32 samples
    audio = audio[:, None] if audio.ndim == 1 else audio
    size = int(round(BLOCK_S * rate))
    hop = max(int(round(size * (1 - OVERLAP))), 1)
    if len(audio) < size:
        audio = np.pad(audio, ((0, size - len(audio)), (0, 0)))
    weights = _k_power(np.fft.rfftfreq(size, 1.0 / rate))
    weights[1:-1] *= 2  # each rfft bin between DC and Nyquist stands for two
    powers = []
    for start in range(0, len(audio) - size + 1, hop):
        spectrum = np.fft.rfft(audio[start:start + size].astype(np.float64), axis=0)
        powers.append(float((np.abs(spectrum) ** 2 * weights[:, None]).sum()) / size ** 2)
    powers = np.array(powers)
    loudness = -0.691 + 10 * np.log10(np.maximum(powers, 1e-30))
    kept = powers[loudness > ABSOLUTE_GATE_LUFS]
    if not kept.size:
        return SILENCE_LUFS
    relative = -0.691 + 10 * np.log10(kept.mean()) + RELATIVE_GATE_LU
    kept = kept[-0.691 + 10 * np.log10(kept) > relative]
    return float(-0.691 + 10 * np.log10(kept.mean()))


LIMIT_BLOCK_S = 0.005  # the limiter's resolution (and its look-ahead)
RELEASE_DB_PER_S = 100.0  # how fast its gain recovers after a peak (10 dB in 0.1 s)


def limited(samples: np.ndarray, rate: int, ceiling_dbfs: float) -> np.ndarray:
    """``samples`` ``[n, channels]`` with every peak brought under ``ceiling_dbfs`` by a
    look-ahead limiter: the gain drops by the next 5 ms block's peak before it arrives and
    recovers at RELEASE_DB_PER_S, moving linearly within blocks, so nothing clicks."""
    ceiling = 10 ** (ceiling_dbfs / 20)
    size = max(int(LIMIT_BLOCK_S * rate), 1)
    blocks = -(-len(samples) // size)
    padded = np.zeros((blocks * size, samples.shape[1]), np.float32)
    padded[:len(samples)] = samples
    peaks = np.abs(padded).reshape(blocks, size * samples.shape[1]).max(axis=1)
    need = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-12))
    need = np.minimum(need, np.append(need[1:], 1.0))  # the next block's peak, ahead of it
    rise = 10 ** (RELEASE_DB_PER_S * LIMIT_BLOCK_S / 20)
    gains = np.empty(blocks)
    gain = 1.0
    for index, wanted in enumerate(need):  # a block's gain: down at once, up slowly
        gain = min(wanted, gain * rise)
        gains[index] = gain
    before = np.concatenate([[gains[0]], gains[:-1]]).astype(np.float32)
    ramp = np.linspace(0.0, 1.0, size, endpoint=False, dtype=np.float32)
    per_sample = (before[:, None] + (gains.astype(np.float32) - before)[:, None]
                  * ramp[None, :]).reshape(-1)
    padded *= per_sample[:, None]  # in place: a long song's audio is not copied again
    return padded[:len(samples)]


def to_loudness(samples: np.ndarray, rate: int, target_lufs: float,
                ceiling_dbfs: float) -> np.ndarray:
    """``samples`` ``[n, channels]`` at ``target_lufs`` with peaks limited under
    ``ceiling_dbfs`` (twice over: limiting lowers the loudness a little)."""
    out = np.asarray(samples, np.float32)
    for _ in range(2):
        loudness = integrated_loudness(out, rate)
        if loudness <= SILENCE_LUFS:
            return out
        out = limited(out * np.float32(10 ** ((target_lufs - loudness) / 20)), rate,
                      ceiling_dbfs)
    return out
