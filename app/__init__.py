"""The app layer, the composition root: the ``latentjam`` command's verbs (``cli_*``), the
live set's file (``set_file``), and the wiring of engine, controllers and models for ``play``.
Arrows run from here to the controllers, the engine and the models, never back."""
