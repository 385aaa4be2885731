"""Screenshots of the control page at a tablet's viewport (docs/img/web-*.png, shown in
docs/web.md): a set of three tracks (a melody sampling, drums in blend mode, drums on the
Latent Loops grid) playing to a private JACK server, the page in Debian's headless chromium.

    python benchmarks/web_screenshots.py    # docs/img/web-landscape.png, -portrait.png, -grid.png
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import sys
from pathlib import Path

from latentjam.app.set_file import live_set_from_dict
from latentjam.controllers.web.config import WebConfig
from latentjam.controllers.web.server import WebServer
from latentjam.engine.performer import Performer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from jack_server import running_jack_server  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "docs" / "img"
VIEWPORTS = {"landscape": (1024, 768), "portrait": (768, 1024)}


def browser(width: int, height: int):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                 f"--window-size={width},{height}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    # the window's size holds the browser's frame too: make the page's viewport the tablet's
    inner = driver.execute_script("return [window.innerWidth, window.innerHeight]")
    driver.set_window_size(2 * width - inner[0], 2 * height - inner[1])
    return driver


async def shoot(out: Path) -> None:
    base = live_set_from_dict({"tracks": [
        {"name": "melody", "every": 2, "seed": 3},
        {"name": "drums", "model": "drums", "channel": 10, "mode": "blend", "every": 1,
         "blend_path": "circle", "seed": 4},
        {"name": "grid", "model": "drums", "channel": 11, "mode": "grid", "every": 1,
         "seed": 5}]}).engine
    config = dataclasses.replace(base, backend="jack", ports={
        key: dataclasses.replace(p, name=f"latentjam-shots-{key}", virtual=True)
        for key, p in base.ports.items()})
    async with Performer(config) as performer:
        await asyncio.wait_for(performer.started.wait(), 30)
        web = WebServer(WebConfig(port=0), performer.command, performer.state)
        await web.start()
        await asyncio.sleep(6)  # a few loops: the rolls and the blend point show something
        loop = asyncio.get_running_loop()
        for name, (width, height) in VIEWPORTS.items():
            def take(width=width, height=height, name=name):
                driver = browser(width, height)
                try:
                    driver.get(web.url)
                    import time
                    time.sleep(3)  # the socket's first state and a few updates
                    driver.save_screenshot(str(out / f"web-{name}.png"))
                    if name == "portrait":  # further down: the Latent Loops grid
                        driver.execute_script("document.querySelector("
                                              "'section[data-track=grid]').scrollIntoView()")
                        time.sleep(0.5)
                        driver.save_screenshot(str(out / "web-grid.png"))
                finally:
                    driver.quit()
            await loop.run_in_executor(None, take)
            print(f"wrote {out / f'web-{name}.png'}")
        await web.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    with running_jack_server(f"latentjam-shots-{os.getpid()}"):
        asyncio.run(shoot(args.out))


if __name__ == "__main__":
    main()
