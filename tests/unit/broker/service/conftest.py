"""The in-memory service fixture of this package's tests (in_memory.py)."""

from tests.unit.broker.service.in_memory import service

__all__ = ["service"]
