"""A folder of MIDI files -> one TFRecord of NoteSequences, as Magenta's
``convert_dir_to_note_sequences`` writes it.

Each NoteSequence gets Magenta's identity fields: ``collection_name`` = the input folder's
name, ``filename`` = the file's path relative to that folder, and ``id`` =
``/id/midi/<collection_name>/<sha1 of filename>``. Files that are not MIDI (by name or by
content) or are corrupt are named and skipped; the rest are converted. No TensorFlow here.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from latentjam.models.errors import InputError, MidiReadError
from latentjam.models.midi_io import MIDI_SUFFIXES, read_midi
from latentjam.models.notesequence import NoteSequence
from latentjam.models.notesequence_proto import serialize_note_sequence
from latentjam.models.tfrecord import write_records


def note_sequence_id(filename: str, collection_name: str, source_type: str = "midi") -> str:
    """Magenta's ``generate_note_sequence_id``."""
    digest = hashlib.sha1(filename.encode("utf-8")).hexdigest()
    return f"/id/{source_type.lower()}/{collection_name}/{digest}"


@dataclass
class ConvertReport:
    converted: list[str] = field(default_factory=list)  # relative file names
    notes: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file, why)
    not_midi: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"converted {len(self.converted)} MIDI files ({self.notes} notes)"]
        if self.failed:
            out.append(f"skipped {len(self.failed)} unreadable MIDI files:")
            out += [f"  {name}: {why}" for name, why in self.failed]
        if self.not_midi:
            out.append(f"skipped {len(self.not_midi)} files that are not MIDI (by name): "
                       + ", ".join(self.not_midi))
        return out


def list_files(root: Path, recursive: bool) -> list[str]:
    """Files under ``root`` as relative paths (``/`` separated), sorted, subfolders last."""
    names, folders = [], []
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        if entry.is_dir():
            folders.append(entry)
        elif entry.is_file():
            names.append(entry.name)
    if recursive:
        for folder in folders:
            names += [f"{folder.name}/{name}" for name in list_files(folder, True)]
    return names


def convert_directory(input_dir: str | Path, output: str | Path, recursive: bool = False,
                      progress: Callable[[Iterator[str], int], Iterator[str]] | None = None
                      ) -> ConvertReport:
    """Convert the MIDI files in ``input_dir`` into the TFRecord ``output``."""
    root = Path(input_dir)
    if not root.is_dir():
        raise InputError(f"{root}: not a folder")
    collection = root.resolve().name
    files = list_files(root, recursive)
    report = ConvertReport()

    def sequences() -> Iterator[bytes]:
        names: Iterator[str] = iter(files)
        if progress is not None:
            names = progress(names, len(files))
        for name in names:
            if not name.lower().endswith(MIDI_SUFFIXES):
                report.not_midi.append(name)
                continue
            try:
                ns = read_midi(root / name)
            except MidiReadError as err:
                report.failed.append((name, _reason(err, root / name)))
                continue
            yield serialize_note_sequence(_identify(ns, name, collection))
            report.converted.append(name)
            report.notes += len(ns.notes)

    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".tmp")
    write_records(partial, sequences())
    if not report.converted:
        partial.unlink()
        raise InputError(f"{root}: no MIDI file could be converted; " + " ".join(report.lines()))
    os.replace(partial, output)
    return report


def _identify(ns: NoteSequence, filename: str, collection: str) -> NoteSequence:
    relative = filename.replace("/", os.sep)  # Magenta joins with the platform's separator
    ns.filename = relative
    ns.collection_name = collection
    ns.id = note_sequence_id(relative, collection)
    return ns


def _reason(err: MidiReadError, path: Path) -> str:
    text = str(err)
    prefix = f"{path}: "
    return text[len(prefix):] if text.startswith(prefix) else text
