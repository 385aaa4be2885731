"""MusicVAE: configs, encodings (NoteSequence <-> arrays), NumPy inference, checkpoint
readers and writers, TensorFlow training (optional extra) and the shipped weights.

Nothing imported from here on the engine's run-time path pulls in TensorFlow."""
