"""A MIDI file read for a caller that must not wait on it (the engine's asyncio loop).

``read_clip_classes`` runs ``latentjam.models.clip_reader`` in a process of its own (the
caller only waits on its pipe), kills it at a deadline, and gives back one window of classes
for the model to encode, or an ``InputError`` naming the file and saying why not.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time

import numpy as np
from latentjam.models.configs import config_to_dict
from latentjam.models.errors import InputError
from latentjam.models.service.requests import ModelInfo

CLIP_TIMEOUT_S = 20.0  # longest a file may take to read and convert
MAX_REPLY_BYTES = 1 << 20  # a window of classes is a few KB of JSON


async def read_clip_classes(path: str, info: ModelInfo, within: tuple[str, ...] | None,
                            timeout_s: float = CLIP_TIMEOUT_S) -> tuple[np.ndarray, float]:
    """The first window of the clip at ``path`` as the classes of ``info``'s model, and the
    seconds it took; only inside the folders ``within`` when given."""
    began = time.monotonic()
    folder_args = [arg for folder in within or () for arg in ("--within", folder)]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "latentjam.models.clip_reader",
        "--config", json.dumps(config_to_dict(info.config)), *folder_args, "--", path,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=env, limit=MAX_REPLY_BYTES)
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout_s)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise InputError(f"{path}: not read within {timeout_s:g} s; refused") from None
    except asyncio.CancelledError:
        process.kill()
        await process.wait()
        raise
    try:
        reply = json.loads(out.decode().strip().splitlines()[-1])
    except (ValueError, IndexError, UnicodeDecodeError):
        last = err.decode(errors="replace").strip().splitlines()[-1:] or ["no answer"]
        raise InputError(f"{path}: the reader failed (exit {process.returncode}: "
                         f"{last[0][:200]})") from None
    if "error" in reply:
        raise InputError(str(reply["error"]))
    return np.asarray(reply["classes"], dtype=np.int64), time.monotonic() - began
