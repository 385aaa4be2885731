"""The control page's costs: a command's latency from a page's WebSocket to the engine, the
page's weight, feedback to four open pages during an OSC flood, and the engine's emission
error with and without pages open. The whole engine plays a set to a real JACK port (a
private dummy server) with the OSC and web servers in front of it, as ``latentjam play``.

    python benchmarks/bench_web.py                     # 20 s per scenario
    python benchmarks/bench_web.py --seconds 10 --scenarios none pages none pages

Scenarios: ``none`` (no page), ``pages`` (four pages open, fed as the state changes),
``latency`` (four pages open, one of them sending a tempo change every 20 ms for half the
time, each timed from its send to the engine's ``command``), ``flood`` (four pages open
during an OSC flood of ``--flood`` messages, half of them valid temperature changes, from
the sender's start to half a second after its end; frames go out on change only, so the
server's own reads of the state say whether feedback kept up),
``flood-alone`` (the same flood, no page: what the flood costs by itself), ``browser`` (the
page itself in Debian's headless chromium, on this machine: a change of the melody's
``every`` sent from its script every 50 ms, timed until the page's state shows it: page ->
engine -> page; a tempo's feedback would wait for the new tempo to sound, ~0.1 s later; the
emission error from the page's first state on).
The pages are WebSocket clients in another process speaking the page's protocol (aiohttp),
so their send times and the engine's share one monotonic clock; the page's own weight is
its three files as served.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from latentjam.app.set_file import live_set_from_dict
from latentjam.controllers.osc_config import OscConfig
from latentjam.controllers.osc_server import OscServer
from latentjam.controllers.web.config import WebConfig
from latentjam.controllers.web.server import WebServer, read_static
from latentjam.engine import commands as cmd
from latentjam.engine.performer import Performer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from jack_server import MidiReceiver, running_jack_server  # noqa: E402

PORT = "latentjam-bench-web"
PAGES = 4
SEND_EVERY_S = 0.02

# The pages: sockets in a process of their own. Page 0 sends tempo changes (100.000,
# 100.001, ... BPM, told apart by value) and notes when it sent each; every page notes when
# each feedback frame came and keeps the state it was told.
CLIENTS = r"""
import asyncio, json, sys, time
import aiohttp
url, pages, seconds, sends = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
async def page(session, index, out):
    frames, state = [], {}
    async with session.ws_connect(url) as ws:
        async def send():
            for i in range(sends):
                bpm = round(100 + i / 1000, 3)
                out["sent"][str(bpm)] = time.perf_counter_ns()
                await ws.send_str(json.dumps(["/latentjam/tempo", [bpm]]))
                await asyncio.sleep(EVERY)
        sender = asyncio.create_task(send()) if index == 0 and sends else None
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                message = await asyncio.wait_for(ws.receive(), end - time.monotonic())
            except asyncio.TimeoutError:
                break
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            frame = json.loads(message.data)
            if frame["type"] == "feedback":
                frames.append(time.perf_counter_ns())
                state.update(frame["messages"])
        if sender:
            await sender
    out["frames"].append(frames)
    out["states"].append({k: v for k, v in state.items() if k.endswith("temperature")})
async def main():
    out = {"sent": {}, "frames": [], "states": []}
    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(page(session, i, out) for i in range(pages)))
    print(json.dumps(out))
asyncio.run(main())
""".replace("EVERY", str(SEND_EVERY_S))

FLOOD = """
import socket, sys
from latentjam.controllers.osc_server import encode
port, count = int(sys.argv[1]), int(sys.argv[2])
messages = [encode("/latentjam/track/melody/temperature", (0.3 + (i % 7) / 10,)) if i % 2
            else encode("/latentjam/no/such/address", (i,)) for i in range(count)]
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
    for message in messages:
        sock.sendto(message, ("127.0.0.1", port))
