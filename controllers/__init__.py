"""Ways to steer the engine: the OSC server and its address map, MIDI CC mapping,
tablet layouts."""
