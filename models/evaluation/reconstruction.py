"""How well a model reconstructs the windows it is given, beside what silence would score.

A window is encoded to its mean and decoded, teacher-forced and free-running (argmax); the
share of steps decoded right is read per part (a trio's melody, bass and drums) next to the
share of steps whose class is "no event" (class 0 in every part: a melody holds or rests, no
drum is hit). Always answering "no event" scores that share, so a part whose accuracy does
not rise well above it has learned little of what is played. ``score`` does the arithmetic;
``files_windows`` reads the distinct windows of a folder of MIDI files (music from sources
the model never saw, for the report's out-of-collection evaluation and ``evaluate --unseen``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from latentjam.models.errors import InputError, ModelError
from latentjam.models.evaluation import metrics
from latentjam.models.evaluation.likeness import band_files
from latentjam.models.midi_io import read_midi
from latentjam.models.parts import TRIO_PARTS
from latentjam.models.trained_model import TrainedModel

NO_EVENT = 0  # the class of a step where nothing starts, in every part of these encodings
BATCH = 256
MAX_FILES = 2000  # a folder's files read at most (a whole disk given by mistake stays bounded)
KINDS = ("melody", "drums", "trio")


@dataclass(frozen=True)
class PartScore:
    part: str
    teacher_forced: float
    sampled: float
    no_event: float  # what always answering "no event" scores on the same steps

    @property
    def margin(self) -> float:
        """Sampled accuracy above the always-"no event" baseline."""
        return self.sampled - self.no_event


@dataclass(frozen=True)
class Reconstruction:
    windows: int
    teacher_forced: float
    sampled: float
    no_event: float
    parts: tuple[PartScore, ...]
    mu: np.ndarray  # the windows' means, in order
    kl_bits: np.ndarray  # KL of each window's posterior, in bits


def no_event_share(classes: np.ndarray) -> float:
    """Share of steps (and parts of a step) whose class is "no event"."""
    return float(np.mean(np.asarray(classes) == NO_EVENT))


def _forced_classes(vae, mu: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """The teacher-forced argmax classes; a trio's logits lie side by side, part by part."""
    logits = vae.decode_logits(mu, classes)
    if classes.ndim == 2:
        return logits.argmax(-1)
    edges = np.cumsum(vae.config.output_depths)[:-1]
    return np.stack([part.argmax(-1) for part in np.split(logits, edges, axis=-1)], axis=-1)


def score(model: TrainedModel, classes: np.ndarray,
          progress: Callable[[str], None] = lambda _: None) -> Reconstruction:
    """Encode ``classes`` (windows of the model's encoding) to their means, decode them both
    ways, and score every step, overall and per part."""
    kind = model.config.converter.kind
    if kind not in KINDS:
        raise InputError(f"reconstruction is scored for {', '.join(KINDS)} models, not "
                         f"{kind} ({model.config.name})")
    if not len(classes):
        raise InputError(f"no {model.config.name} windows to score")
    vae, inputs = model.vae, model.converter.encoder_inputs(classes)
    forced, sampled, kls, mus = [], [], [], []
    for start in range(0, len(classes), BATCH):
        progress(f"reconstruction: windows {start + 1}-{min(start + BATCH, len(classes))} "
                 f"of {len(classes)}")
        batch = classes[start:start + BATCH]
        _, mu, sigma = vae.encode(inputs[start:start + BATCH])
        forced.append(_forced_classes(vae, mu, batch))
        sampled.append(vae.decode(mu, length=batch.shape[1], temperature=0.0))
        kls.append(metrics.kl_bits(mu, sigma))
        mus.append(mu)
    forced, sampled = np.concatenate(forced), np.concatenate(sampled)
    if kind == "trio":
        parts = tuple(PartScore(part, metrics.step_accuracy(forced[..., i], classes[..., i]),
                                metrics.step_accuracy(sampled[..., i], classes[..., i]),
                                no_event_share(classes[..., i]))
                      for i, part in enumerate(TRIO_PARTS))
    else:
        parts = (PartScore(kind, metrics.step_accuracy(forced, classes),
                           metrics.step_accuracy(sampled, classes), no_event_share(classes)),)
    return Reconstruction(len(classes), metrics.step_accuracy(forced, classes),
                          metrics.step_accuracy(sampled, classes), no_event_share(classes),
                          parts, np.concatenate(mus), np.concatenate(kls))


@dataclass(frozen=True)
class FolderWindows:
    classes: np.ndarray  # [windows, steps(, parts)], distinct
    files: int  # files read
    used: int  # files that gave a window
    skipped: tuple[str, ...]  # why each other file gave none, one line each


def files_windows(model: TrainedModel, folder: Path,
                  reader: Callable[[Path], object] = read_midi) -> FolderWindows:
    """The distinct windows the model takes from the MIDI files under ``folder`` (as
    ``TrainedModel.distinct_windows`` cuts a piece: Magenta's training windows, else the piece
    as a clip); InputError when the folder is missing or no file gives one."""
    folder = Path(folder).expanduser()
    paths = band_files(folder)
    if len(paths) > MAX_FILES:
        raise InputError(f"{folder}: {len(paths)} MIDI files; at most {MAX_FILES} are read "
                         f"(give a smaller folder)")
    distinct: dict[bytes, np.ndarray] = {}
    skipped, used = [], 0
    for path in paths:
        try:
            windows, reason = model.distinct_windows(reader(path))
        except ModelError as err:
            skipped.append(str(err))
            continue
        if not windows:
            skipped.append(f"{path}: {reason}")
            continue
        used += 1
        for window in windows:
            distinct.setdefault(window.tobytes(), window)
    if not distinct:
        raise InputError(f"{folder}: no {model.config.name} window in any of its {len(paths)} "
                         f"MIDI files; first: {skipped[0]}")
    return FolderWindows(np.stack(list(distinct.values())), len(paths), used, tuple(skipped))


def render_table(rows: Sequence[tuple[str, Reconstruction]], markdown: bool = False) -> str:
    """One line per model and part: windows, accuracies, the baseline and the margin."""
    header = ("model", "part", "windows", "teacher-forced", "sampled", 'always "no event"',
              "sampled above it")
    body = [(name, p.part, f"{r.windows:,}", f"{p.teacher_forced:.3f}", f"{p.sampled:.3f}",
             f"{p.no_event:.3f}", f"{p.margin:+.3f}") for name, r in rows for p in r.parts]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
        return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in body]) + "\n"
    widths = [max(len(cell) for cell in column) for column in zip(header, *body, strict=True)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
                     .rstrip() for row in (header, *body)) + "\n"


__all__ = ["FolderWindows", "NO_EVENT", "PartScore", "Reconstruction", "files_windows",
           "no_event_share", "render_table", "score"]
