"""Rectification (AVG art. 16) and its notification to recipients (art. 19).

A correction changes the case: question sets issued from then on carry the corrected data.
What was already sent is not rewritten: every partner that was sent a corrected field, in any
round of the case still held, gets a `SubjectCorrection` on its question topic (through the
outbox) with the corrected data, and only the fields it was sent — the address only to a
partner that was sent the address. Open rounds continue. The log names which fields changed
and why, never an old or a new value.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select

from contracts.enums import Colour, Partner, SubjectRole, Track
from contracts.messages import QuestionSet, Subject, SubjectCorrection
from contracts.policy import Policy, PolicyRef
from contracts.topics import message_key, question_topic
from contracts.wire import decode
from handlers.cases import age_on, get_case
from handlers.db.tables import CaseRow, OutboxRow, ProcessingLogRow, QuestionRow, RoundRow
from handlers.db.uow import UnitOfWork
from handlers.errors import CaseRejected
from handlers.outbox import enqueue
from handlers.processing_log import log_processing
from handlers.reasons import check_reason
from handlers.states import RoundState

__all__ = [
    "REASON_MIN_CHARS",
    "Correction",
    "CorrectionReport",
    "Told",
    "correct_case",
]

REASON_MIN_CHARS = 10
Field = Literal["naam", "geboortedatum", "adres"]
FIELDS: tuple[Field, ...] = ("naam", "geboortedatum", "adres")


@dataclass(frozen=True)
class Correction:
    """What a regisseur asks to correct; None leaves a field as it is."""

    reason: str
    naam: str | None = None
    geboortedatum: dt.date | None = None
    adres: str | None = None
    adres_reden: str | None = None


@dataclass(frozen=True)
class Told:
    """One partner told, for one round, which fields it was sent had changed."""

    partner: Partner
    round_id: str
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class CorrectionReport:
    case_id: str
    corrected: tuple[Field, ...]
    told: tuple[Told, ...] = ()
    open_rounds: tuple[str, ...] = ()
    # Partners that were sent the youth's data, but none of the fields that changed.
    not_concerned: tuple[Partner, ...] = ()


def _checked(correction: Correction, case: CaseRow, policy: Policy, today: dt.date) -> Correction:
    """The correction with its texts stripped; CaseRejected (naming the option) otherwise."""
    naam = correction.naam.strip() if correction.naam is not None else None
    adres = correction.adres.strip() if correction.adres is not None else None
    if naam is not None and not 1 <= len(naam) <= 200:
        raise CaseRejected("naam", "give the correct name (1 to 200 characters)")
    if adres is not None and not 1 <= len(adres) <= 200:
        raise CaseRejected("adres", "give the correct address (1 to 200 characters)")
    if adres is None and correction.adres_reden is not None:
        raise CaseRejected(
            "adres_reden", "a reason for an address was given, but no address: give --adres too"
        )
    adres_reden = None
    if adres is not None:
        adres_reden = check_reason(
            correction.adres_reden, "adres_reden", policy.adres_reden_min_chars
        )
    if naam is None and correction.geboortedatum is None and adres is None:
        raise CaseRejected(
            "case", "nothing to correct: give --naam, --geboortedatum or --adres with --adres-reden"
        )
    if correction.geboortedatum is not None:
        _check_born(correction.geboortedatum, case, policy, today)
    reason = check_reason(correction.reason, "reason", REASON_MIN_CHARS)
    # The reason goes to the processing log, which keeps no personal data.
    values = [case.naam, case.adres, naam, adres, case.geboortedatum.isoformat()]
    values += [m.naam for m in case.family]
    if correction.geboortedatum is not None:
        values.append(correction.geboortedatum.isoformat())
    if any(v and re.search(rf"\b{re.escape(v)}\b", reason, re.IGNORECASE) for v in values):
        raise CaseRejected(
            "reason",
            "the reason is written to the processing log, which holds no personal data: say "
            "why without the name, the date of birth or the address itself",
        )
    return Correction(
        reason=reason,
        naam=naam,
        geboortedatum=correction.geboortedatum,
        adres=adres,
        adres_reden=adres_reden,
    )


def _check_born(born: dt.date, case: CaseRow, policy: Policy, today: dt.date) -> None:
    """As at registration: not in the future, and within the track's age when registered."""
    if born > today:
        raise CaseRejected("geboortedatum", "the date of birth lies in the future; check it")
    registered = case.registered_at.date()
    limit = policy.track_rule(Track(case.track)).below_age
    age = age_on(born, registered)
    if age >= limit:
        raise CaseRejected(
            "geboortedatum",
            f"with this date of birth the youth was {age} when registered, outside the "
            f"{case.track.upper()} track (up to and including {limit - 1}): the youth was "
            "registered by mistake; erase the case (`iaj case erase CASE --reason "
            "registered-by-mistake`) instead of correcting it",
        )


