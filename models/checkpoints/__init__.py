"""Checkpoint formats: Magenta TF checkpoints, magenta.js checkpoints and our own safe format.

``loader`` tells them apart and loads any of them; ``tf_checkpoint`` (over ``sstable``, the
LevelDB table of its ``.index``) reads and writes TF1 ``Saver`` checkpoints without
TensorFlow; ``magentajs`` reads magenta.js weight manifests and shards; ``native`` reads and
writes our shipped weights (safetensors layout, metadata as JSON).
"""
