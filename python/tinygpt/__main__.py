"""``python -m tinygpt`` (and ``torchrun -m tinygpt``) runs the CLI."""

from tinygpt.cli import main

raise SystemExit(main())
