"""``python -m harness`` is ``chaos-harness``."""

import sys

from harness.cli import main

sys.exit(main())
