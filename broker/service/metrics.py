"""Prometheus metrics of the municipal service."""

from __future__ import annotations

from prometheus_client import Counter

__all__ = ["ANSWERS", "COMMANDS", "OUTBOX_PUBLISHED"]

OUTBOX_PUBLISHED = Counter("iaj_outbox_published_total", "Outbox messages published to Kafka")
ANSWERS = Counter(
    "iaj_answer_items_total", "Answer items received, by outcome", ["partner", "outcome"]
)
COMMANDS = Counter("iaj_commands_total", "Open-round commands, by outcome", ["outcome"])
