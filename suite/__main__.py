"""``python -m suite``: the same command line as ``nqsbench``."""

from suite.cli import main

raise SystemExit(main())
