"""``latentjam radio --stream`` to a real Icecast server (Debian's icecast2, started for the
test on a free port), read back by a real HTTP listener."""

from __future__ import annotations

import os
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


def listen(port: int, size: int, wait_s: float = 40.0) -> tuple[bytes, float]:
    """``size`` bytes of the mount (once it is there), and how long they took to come."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/live.ogg",
                                        timeout=10) as listener:
                began = time.monotonic()
                data = listener.read(size)
                return data, time.monotonic() - began
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)  # the mount appears once the first song is rendered


def radio(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "latentjam", "radio", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})


def test_the_station_streams_a_listener_hears_it_and_it_survives_a_server_restart(icecast):
    import io
    import json

    import numpy as np
    import soundfile

    player = radio("--stream", f"icecast://source:hackme@127.0.0.1:{icecast.port}/live.ogg",
                   "--for", "3m", "--seed", "1")
    try:
        data, took = listen(icecast.port, 260_000)  # about 13 s of Vorbis at 160 kbit/s
        assert took > 5.0  # sent at the music's pace, not as fast as it renders
        audio, rate = soundfile.read(io.BytesIO(data))
        assert len(audio) / rate >= 10.0 and np.abs(audio).max() > 0.05
        with urllib.request.urlopen(f"http://127.0.0.1:{icecast.port}/status-json.xsl",
                                    timeout=5) as status:
            source = json.load(status)["icestats"]["source"]
        assert "song 1" in source["title"]  # now playing
        icecast.stop()  # the server goes away mid-stream and comes back
        time.sleep(1.0)
        icecast.start()
        again, _ = listen(icecast.port, 40_000)
        assert again.startswith(b"OggS")
    finally:
        player.terminate()
        _, err = player.communicate(timeout=30)
    assert "on air: song 1" in err
    assert "connected to icecast://source@127.0.0.1" in err and "again" in err


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
