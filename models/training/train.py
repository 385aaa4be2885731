"""The training loop: start or resume a run, train, evaluate, checkpoint, stop cleanly.

A run resumes by itself: the same command again continues from the last complete
checkpoint with the optimizer and the data stream where they were. Ctrl-C (SIGINT) ends the
current step, saves a checkpoint, and returns; a second Ctrl-C stops at once. ``init_from``
starts a new run from any checkpoint our loader reads (fresh optimizer; the step counter,
and with it the KL-weight, learning-rate and sampling schedules, continue from the
checkpoint's ``global_step`` when it has one). A fine-tune with held-out examples scores
its base model first, so ``best.safetensors`` is never worse on them than what it started
from; with ``patience`` a run stops once that many evaluations in a row brought no better
held-out score (a resumed run counts the ones it made before).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tensorflow as tf
from latentjam.models.checkpoints.loader import checkpoint_config, load_checkpoint
from latentjam.models.checkpoints.tf_checkpoint import read_tf_checkpoint
from latentjam.models.configs import (
    CONFIGS,
    ModelConfig,
    config_from_dict,
    config_to_dict,
    override_hparams,
)
from latentjam.models.errors import CheckpointError, ConfigError, InputError
from latentjam.models.training import objective, sample_health
from latentjam.models.training.data_report import describe_ranges
from latentjam.models.training.dataset import (
    Batches,
    ExampleSet,
    eval_batches,
    read_pieces,
    split_pieces,
)
from latentjam.models.training.progress import training_progress
from latentjam.models.training.run_dir import BEST_MEASURE, RunDir
from latentjam.models.training.small_data import too_few_windows, with_melody_programs
from latentjam.models.training.step import Adam, Steps
from latentjam.models.training.tf_model import TrainableMusicVAE, check_supported
from latentjam.models.variables import check_variables

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainOptions:
    run_dir: Path
    examples: tuple[Path, ...]  # TFRecords of NoteSequences
    num_steps: int  # steps this run trains in all (a resumed run continues to the same end)
    config: ModelConfig | None = None  # None: the run's own, or the init checkpoint's
    hparams: dict = field(default_factory=dict)  # overrides applied to that config
    default_batch_size: int = 64  # a new run's, unless ``hparams`` or a config file names one
    eval_examples: tuple[Path, ...] = ()  # held-out pieces; else a share of ``examples``
    eval_fraction: float = 0.1
    max_eval_examples: int = 512  # evaluation windows scored each time, spread over the split
    keep_checkpoints: int = 5
    checkpoint_every: int = 500  # steps
    init_from: Path | None = None
    seed: int | None = None  # None: a new run draws one; a resumed run keeps its own
    max_windows: int | None = None  # windows per piece per epoch (Magenta: 5); None: all
    jit_compile: bool = True
    progress: bool = True
    # semitones (both ends) each training window moves by, pitched parts only; "config":
    # the config's transpose_range; None: none
    transpose: tuple[int, int] | None | str = "config"
    melody_programs: tuple[int, ...] | None = None  # programs melodies are read from
    patience: int | None = None  # evaluations without a better held-out score, then stop
    min_windows: int | None = None  # a fine-tune on fewer training windows stops (see force)
    force: bool = False  # fine-tune on too few windows anyway, with a warning
    sample_check: bool = True  # a fine-tune keeps as best only checkpoints whose samples
    # are not thinner than its base model's (sample_health)


FILE_LINES_UP_TO = 50  # pieces reported one by one; larger corpora are summed


@dataclass
class TrainResult:
    run_dir: Path
    global_step: int
    interrupted: bool
    evaluation: dict[str, float] = field(default_factory=dict)
    stopped_early: bool = False


def configure_threads(threads: int | None = None) -> None:
    """Use every core inside ops and run ops one at a time (the step is one XLA program)."""
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads or os.cpu_count() or 1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TensorFlow already started (tests, notebooks): keep its settings
        pass


class _Run:
    """Everything a run is made of, from a fresh start, an init checkpoint or a resume."""

    def __init__(self, options: TrainOptions):
        self.options = options
        self.dir = RunDir(options.run_dir)
        info = self.dir.read_run()
        saved = self.dir.saved_steps()
        self.values = None
        self.optimizer_state = None
        self.position = (0, 0)
        if info is not None and saved:
            self._resume(info, saved[-1])
        elif saved:
            raise CheckpointError(f"{self.dir.path} holds checkpoints {saved} but no run.json "
                                  f"saying how they were trained; choose a new --run-dir, or "
                                  f"fine-tune from one of them with --init-from")
        else:
            self._start()

    def _with_overrides(self, config: ModelConfig, new_run: bool) -> ModelConfig:
        overrides = dict(self.options.hparams)
        base = CONFIGS.get(config.base_config or config.name)
        if new_run and (base is None or config.hparams.batch_size == base.hparams.batch_size):
            # Magenta's batch sizes are sized for GPUs; a config file's own choice stands
            overrides.setdefault("batch_size", self.options.default_batch_size)
        return override_hparams(config, overrides, source="--hparams") if overrides else config

    def _resume(self, info: dict, step: int) -> None:
        self.config = config_from_dict(info["config"], source=str(self.dir.path / "run.json"))
        # The same command line again must resume: a --config is completed as a new run's
        # would be; without one, --hparams apply to the run's own config.
        if self.options.config is not None:
            wanted = self._with_overrides(self.options.config, new_run=True)
        else:
            wanted = self._with_overrides(self.config, new_run=False)
        if config_to_dict(wanted) != config_to_dict(self.config):
            raise ConfigError(
                f"{self.dir.path} holds a run of config {self.config.name} with other "
                f"hyper-parameters ({_differences(self.config, wanted)}); resume it without "
                f"--config/--hparams or choose a new --run-dir")
        self.info = info
        self.step = step
        self.values = read_tf_checkpoint(self.dir.checkpoint_prefix(step))
        self.optimizer_state, state = self.dir.load_state(step)
        self.position = (int(state["epoch"]), int(state["offset"]))
        log.info("resuming %s at step %d", self.dir.path, step)

    def _start(self) -> None:
        options = self.options
        config = options.config
        start_step = 0
        source = None
        if options.init_from is not None:
            loaded = load_checkpoint(options.init_from)
            config = config or checkpoint_config(loaded)
            if config is None:
                raise ConfigError(f"{options.init_from} carries no config: give --config")
            self.values = check_variables(self._with_overrides(config, new_run=True),
                                          loaded.variables, str(loaded.source))
            start_step = _global_step(loaded.variables, loaded.metadata)
            source = str(loaded.source)
        if config is None:
            raise ConfigError("a new run needs a config (--config NAME or FILE)")
        config = self._with_overrides(config, new_run=True)
        check_supported(config)
        objective.check_schedule(config.hparams, config.name)
        seed = options.seed if options.seed is not None else int.from_bytes(os.urandom(4), "big")
        self.config = config
        self.step = start_step
        self.info = {
            "config": config_to_dict(config), "seed": seed, "start_step": start_step,
            "init_from": source, "created": time.strftime("%Y-%m-%d %H:%M:%S"),
            "examples": [str(p) for p in options.examples],
        }
        self.dir.write_run(self.info)

    @property
    def seed(self) -> int:
        return int(self.info["seed"])

    @property
    def first_step(self) -> int:
        """The step this run started at (a fine-tune: its base model's)."""
        return int(self.info["start_step"])

    @property
    def last_step(self) -> int:
        return self.first_step + self.options.num_steps


def _portable(path: Path) -> str:
    """``path`` as weights record it: relative to the current folder when it lies inside,
    so that shipped weights name no machine's paths."""
    absolute = Path(path).resolve()
    return str(absolute.relative_to(Path.cwd())) if absolute.is_relative_to(Path.cwd()) \
        else str(path)


def _global_step(variables: dict, metadata: dict) -> int:
    value = variables.get("global_step", metadata.get("global_step", 0))
    return int(np.asarray(value).reshape(()))


def _differences(a: ModelConfig, b: ModelConfig) -> str:
    da, db = config_to_dict(a), config_to_dict(b)
    diffs = [f"{k} {da['hparams'].get(k)} vs {db['hparams'].get(k)}"
             for k in sorted(set(da["hparams"]) | set(db["hparams"]))
             if da["hparams"].get(k) != db["hparams"].get(k)]
    if da["base_config"] != db["base_config"]:
        diffs.insert(0, f"base {da['base_config']} vs {db['base_config']}")
    return ", ".join(diffs) or "names differ"


@contextlib.contextmanager
def _interrupt_flag() -> Iterator[Callable[[], bool]]:
    """SIGINT sets a flag instead of raising (once); a second one raises as usual."""
    hits = []

    def handler(signum, frame):
        if hits:
            raise KeyboardInterrupt
        hits.append(signum)

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: no way to catch it, run on
        yield lambda: False
        return
    try:
        yield lambda: bool(hits)
    finally:
        signal.signal(signal.SIGINT, previous)


class _Averages:
    def __init__(self):
        self.sums: dict[str, float] = {}
        self.count = 0

    def add(self, values: dict[str, float]) -> None:
        for key, value in values.items():
            self.sums[key] = self.sums.get(key, 0.0) + value
        self.count += 1

    def take(self) -> dict[str, float]:
        out = {k: v / self.count for k, v in self.sums.items()} if self.count else {}
        self.sums, self.count = {}, 0
        return out


def evaluate(steps: Steps, examples: ExampleSet, batch_size: int,
             max_examples: int) -> dict[str, float]:
    """Teacher-forced and free-running (greedy) reconstruction accuracy, loss and KL on the
    held-out examples, decoding from mu."""
    totals: dict[str, float] = {}
    for batch in eval_batches(examples, batch_size, max_examples):
        out = steps.evaluate(batch.inputs, batch.targets, batch.lengths)
        for key, value in out.items():
            totals[key] = totals.get(key, 0.0) + float(value)
    if not totals:
        return {}
    n, scored = totals["examples"], max(totals["steps"], 1.0)
    return {"examples": n, "r_loss": totals["r_loss"] / n, "kl_bits": totals["kl_bits"] / n,
            "accuracy": totals["accuracy_hits"] / scored,
            "sampled_accuracy": totals["sampled_hits"] / scored}


def train(options: TrainOptions, report: Callable[[str], None] | None = None) -> TrainResult:
    """Train (or resume) the run in ``options.run_dir`` up to its last step."""
    report = report or _tqdm_write
    if options.num_steps < 0 or min(options.keep_checkpoints, options.checkpoint_every,
                                    options.max_eval_examples) < 1:
        raise InputError("num_steps must be >= 0, keep_checkpoints, checkpoint_every and "
                         "the evaluation windows >= 1")
    configure_threads()
    run = _Run(options)
    config, hparams = run.config, run.config.hparams

    if run.info.get("examples", [str(p) for p in options.examples]) != [
            str(p) for p in options.examples]:
        report(f"note: this run started on {', '.join(run.info['examples'])}; with other "
               f"examples it goes on, but not exactly as it would have")
    pieces = read_pieces(options.examples)
    if options.eval_examples:
        train_pieces, eval_pieces = pieces, read_pieces(options.eval_examples)
    else:
        train_pieces, eval_pieces = split_pieces(pieces, options.eval_fraction)
    data_config = with_melody_programs(config, options.melody_programs)
    train_set = ExampleSet(train_pieces, data_config, augment=True,
                           max_windows=options.max_windows, seed=run.seed,
                           transpose=options.transpose)
    _report_data(train_set, "training data", report)
    train_set.check_not_empty("training")
    eval_set = ExampleSet(eval_pieces, data_config) if eval_pieces else None
    if eval_set is not None:
        _report_data(eval_set, "evaluation data", report)
    _report_transposition(train_set, report)
    fine_tune = run.info.get("init_from") is not None
    if fine_tune and options.min_windows is not None:
        warning = too_few_windows(train_set.report.examples, options.min_windows)
        if warning is not None and not options.force:
            raise InputError(f"{warning}; to fine-tune anyway, add --force-fine-tune")
        if warning is not None:
            report(f"warning: {warning}; fine-tuning anyway (--force-fine-tune)")
    if options.patience is not None and eval_set is None:
        report("note: no held-out examples, so no early stopping: the run trains to its "
               "last step")

    model = TrainableMusicVAE(config, seed=run.seed, values=run.values)
    adam = Adam(model.weights)
    if run.optimizer_state is not None:
        adam.load(run.optimizer_state)
    steps = Steps(model, adam, jit_compile=options.jit_compile)
    batches = Batches(train_set, hparams.batch_size, seed=run.seed, position=run.position)
    metadata = {"config": config_to_dict(config), "trained_on": {
        "examples": [_portable(p) for p in options.examples], "pieces": len(train_pieces),
        "examples_per_epoch": train_set.report.examples, "init_from": run.info["init_from"],
        "transpose": list(train_set.transpose_range) if train_set.transpose_range else None}}
    if options.melody_programs is not None and config.converter.kind == "melody":
        metadata["trained_on"]["melody_programs"] = describe_ranges(options.melody_programs)

    averages = _Averages()
    evaluation: dict[str, float] = {}
    step, saved_step = run.step, run.step

    base_health = data_health = None
    if fine_tune and eval_set is not None and options.sample_check:
        base_record = run.dir.base_record()
        if base_record is not None and "samples" in base_record:
            base_health = sample_health.from_record(base_record["samples"])
        data_health = sample_health.data_health(data_config, train_set.untransposed())

    def evaluate_and_keep_best(variables: dict, record: dict) -> None:
        nonlocal evaluation
        evaluation = evaluate(steps, eval_set, hparams.batch_size, options.max_eval_examples)
        record["eval"] = evaluation
        note = ""
        if base_health is not None and run.dir.beats_best(evaluation):
            health = sample_health.sample_health(config, variables)
            record["samples"] = sample_health.to_record(health)
            short = sample_health.worse_than(health, base_health, data_health)
            if short is not None:
                note = f"; a better held-out score, not kept: its samples are thinner ({short})"
                report(f"step {step}: eval " + _format(evaluation) + note)
                return
        best = run.dir.save_best(step, variables, metadata, evaluation)
        report(f"step {step}: eval " + _format(evaluation) + ("; best so far" if best else ""))

    def checkpoint() -> None:
        nonlocal saved_step
        epoch, offset = batches.position
        variables = model.export()
        run.dir.save(step, variables, adam.state(), {"epoch": epoch, "offset": offset},
                     metadata, options.keep_checkpoints)
        saved_step = step
        record = {"step": step, "train": averages.take()}
        if eval_set is not None:
            evaluate_and_keep_best(variables, record)
        run.dir.append_metrics(record)

    if fine_tune and eval_set is not None and step == run.first_step \
            and not run.dir.saved_steps() and run.dir.best_score() is None:
        # The base model is a candidate too: a fine-tune that never beats it on the
        # held-out pieces leaves the base's weights in best.safetensors, never worse ones.
        record = {"step": step, "base": True}
        variables = model.export()
        evaluate_and_keep_best(variables, record)
        if options.sample_check:  # what later candidates' samples are held against
            base_health = sample_health.sample_health(config, variables)
            record["samples"] = sample_health.to_record(base_health)
        run.dir.append_metrics(record)

    def stale() -> int:
        """Evaluations since the best held-out score (0 when it is the latest). A score
        that was not kept for its samples counts as progress: later checkpoints may keep
        the score and play fuller loops."""
        return run.dir.evaluations_since_best_score() if eval_set is not None else 0

    stopped_early = options.patience is not None and stale() >= options.patience

    if step < run.last_step:
        report(f"training {config.name} from step {step} to {run.last_step}, batch "
               f"{hparams.batch_size}; compiling the step first (a minute or so)")
    bar = training_progress(options.progress, report, run.first_step, step, run.last_step)
    interrupted = False
    with _interrupt_flag() as stopped, bar:
        while step < run.last_step and not stopped_early:
            if stopped():
                interrupted = True
                break
            batch = next(batches)
            out = steps.train(batch.inputs, batch.targets, batch.lengths,
                              tf.constant(step, tf.int64), tf.constant([run.seed, step], tf.int64),
                              full_length=batch.lengths.ndim == 1
                              and bool(np.all(batch.lengths == hparams.max_seq_len)))
            values = {k: float(v) for k, v in out.items()}
            if not math.isfinite(values["loss"]):
                report(f"step {step}: loss is {values['loss']}; gradients zeroed for this step")
            step += 1
            averages.add(values)
            bar.step(step, values)
            if step % options.checkpoint_every == 0:
                checkpoint()
                stopped_early = options.patience is not None and stale() >= options.patience
        if step != saved_step or not run.dir.saved_steps():
            checkpoint()
    if interrupted:
        report(f"interrupted: saved checkpoint {step} in {run.dir.path}")
    elif stopped_early:
        best_step = run.dir.best_step()
        what = "the base model's weights" if best_step == run.first_step \
            else f"step {best_step}"
        report(f"stopped early at step {step}: {stale()} evaluations without a better "
               f"held-out {BEST_MEASURE}; best.safetensors holds {what} "
               f"({run.dir.best_score():.4g}, {run.dir.path / 'best.safetensors'})")
    return TrainResult(run.dir.path, step, interrupted, evaluation, stopped_early)


def _format(evaluation: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.4g}" for k, v in evaluation.items())


def _report_data(examples: ExampleSet, what: str, report: Callable[[str], None]) -> None:
    per_file = len(examples.pieces) <= FILE_LINES_UP_TO
    lines = examples.report.file_lines() if per_file else examples.report.lines()
    for line in lines:
        report(f"{what}: {line}")


def _report_transposition(examples: ExampleSet, report: Callable[[str], None]) -> None:
    if examples.transpose_range is None:
        if examples.pitched:
            report("training data: no transposition")
        return
    low, high = examples.transpose_range
    total = examples.report.examples
    examples.epoch(0)  # counts the windows a shift would take out of range
    skipped = examples.out_of_range.get(0, 0)
    cfg = examples.config.converter
    parts = "melody and bass" if len(examples.pitched) > 1 else "melody"
    if examples.segments is not None:
        parts = "pitched instruments"
    report(f"training data: each window transposed by {low:+d}..{high:+d} semitones per "
           f"epoch ({parts}; drums never; held-out windows never); in the first epoch "
           f"{skipped} of {total} would leave MIDI {cfg.min_pitch}-{cfg.max_pitch} and were "
           f"skipped")


def _tqdm_write(message: str) -> None:
    from tqdm import tqdm

    tqdm.write(message)
    sys.stdout.flush()  # a log file sees each line when it is written
