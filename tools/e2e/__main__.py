"""``python -m tools.e2e``: see :mod:`tools.e2e.lifecycle`."""

import sys

from tools.e2e.lifecycle import main

sys.exit(main())
