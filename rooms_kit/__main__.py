"""``python -m rooms_kit``: the same as the ``rooms-kit`` command."""

from __future__ import annotations

import sys

from rooms_kit.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
