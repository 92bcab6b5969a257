"""`python -m runner`: the same as the `runner` command."""

from runner.cli.main import main

raise SystemExit(main())
