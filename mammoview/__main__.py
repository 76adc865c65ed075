"""``python -m mammoview``: same as the ``mammoview`` command."""

import sys

from mammoview.cli import main

if __name__ == "__main__":
    sys.exit(main())
