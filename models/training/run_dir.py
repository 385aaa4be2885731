"""A training run's folder: what was asked for, checkpoints, resume state, exported weights.

Layout (all written atomically, file by file):

``run.json``
    the config and the choices that fix the run (seed, data, batch size); a resumed run
    reads them back.
``checkpoint``, ``model.ckpt-N.index``, ``model.ckpt-N.data-00000-of-00001``
    Magenta-compatible TF checkpoints: model variables and ``global_step``, loadable by our
    engine and by Magenta's ``TrainedModel`` (point it at this folder).
``train_state-N.safetensors``
    ours: the optimizer's moments and update count, and where the data stream stood, so
    training resumes exactly where checkpoint N left it.
``model.safetensors``
    the latest weights in our native format with their config, for ``latentjam sample
    --model RUN_DIR``.
``best.safetensors``
    the weights that scored best on the held-out examples so far (sampled reconstruction
    accuracy), with that evaluation: a small corpus overfits long before the last step. A
    fine-tune scores its base model first, so this is the base's weights until it beats them.
``metrics.jsonl``
    one JSON line per checkpoint: training averages and the evaluation.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from latentjam.models.checkpoints.native import load_weights, read_metadata, save_weights
from latentjam.models.checkpoints.tf_checkpoint import data_file, write_tf_checkpoint
from latentjam.models.errors import CheckpointError

RUN_FILE = "run.json"
NATIVE_FILE = "model.safetensors"
BEST_FILE = "best.safetensors"
BEST_MEASURE = "sampled_accuracy"
METRICS_FILE = "metrics.jsonl"
CHECKPOINT_PREFIX = "model.ckpt-"
STATE_PREFIX = "train_state-"
_STATE_PATTERN = re.compile(rf"^{re.escape(STATE_PREFIX)}(\d+)\.safetensors$")


class RunDir:
    def __init__(self, path: str | Path):
        self.path = Path(path)

    def checkpoint_prefix(self, step: int) -> Path:
        return self.path / f"{CHECKPOINT_PREFIX}{step}"

    def state_file(self, step: int) -> Path:
        return self.path / f"{STATE_PREFIX}{step}.safetensors"

    # -- run.json ----------------------------------------------------------------------------

    def read_run(self) -> dict | None:
        path = self.path / RUN_FILE
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            raise CheckpointError(f"{path}: cannot read the run description: {err}") from None
        if not isinstance(data, dict) or "config" not in data:
            raise CheckpointError(f"{path}: not a latentjam run description")
        return data

    def write_run(self, info: dict) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        _write_text(self.path / RUN_FILE, json.dumps(info, indent=1) + "\n")

    # -- checkpoints -------------------------------------------------------------------------

    def saved_steps(self) -> list[int]:
        """Steps with a complete checkpoint: TF files and resume state both present."""
        if not self.path.is_dir():
            return []
        steps = []
        for entry in self.path.iterdir():
            match = _STATE_PATTERN.match(entry.name)
            if match and Path(f"{self.checkpoint_prefix(int(match.group(1)))}.index").is_file():
                steps.append(int(match.group(1)))
        return sorted(steps)

    def save(self, step: int, variables: Mapping[str, np.ndarray],
             optimizer: Mapping[str, np.ndarray], state: dict, metadata: dict,
             keep: int) -> Path:
        """Write checkpoint ``step`` (resume state first, so a checkpoint the state file
        names can always be resumed), refresh ``model.safetensors``, drop all but the last
        ``keep`` checkpoints. Returns the TF checkpoint's prefix."""
        save_weights(self.state_file(step), optimizer, dict(state, global_step=step))
        prefix = write_tf_checkpoint(self.checkpoint_prefix(step),
                                     {**variables, "global_step": np.int64(step)})
        save_weights(self.path / NATIVE_FILE, variables, dict(metadata, global_step=step))
        for old in self.saved_steps()[:-keep]:
            self._remove(old)
        return prefix

    def best_score(self) -> float | None:
        """The held-out score of ``best.safetensors``, or None before the first one."""
        path = self.path / BEST_FILE
        if not path.is_file():
            return None
        return read_metadata(path).get("evaluation", {}).get(BEST_MEASURE)

    def best_step(self) -> int | None:
        """The global step ``best.safetensors`` was saved at (a fine-tune's base: its first)."""
        path = self.path / BEST_FILE
        if not path.is_file():
            return None
        step = read_metadata(path).get("global_step")
        return None if step is None else int(step)

    def evaluations_since_best_score(self) -> int:
        """Held-out evaluations in ``metrics.jsonl`` after the highest score, whether or not
        its weights were kept (what early stopping counts)."""
        scores = [record["eval"].get(BEST_MEASURE) for record in self._records()
                  if "eval" in record]
        scores = [s for s in scores if s is not None]
        if not scores:
            return 0
        return len(scores) - 1 - int(np.argmax(scores))

    def _records(self) -> list[dict]:
        path = self.path / METRICS_FILE
        if not path.is_file():
            return []
        records = []
        for line in path.read_text().splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:
                continue  # a line cut short by a crash says nothing
        return records

    def beats_best(self, evaluation: Mapping[str, float]) -> bool:
        """Whether ``evaluation`` scores above ``best.safetensors`` (or there is none)."""
        score, best = evaluation.get(BEST_MEASURE), self.best_score()
        return score is not None and (best is None or score > best)

    def base_record(self) -> dict | None:
        """A fine-tune's evaluation of its base model in ``metrics.jsonl``, if it made one."""
        return next((record for record in self._records() if record.get("base")), None)

    def save_best(self, step: int, variables: Mapping[str, np.ndarray], metadata: dict,
                  evaluation: Mapping[str, float]) -> bool:
        """Write ``best.safetensors`` if ``evaluation`` beats it; whether it did."""
        if not self.beats_best(evaluation):
            return False
        save_weights(self.path / BEST_FILE, variables,
                     dict(metadata, global_step=step, evaluation=dict(evaluation)))
        return True

    def load_state(self, step: int) -> tuple[dict[str, np.ndarray], dict]:
        """(optimizer arrays, state) saved with checkpoint ``step``."""
        arrays, state = load_weights(self.state_file(step))
        return arrays, state

    def _remove(self, step: int) -> None:
        prefix = self.checkpoint_prefix(step)
        for path in (self.state_file(step), Path(f"{prefix}.index"), data_file(prefix, 0, 1)):
            try:
                path.unlink()
            except FileNotFoundError:
                pass

    def append_metrics(self, record: dict) -> None:
        with (self.path / METRICS_FILE).open("a") as out:
            out.write(json.dumps(record) + "\n")


def _write_text(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(text)
    os.replace(partial, path)
