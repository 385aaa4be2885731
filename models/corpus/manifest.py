"""The corpus manifest: where every piece came from, which split it went to, what was kept.

``manifest.json`` holds the build's settings, totals (pieces per collection and status,
windows kept per split, skip reasons summed) and one record per listed piece, parse
failures included, so that a reader can check that the counts add up.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

STATUS_OK = "ok"  # parsed and converted; may still yield no window
STATUS_PARSE_FAILED = "parse failed"
STATUS_EMPTY = "no notes"
ERROR_CHARS = 300  # a piece's error in the manifest: the reason, not a traceback
# an absolute path in a library's message: the manifest ships, the builder's folders do not
_ABSOLUTE_PATH = re.compile(r"(?<![\w.])/(?:[^\s/'\"]+/)+(?=[^\s/'\"]+)")
SPLITS = ("train", "eval")


@dataclass
class PieceRecord:
    collection: str
    piece_id: str
    title: str
    licence: str
    source_file: str  # relative to music21's corpus folder
    split: str  # "train" | "eval"
    status: str = STATUS_OK
    error: str = ""  # why parsing failed
    repeats: str = ""  # "expanded" | "as written" | "none"
    time_signatures: list[str] = field(default_factory=list)  # "4/4@0.00s", in order
    notes: int = 0
    windows_kept: int = 0  # distinct windows the config's converter extracted
    skipped: dict[str, int] = field(default_factory=dict)  # converter's reasons -> counts

    @property
    def written(self) -> bool:
        """Whether the piece's NoteSequence went into its split's TFRecord."""
        return self.status == STATUS_OK


def describe_error(err: BaseException) -> str:
    """A piece's error as its manifest records it: the type and the first line of the
    message, absolute paths cut to their file names."""
    lines = str(err).strip().splitlines()
    text = _ABSOLUTE_PATH.sub("", lines[0] if lines else "")
    return f"{type(err).__name__}: {text}"[:ERROR_CHARS]


def summarize(records: list[PieceRecord]) -> dict[str, Any]:
    """Totals over ``records``: the numbers a reader checks first."""
    by_status: dict[str, Counter] = {}
    for r in records:
        by_status.setdefault(r.collection, Counter())[r.status] += 1
    written = {s: sum(r.written and r.split == s for r in records) for s in SPLITS}
    windows = {s: sum(r.windows_kept for r in records if r.split == s) for s in SPLITS}
    skipped: Counter = Counter()
    for r in records:
        skipped.update(r.skipped)
    return {
        "pieces_listed": len(records),
        "pieces_by_collection": {c: dict(sorted(s.items())) for c, s in sorted(by_status.items())},
        "pieces_written": written,
        "pieces_with_windows": {s: sum(r.windows_kept > 0 and r.split == s for r in records)
                                for s in SPLITS},
        "windows_kept": windows,
        "skipped": dict(sorted(skipped.items())),
        "parse_failures": [f"{r.piece_id} ({r.title}): {r.error}"
                           for r in records if r.status == STATUS_PARSE_FAILED],
    }


def write_manifest(path: Path, records: list[PieceRecord], build: dict[str, Any]) -> dict:
    """Write ``manifest.json``; returns what was written."""
    data = {"build": build, "totals": summarize(records),
            "pieces": [asdict(r) for r in records]}
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return data


def read_manifest(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


__all__ = [
    "STATUS_EMPTY", "STATUS_OK", "STATUS_PARSE_FAILED", "PieceRecord", "read_manifest",
    "summarize", "write_manifest",
]
