"""Create the Kafka topics the service needs; brokers here do not auto-create them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code

__all__ = ["TopicCreationError", "create_topics"]


class TopicCreationError(RuntimeError):
    """The broker refused to create a topic for a reason other than it already existing."""


async def create_topics(
    bootstrap: str,
    names: Iterable[str],
    *,
    partitions: int = 1,
    replication_factor: int = 1,
    **client_options: Any,
) -> None:
    """Create each topic in `names` unless it exists already; safe to call on every start-up.

    `client_options` go to `AIOKafkaAdminClient` (security settings for a real cluster).
    """
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_options)
    await admin.start()
    try:
        response = await admin.create_topics(
            [NewTopic(name, partitions, replication_factor) for name in wanted]
        )
    finally:
        await admin.close()
    failures = []
    # Entries are (topic, error_code) or (topic, error_code, error_message), by API version.
    for topic, code, *message in response.topic_errors:
        if code in (0, TopicAlreadyExistsError.errno):
            continue
        detail = message[0] if message and message[0] else for_code(code).description
        failures.append(f"{topic}: {for_code(code).__name__} ({detail})")
    if failures:
        raise TopicCreationError(f"could not create topics on {bootstrap}: " + "; ".join(failures))
