"""Watermarks: what has been seen and done. Every write that decides work is conditional."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import EllipsisType
from typing import Any, TypeVar

from pynamodb.exceptions import DoesNotExist
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from services.common import states
from services.common.conditional import Update, apply_each, update_if
from services.common.states import DocumentState
from services.common.tables import Breaker, FilingMark, IndexMark, WatermarksTable

log = logging.getLogger(__name__)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


M = TypeVar("M", bound=WatermarksTable)


def _get(model: type[M], **parts: Any) -> M | None:
    try:
        return model.get(*model.KIND.key(**parts), consistent_read=True)
    except DoesNotExist:
        return None


def filing_watermarks(year: int) -> dict[str, FilingMark]:
    pk, prefix = FilingMark.KIND.key(year=year, doc_id="")
    items = FilingMark.query(pk, FilingMark.sk.startswith(prefix), consistent_read=True)
    return {item.sk.removeprefix(prefix): item for item in items}


# A filing whose source document failed (`states.RETRIED`) is asked for again on a back-off
# schedule: 1 day after an attempt, then 2, 4, ...
RETRY_FIRST = timedelta(days=1)
RETRY_CAP = timedelta(days=32)


def retry_delay(attempt: int) -> timedelta:
    """How long after its `attempt`-th attempt (1-based) a failed filing waits for the next."""
    return min(RETRY_FIRST * 2 ** min(max(attempt - 1, 0), 16), RETRY_CAP)


def retry_due(mark: FilingMark, at: datetime | None = None) -> bool:
    """A failed filing whose next attempt is due (one failed before the schedule: a day after)."""
    at = at or datetime.now(UTC)
    if mark.status not in states.RETRIED:
        return False
    if mark.next_attempt_at is None:
        return mark.updated_at is None or datetime.fromisoformat(mark.updated_at) <= at - RETRY_FIRST
    return datetime.fromisoformat(mark.next_attempt_at) <= at


def next_attempt(mark: FilingMark | None, fingerprint: str, run_id: str) -> int:
    """The attempt a claim of this filing by this run is: a redelivery repeats the run's own,
    a retry of the same failed version counts on, anything else starts again at 1."""
    if mark is None or mark.fingerprint != fingerprint or not mark.attempts:
        return 1
    return int(mark.attempts) if mark.run_id == run_id else int(mark.attempts) + 1


@dataclass(frozen=True)
class Claim:
    """A run's claim of one filing version (see `claim_filings`)."""

    year: int
    doc_id: str
    fingerprint: str
    run_id: str
    force: bool = False
    attempt: int = 1


def _claim_update(claim: Claim) -> Update:
    item = FilingMark.at(year=claim.year, doc_id=claim.doc_id)
    at = datetime.now(UTC)
    stamp = at.isoformat(timespec="seconds")
    condition = None
    if not claim.force:
        failed = _status_in(states.RETRIED)
        condition = (
            FilingMark.fingerprint.does_not_exist()
            | (FilingMark.fingerprint != claim.fingerprint)
            | (FilingMark.run_id == claim.run_id)
            | (failed & (FilingMark.next_attempt_at <= stamp))
            | (failed & FilingMark.next_attempt_at.does_not_exist())
        )
    return (item, [
        FilingMark.fingerprint.set(claim.fingerprint),
        FilingMark.run_id.set(claim.run_id),
        FilingMark.attempts.set(claim.attempt),
        FilingMark.next_attempt_at.set((at + retry_delay(claim.attempt)).isoformat(timespec="seconds")),
        FilingMark.updated_at.set(stamp),
    ], condition)


def claim_filings(claims: list[Claim]) -> list[bool]:
    """Claim each new or changed filing, or failed one whose retry is due, for its run: True
    for each claimed. False when another run already claimed that exact version; a redelivery
    to the same run claims again, so nothing is lost on a crash. A claim schedules the attempt
    after its own: should it fail, the filing is due again then, and a second run racing for the
    same retry loses. A year's claims go a hundred to a request."""
    return apply_each([_claim_update(c) for c in claims], FilingMark._get_connection().connection)


def _status_in(wanted: set[DocumentState] | frozenset[DocumentState]) -> Condition:
    """The filing's status is one of `wanted`, in any spelling a watermark may hold."""
    return FilingMark.status.is_in(*states.stored_spellings(frozenset(wanted)))


