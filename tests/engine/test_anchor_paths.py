"""Which files a controller may have the engine read: anchor paths judged on their text."""

from __future__ import annotations

import pytest
from latentjam.engine.anchor_paths import anchor_path
from latentjam.engine.errors import SettingError


@pytest.mark.parametrize("path, inside", [
    ("riff.mid", True), ("sub/riff.mid", True), ("../riff.mid", False),
    ("/etc/shadow", False), ("sub/../../x.mid", False), ("/set/anchors/a.mid", True),
])
def test_anchor_paths_must_lie_in_an_anchor_folder(path: str, inside: bool):
    folders = ("/set/anchors", "/set/more")
    if inside:
        assert anchor_path(path, folders).startswith("/set/anchors/")
    else:
        with pytest.raises(SettingError, match="outside the anchor folders"):
            anchor_path(path, folders)


def test_no_anchor_folder_means_no_file():
    with pytest.raises(SettingError, match="no anchor folder is set"):
        anchor_path("a.mid", ())
