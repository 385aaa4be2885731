"""Sound without a synth: General MIDI soundfonts found where systems install them, MIDI files
rendered through FluidSynth, and loudness measured and set as broadcasters do."""
