"""MusicVAE inference in NumPy: encode, decode, sample, interpolate."""
