"""Magenta-compatible converters: NoteSequence <-> per-step class arrays (melody, drums, trio),
and performance events (note-on/off, time shift, velocity) for the multi-instrument models."""
