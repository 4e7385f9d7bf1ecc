"""`python -m assistantd` runs the command line."""

from assistantd.cli import main

raise SystemExit(main())
