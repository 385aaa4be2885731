"""The page's controls in a real headless Chromium (Debian's chromium and chromium-driver,
through Selenium) against the web server in front of an in-memory engine that records the
commands: what each control sends, read by the same parser as OSC. (The page against the real
engine on JACK: tests/app/test_web_page_jack.py.)"""

import asyncio
import os
import threading
import time

import pytest
from latentjam.controllers.web.config import WebConfig
from latentjam.controllers.web.server import WebServer
from latentjam.engine import commands as cmd
from latentjam.engine.engine_state import EngineState, TrackState
from latentjam.engine.humanize import HumanizeParams

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


class FakeEngine:
    def __init__(self):
        self.commands = []
        self.mode = "grid"

    def command(self, command):
        if isinstance(command, cmd.SetMode):
            self.mode = command.mode
        self.commands.append(command)

    def state(self):
        track = TrackState("loops", self.mode, 0.5, 0.25, 2, 2, False, False,
                           HumanizeParams(), "main", 0, 3, 0, (0,), grid_size=3,
                           roll=(32, 0, 4, 60, 8, 2, 64), queued_roll=(32, 4, 4, 62))
        return EngineState(True, "internal", "playing", 120.0, 0, 0, 0, (track,))


@pytest.fixture
def served():
    """(the server, the engine) served from a loop in a thread of its own."""
    engine = FakeEngine()
    loop = asyncio.new_event_loop()
    server = WebServer(WebConfig(port=0), engine.command, engine.state,
                       anchors=lambda: ("riff.mid", "beat.mid"))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
    yield server, engine
    asyncio.run_coroutine_threadsafe(server.close(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


@pytest.fixture
def page(served):
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium "
                    "chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (dev extra)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=768,1024"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.get(served[0].url)
    yield driver
    driver.quit()


def until(predicate, what, timeout=15.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def tap(driver, selector):
    element = driver.find_element("css selector", selector)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def test_each_control_sends_its_command(served, page):
    _, engine = served
    until(lambda: page.find_elements("css selector", "section[data-track=loops] .grid-cells "
                                                     "button"), "the grid")
    cells = page.find_elements("css selector", ".grid-cells button")
    assert len(cells) == 9  # grid_size 3
    tap(page, ".grid-cells button[data-row='2'][data-column='1']")
    tap(page, "section[data-track=loops] .modes button[data-mode=walk]")
    tap(page, ".slots button[data-slot='3']")  # Save is the action picked at first
    tap(page, ".actions button[data-action=load]")
    tap(page, ".slots button[data-slot='5']")
    until(lambda: page.find_elements("css selector", ".files button"), "the anchor files")
    files = page.find_elements("css selector", ".files button")
    assert [f.text for f in files] == ["5 \u2190 riff.mid", "5 \u2190 beat.mid"]
    files[1].click()
    tap(page, "#tempo-up")
    for _ in range(4):  # four taps, as fast as the driver goes: some tempo, clamped to 300
        tap(page, "#tap")
    until(lambda: sum(isinstance(c, cmd.SetTempo) for c in engine.commands) >= 3, "tap tempo")
    expected = [cmd.SetGridCell("loops", 2, 1), cmd.SetMode("loops", "walk"),
                cmd.SaveAnchor("loops", 3), cmd.LoadAnchor("loops", 5, "beat.mid"),
                cmd.SetTempo(121.0)]
    assert engine.commands[:5] == expected
    assert all(isinstance(c, cmd.SetTempo) and 20 <= c.bpm <= 300 for c in engine.commands[5:])


def test_a_slider_sends_its_value_and_shows_the_engines(served, page):
    _, engine = served
    until(lambda: page.find_elements("css selector", "section[data-track=loops]"), "the track")
    slider = page.find_element("css selector", "input[data-field=temperature]")
    assert float(slider.get_attribute("value")) == 0.5  # the engine's value
    page.execute_script("arguments[0].scrollIntoView({block: 'center'})", slider)
    from selenium.webdriver import ActionChains

    ActionChains(page).click_and_hold(slider).move_by_offset(slider.size["width"] // 2 - 1, 0) \
        .release().perform()
    until(lambda: any(isinstance(c, cmd.SetTemperature) for c in engine.commands),
          "a temperature")
    values = [c.temperature for c in engine.commands if isinstance(c, cmd.SetTemperature)]
    assert values[-1] > 1.5  # dragged to the right end of 0..2
