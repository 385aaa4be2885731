"""JACK's xruns, heard and told: a small JACK client of the engine's own that asks the server
to tell it of every xrun (a period whose deadline the server or a client missed: the MIDI of
that period may come late or not at all), counts them and logs them, rate-limited.

The ports themselves are python-rtmidi's JACK clients, which keep their ``jack_client_t`` to
themselves and offer no xrun callback; this client is opened beside them through ctypes on
the same libjack (the one python-rtmidi's wheel carries, else the system's), so no new
dependency is needed. It registers no process callback, so the server never schedules it in
its real-time cycle: the xrun notice arrives on libjack's notification thread, which takes
the GIL only for that notice.

The engine runs this client in a process of its own (``engine/xrun_process.py``): in the
engine's own process, a SIGSTOP of the engine (the fault harness's stall) left the JACK server
reporting an xrun every period after SIGCONT and the engine never finishing its shutdown.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

CLIENT_NAME = "latentjam-xruns"
REPEAT_LOG_S = 10.0  # after the first xrun, a count at most this often
_JACK_NO_START_SERVER = 0x01  # JackOptions: never start a server of our own
_XRUN_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)


def libjack_candidates() -> list[str]:
    """Where libjack may be, best first: the copy python-rtmidi's wheel ships (the one the
    engine's ports use), then the system's."""
    found: list[str] = []
    try:
        import rtmidi

        site = Path(rtmidi.__file__).resolve().parent.parent
        found += sorted(str(p) for p in site.glob("python_rtmidi*/libjack*.so*"))
    except ImportError:
        pass
    system = ctypes.util.find_library("jack")
    if system:
        found.append(system)
    return found


def _load_libjack(path: str) -> ctypes.CDLL:
    lib = ctypes.CDLL(path)  # CDLL: calls release the GIL (jack_client_open takes a while)
    lib.jack_client_open.restype = ctypes.c_void_p
    lib.jack_client_open.argtypes = [ctypes.c_char_p, ctypes.c_int,
                                     ctypes.POINTER(ctypes.c_int)]
    lib.jack_set_xrun_callback.restype = ctypes.c_int
    lib.jack_set_xrun_callback.argtypes = [ctypes.c_void_p, _XRUN_CALLBACK, ctypes.c_void_p]
    lib.jack_activate.restype = ctypes.c_int
    lib.jack_activate.argtypes = [ctypes.c_void_p]
    lib.jack_client_close.restype = ctypes.c_int
    lib.jack_client_close.argtypes = [ctypes.c_void_p]
    return lib


class XrunLog:
    """Counts xruns and logs the first, then the count since at most every ``repeat_log_s``
    (on the next xrun after that, or on ``flush``). Thread-safe: JACK's thread reports,
    the engine reads and flushes."""

    def __init__(self, repeat_log_s: float = REPEAT_LOG_S,
                 clock: Callable[[], float] = time.monotonic,
                 logger: logging.Logger = log) -> None:
        self._repeat_log_s = repeat_log_s
        self._clock = clock
        self._log = logger
        self._lock = threading.Lock()
        self.count = 0
        self._unlogged = 0
        self._logged_at: float | None = None

    def xrun(self, count: int = 1) -> None:
        """``count`` more xruns (a process that watches for us tells them in batches)."""
        if count <= 0:
            return
        with self._lock:
            self.count += count
            now = self._clock()
            if self._logged_at is None:
                self._logged_at = now
                self._log.warning("JACK reported an xrun: a period's deadline was missed, so "
                                  "MIDI of that period may be late or lost (more are counted, "
                                  "logged at most every %g s)", self._repeat_log_s)
                count -= 1
                if not count:
                    return
            self._unlogged += count
            self._flush(now)

    def flush(self, final: bool = False) -> None:
        """Log the count not yet told, if the window is over (or ``final``)."""
        with self._lock:
            self._flush(self._clock(), final)

    def _flush(self, now: float, final: bool = False) -> None:
        if not self._unlogged or self._logged_at is None:
            return
        if final or now - self._logged_at >= self._repeat_log_s:
            self._log.warning("JACK reported %d more xruns in the last %.0f s (%d in all)",
                              self._unlogged, now - self._logged_at, self.count)
            self._unlogged, self._logged_at = 0, now


class XrunWatch:
    """A JACK client that is told of the server's xruns. ``open()`` blocks for a few
    milliseconds (call it off the asyncio loop) and says whether it is watching; ``count``
    is the xruns so far; ``flush()`` logs a pending count; ``close()`` ends the client."""

    def __init__(self, client_name: str = CLIENT_NAME, repeat_log_s: float = REPEAT_LOG_S,
                 libraries: list[str] | None = None, logger: logging.Logger = log) -> None:
        self._name = client_name
        self._libraries = libraries
        self.log = XrunLog(repeat_log_s, logger=logger)
        self._lib: ctypes.CDLL | None = None
        self._client: int | None = None
        self._callback = _XRUN_CALLBACK(self._on_xrun)  # kept: JACK holds only a pointer

    @property
    def count(self) -> int:
        return self.log.count

    @property
    def watching(self) -> bool:
        return self._client is not None

    def open(self) -> bool:
        """Open the client on the server the engine's JACK ports use; False, logged once,
        where there is no libjack or no server."""
        if self._client is not None:
            return True
        libraries = libjack_candidates() if self._libraries is None else self._libraries
        for path in libraries:
            try:
                lib = _load_libjack(path)
            except (OSError, AttributeError) as err:
                log.debug("cannot load %s for xruns: %s", path, err)
                continue
            status = ctypes.c_int(0)
            client = lib.jack_client_open(self._name.encode(), _JACK_NO_START_SERVER,
                                          ctypes.byref(status))
            if not client:
                log.info("JACK xruns are not watched: no JACK server answered "
                         "(status 0x%x)", status.value)
                return False
            if lib.jack_set_xrun_callback(client, self._callback, None) != 0 or \
                    lib.jack_activate(client) != 0:
                lib.jack_client_close(client)
                log.info("JACK xruns are not watched: the server refused the xrun callback")
                return False
            self._lib, self._client = lib, client
            return True
        log.info("JACK xruns are not watched: no libjack found")
        return False

    def _on_xrun(self, _arg: int | None) -> int:
        try:
            self.log.xrun()
        except Exception:  # nothing may raise back into libjack's thread
            log.debug("counting an xrun failed", exc_info=True)
        return 0

    def flush(self) -> None:
        self.log.flush()

    def close(self) -> None:
        """End the client (idempotent) and log any count not yet told."""
        client, self._client = self._client, None
        if client is not None and self._lib is not None:
            self._lib.jack_client_close(client)
        self.log.flush(final=True)
