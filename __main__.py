"""``python -m latentjam`` runs the command line."""

from latentjam.app.cli import main

raise SystemExit(main())
