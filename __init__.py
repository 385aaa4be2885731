"""latentjam: a real-time MIDI performance engine driven by MusicVAE.

The repository root is the ``latentjam`` package: ``engine`` (real-time core),
``controllers`` (OSC and MIDI control), ``models`` (MusicVAE) and ``cli`` (the
``latentjam`` command).
"""

__version__ = "0.1.0"
