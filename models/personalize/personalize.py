"""Personalising a base MusicVAE on a user's pieces, and sampling from the result.

``personalize`` encodes every usable window of each piece with the frozen base model (μ,
deterministic), trains a MidiMe on those vectors, refits the base decoder's output layers
to the windows decoded from where MidiMe puts them (``head``) and says per file what it
took.
``load_personalized`` gives a ``TrainedModel`` whose VAE is a ``PersonalizedVAE``: the base
decoder behind MidiMe's small latent space, usable wherever a model is.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from latentjam.models.defaults import DEFAULT_MODELS, resolve_model, shipped_models
from latentjam.models.errors import InputError, NoExamplesError
from latentjam.models.inference.musicvae import MusicVAE
from latentjam.models.notesequence import NoteSequence
from latentjam.models.personalize.head import (
    HeadConfig,
    HeadSummary,
    base_variables,
    fit_head,
    headed_vae,
    supports_head,
)
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
from latentjam.models.trained_model import TrainedModel, model_name

ENCODE_BATCH = 64  # windows per base-encoder call: bounds memory, keeps NumPy's calls large
# More windows than this teach a 4-d MidiMe nothing new (windows one bar apart overlap) but
# cost encoding time: a trio's 3,000 16-bar windows of 14 songs took 55 s to encode
MAX_WINDOWS = 1024
DEFAULT_HEAD = HeadConfig()


@dataclass(frozen=True)
class FileWindows:
    name: str
    windows: int  # how many windows were taken
    reason: str = ""  # why none were, when none were


@dataclass(frozen=True)
class PersonalizeReport:
    files: tuple[FileWindows, ...]  # windows found per file
    vectors: int  # windows learned from: all found, or MAX_WINDOWS evenly spread
    encode_seconds: float
    training: TrainingSummary
    head: HeadSummary | None = None  # the decoder head's fit, when there is one
    no_head: str = ""  # why there is none, when one was asked for

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
        taken, reason = base.distinct_windows(sequence)
        windows.extend(taken)
        files.append(FileWindows(name, len(taken), "" if taken else reason))
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
                config: MidiMeConfig | None = None, progress: Progress | None = None, *,
                head: HeadConfig | None = DEFAULT_HEAD, head_progress: Progress | None = None
                ) -> tuple[MidiMe, PersonalizeReport]:
    """Train a MidiMe on every usable window of ``sequences`` (``names`` for messages),
    then, unless ``head`` is None or the model has no categorical decoder (GrooVAE), the
    decoder head (in ``midime.head``); NoExamplesError, naming the files, when no piece
    gives a window."""
    windows, files = collect_windows(base, sequences, names)
    if len(windows) > MAX_WINDOWS:  # evenly spread: every file keeps its share
        picked = np.linspace(0, len(windows) - 1, MAX_WINDOWS).round().astype(int)
        windows = [windows[i] for i in picked]
    started = time.perf_counter()
    latents = encode_windows(base, windows)
    encoded = time.perf_counter() - started
    midime = train_midime(latents, config or MidiMeConfig(), progress)
    no_head = ""
    if head is not None and not supports_head(base.config):
        no_head = f"{base.config.name} has a {base.config.decoder} decoder: MidiMe alone"
    elif head is not None:
        # Each window decoded from the latent MidiMe gives back for it (its posterior mean
        # through its decoder): what the base decoder is handed when sampling near it.
        # Measured against the base encoder's μ itself: the in-sample pitch-span distance
        # fell 74 % instead of 25 %, the intervals' 71 % instead of 50 %.
        handed = midime.decode(midime.encode(latents))
        midime.head = fit_head(base.config, base_variables(base), handed, np.stack(windows),
                               head, head_progress)
    return midime, PersonalizeReport(files, len(latents), encoded, midime.training,
                                     midime.head.summary if midime.head else None, no_head)


class PersonalizedVAE:
    """A base MusicVAE seen through a MidiMe: its latent space is MidiMe's small one.

    It answers what a ``MusicVAE`` answers (``encode``, ``decode``, ``decode_logits``,
    ``sample``, ``z_size``), so a ``TrainedModel`` holding it samples, walks, interpolates
    and encodes anchors in the band's region wherever a model is used, the engine included:
    a fresh draw N(0, I) of the small z lands near the user's windows, a walk stays among
    them, and an encoded clip becomes its nearest band-like neighbour. ``base`` is the
    shipped model, or (``load_personalized``, a file with a decoder head) its copy with the
    refitted output layer."""

    def __init__(self, base: MusicVAE, midime: MidiMe) -> None:
        if midime.base_z_size != base.z_size:
            raise InputError(f"MidiMe reads {midime.base_z_size}-d latents, the base model "
                             f"has z size {base.z_size}")
        self.base, self.midime = base, midime
        self.config, self.dtype = base.config, base.dtype
        self.z_size = midime.config.latent_size
        self.default_length, self.max_length = base.default_length, base.max_length

    @property
    def is_split(self) -> bool:
        return self.base.is_split

    def encode(self, inputs: np.ndarray, lengths: np.ndarray | None = None,
               rng: np.random.Generator | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(z, mu, sigma)`` in the small space, from the base encoder's μ (what MidiMe
        learned from)."""
        _, base_mu, _ = self.base.encode(inputs, lengths, rng)
        single = base_mu.ndim == 1
        mu, sigma = self.midime.posterior(np.atleast_2d(base_mu))
        rng = rng if rng is not None else np.random.default_rng()
        z = (mu + sigma * rng.standard_normal(mu.shape)).astype(np.float32)
        return (z[0], mu[0], sigma[0]) if single else (z, mu, sigma)

    def _base_z(self, z: np.ndarray) -> np.ndarray:
        small = np.asarray(z, np.float32)
        return self.midime.decode(np.atleast_2d(small))[0] if small.ndim == 1 \
            else self.midime.decode(small)

    def decode(self, z: np.ndarray, length: int | None = None, temperature: float = 0.0,
               rng: np.random.Generator | None = None) -> np.ndarray:
        return self.base.decode(self._base_z(z), length, temperature, rng)

    def decode_logits(self, z: np.ndarray, classes: np.ndarray) -> np.ndarray:
        return self.base.decode_logits(self._base_z(z), classes)

    def sample(self, n: int, temperature: float = 0.5, rng: np.random.Generator | None = None,
               length: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``n`` draws of the small ``z ~ N(0, I)`` and their decodes."""
        rng = rng if rng is not None else np.random.default_rng()
        z = rng.standard_normal((n, self.z_size)).astype(np.float32)
        return z, self.decode(z, length=length, temperature=temperature, rng=rng)


def _is_named_model(name: str) -> bool:
    return name in DEFAULT_MODELS or name in shipped_models()


def base_reference(base: str | Path, out: Path) -> str:
    """How a ``.midime`` written to ``out`` names its base: a shipped model by its name (a
    kind by the model it stands for today, which a later default would not be), a path
    relative to ``out``'s folder (the pair moves together, as a folder)."""
    text = str(base)
    if _is_named_model(text):
        return DEFAULT_MODELS.get(text, text)
    return Path(os.path.relpath(resolve_model(text).resolve(), out.resolve().parent)).as_posix()


def base_location(reference: str, path: Path) -> str:
    """Where the base a ``.midime`` at ``path`` names lies (see ``base_reference``)."""
    if _is_named_model(reference) or Path(reference).is_absolute():
        return reference
    return str(path.parent / reference)


def save_personalized(path: str | Path, base: TrainedModel, midime: MidiMe,
                      base_name: str | Path | None = None,
                      report: PersonalizeReport | None = None) -> Path:
    """Write ``midime`` for ``base``; ``base_name``: how the user named the base model (a
    kind, a shipped name or a path; default the model's own name)."""
    path = Path(path)
    reference = base_reference(base_name, path) if base_name is not None else base.name
    info = BaseModelInfo.of(base, reference)
    return save_midime(path, midime, info, report.to_dict() if report else None)


def load_personalized(path: str | Path, base: TrainedModel | str | Path | None = None
                      ) -> TrainedModel:
    """A ``.midime`` file with its base model, as a ``TrainedModel`` whose latent space is
    MidiMe's: ``base`` when given (a loaded model or a name/path), else the one the file
    names; CheckpointError naming the file if the weights differ."""
    path = Path(path)
    info = read_midime_info(path)
    if not isinstance(base, TrainedModel):
        base = TrainedModel.load(base if base is not None else base_location(info.name, path))
    check_base(info, base, path)  # before reading the weights: the likelier mistake
    midime, _ = load_midime(path, base)
    decoder = base.vae if midime.head is None else headed_vae(base, midime.head)
    return TrainedModel(config=base.config, vae=PersonalizedVAE(decoder, midime),
                        converter=base.converter, source=str(path), name=model_name(path))


def midime_base(path: str | Path) -> str:
    """The base model a ``.midime`` file names, as ``TrainedModel.load`` takes it."""
    path = Path(path)
    return base_location(read_midime_info(path).name, path)
