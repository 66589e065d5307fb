"""A local Semaphore CI 2.0 v1alpha server, quirks included, over a simulated world with its own clock.

``SemaphoreSimulator`` is the entry point; ``definitions`` describes worlds as plain data. The package never imports
the client or its models (docs/architecture.md): the simulator must be an independent witness of how the server behaves.
"""

from __future__ import annotations

from .runner import SemaphoreSimulator

__all__ = ["SemaphoreSimulator"]
