"""TensorFlow training of MusicVAE (the optional ``train`` extra); never imported by the engine."""
