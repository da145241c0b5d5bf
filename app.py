"""Start the Revive web UI: `python app.py [options]` is `revive serve [options]` (see --help)."""

import sys

from restore.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
