"""``latentjam radio --stream`` to a real Icecast server (Debian's icecast2, started for the
test on a free port), read back and decoded by a real HTTP listener: the stream through a
long outage, its now-playing titles per section, each stream format."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

CONFIG = """<icecast>
  <limits><clients>10</clients><sources>2</sources><burst-size>65536</burst-size></limits>
  <authentication><source-password>{password}</source-password>
    <admin-user>admin</admin-user><admin-password>{password}-admin</admin-password>
  </authentication>
  <hostname>127.0.0.1</hostname>
  <listen-socket><port>{port}</port><bind-address>127.0.0.1</bind-address></listen-socket>
  <paths><basedir>/usr/share/icecast2</basedir><logdir>{logs}</logdir>
    <webroot>/usr/share/icecast2/web</webroot><adminroot>/usr/share/icecast2/admin</adminroot>
  </paths>
  <logging><errorlog>-</errorlog><loglevel>2</loglevel></logging>
  <security><chroot>0</chroot>
    <changeowner><user>nobody</user><group>nogroup</group></changeowner></security>
</icecast>
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Icecast:
    """An icecast2 of the test's own on a free port, that can be stopped and started again."""

    def __init__(self, tmp_path: Path) -> None:
        # icecast gives up root for nobody, who must reach its log folder: not under tmp_path
        self.logs = Path(tempfile.mkdtemp(prefix="latentjam-icecast-"))
        self.logs.chmod(0o777)
        self.port = free_port()
        self.config = tmp_path / "icecast.xml"
        self.config.write_text(CONFIG.format(password="hackme", port=self.port, logs=self.logs))
        self.server: subprocess.Popen | None = None

    def start(self) -> None:
        self.server = subprocess.Popen(["icecast2", "-c", str(self.config)],
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    time.sleep(0.3)
                    if self.server.poll() is None:
                        return
            time.sleep(0.1)
        self.stop()
        pytest.fail("icecast2 did not start")

    def stop(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.terminate()
            self.server.wait(10)


@pytest.fixture
def icecast(tmp_path: Path):
    if shutil.which("icecast2") is None or shutil.which("fluidsynth") is None:
        pytest.skip("streaming needs icecast2 and fluidsynth (apt-get install icecast2 "
                    "fluidsynth timgm6mb-soundfont)")
    server = Icecast(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.logs, ignore_errors=True)


def listen(port: int, size: int, wait_s: float = 40.0, mount: str = "/live.ogg"
           ) -> tuple[bytes, float, str]:
    """``size`` bytes of the mount (once it is there), how long they took to come, and the
    content type the server gave."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{mount}",
                                        timeout=10) as listener:
                began = time.monotonic()
                data = listener.read(size)
                return data, time.monotonic() - began, listener.headers["Content-Type"]
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)  # the mount appears once the first song is rendered


def decode(data: bytes, ogg: bool = True):
    """(samples, rate) of what a listener received: an Ogg stream's whole pages, each
    logical stream (a section of a song) decoded in turn; MP3 as it comes."""
    import io

    import numpy as np
    import soundfile

    if not ogg:
        return soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    streams, position = [], 0
    while data.startswith(b"OggS", position) and position + 27 <= len(data):
        segments = data[position + 26]
        end = position + 27 + segments + sum(data[position + 27:position + 27 + segments])
        if end > len(data):
            break  # the listener stopped reading mid-page
        if data[position + 5] & 0x02 or not streams:  # a logical stream begins
            streams.append(bytearray())
        streams[-1] += data[position:end]
        position = end
    assert streams, data[:64]
    decoded = [soundfile.read(io.BytesIO(bytes(s)), dtype="float32", always_2d=True)
               for s in streams]
    return np.concatenate([d for d, _ in decoded]), decoded[0][1]


class Titles:
    """The mount's now-playing titles as Icecast's status page shows them, polled."""

    def __init__(self, port: int) -> None:
        import threading

        self.port, self.seen, self.stop = port, [], threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()

    def _poll(self) -> None:
        import json

        while not self.stop.wait(0.3):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/status-json.xsl",
                                            timeout=5) as status:
                    source = json.load(status)["icestats"].get("source") or {}
            except (OSError, ValueError):
                continue  # the server is away
            title = source.get("title") if isinstance(source, dict) else None
            if title and (not self.seen or self.seen[-1] != title):
                self.seen.append(title)

    def __enter__(self) -> Titles:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        self.thread.join()


def radio(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "latentjam", "radio", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})


def short_sections(tmp_path: Path) -> Path:
    """The shipped station with an intro of exactly 8 bars at 124 BPM (15.5 s), so that a
    test sees the first section change soon."""
    from latentjam.app.station_file import EXAMPLE_STATION

    text = EXAMPLE_STATION.read_text()
    for old, new in (("min_bpm = 118.0", "min_bpm = 124.0"), ("max_bpm = 128.0",
                                                               "max_bpm = 124.0"),
                     ("[station.sections.intro]\nenergy = 0.3\nbars = [8, 16]",
                      "[station.sections.intro]\nenergy = 0.3\nbars = [8]")):
        assert old in text, old
        text = text.replace(old, new)
    station = tmp_path / "station.toml"
    station.write_text(text)
    return station


OUTAGE_S = 8.0  # longer than the old give-up's six tries at this test's 1 s cap


def test_the_station_streams_and_rides_out_a_long_outage_with_titles_per_section(
        icecast, tmp_path):
    import numpy as np

    player = radio("--config", str(short_sections(tmp_path)), "--stream",
                   f"icecast://source:hackme@127.0.0.1:{icecast.port}/live.ogg",
                   "--for", "3m", "--seed", "1", "--stream-retry-max", "1")
    try:
        with Titles(icecast.port) as titles:
            data, took, kind = listen(icecast.port, 260_000)  # ~13 s of Vorbis
            assert took > 5.0  # sent at the music's pace, not as fast as it renders
            assert kind == "audio/ogg"
            audio, rate = decode(data)
            assert len(audio) / rate >= 10.0 and np.abs(audio).max() > 0.05
            icecast.stop()  # the server goes away for longer than the old code waited
            time.sleep(OUTAGE_S)
            icecast.start()
            again, _, _ = listen(icecast.port, 160_000)  # ~8 s of music after the return
            audio, rate = decode(again)
            assert len(audio) / rate >= 5.0 and np.abs(audio).max() > 0.05
    finally:
        player.terminate()
        _, err = player.communicate(timeout=30)
    assert "on air: song 1" in err
    # now playing: song and section, the intro's title, then the build's after it
    assert titles.seen[:1] == ["song 1 - intro"], titles.seen
    assert "song 1 - build" in titles.seen, titles.seen
    lost = [line for line in err.splitlines() if "radio: lost icecast://source@" in line]
    back = [line for line in err.splitlines() if "radio: back on icecast://source@" in line]
    assert len(lost) == 1 and len(back) == 1, err[-3000:]  # one line each, not one a try
    away = re.search(r"after (\d+) s away; (\d+\.\d) s of music dropped \((.+)\)", back[0])
    assert away, back[0]
    assert int(away[1]) >= OUTAGE_S - 1 and float(away[2]) >= OUTAGE_S - 2, back[0]
    assert "song 1" in away[3]


def test_the_same_outage_ends_the_stream_when_told_to_give_up(icecast):
    player = radio("--stream", f"icecast://source:hackme@127.0.0.1:{icecast.port}/live.ogg",
                   "--for", "3m", "--seed", "1", "--stream-retry-max", "1",
                   "--stream-give-up", "3s")
    try:
        listen(icecast.port, 40_000)
        icecast.stop()
        _, err = player.communicate(timeout=60)
    finally:
        if player.poll() is None:
            player.kill()
            player.communicate()
    assert player.returncode == 2
    assert "the server stayed away" in err.strip().splitlines()[-1]


def available_formats() -> list[str]:
    import soundfile

    out = []
    if "OPUS" in soundfile.available_subtypes("OGG"):
        out.append("opus")
    if "MPEG_LAYER_III" in soundfile.available_subtypes("MP3"):
        out.append("mp3")
    return out


@pytest.mark.parametrize("name", ["vorbis", "opus", "mp3"])
def test_each_stream_format_reaches_a_listener_who_decodes_it(icecast, name):
    import numpy as np

    if name != "vorbis" and name not in available_formats():
        pytest.skip(f"this libsndfile has no {name} encoder")
    mount = {"vorbis": "/live.ogg", "opus": "/live.opus", "mp3": "/live.mp3"}[name]
    player = radio("--stream", f"icecast://source:hackme@127.0.0.1:{icecast.port}{mount}",
                   "--stream-format", name, "--for", "40s", "--seed", "2")
    try:
        with Titles(icecast.port) as titles:
            # ~6 s of the stream at 160 kbit/s (Opus ~120 kbit/s: more seconds)
            data, _, kind = listen(icecast.port, 120_000, mount=mount)
    finally:
        player.terminate()
        _, err = player.communicate(timeout=30)
    assert kind == ("audio/mpeg" if name == "mp3" else "audio/ogg")
    audio, rate = decode(data, ogg=name != "mp3")
    assert len(audio) / rate >= 5.0 and np.abs(audio).max() > 0.05, err[-2000:]
    assert "song 1 - " in (titles.seen[0] if titles.seen else "") \
        or name == "opus", (titles.seen, err[-2000:])  # Icecast 2.4 shows no Opus titles
    if name != "mp3":  # an Ogg section's title is in its own comment header
        assert b"song 1 - " in data


def test_a_wrong_password_is_one_line(icecast):
    player = radio("--stream", f"icecast://source:wrong@127.0.0.1:{icecast.port}/live.ogg",
                   "--for", "5s")
    _, err = player.communicate(timeout=60)
    assert player.returncode == 2
    assert err.strip().splitlines()[-1] == (
        f"latentjam radio: error: icecast://source@127.0.0.1:{icecast.port}/live.ogg: the "
        f"server "
        f"refused the source: HTTP/1.0 401 Authentication Required (check the password and "
        f"the mount)")
    assert "wrong" not in err  # the password is never printed


def test_a_stream_from_the_station_file_takes_its_password_from_the_environment(tmp_path):
    from latentjam.app.station_file import EXAMPLE_STATION

    station = tmp_path / "radio.toml"
    station.write_text(EXAMPLE_STATION.read_text() + '\n[stream]\nport = 9\nmount = "/r.ogg"\n'
                       'password_env = "LJ_TEST_ICECAST"\n')
    player = radio("--config", str(station), "--stream")
    _, err = player.communicate(timeout=60)
    assert player.returncode == 2
    assert err.strip().splitlines()[-1] == ("latentjam radio: error: [stream]: set the source "
                                            "password in $LJ_TEST_ICECAST")
    player = radio("--stream")  # the shipped station has no [stream]
    _, err = player.communicate(timeout=60)
    assert "give a URL (icecast://source:PASSWORD@HOST:PORT/MOUNT) or a [stream]" in err
