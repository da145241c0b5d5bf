"""`python -m restore` runs the `revive` command line."""

import sys

from restore.cli import main

sys.exit(main())