def _changed(correction: Correction, case: CaseRow) -> tuple[Field, ...]:
    changed: list[Field] = []
    if correction.naam is not None and correction.naam != case.naam:
        changed.append("naam")
    if correction.geboortedatum is not None and correction.geboortedatum != case.geboortedatum:
        changed.append("geboortedatum")
    if correction.adres is not None and (correction.adres, correction.adres_reden) != (
        case.adres,
        case.adres_reden,
    ):
        changed.append("adres")
    return tuple(changed)


async def _sent(
    uow: UnitOfWork, case: CaseRow, rounds: list[RoundRow], policy: Policy
) -> dict[tuple[str, Partner], set[Field]]:
    """(round id, partner) -> the youth's fields that partner was sent in that round.

    Every question set names the youth (name and date of birth). Whether it carried the
    address: the question set itself while the outbox still holds it; else the processing
    log's `question_set_issued` entry ("with address"); else the policy (a question that
    needs the address, outside groen, for a case that had one)."""
    round_ids = [r.id for r in rounds]
    if not round_ids:
        return {}
    issued = (
        await uow.session.scalars(
            select(QuestionRow)
            .where(QuestionRow.round_id.in_(round_ids))
            .where(QuestionRow.issued_at.is_not(None))
        )
    ).all()
    set_ids: dict[tuple[str, Partner], set[str]] = defaultdict(set)
    keys: dict[tuple[str, Partner], set[str]] = defaultdict(set)
    for q in issued:
        where = (q.round_id, Partner(q.partner))
        keys[where].add(q.key)
        if q.question_set_id is not None:
            set_ids[where].add(q.question_set_id)
    carried = await _address_in_outbox(uow, {i for ids in set_ids.values() for i in ids})
    logged = await _address_in_log(uow, round_ids)
    colours = {r.id: Colour(r.colour) for r in rounds}
    sent: dict[tuple[str, Partner], set[Field]] = {}
    for where, asked in keys.items():
        round_id, partner = where
        from_outbox = [carried[i] for i in set_ids[where] if i in carried]
        if from_outbox:
            address = any(from_outbox)
        elif where in logged:
            address = logged[where]
        else:
            needs = {q.key for q in policy.asked(colours[round_id], partner) if q.needs_address}
            address = case.adres is not None and bool(asked & needs)
        sent[where] = {"naam", "geboortedatum", *(("adres",) if address else ())}
    return sent


async def _address_in_outbox(uow: UnitOfWork, message_ids: set[str]) -> dict[str, bool]:
    """message id -> whether that question set, still in the outbox, carried an address."""
    if not message_ids:
        return {}
    rows = await uow.session.execute(
        select(OutboxRow.message_id, OutboxRow.payload).where(OutboxRow.message_id.in_(message_ids))
    )
    found = {}
    for message_id, payload in rows:
        message = decode(payload)
        if isinstance(message, QuestionSet):
            found[message_id] = any(
                s.adres is not None for s in message.subjects if s.role is SubjectRole.JONGERE
            )
    return found


