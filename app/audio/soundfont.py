"""Where a General MIDI soundfont and the FluidSynth program are: given, or where systems put
them. A missing one is a ``SettingError`` naming the package to install and the flag."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from latentjam.engine.errors import SettingError

SOUNDFONT_ENV = "LATENTJAM_SOUNDFONT"
# Debian/Ubuntu (timgm6mb-soundfont, fluid-soundfont-gm, musescore-general-soundfont), Fedora,
# Arch, Homebrew: the first that exists is taken.
SOUNDFONT_PLACES = (
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/soundfonts/default.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM2-2.sf2",
    "/opt/homebrew/share/soundfonts/default.sf2",
    "/usr/local/share/soundfonts/default.sf2",
)
NO_SOUNDFONT = ("no General MIDI soundfont found: install one (Debian/Ubuntu: apt-get install "
                "timgm6mb-soundfont, or fluid-soundfont-gm) or give --soundfont FILE.sf2")


def find_soundfont(given: str | Path | None = None) -> Path:
    """``given``, else $LATENTJAM_SOUNDFONT, else the first of ``SOUNDFONT_PLACES``."""
    if given is not None or os.environ.get(SOUNDFONT_ENV):
        path = Path(given if given is not None else os.environ[SOUNDFONT_ENV]).expanduser()
        where = "--soundfont" if given is not None else f"${SOUNDFONT_ENV}"
        if not path.is_file():
            raise SettingError(f"{where} {path}: no such file")
        if path.suffix.lower() not in (".sf2", ".sf3"):
            raise SettingError(f"{where} {path}: not a SoundFont (.sf2 or .sf3)")
        return path
    for place in SOUNDFONT_PLACES:
        if Path(place).is_file():
            return Path(place).resolve()
    raise SettingError(NO_SOUNDFONT)


def find_fluidsynth() -> str:
    """The ``fluidsynth`` program's path."""
    program = shutil.which("fluidsynth")
    if program is None:
        raise SettingError("the `fluidsynth` program is not installed (Debian/Ubuntu: apt-get "
                           "install fluidsynth; macOS: brew install fluid-synth)")
    return program
