"""pytest glue: options, fixtures and report hooks. Thin by design: every decision lives in the core modules.

Heavy modules (requests, the simulator) are imported inside the fixtures that need them, so that a pytest run that
does not use the plugin pays almost nothing for it being installed.
"""

from __future__ import annotations
