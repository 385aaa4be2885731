"""Training progress: lines in a log (with rate and time left), a bar over this run's steps."""

from __future__ import annotations

import io

from latentjam.models.training.progress import (
    BarProgress,
    LogProgress,
    NoProgress,
    training_progress,
)

VALUES = {"loss": 42.5, "accuracy": 0.61, "kl_bits": 3.0, "learning_rate": 1e-3}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_log_gets_a_line_after_the_first_step_then_every_30_s_and_at_the_end():
    lines: list[str] = []
    clock = Clock()
    # a fine-tune of a base model at step 20,000: this run's steps are 20,000..20,300
    with LogProgress(lines.append, first=20_000, start=20_000, last=20_300, clock=clock) as bar:
        clock.now += 40.0  # the first step compiles
        bar.step(20_001, VALUES)
        for step in range(20_002, 20_301):
            clock.now += 0.5  # 2 steps/s
            bar.step(step, VALUES)
    assert lines[0] == ("train: step 20001/20300 (1/300 of this run, 0 %), first step after "
                        "40 s (compiling it), loss 42.5, accuracy 0.61")
    # 149.5 s of training after the first step: one line each 30 s, and the last step
    assert len(lines) == 1 + 4 + 1
    middle = lines[2]
    assert "2.00 steps/s" in middle and "loss 42.5" in middle and "accuracy 0.61" in middle
    step = int(middle.split()[2].split("/")[0])
    assert f"ETA {int((20_300 - step) / 2) // 60} min" in middle
    assert lines[-1].startswith("train: step 20300/20300 (300/300 of this run, 100 %)")


def test_a_resumed_run_counts_from_where_this_session_began():
    lines: list[str] = []
    clock = Clock()
    with LogProgress(lines.append, first=0, start=900, last=1000, clock=clock) as bar:
        for step in range(901, 911):
            clock.now += 10.0
            bar.step(step, VALUES)
    assert "(901/1000 of this run, 90 %)" in lines[0]
    assert lines[-1].startswith("train: step 910/1000") and "0.10 steps/s, ETA 15 min" in \
        lines[-1]


def test_the_terminal_bar_counts_this_runs_steps_not_the_base_models():
    bar = BarProgress(first=20_000, start=20_000, last=20_300)
    with bar:
        bar.step(20_001, VALUES)
        assert (bar._bar.n, bar._bar.total) == (1, 300)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_kind_of_progress_follows_the_output():
    report = print
    assert isinstance(training_progress(True, report, 0, 0, 10, io.StringIO()), LogProgress)
    assert isinstance(training_progress(False, report, 0, 0, 10, io.StringIO()), NoProgress)
    bar = training_progress(True, report, 0, 0, 10, Terminal())
    with bar:
        assert isinstance(bar, BarProgress)
