"""Writing a MIDI controller's learned mappings into the live set's TOML file.

Only the ``[[controller.mappings]]`` tables are rewritten; every other line of the user's
file (comments, order, spacing) stays as it was. The new text is checked before it is
written: read back, everything but the mappings must be what it was and the mappings what
was asked, or nothing is written. The file is replaced atomically (a temporary file beside
it, then a rename), so a crash leaves the old file or the new one, never half of one. The
file is read anew at each save, so edits made to it while the set plays are kept.
"""

from __future__ import annotations

import copy
import json
import os
import re
import tempfile
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from latentjam.controllers.cc_config import CcMapping
from latentjam.engine.errors import SettingError

TABLE = "controller.mappings"
# a table's header line: [name] or [[name]], spaces allowed, a comment after it
_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\[\]#]+?)\s*\]\]?\s*(#.*)?$")
_NOTE = "# learned over /latentjam/learn (docs/osc.md); edit min, max and mode freely\n"


def mapping_table(mapping: CcMapping) -> dict[str, Any]:
    """A mapping as its TOML table's keys, the ones left at their defaults left out."""
    table: dict[str, Any] = {"address": mapping.address, "channel": mapping.channel}
    table["cc" if mapping.cc is not None else "note"] = \
        mapping.cc if mapping.cc is not None else mapping.note
    for name in ("min", "max"):
        if getattr(mapping, name) is not None:
            table[name] = getattr(mapping, name)
    table["mode"] = mapping.mode
    return table


def _value(value: object) -> str:
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string
    if isinstance(value, float):
        return repr(value)
    return str(value)


def mappings_text(mappings: Iterable[CcMapping]) -> str:
    """The ``[[controller.mappings]]`` tables of ``mappings``."""
    blocks = []
    for index, mapping in enumerate(mappings):
        lines = [f"[[{TABLE}]]\n", _NOTE if index == 0 else ""]
        lines += [f"{key} = {_value(value)}\n" for key, value in mapping_table(mapping).items()]
        blocks.append("".join(lines))
    return "\n".join(blocks)


def _headers(lines: list[str]) -> list[tuple[int, str, bool]]:
    """(line index, table name, array of tables) of each header line."""
    found = []
    for index, line in enumerate(lines):
        match = _HEADER.match(line)
        if match:
            found.append((index, re.sub(r"\s+", "", match.group(2)), match.group(1) == "[["))
    return found


def _block_end(lines: list[str], start: int, next_header: int) -> int:
    """Where the table from ``start`` ends: before the comments and blank lines that lead
    into the next header (they are that table's)."""
    end = next_header
    while end > start + 1 and (not lines[end - 1].strip() or
                               lines[end - 1].lstrip().startswith("#")):
        end -= 1
    return end


def with_mappings(text: str, mappings: Iterable[CcMapping]) -> str:
    """``text`` (a set file) with its ``[[controller.mappings]]`` tables replaced by
    ``mappings``'; ``SettingError`` saying why it cannot be done safely."""
    mappings = tuple(mappings)
    try:
        before = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise SettingError(f"not valid TOML now ({err}); the mappings were not saved") \
            from None
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    headers = _headers(lines)
    ends = [index for index, _, _ in headers[1:]] + [len(lines)]
    blocks = [(start, _block_end(lines, start, end)) for (start, name, array), end
              in zip(headers, ends, strict=True) if name == TABLE and array]
    controller = before.get("controller")
    if not blocks and isinstance(controller, dict) and "mappings" in controller:
        raise SettingError("its mappings are not written as [[controller.mappings]] tables; "
                           "write them so (docs/osc.md), then learn again")
    if blocks:
        at = blocks[0][0]
        for start, end in reversed(blocks):
            del lines[start:end]
    else:  # after the [controller] table's keys, or at the end
        after = [(start, end) for (start, name, _), end in zip(headers, ends, strict=True)
                 if name == "controller"]
        at = _block_end(lines, after[0][0], after[0][1]) if after else len(lines)
    if mappings:
        chunk = mappings_text(mappings)
        if at and lines[at - 1].strip():
            chunk = "\n" + chunk
        if at < len(lines) and lines[at].strip():
            chunk += "\n"
        lines.insert(at, chunk)
    result = "".join(lines)
    _check(before, result, mappings)
    return result


def _without_mappings(data: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(data)
    controller = data.get("controller")
    if isinstance(controller, dict):
        controller.pop("mappings", None)
        if not controller:
            del data["controller"]
    return data


def _check(before: dict[str, Any], text: str, mappings: tuple[CcMapping, ...]) -> None:
    try:
        after = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:  # our bug; the user's file is left alone
        raise SettingError(f"the rewritten file would not be valid TOML ({err}); the "
                           f"mappings were not saved") from None
    wanted = [mapping_table(m) for m in mappings]
    if _without_mappings(before) != _without_mappings(after) or \
            after.get("controller", {}).get("mappings", []) != wanted:
        raise SettingError("rewriting its [[controller.mappings]] would change other keys; "
                           "the mappings were not saved")


def save_mappings(path: Path, mappings: Iterable[CcMapping]) -> None:
    """Write ``mappings`` into the set file at ``path`` (atomically, the rest kept);
    ``SettingError`` naming the file and why not."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        mode = path.stat().st_mode & 0o7777
    except OSError as err:
        raise SettingError(f"{path}: cannot read: {err.strerror or err}") from None
    try:
        new = with_mappings(text, mappings)
    except SettingError as err:
        raise SettingError(f"{path}: {err}") from None
    temporary: Path | None = None
    try:
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent,
                                         prefix=f".{path.name}.", suffix=".tmp",
                                         delete=False) as out:
            temporary = Path(out.name)
            out.write(new)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except OSError as err:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
        raise SettingError(f"{path}: cannot write the mappings: {err.strerror or err}") \
            from None
