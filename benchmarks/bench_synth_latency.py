"""The delay from a note's deadline to the built-in synth's audio (`--synth jack`), and to
the JACK MIDI port's message for comparison, on a private dummy JACK server.

    python benchmarks/bench_synth_latency.py           # 3 runs x 100 notes, 128 and 256 frames
    python benchmarks/bench_synth_latency.py --quick   # 1 run x 12 notes, 256 frames

What the engine does with `play --synth jack` is done here with known deadlines: the output
thread (at the engine's SCHED_FIFO priority) sends every message to a TeeSink of a virtual
JACK MIDI port and a SynthSink on FluidSynth's JACK driver. The notes are claves on the drum
channel (velocity 127, one every 0.3 s, a random few ms added so deadlines fall anywhere in
a JACK period), with silence between them. A JACK client of our own, in a process of its own
(its process callback needs the GIL, the output thread spins), hears FluidSynth's two
outputs and the MIDI port; in each cycle it notes the first sample above the threshold and
every note-on's offset, on JACK's clock (``jack_get_cycle_times``).

A note's audio onset is the first sample above the threshold after its deadline, in JACK
frame time (a cycle's first frame is its start time), minus the deadline; deadlines are on
the output thread's clock (CLOCK_MONOTONIC), JACK's is CLOCK_MONOTONIC_RAW, and the offset
between them is read when each note is submitted. A listener hears a sample the output's
playback latency later (system:playback's latency, printed too); part of the onset is the
claves sample's own attack to the threshold, measured apart by FluidSynth offline.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import math
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import mido

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from jack_server import running_jack_server  # noqa: E402

PORT = "lj-latency"
CAPTURE = "lj-latency-capture"
CHANNEL, NOTE = 9, 75  # GM claves on the drum channel: a sharp attack, a short decay
SPACING_NS = 300_000_000
JITTER_NS = 10_000_000
NOTE_LENGTH_NS = 30_000_000
QUIET_BEFORE_US = 50_000  # a sound begins after 50 ms below the threshold
LOOKAHEAD_NS = 200_000_000  # notes submitted this far ahead, as the performer does
START_NS = 500_000_000
CYCLES_KEPT = 200_000


def raw_minus_mono_us() -> float:
    """CLOCK_MONOTONIC_RAW (JACK's clock) minus perf_counter (the output thread's), in us,
    read between two reads of the first so the read itself does not count."""
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC_RAW)
    mono = time.perf_counter_ns()
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC_RAW)
    return ((before + after) / 2 - mono) / 1000


# -- the capture process -----------------------------------------------------------------


def capture_main(threshold: float) -> None:
    """A JACK client hearing fluidsynth:left/right and the MIDI port; answers "dump" on stdin
    with every cycle's start time, end time, frames and first sample above ``threshold``, and
    every note-on's time."""
    import jack
    import numpy as np

    client = jack.Client(CAPTURE, no_start_server=True)
    lib = ctypes.CDLL("libjack.so.0")
    lib.jack_get_cycle_times.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint32),
                                         ctypes.POINTER(ctypes.c_uint64),
                                         ctypes.POINTER(ctypes.c_uint64),
                                         ctypes.POINTER(ctypes.c_float)]
    pointer = int(jack._ffi.cast("uintptr_t", client._ptr))
    frames, usecs, next_usecs, period = (ctypes.c_uint32(), ctypes.c_uint64(),
                                         ctypes.c_uint64(), ctypes.c_float())
    left, right = client.inports.register("left"), client.inports.register("right")
    midi = client.midi_inports.register("midi")
    starts = np.zeros(CYCLES_KEPT, np.int64)
    ends = np.zeros(CYCLES_KEPT, np.int64)
    sizes = np.zeros(CYCLES_KEPT, np.int32)
    first = np.full(CYCLES_KEPT, -1, np.int32)
    note_ons: list[float] = []
    count, xruns = [0], [0]

    @client.set_process_callback
    def process(nframes: int) -> None:
        k = count[0]
        if k >= CYCLES_KEPT or lib.jack_get_cycle_times(pointer, frames, usecs, next_usecs,
                                                        period) != 0:
            return
        level = np.maximum(np.abs(left.get_array()), np.abs(right.get_array()))
        above = np.flatnonzero(level > threshold)
        starts[k], ends[k], sizes[k] = usecs.value, next_usecs.value, nframes
        first[k] = above[0] if above.size else -1
        per_frame = (next_usecs.value - usecs.value) / nframes
        for offset, buffer in midi.incoming_midi_events():
            data = bytes(buffer)
            if len(data) == 3 and data[0] & 0xF0 == 0x90 and data[2]:
                note_ons.append(usecs.value + offset * per_frame)
        count[0] = k + 1

    @client.set_xrun_callback
    def xrun(delay_us: float) -> None:
        xruns[0] += 1

    with client:
        for ours, theirs in ((left, "fluidsynth:left"), (right, "fluidsynth:right")):
            ours.connect(theirs)
        midi.connect(next(port.name for port in client.get_ports(is_midi=True, is_output=True)
                          if PORT in port.name))
        print("ready", flush=True)
        sys.stdin.readline()
        k = count[0]
        print(json.dumps({"starts": starts[:k].tolist(), "ends": ends[:k].tolist(),
                          "sizes": sizes[:k].tolist(), "first": first[:k].tolist(),
                          "note_ons": note_ons,
                          "rate": client.samplerate, "xruns": xruns[0],
                          "period": client.blocksize}), flush=True)


