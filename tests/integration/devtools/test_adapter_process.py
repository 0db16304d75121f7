"""The adapters' own process (benchmark): it starts against a real broker, and it stops by
itself when its parent is gone, instead of lingering in the consumer groups."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from broker.service.kafka_admin import create_topics
from contracts.enums import Partner
from contracts.topics import answer_topic, question_topic, refusal_topic
from devtools.adapter_group import AdapterGroupSpec, AdapterProcess

pytestmark = pytest.mark.integration


async def test_the_child_stops_when_its_parent_pipe_closes(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    partner = Partner.WSG
    await create_topics(
        kafka_bootstrap, [question_topic(partner), answer_topic(partner), refusal_topic(partner)]
    )
    adapters = AdapterProcess(
        AdapterGroupSpec(bootstrap=kafka_bootstrap, workdir=tmp_path, partners=frozenset({partner}))
    )
    await adapters.start()
    child = adapters._process  # what a dying parent leaves behind: the child and its pipe
    assert child is not None
    assert child.stdin is not None
    assert child.returncode is None, "running once it said it is ready"
    child.stdin.close()  # the parent's end of the pipe, as when the parent is killed
    assert await asyncio.wait_for(child.wait(), 30) == 0, "it stopped cleanly by itself"
    assert (tmp_path / f"adapter-{partner.value}.db").is_file()
    await adapters.stop()  # nothing left to stop: no error
