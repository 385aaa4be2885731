"""Ableton Link between two processes inside a network namespace this test creates (DESIGN
§6: Link finds peers by multicast, so it never runs on the machine's own interfaces).

Peer "engine" is our LinkClock; peer "other" is a plain aalink session, as another app. They
must agree on tempo both ways (ours proposed, theirs followed), on start, and on where the
bar is.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import uuid

import pytest

ENGINE_PEER = textwrap.dedent("""
    import asyncio, json, sys, time
    from latentjam.engine.clocks.base import Started, TempoChanged
    from latentjam.engine.clocks.link import LinkClock

    async def main():
        clock, events = LinkClock(120, quantum=4), asyncio.Queue()
        await clock.open(events)
        print("ready", flush=True)
        end = time.monotonic() + 10
        while clock.peers < 1 and time.monotonic() < end:
            await asyncio.sleep(0.05)
        peers = clock.peers
        clock.set_tempo(133, 0)  # proposed to the session
        clock.start()
        seen, samples = [], []
        end = time.monotonic() + 8
        while time.monotonic() < end:
            try:
                event = await asyncio.wait_for(events.get(), 0.1)
                seen.append([type(event).__name__, getattr(event, "bpm", None)])
            except TimeoutError:
                pass
            timeline = clock.timeline()
            if timeline is not None:
                now = time.perf_counter_ns()
                samples.append([now, timeline.tick_at_ns(now)])
            if any(e[0] == "TempoChanged" and abs(e[1] - 97) < 0.01 for e in seen) \\
                    and len(samples) > 20:
                break
        print(json.dumps({"peers": peers, "events": seen, "samples": samples[:5]}),
              flush=True)
        await clock.close()

    asyncio.run(main())
""")

OTHER_PEER = textwrap.dedent("""
    import asyncio, json, time
    import aalink

    async def main():
        link = aalink.Link(120)
        link.quantum = 4
        link.start_stop_sync_enabled = True
        link.enabled = True
        end = time.monotonic() + 10
        while link.num_peers < 1 and time.monotonic() < end:
            await asyncio.sleep(0.05)
        peers = link.num_peers
        await asyncio.sleep(1.0)
        tempo = link.tempo
        playing = link.playing
        samples = []
        for _ in range(5):
            samples.append([time.perf_counter_ns(), link.beat])
            await asyncio.sleep(0.05)
        link.tempo = 97.0
        await asyncio.sleep(1.5)
        print(json.dumps({"peers": peers, "tempo": tempo,
                          "playing": playing, "samples": samples}), flush=True)
        link.enabled = False

    asyncio.run(main())
""")


@pytest.fixture
def namespace():
    if os.geteuid() != 0:
        pytest.skip("Link tests create a network namespace, which needs root")
    if shutil.which("ip") is None:
        pytest.skip("Link tests need the `ip` tool (iproute2) to create a network namespace")
    pytest.importorskip("aalink")
    name = f"lj-link-{uuid.uuid4().hex[:8]}"
    try:
        for command in (["ip", "netns", "add", name],
                        ["ip", "-n", name, "link", "set", "lo", "up"],
                        ["ip", "-n", name, "route", "add", "224.0.0.0/4", "dev", "lo"]):
            subprocess.run(command, check=True, capture_output=True)
    except subprocess.CalledProcessError as err:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
        pytest.skip(f"cannot create a network namespace here: {err.stderr.decode().strip()}")
    yield name
    subprocess.run(["ip", "netns", "del", name], capture_output=True)


def peer(namespace, script):
    return subprocess.Popen(["ip", "netns", "exec", namespace, sys.executable, "-c", script],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=os.environ)


def test_two_peers_agree_on_tempo_both_ways_and_on_the_bar(namespace):
    engine = peer(namespace, ENGINE_PEER)
    assert engine.stdout.readline().strip() == "ready", engine.stderr.read()
    other = peer(namespace, OTHER_PEER)
    try:
        ours = json.loads(engine.communicate(timeout=30)[0].strip().splitlines()[-1])
        theirs = json.loads(other.communicate(timeout=30)[0].strip().splitlines()[-1])
    finally:
        for process in (engine, other):
            if process.poll() is None:
                process.kill()
    assert ours["peers"] >= 1 and theirs["peers"] >= 1
    assert theirs["tempo"] == pytest.approx(133)  # they took the tempo we proposed
    assert theirs["playing"]  # our start reached them (start/stop sync)
    events = [name for name, _ in ours["events"]]
    assert "Started" in events
    assert any(name == "TempoChanged" and abs(bpm - 97) < 0.01
               for name, bpm in ours["events"])  # we followed theirs
    # The bar: our tick 0 is one of their bar lines, so our beat within the bar is theirs.
    # Both samples are taken at 133 BPM (before they change it), ours first.
    t_them, beat_them = theirs["samples"][-1]
    t_us, tick_us = ours["samples"][0]
    bpm = 133.0
    their_beat_at_ours = beat_them + (t_us - t_them) / 1e9 * bpm / 60
    ours_in_bar = (tick_us / 480) % 4
    theirs_in_bar = their_beat_at_ours % 4
    difference = min(abs(ours_in_bar - theirs_in_bar), 4 - abs(ours_in_bar - theirs_in_bar))
    assert difference < 0.02
