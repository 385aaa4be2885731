"""Training progress for the person waiting: a bar on a terminal, lines in a log.

Both count the steps of this run (a fine-tune starts at its base model's step, which is
not progress), and both are told each finished step with its losses. Off a terminal a line
is written after the first step (which includes compiling the step, so it gives no rate),
then every ``every_s`` seconds and at the end: step, steps per second since the first step,
time left, loss, accuracy.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

LOG_EVERY_S = 30.0


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class LogProgress:
    """Progress as log lines, for output that is not a terminal."""

    def __init__(self, report: Callable[[str], None], first: int, start: int, last: int,
                 every_s: float = LOG_EVERY_S, clock: Callable[[], float] = time.monotonic):
        self._report, self._clock, self._every_s = report, clock, every_s
        self._first, self._last = first, last  # this run's steps: (first, last]
        self._began = clock()
        self._start = start  # the step this session began at (a resumed run: later)
        self._last_line = -1.0
        self._line_at = -1  # the step of the last line written
        self._first_line: tuple[float, int] | None = None  # (time, step) after the compile
        self._step, self._values = start, {}

    def __enter__(self) -> LogProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._step > self._start and self._line_at != self._step:
            self._write()

    def step(self, step: int, values: dict[str, float]) -> None:
        self._step, self._values = step, values
        now = self._clock()
        if self._line_at < 0 or now - self._last_line >= self._every_s or step >= self._last:
            self._write()

    def _write(self) -> None:
        now = self._clock()
        done, total = self._step - self._first, self._last - self._first
        parts = [f"step {self._step}/{self._last} ({done}/{total} of this run, "
                 f"{100 * done / max(total, 1):.0f} %)"]
        if self._first_line is None:  # the first step carries the compile: no rate yet
            parts.append(f"first step after {_duration(now - self._began)} (compiling it)")
            self._first_line = (now, self._step)
        else:
            since, from_step = self._first_line
            rate = (self._step - from_step) / (now - since) if now > since else 0.0
            parts.append(f"{rate:.2f} steps/s")
            if rate > 0:
                parts.append(f"ETA {_duration((self._last - self._step) / rate)}")
        for key in ("loss", "accuracy"):
            if key in self._values:
                parts.append(f"{key} {self._values[key]:.4g}")
        self._report("train: " + ", ".join(parts))
        self._last_line, self._line_at = now, self._step


class BarProgress:
    """A tqdm bar over this run's steps, for a terminal."""

    def __init__(self, first: int, start: int, last: int):
        from tqdm import tqdm

        self._bar = tqdm(total=last - first, initial=start - first, unit="step",
                         dynamic_ncols=True, desc="train")

    def __enter__(self) -> BarProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.close()

    def step(self, step: int, values: dict[str, float]) -> None:
        self._bar.update(1)
        self._bar.set_postfix(loss=f"{values['loss']:.3g}", kl=f"{values['kl_bits']:.3g}",
                              acc=f"{values['accuracy']:.3f}",
                              lr=f"{values['learning_rate']:.2e}", refresh=False)


class NoProgress:
    def __enter__(self) -> NoProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def step(self, step: int, values: dict[str, float]) -> None:
        pass


def training_progress(enabled: bool, report: Callable[[str], None], first: int, start: int,
                      last: int, stream: TextIO | None = None):
    """The progress a run shows: a bar on a terminal, log lines elsewhere, or none."""
    stream = stream or sys.stderr
    if not enabled:
        return NoProgress()
    if stream.isatty():
        return BarProgress(first, start, last)
    return LogProgress(report, first, start, last)
