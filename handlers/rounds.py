"""Opening an enrichment round, and issuing question sets through the outbox."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, insert, or_, select, update

from contracts.enums import Colour, Criterion, Partner, SubjectRole, Track
from contracts.policy import AskedQuestion, Policy
from contracts.topics import message_key, question_topic
from handlers.cases import check_age, get_case, load_cases
from handlers.db.detached import detached
from handlers.db.in_lists import padded
from handlers.db.pending import PendingRows
from handlers.db.tables import CaseRow, QuestionRow, RoundRow
from handlers.db.uow import UnitOfWork
from handlers.errors import CaseRejected, NotInformed, RoundAlreadyOpen
from handlers.outbox import enqueue
from handlers.processing_log import log_processing
from handlers.questions import AddressNeeds, RoundSubjects, address_needs, question_set_for
from handlers.states import QuestionStatus, RoundState

__all__ = [
    "OpenRound",
    "OpeningBatch",
    "issue_question_sets",
    "open_round",
    "question_row",
]

log = logging.getLogger("handlers.rounds")

_CASES = cast(Table, CaseRow.__table__)
_ROUNDS = cast(Table, RoundRow.__table__)
_QUESTIONS = cast(Table, QuestionRow.__table__)
_QUESTION_COLUMNS = tuple(c.key for c in _QUESTIONS.columns)


@dataclass(frozen=True)
class OpenRound:
    """What opening a round asks for. `command_id` makes a repeated command a no-op.

    `colour` must be the case's label; None asks the label. A case without a label yet (one
    registered before labels were kept) gets `colour` as its label."""

    case_id: str
    colour: Colour | None
    actor: str
    round_id: uuid.UUID | None = None
    correlation_id: uuid.UUID | None = None
    command_id: str | None = None


@dataclass(frozen=True)
class _Known:
    """A round that decides a request: the one its command opened, or its case's open one."""

    id: str
    command_id: str | None


class OpeningBatch:
    """What a batch of open-round requests reads, read once for the batch: their cases (with
    their family) and the rounds that decide them (open rounds of their cases, rounds their
    command ids opened). The batch's rounds and questions are gathered in `pending` and
    written at its end, one INSERT per table, rounds before questions (`flush`).

    Valid only while the batch does nothing else to rounds: a batch that relabels or cancels
    opens its rounds one by one (`open_round` without a batch)."""

    def __init__(self, pending: PendingRows) -> None:
        self.pending = pending
        self.cases: dict[str, CaseRow] = {}
        # Indexed, so a batch of a thousand requests looks each up in constant time.
        self._by_command: dict[str, _Known] = {}
        self._open_by_case: dict[str, list[_Known]] = defaultdict(list)

    @classmethod
    async def load(
        cls, uow: UnitOfWork, pending: PendingRows, requests: Sequence[OpenRound]
    ) -> OpeningBatch:
        batch = cls(pending)
        case_ids = sorted({r.case_id for r in requests})
        command_ids = sorted({r.command_id for r in requests if r.command_id is not None})
        if not case_ids:
            return batch
        batch.cases = await load_cases(uow, case_ids)
        wanted: ColumnElement[bool] = RoundRow.case_id.in_(padded(case_ids)) & (
            RoundRow.state == RoundState.OPEN
        )
        if command_ids:
            wanted = or_(RoundRow.command_id.in_(padded(command_ids)), wanted)
        rows = await uow.session.execute(
            select(RoundRow.id, RoundRow.command_id, RoundRow.case_id, RoundRow.state).where(wanted)
        )
        for r in rows:
            batch._know(_Known(r.id, r.command_id), r.case_id, open=r.state == RoundState.OPEN)
        return batch

    def _know(self, known: _Known, case_id: str, *, open: bool) -> None:
        if known.command_id is not None:
            self._by_command[known.command_id] = known
        if open:
            self._open_by_case[case_id].append(known)

    def deciding(self, request: OpenRound) -> list[_Known]:
        """As `open_round`'s select would find them, with the batch's own rounds."""
        opened = self._by_command.get(request.command_id) if request.command_id else None
        return [*([opened] if opened else []), *self._open_by_case.get(request.case_id, [])]

    def by_command(self, command_id: str) -> str | None:
        """The round this command id opened, also earlier in this batch (not written yet)."""
        known = self._by_command.get(command_id)
        return known.id if known else None

    def opened(self, round_values: dict[str, Any], questions: list[dict[str, Any]]) -> None:
        self.pending.rows.setdefault(RoundRow, []).append(round_values)
        self.pending.rows.setdefault(QuestionRow, []).extend(questions)
        known = _Known(round_values["id"], round_values["command_id"])
        self._know(known, round_values["case_id"], open=True)

    @staticmethod
    async def flush(pending: PendingRows) -> None:
        """Everything gathered: rounds, then their questions, then the rest."""
        await pending.flush(RoundRow, QuestionRow, *pending.rows)


