"""`python -m eepart_fast.cli`: the `eepart` command."""
import sys

from .commands import main

sys.exit(main())
