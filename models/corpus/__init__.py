"""Building training corpora from public-domain scores (music21's corpus) for the default models.

``collections`` lists the allowed collections and their pieces, ``music21_melodies`` turns a
parsed score into a NoteSequence, ``manifest`` records where every piece came from and what
the converter kept of it, and ``build`` writes the train/eval TFRecords. Needs the ``corpus``
extra (music21); never imported by the engine.
"""
