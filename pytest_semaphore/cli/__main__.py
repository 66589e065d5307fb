"""``python -m pytest_semaphore.cli``: the same as the ``semaphore-gate`` command."""

import sys

from . import main

sys.exit(main())