async def _address_in_log(uow: UnitOfWork, round_ids: list[str]) -> dict[tuple[str, Partner], bool]:
    rows = await uow.session.execute(
        select(ProcessingLogRow.round_id, ProcessingLogRow.partner, ProcessingLogRow.purpose)
        .where(ProcessingLogRow.round_id.in_(round_ids))
        .where(ProcessingLogRow.action == "question_set_issued")
        .where(ProcessingLogRow.partner.is_not(None))
    )
    found: dict[tuple[str, Partner], bool] = {}
    for round_id, partner, purpose in rows:
        if round_id is None or partner is None:
            continue
        where = (round_id, Partner(partner))
        found[where] = found.get(where, False) or "with address" in purpose
    return found


async def correct_case(
    uow: UnitOfWork,
    case_id: str,
    correction: Correction,
    *,
    policy: Policy,
    actor: str,
    now: dt.datetime,
) -> CorrectionReport:
    """Correct the youth's data and tell the partners concerned. Caller commits."""
    case = await get_case(uow, case_id)
    correction = _checked(correction, case, policy, now.date())
    changed = _changed(correction, case)
    if not changed:
        raise CaseRejected("case", "the case already holds these data: nothing was changed")
    rounds = list(
        (
            await uow.session.scalars(
                select(RoundRow).where(RoundRow.case_id == case_id).order_by(RoundRow.opened_at)
            )
        ).all()
    )
    sent = await _sent(uow, case, rounds, policy)  # before the case changes
    if correction.naam is not None:
        case.naam = correction.naam
    if correction.geboortedatum is not None:
        case.geboortedatum = correction.geboortedatum
    if correction.adres is not None:
        case.adres, case.adres_reden = correction.adres, correction.adres_reden
    log_processing(
        uow,
        actor,
        "case_corrected",
        f"rectification (AVG art. 16) of {', '.join(changed)}: {correction.reason}",
        case_id=case_id,
    )
    told: list[Told] = []
    by_id = {r.id: r for r in rounds}
    partners = list(Partner)
    for (round_id, partner), fields in sorted(
        sent.items(), key=lambda item: (by_id[item[0][0]].opened_at, partners.index(item[0][1]))
    ):
        concerned = tuple(f for f in FIELDS if f in changed and f in fields)
        if not concerned:
            continue
        round_row = by_id[round_id]
        notice = SubjectCorrection(
            round_id=uuid.UUID(round_id),
            correlation_id=uuid.UUID(round_row.correlation_id),
            policy=PolicyRef(id=round_row.policy_id, version=round_row.policy_version),
            created_at=now,
            partner=partner,
            subject=Subject(
                subject_ref="jongere",
                role=SubjectRole.JONGERE,
                naam=case.naam,
                geboortedatum=case.geboortedatum,
                adres=case.adres if "adres" in fields else None,
                adres_reden=case.adres_reden if "adres" in fields else None,
            ),
            corrected=concerned,
        )
        enqueue(
            uow.session,
            question_topic(partner),
            notice,
            message_id=str(notice.message_id),
            key=message_key(notice.round_id),
            headers={"correlation_id": round_row.correlation_id},
        )
        log_processing(
            uow,
            actor,
            "subject_correction_sent",
            f"correction of {', '.join(concerned)} sent (AVG art. 19)",
            case_id=case_id,
            round_id=round_id,
            partner=partner.value,
        )
        told.append(Told(partner, round_id, concerned))
    told_partners = {t.partner for t in told}
    return CorrectionReport(
        case_id=case_id,
        corrected=changed,
        told=tuple(told),
        open_rounds=tuple(r.id for r in rounds if r.state == RoundState.OPEN),
        not_concerned=tuple(
            p for p in Partner if p in {p for _, p in sent} and p not in told_partners
        ),
    )
