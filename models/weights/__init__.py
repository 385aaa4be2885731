"""Shipped weights of the default models, each folder with its provenance manifest."""
