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


@pytest.fixture
def icecast(tmp_path: Path):
    if shutil.which("icecast2") is None or shutil.which("fluidsynth") is None:
        pytest.skip("streaming needs icecast2 and fluidsynth (apt-get install icecast2 "
                    "fluidsynth timgm6mb-soundfont)")
    # icecast gives up root for nobody, who must reach its log folder: not under tmp_path
    logs = Path(tempfile.mkdtemp(prefix="latentjam-icecast-"))
    logs.chmod(0o777)
    port = free_port()
    config = tmp_path / "icecast.xml"
    config.write_text(CONFIG.format(password="hackme", port=port, logs=logs))
    server = subprocess.Popen(["icecast2", "-c", str(config)], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    else:
        server.kill()
        pytest.fail("icecast2 did not start")
    try:
        time.sleep(0.5)
        if server.poll() is not None:
            pytest.fail(f"icecast2 stopped: {server.stdout.read().decode()[-500:]}")
        yield port
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(logs, ignore_errors=True)


def radio(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "latentjam", "radio", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})


def test_the_station_streams_ogg_vorbis_a_listener_hears(icecast):
    player = radio("--stream", f"icecast://source:hackme@127.0.0.1:{icecast}/live.ogg",
                   "--for", "40s", "--seed", "1")
    try:
        deadline, data = time.monotonic() + 30, b""
        while time.monotonic() < deadline and not data:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{icecast}/live.ogg",
                                            timeout=10) as listener:
                    began = time.monotonic()
                    data = listener.read(96_000)
                    took = time.monotonic() - began
            except OSError:
                time.sleep(0.5)  # the mount appears once the first song is rendered
        assert data.startswith(b"OggS") and b"vorbis" in data
        assert took > 2.0  # sent at the music's pace, not as fast as it renders
    finally:
        player.terminate()
        _, err = player.communicate(timeout=30)
    assert "on air: song 1" in err


def test_a_wrong_password_is_one_line(icecast):
    player = radio("--stream", f"icecast://source:wrong@127.0.0.1:{icecast}/live.ogg",
                   "--for", "5s")
    _, err = player.communicate(timeout=60)
    assert player.returncode == 2
    assert err.strip().splitlines()[-1] == (
        f"latentjam radio: error: icecast://source@127.0.0.1:{icecast}/live.ogg: the server "
        f"refused the source: HTTP/1.0 401 Authentication Required (check the password and "
        f"the mount)")
    assert "wrong" not in err  # the password is never printed