"""


# Run in the page: send a change, note when the socket's message carrying it has been handled
# (the page's own handler, registered first, has updated its state by then).
ROUND_TRIPS = """
const [count, done] = [arguments[0], arguments[arguments.length - 1]];
const times = [], address = "/latentjam/track/melody/every";
let began = 0, wanted = 0;
socket.addEventListener("message", (event) => {
  const shown = (JSON.parse(event.data).messages || {})[address];
  if (shown && shown[0] === wanted && began) { times.push(performance.now() - began); began = 0; }
});
(async () => {
  for (let i = 0; i < count; i++) {
    wanted = 2 + (i % 8);
    began = performance.now();
    send(address, [wanted]);
    await new Promise((r) => setTimeout(r, 50));
  }
  done(times);
})();
"""


def browser_round_trips(url: str, count: int, ready) -> list[float]:
    """Milliseconds from the page's send to its state showing the change, ``count`` times;
    ``ready()`` is called once the page has its first state."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1024,768"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.set_script_timeout(count * 2 + 30)
        driver.get(url)
        end = time.monotonic() + 20
        while not driver.execute_script("return !!(window.latentjamState || {})"
                                        "['/latentjam/tempo']") and time.monotonic() < end:
            time.sleep(0.05)
        time.sleep(1.0)  # the browser's start settles
        ready()
        return driver.execute_async_script(ROUND_TRIPS, count)
    finally:
        driver.quit()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def scenario(config, seconds: float, name: str, flood_count: int) -> dict:
    submitted: dict[str, int] = {}
    async with Performer(config) as performer:
        def submit(command):
            if isinstance(command, cmd.SetTempo):
                submitted[str(command.bpm)] = time.perf_counter_ns()  # the page's str()
            performer.command(command)

        await asyncio.wait_for(performer.started.wait(), 30)
        web = WebServer(WebConfig(port=0), submit, performer.state)
        ticks: list[int] = []  # when the server read the state for its pages
        read_state = web._feedback

        def timed_feedback():
            ticks.append(time.perf_counter_ns())
            return read_state()

        web._feedback = timed_feedback
        osc = OscServer(OscConfig(port=0), performer.command, performer.state)
        await web.start()
        _, osc_port = await osc.start()
        port = next(iter(config.ports.values())).name
        receiver = await asyncio.get_running_loop().run_in_executor(None, MidiReceiver, port)
        with receiver:
            before = len(performer.output.emission_errors_ns())
            clients = None
            if name not in ("none", "flood-alone", "browser"):
                url = f"ws://127.0.0.1:{web.address[1]}/ws?token={web.token}"
                sends = int(seconds / 2 / SEND_EVERY_S) if name == "latency" else 0
                clients = await asyncio.create_subprocess_exec(
                    sys.executable, "-c", CLIENTS, url, str(PAGES), str(seconds), str(sends),
                    stdout=subprocess.PIPE)
            if name == "browser":
                marks: list[int] = []
                round_trips = await asyncio.get_running_loop().run_in_executor(
                    None, browser_round_trips, web.url, int(seconds / 2 / 0.05),
                    lambda: marks.append(len(performer.output.emission_errors_ns())))
                before = marks[0]
            flood_window = None
            if flood_count:
                await asyncio.sleep(seconds / 4)
                began = time.perf_counter_ns()
                sender = await asyncio.create_subprocess_exec(sys.executable, "-c", FLOOD,
                                                              str(osc_port), str(flood_count))
                await sender.wait()
                await asyncio.sleep(0.5)
                flood_window = (began, time.perf_counter_ns())
            if clients is not None:
                out, _ = await clients.communicate()
                pages = json.loads(out)
            else:
                await asyncio.sleep(seconds if name != "browser" else 1.0)
                pages = None
            errors = performer.output.emission_errors_ns()[before:]
            final = {f"/latentjam/track/{t.name}/temperature": [t.temperature]
                     for t in performer.state().tracks}
        await web.close()
        await osc.close()
    result = {"errors_us": [e / 1000 for e in errors], "osc": (osc.handled, osc.rejected)}
    if name == "browser":
        result["round_trip_ms"] = round_trips
    if pages:
        result["latency_ms"] = [(submitted[bpm] - sent) / 1e6
                                for bpm, sent in pages["sent"].items() if bpm in submitted]
        result["asked"] = len(pages["sent"])
        result["in_step"] = sum(state == final for state in pages["states"])
        if flood_window:
            began, ended = flood_window
            during = [[t for t in frames if began <= t <= ended] for frames in pages["frames"]]
            gaps = [max((b - a for a, b in zip([began, *f], [*f, ended], strict=True)),
                        default=ended - began) / 1e6 for f in during]
            inside = [b - a for a, b in zip(ticks, ticks[1:], strict=False) if began <= a <= ended]
            result["flood"] = ([len(f) for f in during], max(gaps), (ended - began) / 1e9,
                               max(inside, default=0) / 1e6)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--bpm", type=float, default=120.0)
    parser.add_argument("--period", type=int, default=256, help="JACK period in frames")
    parser.add_argument("--scenarios", nargs="+",
                        default=["none", "pages", "none", "pages", "latency", "flood"])
    parser.add_argument("--flood", type=int, default=20_000, help="OSC messages in 'flood'")
    args = parser.parse_args()
    files = read_static()
    sizes = ", ".join(f"{name} {len(body) / 1024:.1f}" for name, (body, _) in files.items())
    print(f"page weight: {sum(len(b) for b, _ in files.values()) / 1024:.1f} KB in "
          f"{len(files)} files ({sizes}), no other request")
    base = live_set_from_dict({"tracks": [
        {"name": "melody", "every": 1, "seed": 1},
        {"name": "drums", "model": "drums", "channel": 10, "mode": "blend", "every": 1,
         "seed": 2}]}).engine
    config = dataclasses.replace(
        base, backend="jack",
        clock=dataclasses.replace(base.clock, bpm=args.bpm, source="internal"),
        ports={key: dataclasses.replace(p, name=f"{PORT}-{key}", virtual=True)
               for key, p in base.ports.items()})
    with running_jack_server(f"latentjam-bench-web-{os.getpid()}", period=args.period):
        print(f"{args.seconds:g} s per scenario at {args.bpm:g} BPM, {PAGES} pages; JACK dummy "
              f"period {args.period}; {os.cpu_count()} cores, load average "
              f"{os.getloadavg()[0]:.2f} before")
        print("scenario  events  emission median us  p99 us  max us   page->engine median ms"
              "  p99 ms  (of)   pages in step")
        for name in args.scenarios:
            result = asyncio.run(scenario(config, args.seconds, name,
                                          args.flood if name.startswith("flood") else 0))
            errors = result["errors_us"]
            line = (f"{name:<8} {len(errors):>7} {statistics.median(errors):>19.1f} "
                    f"{percentile(errors, 0.99):>7.1f} {max(errors):>7.1f}")
            if result.get("latency_ms"):
                lat = result["latency_ms"]
                line += (f" {statistics.median(lat):>24.2f} {percentile(lat, 0.99):>7.2f} "
                         f"({len(lat)}/{result['asked']})")
            if "in_step" in result:
                line += f"   {result['in_step']}/{PAGES}"
            if result.get("round_trip_ms"):
                trips = result["round_trip_ms"]
                line += (f"   page -> engine -> page in chromium: median "
                         f"{statistics.median(trips):.2f} ms, p99 {percentile(trips, 0.99):.2f} "
                         f"ms ({len(trips)} changes)")
            if name == "flood-alone":
                line += f"   OSC handled {result['osc'][0]}, ignored {result['osc'][1]}"
            if "flood" in result:
                counts, gap, span, tick_gap = result["flood"]
                line += (f"   flood of {args.flood} over {span:.1f} s: feedback frames per "
                         f"page {counts} (sent on change), longest gap {gap:.0f} ms; the "
                         f"server read the state every <= {tick_gap:.0f} ms; OSC handled "
                         f"{result['osc'][0]}, ignored {result['osc'][1]}")
            print(line, flush=True)
        print(f"load average {os.getloadavg()[0]:.2f} after")


if __name__ == "__main__":
    main()
