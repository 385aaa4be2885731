"""The music21 corpus collections we may learn from, their licences, and their pieces.

Only collections whose compositions are in the public domain are allowed (DESIGN §5):
Bach's four-part chorales (Riemenschneider's 371, each BWV file once), O'Neill's *Music of
Ireland* (1850) and *Ryan's Mammoth Collection* (ABC files, the first holding many tunes
each). ``essenFolksong`` (non-commercial only) and ``palestrina`` (rights reserved) are
refused by name.

Pieces are listed without parsing any music (ABC tunes from their ``X:``/``T:`` header
lines) so that ``--limit`` and the train/eval split are decided before the slow part; a
piece the lister names but music21 cannot read is reported as a parse failure, never dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from latentjam.models.errors import InputError

CORPUS_CODE_LICENCE = "music21 corpus files, distributed with music21 (BSD-3-Clause code)"


@dataclass(frozen=True)
class Collection:
    name: str  # music21's corpus folder
    title: str
    licence: str  # of the compositions


COLLECTIONS: dict[str, Collection] = {
    c.name: c for c in (
        Collection("bach", "J. S. Bach, four-part chorales (Riemenschneider numbering)",
                   "public domain (compositions, d. 1750)"),
        Collection("oneills1850", "F. O'Neill, The Music of Ireland (1850 tunes)",
                   "public domain (traditional tunes, published 1903)"),
        Collection("ryansMammoth", "Ryan's Mammoth Collection (1883)",
                   "public domain (traditional tunes, published 1883)"),
    )
}
REFUSED = {
    "essenFolksong": "licensed for non-commercial use only",
    "palestrina": "encodings with rights reserved",
}
DEFAULT_COLLECTIONS = ("bach", "oneills1850", "ryansMammoth")


@dataclass(frozen=True)
class PieceSource:
    """One piece as listed: where it lies and what it is called."""

    collection: str
    piece_id: str  # stable: "bach/bwv269", "oneills1850/0001-0050.abc#7"
    path: Path
    title: str
    abc_number: int | None = None  # the tune's ``X:`` number inside an ABC file


def check_collections(names: list[str]) -> list[Collection]:
    """The named collections, or an InputError naming the refused or unknown one."""
    out = []
    for name in names:
        if name in REFUSED:
            raise InputError(f"collection {name!r} is refused: {REFUSED[name]}")
        if name not in COLLECTIONS:
            raise InputError(f"unknown collection {name!r}; allowed: {', '.join(COLLECTIONS)}")
        out.append(COLLECTIONS[name])
    return out


def corpus_root() -> Path:
    from music21 import common

    return Path(common.getCorpusFilePath())


def list_pieces(collection: str, root: Path | None = None) -> list[PieceSource]:
    """Every piece of ``collection`` in a stable order."""
    root = root or corpus_root()
    if collection == "bach":
        return _bach_chorales(root)
    check_collections([collection])
    return [piece for path in sorted((root / collection).glob("*.abc"))
            for piece in abc_tunes(path, collection, root)]


def _bach_chorales(root: Path) -> list[PieceSource]:
    from music21.corpus.chorales import ChoraleListRKBWV

    pieces, seen = [], set()
    for number, entry in sorted(ChoraleListRKBWV().byRiemenschneider.items()):
        bwv = str(entry["bwv"])
        if bwv in seen:
            continue  # Riemenschneider prints a few chorales twice
        seen.add(bwv)
        # A listed chorale missing from the corpus keeps its name, and fails when read.
        path = next((p for p in (root / "bach" / f"bwv{bwv}{ext}" for ext in (".mxl", ".xml"))
                     if p.is_file()), root / "bach" / f"bwv{bwv}.mxl")
        title = f"{entry['title']} (BWV {bwv}, Riemenschneider {number})"
        pieces.append(PieceSource("bach", f"bach/bwv{bwv}", path, title))
    return pieces


_ABC_FIELD = re.compile(r"^([XT]):\s*(.*?)\s*$")


def abc_tunes(path: Path, collection: str, root: Path) -> list[PieceSource]:
    """The tunes of an ABC file from their header lines: ``X:`` starts one, ``T:`` names it."""
    tunes: list[PieceSource] = []
    number: int | None = None
    title = ""
    relative = path.relative_to(root).as_posix()

    def close() -> None:
        if number is not None:
            tunes.append(PieceSource(collection, f"{relative}#{number}", path,
                                     title or f"{relative} tune {number}", number))

    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        match = _ABC_FIELD.match(line)
        if not match:
            continue
        field, value = match.groups()
        if field == "X":
            close()
            number = int(value) if value.isdigit() else None
            title = ""
        elif not title:
            title = value
    close()
    return tunes


def split_key(piece: PieceSource) -> str:
    """What the train/eval split hashes: the tune, not the file.

    The same chorale melody is harmonised under the same title in several cantatas, and
    many tunes are in both O'Neill's and Ryan's, so pieces with the same normalised title
    (Bach on one side, the folk books on the other) always land in the same split.
    """
    family = "bach" if piece.collection == "bach" else "folk"
    title = piece.title.split("(BWV")[0] if family == "bach" else piece.title.split(" -- ")[0]
    words = re.sub(r"[^a-z0-9 ]", "", title.lower().replace("’", "").replace("'", "")).split()
    if words and words[0] == "the":
        words = words[1:]
    return f"{family}:{' '.join(words) or piece.piece_id}"


__all__ = [
    "COLLECTIONS", "DEFAULT_COLLECTIONS", "REFUSED", "Collection", "PieceSource",
    "abc_tunes", "check_collections", "list_pieces", "split_key",
]
