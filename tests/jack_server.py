"""A private JACK server on the dummy driver, so that tests and benchmarks reach real MIDI
ports on a machine without a sound card (DESIGN §6), and a MIDI receiver that listens to a
port from a process of its own, as a DAW would. Used by the ``jack_server`` fixture in
conftest.py and by benchmarks/bench_emission.py.

The server gets a name of its own; ``JACK_DEFAULT_SERVER`` points this process's JACK
clients (and the receiver's) at it and ``JACK_NO_START_SERVER`` stops libjack from starting
another one.

Why the receiver is a separate process: an rtmidi input callback runs on JACK's real-time
thread and needs the GIL; in a process whose output thread spins for its deadlines, that
thread can miss its JACK cycle, and JACK then drops the cycle's MIDI. Why the default period
is 1024 frames (21 ms): on a loaded two-core machine clients miss 1.3 ms cycles (-p 64) often
enough to lose messages; tests check order and completeness, not timing.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

JACK_BACKEND = "mido.backends.rtmidi/UNIX_JACK"
READY_TIMEOUT_S = 10.0
SHM = Path("/dev/shm")


class JackUnavailable(RuntimeError):
    """jackd, jack_lsp or rtmidi's JACK support is missing here."""


def jack_missing_reason() -> str | None:
    """Why a private JACK server cannot run here, or None when it can."""
    for tool in ("jackd", "jack_lsp"):
        if shutil.which(tool) is None:
            return f"{tool} not found: install JACK (Debian: apt-get install jackd2)"
    import rtmidi

    if rtmidi.API_UNIX_JACK not in rtmidi.get_compiled_api():
        return "python-rtmidi was built without JACK support"
    return None


def _server_files(name: str) -> list[Path]:
    # jackd names its sockets and semaphores after the server: jack_<name>_*, jack_sem.*_<name>_*
    return [p for p in SHM.glob("jack*") if f"_{name}_" in p.name]


@contextmanager
def running_jack_server(
    name: str | None = None, period: int = 1024, rate: int = 48_000
) -> Iterator[str]:
    """Start ``jackd --name NAME -d dummy``, wait until it answers, yield NAME; stop it and
    remove its files afterwards. Raises JackUnavailable where JACK is missing."""
    reason = jack_missing_reason()
    if reason:
        raise JackUnavailable(reason)
    name = name or f"latentjam-test-{os.getpid()}"
    saved = {key: os.environ.get(key) for key in ("JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER")}
    os.environ.update(JACK_DEFAULT_SERVER=name, JACK_NO_START_SERVER="1")
    log = tempfile.TemporaryFile()
    command = ["jackd", "--name", name, "-d", "dummy", "-r", str(rate), "-p", str(period)]
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_until_ready(server, log)
        yield name
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        for path in _server_files(name):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        log.close()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _wait_until_ready(server: subprocess.Popen, log) -> None:
    give_up = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < give_up:
        if server.poll() is not None:
            break
        probe = subprocess.run(["jack_lsp"], capture_output=True, env=os.environ, check=False)
        if probe.returncode == 0:
            return
        time.sleep(0.05)
    log.seek(0)
    output = log.read().decode(errors="replace")[-2000:]
    raise RuntimeError(f"jackd did not come up (exit code {server.poll()}):\n{output}")


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 nobody listens on (for an OSC server to bind)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(name: str, timeout_s: float = 20.0) -> None:
    """Until JACK lists an output port whose name contains ``name`` (a `play` process's)."""
    from latentjam.engine.ports import list_ports

    give_up = time.monotonic() + timeout_s
    while time.monotonic() < give_up:
        if any(name in port for port in list_ports("jack").inputs):
            return
        time.sleep(0.1)
    raise AssertionError(f"port {name!r} did not appear")