# -- the engine's side ---------------------------------------------------------------------


def sample_attack_ms(soundfont: Path, rate: int, gain: float, threshold: float) -> float:
    """How long the claves sample itself takes to reach ``threshold`` (FluidSynth offline,
    the note started before the first block)."""
    import fluidsynth
    import numpy as np

    synth = fluidsynth.Synth(gain=gain, samplerate=float(rate))
    try:
        font = synth.sfload(str(soundfont))
        synth.program_select(CHANNEL, font, 128, 0)
        synth.noteon(CHANNEL, NOTE, 127)
        samples = np.abs(np.asarray(synth.get_samples(rate // 10), np.float64)) / 32768
        above = np.flatnonzero(samples > threshold)
        return above[0] // 2 / rate * 1000 if above.size else float("nan")
    finally:
        synth.delete()


def playback_latency(port: str = "system:playback_1") -> int:
    """The most frames JACK says ``port`` plays a sample after its cycle (jack_lsp -l)."""
    listing = subprocess.run(["jack_lsp", "-l", port], capture_output=True, text=True,
                             check=True).stdout
    words = listing.split("port playback latency = [")[1].split("]")[0].split()
    return int(words[-1])


def one_run(notes: int, threshold: float, seed: int) -> dict:
    """A fresh MIDI port, synth, output thread and capture client; ``notes`` notes played."""
    from latentjam.app.audio.soundfont import find_soundfont
    from latentjam.engine import ports
    from latentjam.engine.events import DEFAULT_PORT, ScheduledMessage
    from latentjam.engine.output_thread import REALTIME_PRIORITY, OutputThread
    from latentjam.engine.synth_sink import SynthSink, TeeSink

    synth = SynthSink(find_soundfont(), driver="jack")
    port = ports.open_output(PORT, backend="jack")
    capture = subprocess.Popen([sys.executable, __file__, "--capture-child",
                                "--threshold", str(threshold)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    output = OutputThread({DEFAULT_PORT: TeeSink(port, synth)},
                          realtime_priority=REALTIME_PRIORITY)
    jitter = random.Random(seed)
    deadlines_us: list[float] = []
    try:
        ready = capture.stdout.readline().strip()
        if ready != "ready":
            raise RuntimeError(f"the capture client did not start: {ready!r}")
        output.start()
        start = OutputThread.now_ns() + START_NS
        due = [start + k * SPACING_NS + jitter.randrange(JITTER_NS) for k in range(notes)]
        on = mido.Message("note_on", channel=CHANNEL, note=NOTE, velocity=127)
        off = mido.Message("note_off", channel=CHANNEL, note=NOTE)
        for deadline in due:
            while deadline - OutputThread.now_ns() > LOOKAHEAD_NS:
                time.sleep(0.05)
            deadlines_us.append(deadline / 1000 + raw_minus_mono_us())
            output.submit_many([ScheduledMessage(deadline, on),
                                ScheduledMessage(deadline + NOTE_LENGTH_NS, off)])
        time.sleep((due[-1] - OutputThread.now_ns()) / 1e9 + 0.3)
        capture.stdin.write("dump\n")
        capture.stdin.flush()
        heard = json.loads(capture.stdout.readline())
        heard["playback_latency"] = playback_latency()
    finally:
        output.stop()
        port.close()
        synth.close()
        if capture.poll() is None:
            capture.kill()
        capture.wait()
    return {**heard, "deadlines": deadlines_us}


def onsets(run: dict) -> list[float]:
    """Each sound's first sample above the threshold after at least 50 ms below it (us on
    JACK's clock)."""
    found, loud_until = [], -math.inf
    cycles = zip(run["starts"], run["ends"], run["sizes"], run["first"], strict=True)
    for start, end, size, index in cycles:
        if index < 0:
            continue
        if start - loud_until >= QUIET_BEFORE_US:
            found.append(start + index * (end - start) / size)
        loud_until = end
    return found


def delays(run: dict) -> tuple[list[float], list[float], int]:
    """Audio onset minus deadline and MIDI message minus deadline per note heard (ms): the
    nearest within half the spacing; and how many sounds no note asked for."""
    window = SPACING_NS / 2000
    heard = onsets(run)
    ons = sorted(run["note_ons"])
    audio, midi = [], []
    for deadline in run["deadlines"]:
        for found, into in ((heard, audio), (ons, midi)):
            near = [time for time in found if abs(time - deadline) < window]
            if near:
                nearest = min(near, key=lambda time: abs(time - deadline))
                into.append((nearest - deadline) / 1000)
    return audio, midi, len(heard) - len(audio)  # notes are further apart than the window


def summary(values: list[float]) -> str:
    if not values:
        return "none"
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return (f"median {statistics.median(ordered):.2f} ms, p99 {p99:.2f} ms, "
            f"max {ordered[-1]:.2f} ms, min {ordered[0]:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=100, help="notes a run")
    parser.add_argument("--runs", type=int, default=3, help="runs a period")
    parser.add_argument("--periods", type=int, nargs="+", default=[128, 256],
                        help="JACK periods (frames)")
    parser.add_argument("--rate", type=int, default=48_000)
    parser.add_argument("--threshold-db", type=float, default=-40.0,
                        help="an onset: the first sample above this (dBFS)")
    parser.add_argument("--quick", action="store_true", help="1 run of 12 notes at 256 frames")
    parser.add_argument("--capture-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--threshold", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.capture_child:
        capture_main(args.threshold)
        return
    if args.quick:
        args.notes, args.runs, args.periods = 12, 1, [256]
    threshold = 10 ** (args.threshold_db / 20)
    from latentjam.app.audio.soundfont import find_soundfont

    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} before", flush=True)
    print(f"claves' own attack to {args.threshold_db:.0f} dBFS: "
          f"{sample_attack_ms(find_soundfont(), args.rate, 0.4, threshold):.2f} ms")
    for period in args.periods:
        audio, midi, unasked, xruns, latency = [], [], 0, 0, 0
        with running_jack_server(f"latentjam-latency-{os.getpid()}", period=period,
                                 rate=args.rate):
            for run in range(args.runs):
                heard = one_run(args.notes, threshold, seed=run)
                run_audio, run_midi, run_unasked = delays(heard)
                # what the server runs at, as its clients see it
                latency, frames, rate = heard["playback_latency"], heard["period"], heard["rate"]
                print(f"period {period}, run {run + 1}: audio {summary(run_audio)}; "
                      f"MIDI {summary(run_midi)}; {heard['xruns']} xruns", flush=True)
                audio += run_audio
                midi += run_midi
                unasked += run_unasked
                xruns += heard["xruns"]
        notes = args.notes * args.runs
        print(f"JACK period: {frames} frames at {rate} Hz ({frames / rate * 1000:.2f} ms)")
        print(f"system:playback latency: {latency} frames ({latency / rate * 1000:.2f} ms)")
        print(f"notes: {notes}, heard: {len(audio)}, not heard: {notes - len(audio)}, "
              f"sounds no note asked for: {unasked}, MIDI heard: {len(midi)}")
        print(f"xruns: {xruns}")
        print(f"audio onset minus deadline: {summary(audio)}")
        print(f"MIDI message minus deadline: {summary(midi)}")
        print(f"load average: {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
