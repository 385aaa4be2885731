"""Learned mappings written into a real set file: only the mappings change, comments and
every other key stay, and a file that cannot be rewritten safely is left alone."""

import os
import tomllib

import pytest
from latentjam.app.controller_file import save_mappings, with_mappings
from latentjam.app.set_file import EXAMPLE_SET, load_live_set
from latentjam.controllers.cc_config import CcMapping
from latentjam.engine.errors import SettingError

TEMPERATURE = CcMapping("/latentjam/track/melody/temperature", 2, cc=21, min=0.0, max=2.0)
MUTE = CcMapping("/latentjam/track/drums/mute", 1, note=36, mode="toggle")


def test_the_example_set_gains_mappings_and_keeps_every_line(tmp_path):
    path = tmp_path / "set.toml"
    original = EXAMPLE_SET.read_text(encoding="utf-8")
    path.write_text(original, encoding="utf-8")
    os.chmod(path, 0o640)
    save_mappings(path, [TEMPERATURE, MUTE])
    text = path.read_text(encoding="utf-8")
    assert all(line in text.splitlines() for line in original.splitlines())  # comments too
    assert load_live_set(path).controller.mappings == (TEMPERATURE, MUTE)
    assert os.stat(path).st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["set.toml"]  # no temporary file left
    # learned again: replaced, not added; then all forgotten: the file as it was
    save_mappings(path, [MUTE])
    assert load_live_set(path).controller.mappings == (MUTE,)
    save_mappings(path, [])
    assert tomllib.loads(path.read_text()) == tomllib.loads(original)


def test_mappings_between_tables_keep_the_next_tables_comment():
    text = ('bpm_note = 1\n[controller]\ninput = "nano"  # the knobs\n\n'
            '[[controller.mappings]]\naddress = "/latentjam/tempo"\ncc = 7\n\n'
            '# the melody, as I like it\n[[tracks]]\nname = "melody"\n')
    new = with_mappings(text, [TEMPERATURE])
    assert "cc = 7" not in new and "cc = 21" in new
    assert '[controller]\ninput = "nano"  # the knobs\n' in new
    assert "\n\n# the melody, as I like it\n[[tracks]]\n" in new
    assert new.index("cc = 21") < new.index("[[tracks]]")
    data = tomllib.loads(new)
    assert data["controller"]["input"] == "nano" and data["tracks"] == [{"name": "melody"}]
    assert data["bpm_note"] == 1


def test_a_file_without_controller_gets_its_tables_at_the_end():
    new = with_mappings('[osc]\nport = 9001\n', [MUTE])
    assert new.startswith('[osc]\nport = 9001\n\n[[controller.mappings]]\n')
    assert tomllib.loads(new)["controller"]["mappings"][0]["note"] == 36


@pytest.mark.parametrize("text, reason", [
    ("[controller]\nmappings = [{address = \"/latentjam/tempo\", cc = 1}]\n",
     "not written as \\[\\[controller.mappings\\]\\]"),
    ("[osc\n", "not valid TOML"),
    # a header inside a multi-line string: rewriting would cut the string
    ('notes = """\n[[controller.mappings]]\n"""\n', "would (change other keys|not be valid)"),
])
def test_what_cannot_be_rewritten_safely_is_left_alone(tmp_path, text, reason):
    path = tmp_path / "set.toml"
    path.write_text(text)
    with pytest.raises(SettingError, match=reason):
        save_mappings(path, [TEMPERATURE])
    assert path.read_text() == text


def test_an_unwritable_folder_is_said_and_the_file_kept(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    path = tmp_path / "set.toml"
    path.write_text("[osc]\n")
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(SettingError, match="cannot write the mappings"):
            save_mappings(path, [TEMPERATURE])
    finally:
        tmp_path.chmod(0o700)
    assert path.read_text() == "[osc]\n"


def test_the_examples_controller_block_uncommented_is_a_valid_controller(tmp_path):
    lines = EXAMPLE_SET.read_text(encoding="utf-8").splitlines()
    start = lines.index("# [controller]")
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("# mode = "))
    block = [line[2:] if line.startswith("# ") else "" for line in lines[start:end + 1]]
    path = tmp_path / "set.toml"
    path.write_text("\n".join(lines[:start] + block + lines[end + 1:]) + "\n")
    controller = load_live_set(path).controller
    assert controller.input == controller.feedback == "nanoKONTROL2"
    assert controller.mappings == (CcMapping("/latentjam/track/melody/temperature", 1, cc=16,
                                             min=0.0, max=2.0),)


def test_a_station_file_gains_mappings_and_still_plays(tmp_path):
    """The radio saves what is learned into its station file too, next to [station]."""
    from latentjam.app.station_file import EXAMPLE_STATION, load_station

    path = tmp_path / "station.toml"
    original = EXAMPLE_STATION.read_text(encoding="utf-8")
    path.write_text(original, encoding="utf-8")
    station = load_station(path)
    assert station.live.path == path  # where the radio's controller saves
    lead = CcMapping("/latentjam/track/lead/temperature", 1, cc=74, min=0.1, max=1.5)
    save_mappings(path, [lead])
    again = load_station(path)
    assert again.live.controller.mappings == (lead,)
    assert again.plan == station.plan and again.energy == station.energy
    assert all(line in path.read_text().splitlines() for line in original.splitlines())
