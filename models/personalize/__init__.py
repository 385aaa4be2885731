"""Personalising a frozen MusicVAE on a user's own MIDI: MidiMe (a small VAE trained on the
base model's latent vectors), its ``.midime`` file, and the wrapper that samples through it."""
