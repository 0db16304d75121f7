"""What a batch of answers costs the database, counted (not timed): a regression guard for the
set-based answer path, one statement per kind per batch whatever the number of rounds (issue 15).

Before it: 28.2 statements per round in this scenario (an INSERT per inbox row, answer,
outbox row and log entry, an UPDATE per question and round, two selects per case)."""

from __future__ import annotations

from sqlalchemy import event

from contracts.enums import Colour
from devtools.bench.statements import StatementCounter
from tests.unit.handlers.builders import (
    Batch,
    Sessions,
    answer_to,
    delivered,
    new_round,
    process,
    question_sets,
    results,
)

ROUNDS = 20
# Per batch: rounds and questions loaded (2), inbox claims (1), answers (1), question
# updates (1), cases with their family for follow-ups (2), completions (1) and the results'
# question order (1), outbox rows (1), processing-log rows (1).
MOST_PER_BATCH = 11


async def _count(sessions: Sessions, batch: Batch) -> StatementCounter:
    counter = StatementCounter(sessions.kw["bind"])
    with counter:
        await process(sessions, batch)
    return counter


async def test_a_batch_of_answers_costs_a_statement_per_kind_not_per_round(
    sessions: Sessions,
) -> None:
    """Twenty groen rounds answered in two batches: first every question set sent at opening
    (the Verwijsindex's ja makes each round's CJG question due), then the CJG's answers,
    which complete every round."""
    rounds = [await new_round(sessions, Colour.GROEN) for _ in range(ROUNDS)]
    first: Batch = []
    for round_id in rounds:
        first += [
            delivered(answer_to(qs), qs.partner) for qs in await question_sets(sessions, round_id)
        ]
    opened = await _count(sessions, first)
    second: Batch = []
    for round_id in rounds:
        *_, cjg = await question_sets(sessions, round_id)
        second.append(delivered(answer_to(cjg), cjg.partner))
    completed = await _count(sessions, second)

    for round_id in rounds:
        assert len(await results(sessions, round_id)) == 1
    for counter in (opened, completed):
        assert counter.commits == 1
        assert counter.statements <= MOST_PER_BATCH, counter.per_round(ROUNDS)
    # At most one inbox insert per batch, however many messages it holds.
    assert opened.by_kind["insert"] <= 4
    assert completed.by_kind["update"] == 2  # the questions, then the rounds


async def test_batches_of_many_sizes_read_their_rounds_with_a_few_statement_texts(
    sessions: Sessions,
) -> None:
    """Each text is prepared and cached by the driver per connection: one text per batch
    size would fill the cache with a backlog's worth of them (handlers.db.in_lists)."""
    rounds = [await new_round(sessions, Colour.GROEN) for _ in range(12)]
    first_sets = [(await question_sets(sessions, r))[0] for r in rounds]
    texts: set[str] = set()

    def seen(_c: object, _cur: object, statement: str, *_: object) -> None:
        if "FROM rounds" in statement or "FROM questions" in statement:
            texts.add(statement)

    engine = sessions.kw["bind"].sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        start = 0
        for size in (3, 2, 4, 1, 2):  # the rounds of five batches: 3, 2, 4, 1 and 2 of them
            await process(
                sessions, [delivered(answer_to(qs), qs.partner) for qs in first_sets[start:][:size]]
            )
            start += size
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    # Padded to 1, 2 and 4 ids: three texts of each of the two selects, not one per size.
    assert len(texts) <= 6, len(texts)
