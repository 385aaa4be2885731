"""Which MIDI files a controller may have the engine read while it plays.

``anchor_path`` decides, from the path's text alone (no file system call on the loop),
whether a path a controller sent lies in the set's anchor folders; the model service's clip
reader (``read_clip_classes``, in a process of its own) checks again with symbolic links
resolved.
"""

from __future__ import annotations

import os

from latentjam.engine.errors import SettingError


def anchor_path(path: str, folders: tuple[str, ...]) -> str:
    """``path`` (relative ones from the first folder) if it lies inside one of ``folders``,
    judged on the text alone; otherwise a SettingError in one line."""
    if not folders:
        raise SettingError(f"{path}: no anchor folder is set (anchor_dirs), so no file is read")
    candidate = os.path.normpath(os.path.join(os.path.abspath(folders[0]), path))
    for folder in folders:
        root = os.path.abspath(folder)
        if candidate == root or candidate.startswith(root.rstrip(os.sep) + os.sep):
            return candidate
    raise SettingError(f"{path}: outside the anchor folders ({', '.join(folders)}); refused")
