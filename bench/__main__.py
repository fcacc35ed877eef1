"""`python -m bench`: runs the benchmark (see bench/README.md)."""

import sys

from bench.cli import main

if __name__ == "__main__":
    sys.exit(main())
