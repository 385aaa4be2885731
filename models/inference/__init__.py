"""MusicVAE inference in NumPy: encode, decode, sample, interpolate.

``musicvae.MusicVAE`` is the entry point; ``lstm`` holds the plain LSTM math (the encoder
runs on it), ``stack`` the same cell rearranged for fast one-step-at-a-time decoding,
``decoder`` Magenta's categorical and hierarchical decoders on top of it, ``latent`` slerp.
"""
