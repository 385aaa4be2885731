"""Checkpoint formats: Magenta TF checkpoints, magenta.js checkpoints and our own safe format."""
