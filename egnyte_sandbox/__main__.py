"""Entry point of `python -m egnyte_sandbox`."""

import sys

from .cli import main

sys.exit(main())
