"""The control page in a real headless Chromium (Debian's chromium and chromium-driver, through
Selenium: no browser download) steering ``latentjam play`` on a JACK port, heard by a
listener in another process: Play from the page, the XY pad moving a blend track's point (the
next loop changes), mute heard from the next bar, two pages in step, and pages refused without
the token or from an address not in the allow-list.

Positions are read from the stream (the clock pulses before each note give its tick, as in
tests/engine/test_performer_jack.py); the press's place in the stream is the listener's count
of messages when the page showed the change.
"""

import os
import re
import signal
import subprocess
import sys
import threading
import time

import mido
import pytest
from jack_server import MidiReceiver, wait_for_port
from latentjam.engine.transport import TICKS_PER_CLOCK, bars_to_ticks

BAR = bars_to_ticks(1)
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
DRUMS = 9  # channel 10, as mido counts


def browser(width=1024, height=768):
    """A headless Chromium at a tablet's size; skips where Chromium, its driver or Selenium
    is missing."""
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium "
                    "chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (dev extra)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 f"--window-size={width},{height}", "--no-first-run"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def until(predicate, timeout=20.0, what="the condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Player:
    """``latentjam play`` in a process of its own, its stderr read as it comes."""

    def __init__(self, args):
        self.process = subprocess.Popen([sys.executable, "-m", "latentjam", "play", *args],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        text=True, env=os.environ)
        self.lines = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.process.stderr:
            self.lines.append(line)

    def url(self):
        def found():
            for line in self.lines:
                match = re.search(r"control page: (http://\S+)", line)
                if match:
                    return match.group(1)
            if self.process.poll() is not None:
                raise AssertionError("play ended: " + "".join(self.lines))
            return None
        return until(found, 60, "the control page's URL")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(5)
        return "".join(self.lines)


def positions(received):
    """(tick, message) for every message but the clock, from Start; and the tick at each
    index of the stream."""
    out, ticks, pulses, started = [], [], 0, False
    for _, data in received:
        message = mido.Message.from_bytes(data)
        if message.type == "start":
            started, pulses = True, 0
        elif message.type == "clock":
            pulses += 1
        elif started:
            out.append((max(pulses - 1, 0) * TICKS_PER_CLOCK, message))
        ticks.append(max(pulses - 1, 0) * TICKS_PER_CLOCK)
    return out, ticks


def drum_loops(notes, loop_ticks, first, last):
    """The drum track's loops ``first``..``last`` (0-based), each as its set of (pitch, tick in
    the loop)."""
    loops = {}
    for tick, m in notes:
        if m.type == "note_on" and m.velocity and m.channel == DRUMS:
            loops.setdefault(tick // loop_ticks, set()).add((m.note, tick % loop_ticks))
    return [frozenset(loops.get(n, ())) for n in range(first, last + 1)]


def click(driver, selector):
    driver.find_element("css selector", selector).click()


def has_class(driver, selector, name):
    return name in (driver.find_element("css selector", selector).get_attribute("class") or "")


@pytest.fixture
def lan_address():
    from latentjam.controllers.web.server import lan_address

    address = lan_address()
    if address.startswith("127."):
        pytest.skip("needs an address beside the loopback (a network interface with a route)")
    return address


def test_the_page_plays_the_set_from_a_tablet(jack_server, tmp_path, lan_address):
    """Served on every interface with only this machine's LAN address allowed: the page opens
    at the printed URL, and is refused from 127.0.0.1 and without the token."""
    config = tmp_path / "set.toml"
    config.write_text(f"""autostart = false
[osc]
allow = ["{lan_address}"]
[[tracks]]
name = "drums"
model = "drums"
channel = 10
mode = "blend"
blend_path = "still"
every = 1
bars = 2
temperature = 0.0
seed = 5
[[tracks]]
name = "melody"
channel = 1
mode = "hold"
seed = 2
""")
    port = "lj-web-page"
    player = Player(["--config", str(config), "--backend", "jack", "--port", port, "--bpm", "240",
                     "--no-osc", "--web", "0.0.0.0:0"])
    drivers = []
    try:
        url = player.url()
        assert url.startswith(f"http://{lan_address}:") and "?token=" in url
        wait_for_port(port)
        with MidiReceiver(port) as rx:
            page, other = browser(), browser(768, 1024)
            drivers += [page, other]
            # refused: without the token, and from an address not in the allow-list
            page.get(url.split("?")[0])
            assert "403" in page.find_element("tag name", "body").text
            page.get(url.replace(lan_address, "127.0.0.1"))
            assert "not in osc.allow" in page.find_element("tag name", "body").text
            for driver in drivers:
                driver.get(url)
                until(lambda d=driver: d.find_elements("css selector",
                                                      "section[data-track=drums] .pad"),
                      what="the tracks on the page")
            click(page, "#play")
            until(lambda: has_class(other, "#play", "on"), what="Play on the other page")
            loop_ticks = 2 * BAR
            # three loops at the centre of the square, then the pad dragged to corner 3
            until(lambda: bar(page) >= 6, 40, "three loops")
            pad = page.find_element("css selector", "section[data-track=drums] .pad")
            page.execute_script("arguments[0].scrollIntoView({block: 'center'})", pad)
            from selenium.webdriver import ActionChains

            half = pad.size["width"] / 2  # from the centre to the edge; past it is the edge
            ActionChains(page).move_to_element(pad).click_and_hold() \
                .move_by_offset(half / 2, half / 2) \
                .move_by_offset(half / 2 + 30, half / 2 + 30).release().perform()
            moved_at, moved_bar = rx.count(), bar(page)
            until(lambda: other.execute_script(
                "return (window.latentjamState['/latentjam/track/drums/blend'] || [])"
                ".join(',')") == "1,1", what="the point on the other page")
            until(lambda: bar(page) >= moved_bar + 7, 40, "three loops after the move")
            # mute from the other page: heard from the next bar (or the one after: bars are
            # prepared a third of a second ahead)
            click(other, "section[data-track=drums] .mute")
            until(lambda: has_class(page, "section[data-track=drums] .mute", "on"),
                  what="mute on the first page")
            muted_at, muted_bar = rx.count(), bar(page)
            until(lambda: bar(page) >= muted_bar + 5, 40, "five bars after mute")
            received = rx.stop(linger_s=0.2)
    finally:
        for driver in drivers:
            driver.quit()
        err = player.stop()
    assert "Traceback" not in err, err
    notes, ticks = positions(received)
    moved_loop = ticks[moved_at] // loop_ticks
    before = drum_loops(notes, loop_ticks, 0, moved_loop - 1)
    after = drum_loops(notes, loop_ticks, moved_loop + 2, moved_loop + 2)
    assert before[0] and before[-1] == before[0]  # the centre's loop, again and again
    assert after[0] and after[0] != before[-1]  # the corner's loop from the next boundary
    muted_bar = ticks[muted_at] // BAR
    drums_after = [t for t, m in notes if m.type == "note_on" and m.velocity
                   and m.channel == DRUMS and t >= (muted_bar + 2) * BAR]
    melody_after = [t for t, m in notes if m.type == "note_on" and m.velocity
                    and m.channel == 0 and t >= (muted_bar + 2) * BAR]
    assert drums_after == [] and melody_after  # the drums stopped, the melody plays on
    assert "web: refused GET / from" in err and "no valid token" in err


def bar(driver):
    """The bar the page shows (0-based), from the engine's feedback."""
    return driver.execute_script(
        "return ((window.latentjamState || {})['/latentjam/beat'] || [0])[0]") - 1
