"""MusicVAE: configs, encodings (NoteSequence <-> arrays), NumPy inference, checkpoint
readers and writers, TensorFlow training (optional extra), personalizing, corpus building,
evaluation and the shipped weights. ``service`` is the one door for whoever plays a model
(the engine): requests in, loops out.

Nothing imported from here on the engine's run-time path pulls in TensorFlow."""