class MidiReceiver:
    """A process of its own that connects a JACK MIDI input to the output port whose name
    contains ``port``, and records everything that arrives (MIDI clock included)."""

    mode = "receive"

    def __init__(self, port: str) -> None:
        self._child = subprocess.Popen(
            [sys.executable, __file__, self.mode, port],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        ready = self._child.stdout.readline().strip()
        if ready != "ready":
            self._child.kill()
            raise RuntimeError(f"{type(self).__name__} for {port!r} did not start: {ready!r}")

    def _ask(self, command: str) -> str:
        self._child.stdin.write(command + "\n")
        self._child.stdin.flush()
        return self._child.stdout.readline()

    def count(self) -> int:
        return int(self._ask("count"))

    def wait_for(self, count: int, timeout_s: float = 5.0) -> None:
        """Wait until ``count`` messages have arrived, or ``timeout_s`` has passed."""
        give_up = time.monotonic() + timeout_s
        while self.count() < count and time.monotonic() < give_up:
            time.sleep(0.02)

    def stop(self, linger_s: float = 0.1) -> list[tuple[int, list[int]]]:
        """End the receiver after ``linger_s`` more; every message as (arrival ns, bytes)."""
        time.sleep(linger_s)
        received = json.loads(self._ask("dump"))
        self._child.wait(5)
        return [(stamp, data) for stamp, data in received]

    def __enter__(self) -> MidiReceiver:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._child.poll() is None:
            self._child.kill()
            self._child.wait()


class VirtualSynth(MidiReceiver):
    """A process of its own with a virtual JACK MIDI input called ``name`` (what a synth or a
    DAW's input looks like to us), recording everything that arrives."""

    mode = "synth"

    def kill(self) -> None:
        """Vanish, as an unplugged synth does: its port goes with it."""
        self._child.kill()
        self._child.wait()


class ClockMaster:
    """A process of its own with a virtual JACK MIDI output called ``name`` that sends MIDI
    clock when told (a drum machine or a DAW leading), and can vanish as a crashed one does.
    ``send("start")``, ``send("pulses 96 240")`` (count, BPM; returns when sent; with two
    more numbers, ``pulses 96 240 48 30``, every 48th pulse the master holds 30 ms of pulses
    and then sends them at once, as a loaded machine does), ``send("stop")``. ``send``
    answers the ``perf_counter_ns`` when the first pulse was due (the master's grid)."""

    def __init__(self, name: str) -> None:
        self._child = subprocess.Popen([sys.executable, __file__, "master", name],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        ready = self._child.stdout.readline().strip()
        if ready != "ready":
            self._child.kill()
            raise RuntimeError(f"ClockMaster {name!r} did not start: {ready!r}")

    def send(self, command: str) -> int:
        self._child.stdin.write(command + "\n")
        self._child.stdin.flush()
        answer = self._child.stdout.readline().split()
        assert answer[:1] == ["done"], answer
        return int(answer[1])

    def kill(self) -> None:
        self._child.kill()
        self._child.wait()

    def __enter__(self) -> ClockMaster:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._child.poll() is None:
            self.kill()


def _master_main(name: str) -> None:
    import rtmidi

    midi_out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name=f"latentjam-test-{name}")
    midi_out.open_virtual_port(name)
    print("ready", flush=True)
    for line in sys.stdin:
        words = line.split()
        first = time.perf_counter_ns()
        if words[:1] == ["start"]:
            midi_out.send_message([0xFA])
        elif words[:1] == ["stop"]:
            midi_out.send_message([0xFC])
        elif words[:1] == ["pulses"]:
            count, bpm = int(words[1]), float(words[2])
            hold_every, hold_s = (int(words[3]), float(words[4]) / 1000) if len(words) > 4 \
                else (0, 0.0)
            period, start = 60 / (bpm * 24), time.perf_counter()
            first = int(start * 1e9)
            for k in range(count):
                deadline = start + k * period
                if hold_every and k % hold_every == 0:
                    deadline += hold_s  # held up: this pulse and those due meanwhile go late
                while time.perf_counter() < deadline:
                    time.sleep(0.0005)
                midi_out.send_message([0xF8])
        print("done", first, flush=True)
    midi_out.close_port()


def _record(midi_in, open_port) -> None:
    """Record from ``midi_in`` (the callback is set before ``open_port()`` opens it) and
    answer "count" and "dump" on stdin."""
    received: list[tuple[int, list[int]]] = []
    midi_in.set_callback(lambda event, _: received.append((time.monotonic_ns(), event[0])))
    open_port()
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() == "count":
            print(len(received), flush=True)
        else:
            print(json.dumps(list(received)), flush=True)
            break


def _synth_main(name: str) -> None:
    import rtmidi

    midi_in = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name=f"latentjam-test-{name}")
    midi_in.ignore_types(sysex=False, timing=False, active_sense=True)
    _record(midi_in, lambda: midi_in.open_virtual_port(name))
    midi_in.close_port()


def _receive_main(port: str) -> None:
    import rtmidi

    midi_in = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name="latentjam-test-receiver")
    midi_in.ignore_types(sysex=False, timing=False, active_sense=True)  # keep 0xF8 clock
    names = midi_in.get_ports()
    matches = [i for i, name in enumerate(names) if port in name]
    if len(matches) != 1:
        print(f"no single port matching {port!r} in {names}", flush=True)
        return
    _record(midi_in, lambda: midi_in.open_port(matches[0], "in"))
    midi_in.close_port()


if __name__ == "__main__" and sys.argv[1:2] == ["receive"]:
    _receive_main(sys.argv[2])
elif __name__ == "__main__" and sys.argv[1:2] == ["synth"]:
    _synth_main(sys.argv[2])
elif __name__ == "__main__" and sys.argv[1:2] == ["master"]:
    _master_main(sys.argv[2])