async def open_round(
    uow: UnitOfWork,
    policy: Policy,
    request: OpenRound,
    *,
    now: dt.datetime,
    deadline: dt.timedelta,
    batch: OpeningBatch | None = None,
) -> tuple[str, bool]:
    """Create the round, its questions and their question sets in one transaction.

    Returns (round id, created). Caller commits. With a `batch` (loaded for this request
    among others) nothing is read here, and the round and its questions are written by
    `OpeningBatch.flush`.
    """
    if batch is not None:
        found = batch.deciding(request)
    else:
        # One statement for both: the round this command opened before, and an open round
        # of the case (refused below, once the case's own checks passed).
        wanted: ColumnElement[bool] = (RoundRow.case_id == request.case_id) & (
            RoundRow.state == RoundState.OPEN
        )
        if request.command_id is not None:
            wanted = or_(RoundRow.command_id == request.command_id, wanted)
        found = [
            _Known(r.id, r.command_id)
            for r in await uow.session.execute(
                select(RoundRow.id, RoundRow.command_id).where(wanted)
            )
        ]
    for existing in found:
        if request.command_id is not None and existing.command_id == request.command_id:
            return existing.id, False
    loaded = batch.cases.get(request.case_id) if batch is not None else None
    case = loaded or await get_case(uow, request.case_id)
    if case.informed_on is None:
        raise NotInformed(
            "the youth has not been informed by letter yet, so no information may be shared: "
            f"record the letter date first (`iaj case inform {case.id} --date YYYY-MM-DD`)"
        )
    if case.left_on is not None:
        raise CaseRejected(
            "left_on", f"the youth left the approach on {case.left_on}: no more rounds"
        )
    # The youth may have outgrown the track since registration: then no more rounds.
    check_age(case.geboortedatum, Track(case.track), now.date(), policy)
    unlabelled = case.colour is None
    colour = _round_colour(policy, case, request.colour)
    already_open = next((row.id for row in found), None)
    if already_open is not None:
        raise RoundAlreadyOpen(
            f"case {case.id} already has an open round ({already_open}); wait for its result "
            "or its deadline before asking the partners again"
        )
    if unlabelled:  # an old case: its first labelled round sets its label
        await uow.session.execute(
            update(_CASES).where(_CASES.c.id == case.id).values(colour=colour.value)
        )
    round_id = str(request.round_id or uuid.uuid4())
    round_values = {
        "id": round_id,
        "case_id": case.id,
        "colour": colour.value,
        "policy_id": policy.id,
        "policy_version": policy.version,
        "correlation_id": str(request.correlation_id or uuid.uuid4()),
        "command_id": request.command_id,
        "state": RoundState.OPEN,
        "opened_at": now,
        "deadline": now + deadline,
        "opened_by": request.actor,
        "result_revision": 1,
    }
    # Written with Core, not the ORM's unit of work: the hot path opens many rounds a batch.
    # The round first (its questions refer to it), and before the next request of a batch
    # looks for an open round of its case (or gathered, when the batch knows its rounds).
    if batch is None:
        await uow.session.execute(insert(_ROUNDS), [round_values])
    round_row = detached(RoundRow, round_values)  # what the question sets are built from
    questions = list(_questions(policy, case, round_id, colour))
    # Issued before they are inserted: each question is written once, with its question set.
    issue_question_sets(
        uow,
        round_row,
        case,
        [q for q in questions if q.status == QuestionStatus.OPEN],
        now,
        actor=request.actor,
        address_for=address_needs(policy, colour),
    )
    log_processing(
        uow,
        request.actor,
        "round_opened",
        f"uitvraag {colour.value} under policy {policy.id} v{policy.version}",
        case_id=case.id,
        round_id=round_id,
    )
    # One statement for all of them; their unique keys are checked here (or at the batch's
    # end, which fails the batch as a whole).
    question_values = [{c: getattr(q, c) for c in _QUESTION_COLUMNS} for q in questions]
    if batch is None:
        await uow.session.execute(insert(_QUESTIONS), question_values)
    else:
        batch.opened(round_values, question_values)
    asked = sorted({q.partner for q in questions if q.status == QuestionStatus.OPEN})
    fields = {
        "event": "round_opened",
        "round_id": round_id,
        "correlation_id": round_row.correlation_id,
        "colour": colour.value,
        "partners": asked,
        "command_id": request.command_id,
    }
    uow.after_commit.append(
        lambda: log.info(
            "round %s opened at %s: %d partner(s) asked",
            round_id,
            colour.value,
            len(asked),
            extra=fields,
        )
    )
    return round_id, True


