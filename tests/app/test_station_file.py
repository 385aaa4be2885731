"""The station's TOML: the documented example loads, and a mistake stops the radio before any
sound, naming the file, the key's path and the value."""

from __future__ import annotations

import tomllib

import pytest
from latentjam.app.station_file import EXAMPLE_STATION, load_station, station_from_dict
from latentjam.engine.errors import SettingError


def example() -> dict:
    return tomllib.loads(EXAMPLE_STATION.read_text())


def test_the_documented_station_loads_with_its_values():
    station = load_station(EXAMPLE_STATION)
    assert [t.name for t in station.live.engine.tracks] == ["drums", "lead"]
    assert station.blend_tracks == ("drums",)
    assert station.plan.cycle == ("build", "peak", "break")
    assert station.plan.sections["peak"].energy == 1.0
    assert station.plan.transition_bars == 8 and station.song_anchors == {}
    assert station.energy["lead"].plays_from == 0.5
    assert station.energy["drums"].velocity_spread == (3.0, 8.0)
    assert station.live.engine.ports["main"].name == "latentjam radio"


def with_change(path: tuple, value) -> dict:
    data = example()
    table = data
    for key in path[:-1]:
        table = table[key]
    table[path[-1]] = value
    return data


@pytest.mark.parametrize("path, value, named", [
    (("station", "tempo"), 120, "station.tempo: unknown key"),
    (("station", "min_bpm"), 10.0, "tempo range must lie in 20..300"),
    (("station", "sections", "peak", "energy"), 1.5,
     "station.sections.peak: energy must be 0..1, got 1.5"),
    (("station", "cycle"), ["build", "drop"], "section 'drop' is used but not described"),
    (("station", "seed"), -1, "station.seed must be an int >= 0, got -1"),
    (("station", "transition_bars"), 33,
     "station: transition_bars must be 0..32 (at most half the shortest song, and 64), got 33"),
    (("station", "transition_bars"), "8", "transition_bars must be 0..32"),
    (("tracks", 1, "energy", "plays_from"), "loud", "tracks[1].energy: plays_from must be"),
    (("tracks", 0, "energy", "colour"), 1, "tracks[0].energy.colour: unknown key"),
    (("tracks", 0, "mode"), "shuffle", "tracks[0]: mode must be one of"),
])
def test_a_mistake_is_named_by_file_key_and_value(path, value, named):
    with pytest.raises(SettingError) as err:
        station_from_dict(with_change(path, value), "my.toml")
    assert str(err.value).startswith("my.toml: ") and named in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("stream, named", [
    ({"format": "flac"}, "stream: format must be vorbis, opus or mp3, got 'flac'"),
    ({"retry_max_s": 0}, "stream: retry_max_s must be a number of seconds above 0, got 0"),
    ({"give_up_s": True}, "stream: give_up_s must be a number of seconds above 0, got True"),
])
def test_a_stream_table_mistake_is_named(stream, named):
    data = example()
    data["stream"] = stream
    with pytest.raises(SettingError) as err:
        station_from_dict(data, "my.toml")
    assert named in str(err.value), str(err.value)


def test_the_stream_table_keeps_format_and_waits():
    data = example()
    data["stream"] = {"format": "mp3", "retry_max_s": 10, "give_up_s": 600}
    config = station_from_dict(data, "my.toml").stream
    assert (config.format, config.retry_max_s, config.give_up_s) == ("mp3", 10, 600)