def move(year: int, doc_id: str, state: DocumentState, *, only_new_bytes: bool = False, of_held_bytes: bool = False,
         only_unread: bool = False, only_from: DocumentState | None | EllipsisType = ..., **fields: str | None) -> bool:
    """Move a filing to `state` with `fields` (None removes one), iff `states.TRANSITIONS`
    allows it from the state it is in. False when it does not: the filing moved on meanwhile
    (newer bytes were stored, or their fetch failed), and this outcome is about older bytes.
    `only_new_bytes`: the move is only for bytes (the `sha256` field) the filing does not hold yet.
    `of_held_bytes`: an outcome about the bytes `sha256` names, refused when the filing holds others.
    `only_unread`: the move is refused when the filing already holds a read of these bytes by this
    parser version (the `sha256` and `parser_version` fields): the outcome is a duplicate's.
    `only_from`: the move is refused unless the filing is in that state (None: has none), the
    state its `fields` were computed from."""
    actions: list[Action] = [FilingMark.status.set(state), FilingMark.updated_at.set(now())]
    if state is not DocumentState.FETCH_FAILED:  # the state kept through a failed fetch is over
        fields = {"read_status": None, "read_reason": None, **fields}
    for name, value in fields.items():
        attr = getattr(FilingMark, name)
        actions.append(attr.set(value) if value is not None else attr.remove())
    condition = _status_in(states.sources(state))
    if state in states.TRANSITIONS[None]:
        condition = FilingMark.status.does_not_exist() | condition
    if only_new_bytes:
        condition &= FilingMark.sha256.does_not_exist() | (FilingMark.sha256 != fields["sha256"])
    if of_held_bytes:
        condition &= FilingMark.sha256.does_not_exist() | (FilingMark.sha256 == fields["sha256"])
    if only_unread:
        condition &= ~(_status_in(states.READ)
                       & (FilingMark.sha256 == fields["sha256"]) & (FilingMark.parser_version == fields["parser_version"]))
    if only_from is None:
        condition &= FilingMark.status.does_not_exist()
    elif only_from is not ...:
        condition &= _status_in({only_from})
    if update_if((FilingMark.at(year=year, doc_id=doc_id), actions, condition)):
        return True
    # Bytes it already holds, or already read (a duplicate), or not the state the caller read
    # (it reads again): nothing to say.
    if not (only_new_bytes or only_unread or only_from is not ...):
        log.warning("filing %s/%s not moved to %s: it moved on since (newer bytes, or their fetch failed)",
                    year, doc_id, state.value)
    return False


def note_fetch_of_held_bytes(year: int, doc_id: str, run_id: str, *, sha256: str, bronze_key: str) -> bool:
    """A run's fetch got the bytes the filing already holds: note that run (and the key the bytes
    are stored under) and leave the state alone. False when the filing holds other bytes by now,
    or its last fetch failed: that failure is not this fetch's outcome to announce again."""
    actions: list[Action] = [FilingMark.fetch_run.set(run_id), FilingMark.bronze_key.set(bronze_key),
                             FilingMark.updated_at.set(now())]
    return update_if((FilingMark.at(year=year, doc_id=doc_id), actions,
                      (FilingMark.sha256 == sha256) & ~_status_in({DocumentState.FETCH_FAILED})))


def restore_read(year: int, doc_id: str, run_id: str, *, sha256: str, bronze_key: str, mark: FilingMark) -> bool:
    """A run's fetch got the bytes the filing holds after a fetch of them failed: their state
    kept in `mark` (stored, or how they read) is the filing's state again, and this run's fetch
    is noted. False when the filing moved on since `mark` was read.

    The one move outside `states.TRANSITIONS` (which lets nothing but a fetch leave
    fetch_failed): the state comes back for the very bytes it was about."""
    read = mark.read_status
    actions: list[Action] = [
        FilingMark.status.set(read), FilingMark.fetch_run.set(run_id), FilingMark.bronze_key.set(bronze_key),
        FilingMark.updated_at.set(now()), FilingMark.fetch_message.remove(), FilingMark.read_status.remove(),
        FilingMark.read_reason.remove(),
        FilingMark.reason.set(mark.read_reason) if mark.read_reason else FilingMark.reason.remove(),
    ]
    condition = (_status_in({DocumentState.FETCH_FAILED}) & (FilingMark.sha256 == sha256)
                 & (FilingMark.read_status == read))
    return update_if((FilingMark.at(year=year, doc_id=doc_id), actions, condition))


def filing(year: int, doc_id: str) -> FilingMark | None:
    return _get(FilingMark, year=year, doc_id=doc_id)


def index_state(year: int) -> IndexMark | None:
    return _get(IndexMark, year=year)


def record_index(year: int, etag: str | None, sha256: str, key: str) -> None:
    IndexMark(*IndexMark.KIND.key(year=year), etag=etag, sha256=sha256, bronze_key=key, updated_at=now()).save()


# A fetcher reads the breaker at most this often (not once per document): another fetcher's trip
# reaches it within these seconds, its own at once.
BREAKER_READ_EVERY_S = 5.0
_breaker_seen: dict[str, float] = {}  # read_at (monotonic), blocked_until (epoch)


def breaker_open(now: float | None = None) -> bool:
    if time.monotonic() - _breaker_seen.get("read_at", -BREAKER_READ_EVERY_S) >= BREAKER_READ_EVERY_S:
        item = _get(Breaker)
        _breaker_seen.update(read_at=time.monotonic(), blocked_until=float(item.blocked_until or 0) if item else 0.0)
    return _breaker_seen["blocked_until"] > (now or time.time())


def trip_breaker(seconds: int, reason: str) -> None:
    """After a 403 every fetcher stops asking the source until the breaker closes again."""
    blocked_until = time.time() + seconds
    Breaker(*Breaker.KIND.key(), blocked_until=blocked_until, reason=reason, updated_at=now()).save()
    _breaker_seen.update(read_at=time.monotonic(), blocked_until=blocked_until)


def forget_breaker() -> None:
    """Read the breaker again at the next check (a new stack, a test that reset it)."""
    _breaker_seen.clear()
