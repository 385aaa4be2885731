"""On a real JACK server (DESIGN §6): a client that stops answering makes the server miss
its deadlines, and the engine's xrun watch hears of it (issue 10, finding 6)."""

import os
import signal
import time

from jack_server import MidiReceiver
from latentjam.engine import ports
from latentjam.engine.port_xruns import XrunWatch


def wait_for(predicate, timeout_s=5.0):
    give_up = time.monotonic() + timeout_s
    while not predicate() and time.monotonic() < give_up:
        time.sleep(0.02)
    return predicate()


def test_a_stalled_client_is_heard_as_xruns(jack_server, caplog):
    watch = XrunWatch()
    assert watch.open(), "the watch could not open a JACK client on the test server"
    try:
        with ports.open_output("lj-xrun", backend="jack"), MidiReceiver("lj-xrun") as rx:
            before = watch.count
            # The receiver is a JACK client with a process callback: stopped, it misses
            # the server's cycles (periods of 21 ms), which the server reports as xruns.
            os.kill(rx._child.pid, signal.SIGSTOP)
            try:
                assert wait_for(lambda: watch.count > before)
            finally:
                os.kill(rx._child.pid, signal.SIGCONT)
    finally:
        watch.close()
    assert not watch.watching
    assert any("JACK reported an xrun" in r.getMessage() for r in caplog.records)
