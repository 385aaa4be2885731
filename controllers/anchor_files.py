"""The MIDI files a controller may load as anchors: those in the set's ``anchor_dirs``, named
as ``.../anchor/load`` takes them (relative to the first folder, or absolute for the others).

Only those folders are listed, one level of subfolders deep and at most ``MAX_FILES`` names,
so that a controller sees what it may load and never walks the machine's disk. Listing is
I/O: callers on the asyncio loop run it in a thread (``asyncio.to_thread``).
"""

from __future__ import annotations

import os

MAX_FILES = 256  # names listed (a page shows them as buttons)
MIDI_SUFFIXES = (".mid", ".midi")


def anchor_files(folders: tuple[str, ...], limit: int = MAX_FILES) -> tuple[str, ...]:
    """The MIDI files of ``folders`` (and their direct subfolders), sorted, at most
    ``limit``; a folder that does not exist or cannot be read lists nothing."""
    found: list[str] = []
    for index, folder in enumerate(folders):
        root = os.path.abspath(folder)
        for sub in ("", *_subfolders(root)):
            for name in _midi_names(os.path.join(root, sub)):
                path = os.path.join(sub, name)
                found.append(path if index == 0 else os.path.join(root, path))
                if len(found) >= limit:
                    return tuple(sorted(found))
    return tuple(sorted(found))


def _subfolders(root: str) -> list[str]:
    try:
        with os.scandir(root) as entries:
            return sorted(e.name for e in entries
                          if e.is_dir(follow_symlinks=False) and not e.name.startswith("."))
    except OSError:
        return []


def _midi_names(folder: str) -> list[str]:
    try:
        with os.scandir(folder) as entries:
            return sorted(e.name for e in entries if e.is_file()
                          and e.name.lower().endswith(MIDI_SUFFIXES))
    except OSError:
        return []
