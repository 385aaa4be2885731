"""Magenta-compatible converters: NoteSequence <-> per-step class arrays (melody, drums, trio)."""
