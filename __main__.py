"""``python -m latentjam`` runs the command line."""

from latentjam.cli import main

raise SystemExit(main())
