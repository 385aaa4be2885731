"""Piano-roll pictures (PNG) of decoded windows: pitched parts as pitch against step, drums as
a hit grid of the nine drum classes. matplotlib (the ``report`` extra), never on the engine's
path."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from latentjam.models.encodings.drums import PITCH_TO_CLASS
from latentjam.models.evaluation.metrics import DRUM_NAMES, part_of
from latentjam.models.notesequence import Note

COLOURS = {"melody": "#1f5fa8", "bass": "#b5542c", "drums": "#2f7d32"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _draw(axes, notes: Sequence[Note], steps: int, seconds_per_step: float, drums: bool,
          low: int, high: int) -> None:
    for note in notes:
        start, end = note.start_time / seconds_per_step, note.end_time / seconds_per_step
        row = PITCH_TO_CLASS.get(note.pitch, 0) if drums else note.pitch
        axes.add_patch(_rectangle(start, row - 0.4, max(end - start, 0.6), 0.8,
                                  COLOURS[part_of(note)]))
    axes.set_xlim(0, steps)
    axes.set_ylim(low - 1, high + 1)
    for bar in range(0, steps + 1, 16):
        axes.axvline(bar, color="#999999", linewidth=0.6)
    axes.tick_params(labelsize=5, length=2)
    if drums:
        axes.set_yticks(range(len(DRUM_NAMES)), DRUM_NAMES)


def _rectangle(x, y, width, height, colour):
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), width, height, facecolor=colour, edgecolor="none")


def save_rolls(path: Path, windows: Sequence[Sequence[Note]], steps: int,
               seconds_per_step: float, title: str, labels: Sequence[str] | None = None,
               columns: int = 2) -> None:
    """One piano roll per window, in a grid; drum parts in a panel of their own."""
    plt = _pyplot()
    has_drums = any(n.is_drum for notes in windows for n in notes)
    has_pitched = any(not n.is_drum for notes in windows for n in notes)
    panels = int(has_drums) + int(has_pitched) or 1
    rows = -(-len(windows) // columns)
    figure, grid = plt.subplots(rows * panels, columns, figsize=(3.2 * columns,
                                                                  1.1 * rows * panels),
                                squeeze=False, dpi=110)
    for index, notes in enumerate(windows):
        row, column = divmod(index, columns)
        panel = 0
        if has_pitched:
            axes = grid[row * panels + panel][column]
            pitched = [n for n in notes if not n.is_drum]
            pitches = [n.pitch for n in pitched] or [60]  # each roll zoomed on its own range
            _draw(axes, pitched, steps, seconds_per_step, False, min(pitches) - 2,
                  max(pitches) + 2)
            if labels:
                axes.set_title(labels[index], fontsize=6, pad=2)
            panel += 1
        if has_drums:
            axes = grid[row * panels + panel][column]
            _draw(axes, [n for n in notes if n.is_drum], steps, seconds_per_step, True, 0,
                  len(DRUM_NAMES) - 1)
            if labels and not has_pitched:
                axes.set_title(labels[index], fontsize=6, pad=2)
    for extra in range(len(windows), rows * columns):
        row, column = divmod(extra, columns)
        for panel in range(panels):
            grid[row * panels + panel][column].axis("off")
    figure.suptitle(title, fontsize=8)
    figure.tight_layout(pad=0.4)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    plt.close(figure)