def _round_colour(policy: Policy, case: CaseRow, asked: Colour | None) -> Colour:
    """The colour of a new round: the case's label, permitted by its track and criteria."""
    label = Colour(case.colour) if case.colour is not None else None
    colour = asked or label
    if colour is None:
        raise CaseRejected(
            "colour", f"case {case.id} has no label yet: give the colour of the round (--kleur)"
        )
    if label is not None and colour is not label:
        raise CaseRejected(
            "colour",
            f"case {case.id} is labelled {label.value}, and a round asks what its label "
            f"permits: to ask {colour.value} questions, relabel the case first "
            f"(`iaj case relabel {case.id} --kleur {colour.value} --reason ...`)",
        )
    criteria = [Criterion(c) for c in case.criteria]
    refusal = policy.refuses_label(Track(case.track), colour, criteria)
    if refusal is not None:
        raise CaseRejected(
            "colour",
            f"no {colour.value} round for case {case.id}: {refusal}; record the criterion "
            "first, or ask a label the recorded criteria support",
        )
    if label is None:
        case.colour = colour.value  # written by `open_round`; later requests see the label
    return colour


def _questions(
    policy: Policy, case: CaseRow, round_id: str, colour: Colour
) -> Iterable[QuestionRow]:
    for asked in policy.asked(colour):
        refs = (
            ["jongere"]
            if asked.subject is SubjectRole.JONGERE
            else [f"gezinslid-{m.ordinal}" for m in case.family]
        )
        for ref in refs:
            # Inserted with Core by `open_round`: no ORM constructor needed.
            yield detached(QuestionRow, _question_values(policy, asked, round_id, ref))


def question_row(
    policy: Policy, asked: AskedQuestion, round_id: str, subject_ref: str
) -> QuestionRow:
    """A new question of a round, about one subject, to add to the session. Its condition is
    copied from the policy so that a later policy version cannot change a running round."""
    return QuestionRow(**_question_values(policy, asked, round_id, subject_ref))


def _question_values(
    policy: Policy, asked: AskedQuestion, round_id: str, subject_ref: str
) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "round_id": round_id,
        "partner": asked.partner.value,
        "key": asked.key,
        "subject_ref": subject_ref,
        "text": asked.text,
        "shape": asked.shape.value,
        "detail_fields": [f.model_dump(mode="json") for f in asked.detail_fields],
        "text_limit": policy.text_limit(asked.shape),
        "after_partner": asked.after.partner.value if asked.after else None,
        "after_key": asked.after.key if asked.after else None,
        "after_answer": asked.after.answer.value if asked.after else None,
        "status": QuestionStatus.WAITING if asked.after else QuestionStatus.OPEN,
        "question_set_id": None,
        "issued_at": None,
        "closed_at": None,
    }


def issue_question_sets(
    uow: UnitOfWork,
    round_row: RoundRow,
    case: CaseRow,
    questions: list[QuestionRow],
    now: dt.datetime,
    *,
    actor: str = "iaj-broker",
    address_for: AddressNeeds = frozenset(),
) -> None:
    """Put one question set per partner in the outbox, and mark the questions issued.

    Each set discloses the youth's name (and more) to a partner: logged per partner. `actor`
    is who caused it; follow-up questions (the CJG after a Verwijsindex match) are issued by
    the service itself. `address_for`: the questions that need the youth's address
    (`handlers.questions.address_needs(policy, colour)`); without it no address is sent."""
    by_partner: dict[str, list[QuestionRow]] = defaultdict(list)
    for q in questions:
        by_partner[q.partner].append(q)
    subjects = RoundSubjects(case, Colour(round_row.colour))
    for partner_code, rows in by_partner.items():
        message_id = uuid.uuid4()
        partner = Partner(partner_code)
        message = question_set_for(
            round_row,
            subjects,
            partner,
            rows,
            message_id=message_id,
            now=now,
            address_for=address_for,
        )
        for q in rows:
            q.question_set_id = str(message_id)
            q.issued_at = now
        enqueue(
            uow.session,
            question_topic(partner),
            message,
            message_id=str(message_id),
            key=message_key(uuid.UUID(round_row.id)),
            headers={"correlation_id": round_row.correlation_id},
        )
        log_processing(
            uow,
            actor,
            "question_set_issued",
            f"{len(rows)} question(s) at {round_row.colour}, about "
            f"{', '.join(s.subject_ref for s in message.subjects)}"
            f"{' with address' if any(s.adres for s in message.subjects) else ''}",
            case_id=case.id,
            round_id=round_row.id,
            partner=partner.value,
        )
