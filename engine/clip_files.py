"""MIDI files the engine is asked to read while it plays, read without touching the loop.

``read_clip_classes`` runs ``latentjam.models.clip_reader`` in a process of its own (the
loop only waits on its pipe), kills it at a deadline, and gives back one window of classes
for the model worker to encode. ``anchor_path`` decides, from the path's text alone (no file
system call on the loop), whether a path a controller sent lies in the set's anchor folders;
the reader checks again with symbolic links resolved.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time

import numpy as np
from latentjam.engine.errors import SettingError
from latentjam.models.configs import ModelConfig, config_to_dict

CLIP_TIMEOUT_S = 20.0  # longest a file may take to read and convert
MAX_REPLY_BYTES = 1 << 20  # a window of classes is a few KB of JSON


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


async def read_clip_classes(path: str, config: ModelConfig, within: tuple[str, ...] | None,
                            timeout_s: float = CLIP_TIMEOUT_S) -> tuple[np.ndarray, float]:
    """The first window of the clip at ``path`` as ``config``'s classes, and the seconds it
    took; a SettingError naming the file says why not (too big, not MIDI, too slow, ...)."""
    began = time.monotonic()
    folder_args = [arg for folder in within or () for arg in ("--within", folder)]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "latentjam.models.clip_reader",
        "--config", json.dumps(config_to_dict(config)), *folder_args, "--", path,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=env, limit=MAX_REPLY_BYTES)
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout_s)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise SettingError(f"{path}: not read within {timeout_s:g} s; refused") from None
    except asyncio.CancelledError:
        process.kill()
        await process.wait()
        raise
    try:
        reply = json.loads(out.decode().strip().splitlines()[-1])
    except (ValueError, IndexError, UnicodeDecodeError):
        last = err.decode(errors="replace").strip().splitlines()[-1:] or ["no answer"]
        raise SettingError(f"{path}: the reader failed (exit {process.returncode}: "
                           f"{last[0][:200]})") from None
    if "error" in reply:
        raise SettingError(str(reply["error"]))
    return np.asarray(reply["classes"], dtype=np.int64), time.monotonic() - began
