"""Recording afwegingskader criteria on a case after its registration.

The kernteam's judgement changes: a youth may come to meet a BIT criterion (and then may be
labelled rood), or a criterion recorded earlier may no longer hold. The recorded criteria
must keep admitting the case's track and label (the policy decides); a change that would not
is refused, naming the label to go to first.
"""

from __future__ import annotations

from collections.abc import Iterable

from contracts.enums import Colour, Criterion, Track
from contracts.policy import Policy
from handlers.cases import get_case
from handlers.db.uow import UnitOfWork
from handlers.errors import CaseRejected
from handlers.processing_log import log_processing
from handlers.reasons import check_reason

__all__ = ["REASON_MIN_CHARS", "record_criteria"]

REASON_MIN_CHARS = 10


async def record_criteria(
    uow: UnitOfWork,
    policy: Policy,
    case_id: str,
    *,
    add: Iterable[Criterion] = (),
    remove: Iterable[Criterion] = (),
    reason: str,
    actor: str,
) -> tuple[Criterion, ...]:
    """Add and remove criteria; returns the criteria now recorded. Caller commits."""
    why = check_reason(reason, "reason", REASON_MIN_CHARS)
    added, removed = set(add), set(remove)
    if added & removed:
        both = ", ".join(sorted(c.value for c in added & removed))
        raise CaseRejected("criterium", f"{both} is both added and removed: choose one")
    case = await get_case(uow, case_id)
    if case.left_on is not None:
        raise CaseRejected(
            "criterium", f"the youth left the approach on {case.left_on}: criteria no longer apply"
        )
    before = {Criterion(c) for c in case.criteria}
    after = (before | added) - removed
    if after == before:
        raise CaseRejected("criterium", "these criteria are recorded already: nothing changes")
    if not after:
        raise CaseRejected("criterium", "a case keeps at least one criterion")
    track = Track(case.track)
    refused = (
        policy.refuses_label(track, Colour(case.colour), after)
        if case.colour is not None
        else policy.refuses_case(track, after)
    )
    if refused is not None:
        label = f" {case.colour}" if case.colour else ""
        raise CaseRejected(
            "criterium",
            f"without them the case cannot stay{label}: {refused}; relabel it first "
            f"(`iaj case relabel {case.id} --kleur ... --reason ...`)",
        )
    now_recorded = tuple(c for c in Criterion if c in after)  # the policy file's order
    case.criteria = [c.value for c in now_recorded]
    changes = [f"+{c.value}" for c in sorted(after - before)]
    changes += [f"-{c.value}" for c in sorted(before - after)]
    log_processing(uow, actor, "criteria_recorded", f"{' '.join(changes)}: {why}", case_id=case.id)
    return now_recorded
