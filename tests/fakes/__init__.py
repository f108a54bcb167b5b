"""Local stand-ins for outside services, for tests (each listens on 127.0.0.1 only)."""

from __future__ import annotations

from tests.fakes.drand_server import FakeDrandServer, ManualClock

__all__ = ["FakeDrandServer", "ManualClock"]
