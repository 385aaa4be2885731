"""Personalising a base MusicVAE on a user's pieces, and sampling from the result.

``personalize`` encodes every usable window of each piece with the frozen base model (μ,
deterministic), trains a MidiMe on those vectors and says per file what it took.
``PersonalizedModel`` stands where a ``TrainedModel`` stands for sampling: the same
``sample`` and ``decode``, with the latent vectors drawn through MidiMe.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from latentjam.models.errors import InputError, NoExamplesError
from latentjam.models.notesequence import DEFAULT_QPM, NoteSequence
from latentjam.models.personalize.midime import (
    MidiMe,
    MidiMeConfig,
    Progress,
    TrainingSummary,
    train_midime,
)
from latentjam.models.personalize.midime_file import (
    BaseModelInfo,
    check_base,
    load_midime,
    read_midime_info,
    save_midime,
)
from latentjam.models.trained_model import TrainedModel

ENCODE_BATCH = 64  # windows per base-encoder call: bounds memory, keeps NumPy's calls large


@dataclass(frozen=True)
class FileWindows:
    name: str
    windows: int  # how many windows were taken
    reason: str = ""  # why none were, when none were


@dataclass(frozen=True)
class PersonalizeReport:
    files: tuple[FileWindows, ...]
    vectors: int
    encode_seconds: float
    training: TrainingSummary

    @property
    def skipped(self) -> tuple[FileWindows, ...]:
        return tuple(f for f in self.files if f.windows == 0)

    def to_dict(self) -> dict:
        """JSON-able, for the ``.midime`` file's notes."""
        return {"files": [{"name": f.name, "windows": f.windows, "reason": f.reason}
                          for f in self.files],
                "vectors": self.vectors}


def collect_windows(base: TrainedModel, sequences: list[NoteSequence], names: list[str]
                    ) -> tuple[list[np.ndarray], tuple[FileWindows, ...]]:
    """Every usable window of every piece, and per file how many (or why none)."""
    if len(sequences) != len(names):
        raise InputError(f"{len(sequences)} sequences but {len(names)} names")
    windows: list[np.ndarray] = []
    files = []
    for sequence, name in zip(sequences, names, strict=True):
        try:
            taken = base.windows(sequence, name)
        except NoExamplesError as err:
            files.append(FileWindows(name, 0, str(err)))
            continue
        windows.extend(taken)
        files.append(FileWindows(name, len(taken)))
    if not windows:
        listed = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5
                                         else "")
        first = files[0].reason if files else "no files given"
        raise NoExamplesError(
            f"no usable windows for {base.config.name} in {len(names)} file(s) ({listed}); "
            f"first: {first}")
    return windows, tuple(files)


def encode_windows(base: TrainedModel, windows: list[np.ndarray]) -> np.ndarray:
    """μ of every window, (n, base z), encoded in batches."""
    return np.concatenate([base.encode_classes(np.stack(windows[i:i + ENCODE_BATCH]))
                           for i in range(0, len(windows), ENCODE_BATCH)])


def personalize(base: TrainedModel, sequences: list[NoteSequence], names: list[str],
                config: MidiMeConfig | None = None, progress: Progress | None = None
                ) -> tuple[MidiMe, PersonalizeReport]:
    """Train a MidiMe on every usable window of ``sequences`` (``names`` for messages);
    NoExamplesError, naming the files, when none gives one."""
    windows, files = collect_windows(base, sequences, names)
    started = time.perf_counter()
    latents = encode_windows(base, windows)
    encoded = time.perf_counter() - started
    midime = train_midime(latents, config or MidiMeConfig(), progress)
    return midime, PersonalizeReport(files, len(latents), encoded, midime.training)


@dataclass
class PersonalizedModel:
    """A base model sampled through a MidiMe: a TrainedModel's ``sample`` and ``decode``."""

    base: TrainedModel
    midime: MidiMe
    name: str = "personalized"
    source: str = ""  # the .midime file, for messages

    def __post_init__(self) -> None:
        if self.midime.base_z_size != self.base.config.hparams.z_size:
            raise InputError(f"MidiMe reads {self.midime.base_z_size}-d latents, "
                             f"{self.base.source} has z size {self.base.config.hparams.z_size}")

    @property
    def config(self):  # the base model's ModelConfig: what the loops are (bars, kind)
        return self.base.config

    @property
    def converter(self):
        return self.base.converter

    @property
    def window_steps(self) -> int:
        return self.base.window_steps

    def sample_latents(self, n: int, rng: np.random.Generator | None = None,
                       latent_temperature: float = 1.0) -> np.ndarray:
        return self.midime.sample_latents(n, rng, latent_temperature)

    def decode(self, z: np.ndarray, temperature: float = 0.0,
               rng: np.random.Generator | None = None, length: int | None = None,
               qpm: float = DEFAULT_QPM) -> list[NoteSequence]:
        """Base latent vectors to NoteSequences, as ``TrainedModel.decode``."""
        return self.base.decode(z, temperature=temperature, rng=rng, length=length, qpm=qpm)

    def sample(self, n: int, temperature: float = 0.5, rng: np.random.Generator | None = None,
               length: int | None = None, qpm: float = DEFAULT_QPM,
               latent_temperature: float = 1.0) -> list[NoteSequence]:
        """``temperature``: the base decoder's; the small z is drawn from
        N(0, latent_temperature² I), N(0, I) by default."""
        if n < 1:
            raise InputError(f"number of outputs must be at least 1, got {n}")
        rng = rng or np.random.default_rng()
        z = self.midime.sample_latents(n, rng, latent_temperature)
        return self.decode(z, temperature=temperature, rng=rng, length=length, qpm=qpm)

    def save(self, path: str | Path, base_name: str | None = None,
             report: PersonalizeReport | None = None) -> Path:
        """``base_name``: how the user named the base model (default: its own name)."""
        info = BaseModelInfo.of(self.base, base_name)
        return save_midime(path, self.midime, info, report.to_dict() if report else None)

    @classmethod
    def load(cls, path: str | Path, base: TrainedModel | str | Path | None = None
             ) -> PersonalizedModel:
        """A ``.midime`` file with its base model: ``base`` when given (a loaded model or a
        name/path), else the one the file names; CheckpointError if the weights differ."""
        path = Path(path)
        info = read_midime_info(path)
        if not isinstance(base, TrainedModel):
            base = TrainedModel.load(base if base is not None else info.name)
        check_base(info, base, path)  # before reading the weights: the likelier mistake
        midime, _ = load_midime(path, base)
        return cls(base, midime, name=path.stem, source=str(path))
