"""MMA's groove libraries (Debian's ``mma`` package, GPL-2+): which may be used, the grooves
each defines, and rendering one groove over a chord progression to a MIDI file.

A groove library file (``stdlib/50srock.mma``) defines several grooves (``DefGroove 50sRock``,
``50sRockSus``, ``50sRockEnd``…): variations of one style, which share their drums more often
than not. The file is the groove's *family*: the unit the corpus splits by, so evaluation
never sees a variation of a groove it trained on.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from latentjam.models.errors import InputError

MMA_LIBRARY = Path("/usr/share/mma/lib")
LIBRARIES = {  # allowed (DESIGN §5)
    "stdlib": "MMA standard library",
    "zoom": "MMA zoom library (techno, house, drum and bass, hip-hop, funk)",
    "pflib": "MMA pflib library",
    "alexis": "MMA alexis library (hip-hop, techno)",
}
REFUSED = {  # converted from commercial keyboard styles
    "casio": "converted from Casio keyboard styles",
    "yamaha": "converted from Yamaha keyboard styles",
    "kara": "converted from commercial keyboard styles",
}
LICENCE = "GPL-2+ (MMA, Bob van der Poel)"
_DEFGROOVE = re.compile(r"^\s*DefGroove\s+(\S+)", re.IGNORECASE | re.MULTILINE)
RENDER_TIMEOUT_S = 60


@dataclass(frozen=True)
class Groove:
    library: str
    family: str  # the library file's stem
    name: str  # as DefGroove spells it
    path: Path  # the library file


def mma_missing_reason() -> str | None:
    if shutil.which("mma") is None:
        return "the `mma` program is not installed (Debian/Ubuntu: apt-get install mma)"
    if not MMA_LIBRARY.is_dir():
        return f"MMA's groove library is not at {MMA_LIBRARY}"
    return None


def require_mma(libraries: list[str], corpus: str) -> None:
    """An ``InputError`` unless MMA is installed and every library is one we may use."""
    reason = mma_missing_reason()
    if reason:
        raise InputError(f"building the {corpus} corpus needs MMA: {reason}")
    check_libraries(libraries)


def check_libraries(names: list[str]) -> None:
    for name in names:
        if name in REFUSED:
            raise InputError(f"MMA library {name!r} is refused: {REFUSED[name]} (allowed: "
                             f"{', '.join(LIBRARIES)})")
        if name not in LIBRARIES:
            raise InputError(f"unknown MMA library {name!r} (allowed: {', '.join(LIBRARIES)})")


def list_grooves(library: str, root: Path = MMA_LIBRARY) -> list[Groove]:
    """Every groove the library's files define, in file and definition order."""
    grooves = []
    for path in sorted((root / library).glob("*.mma")):
        text = path.read_text(encoding="utf-8", errors="replace")
        seen: set[str] = set()
        for name in _DEFGROOVE.findall(text):
            if name.lower() not in seen and name.lower() != "none":  # "None" is MMA's no-op
                seen.add(name.lower())
                grooves.append(Groove(library, path.stem, name, path))
    return grooves


def song_text(groove: str, chords: list[str], tempo: float) -> str:
    """An MMA song: ``groove`` at ``tempo`` over one chord per bar."""
    lines = [f"Tempo {tempo:g}", f"Groove {groove}"]
    lines += [f"{bar} {chord}" for bar, chord in enumerate(chords, start=1)]
    return "\n".join(lines) + "\n"


def render(groove: str, chords: list[str], tempo: float, out: Path) -> None:
    """Render ``groove`` over ``chords`` (one per bar) to the MIDI file ``out``; raises
    ``InputError`` with MMA's own complaint when it fails."""
    with tempfile.TemporaryDirectory(prefix="latentjam-mma-") as work:
        song = Path(work) / "song.mma"
        song.write_text(song_text(groove, chords, tempo), encoding="utf-8")
        try:
            done = subprocess.run(["mma", "-f", str(out), str(song)], capture_output=True,
                                  text=True, timeout=RENDER_TIMEOUT_S, cwd=work)
        except subprocess.TimeoutExpired:
            raise InputError(f"mma did not render {groove} within {RENDER_TIMEOUT_S} s") \
                from None
    if done.returncode != 0 or not out.is_file():
        complaint = [line for line in (done.stdout + done.stderr).splitlines()
                     if "error" in line.lower()] or (done.stdout + done.stderr).splitlines()
        raise InputError(f"mma could not render {groove}: "
                         f"{complaint[-1].strip() if complaint else 'no output'}")
