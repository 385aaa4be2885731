"""Clock sources: where the engine's musical time comes from (internal master, external MIDI
clock, Ableton Link), all behind the one interface in ``clocks.base``."""
