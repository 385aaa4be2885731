"""Counting and telling JACK's xruns (issue 10, finding 6): the rate-limited log, and a watch
that says so when it cannot watch. The real server's xruns: test_port_xruns_jack.py."""

import logging

from latentjam.engine.port_xruns import XrunLog, XrunWatch

LOGGER = "latentjam.engine.port_xruns"


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def messages(caplog):
    return [record.getMessage() for record in caplog.records if record.name == LOGGER]


def test_the_first_xrun_is_logged_then_a_count_at_most_every_window(caplog):
    clock = FakeClock()
    xruns = XrunLog(repeat_log_s=10.0, clock=clock, logger=logging.getLogger(LOGGER))
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        for _ in range(50):  # a burst under load: one line, not fifty
            xruns.xrun()
        assert len(messages(caplog)) == 1 and "JACK reported an xrun" in messages(caplog)[0]
        clock.now += 4.0
        xruns.flush()  # the window is not over: still nothing more
        assert len(messages(caplog)) == 1
        clock.now += 6.0
        xruns.flush()
        assert messages(caplog)[1] == "JACK reported 49 more xruns in the last 10 s (50 in all)"
        xruns.xrun()
        xruns.flush(final=True)  # closing tells what is left, however soon
        assert messages(caplog)[2].startswith("JACK reported 1 more xruns")
        xruns.flush(final=True)
    assert xruns.count == 51 and len(messages(caplog)) == 3


def test_a_watch_without_libjack_says_it_is_not_watching(caplog, tmp_path):
    bogus = tmp_path / "libjack.so.0"
    bogus.write_bytes(b"not a library")
    with caplog.at_level(logging.INFO, logger=LOGGER):
        watch = XrunWatch(libraries=[str(bogus)])
        assert watch.open() is False and not watch.watching
        watch.close()
    assert any("not watched: no libjack" in m for m in messages(caplog))
    assert watch.count == 0
