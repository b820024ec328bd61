"""The run ledger: the only place that knows how a run is going.

Every event lands here once per delivery, possibly more than once: each count moves in a
transaction with a conditional write on the document or year item it concerns, so a duplicate
delivery changes nothing. Settlement and the final status are conditional writes too, so each
happens once; each is announced at least once: its announcement is recorded after the publish
succeeded, and one never recorded is announced again (by a redelivery, or by the watchdog). The
write that changes a run's status also sets or removes `active` (the key of the active-runs
index): a run is in that index exactly while it is running or settled.

A batch of events is recorded together (`Ledger.record`): a run's document events become one
transaction (every document item's conditional update and one update of the run item with the
summed counters) and one read of the run to see whether it settled. A duplicate's failed
condition cancels the transaction: it is dropped (counted already) and the rest written again.
Run-level events are recorded one by one, in their place in the batch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pynamodb.connection import Connection
from pynamodb.expressions.condition import Condition, size

from events.models import (
    DocumentExtracted,
    DocumentExtractRequested,
    DocumentFailed,
    DocumentNeedsOcr,
    DocumentOcrExtracted,
    DocumentStored,
    DocumentUnchanged,
    Envelope,
    FilingDiscovered,
    GoldPublished,
    GoldRejected,
    GoldRequested,
    RunDiscovered,
    RunDocumentsSettled,
    RunFailed,
    RunRequested,
    RunSucceeded,
)
from services.common.conditional import Update, apply_each, update_if
from services.common.states import DocumentState
from services.common.tables import RUN, LedgerTable, RunDocumentItem, RunItem, RunYearItem

SERVICE = "ledger"
MAX_ERRORS = 10
# The event after which nothing more happens in a run. It moves down the flow as stages land.
COMPLETES_ON = "api.published"
FINAL_STATUSES = ("succeeded", "failed")
FINAL_EVENTS = ("run.succeeded", "run.failed")


def run_pk(run_id: str) -> str:
    return RunItem.KIND.key(run_id=run_id)[0]


def run_item(run_id: str) -> RunItem:
    return RunItem.at(run_id=run_id)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class _Change:
    """What a document event writes: its document item's update iff `condition` holds (else the
    event is a duplicate, counted already), and what it adds to its run."""

    doc_id: str
    actions: list[Any]
    condition: Condition | None  # None: a filing's description, written every time, never counted
    counts: dict[str, int] = field(default_factory=dict)
    durations_ms: dict[str, int] = field(default_factory=dict)
    settles: bool = False
    error: str | None = None  # for the run's errors, once recorded

    def update(self, run_id: str) -> Update:
        return RunDocumentItem.at(run_id=run_id, doc_id=self.doc_id), self.actions, self.condition


@dataclass
class Step:
    """Some events of a batch (their positions), recorded together, and what the ledger announces
    as a result; with `error`, none of them may count as recorded (they are delivered again)."""

    run_id: str
    events: list[int]
    announced: list[Envelope] = field(default_factory=list)
    error: Exception | None = None


def _rounds(pending: list[tuple[int, _Change]]) -> list[list[tuple[int, _Change]]]:
    """Split a run's changes into rounds naming each document once (a transaction may not name an
    item twice), each document's changes in the order they came."""
    rounds: list[list[tuple[int, _Change]]] = []
    seen: Counter[str] = Counter()
    for index, change in pending:
        nth = seen[change.doc_id]
        seen[change.doc_id] += 1
        if nth == len(rounds):
            rounds.append([])
        rounds[nth].append((index, change))
    return rounds


class Ledger:
    def __init__(self) -> None:
        self._ensured: set[str] = set()

    @property
    def connection(self) -> Connection:
        """The ledger table model's own connection (one client, set up again whenever the
        tables are configured again: a new endpoint, a new table name)."""
        return RunItem._get_connection().connection

    # ------------------------------------------------------------------ entry points
    def apply(self, event: Envelope) -> list[Envelope]:
        """Record one event; return the events the ledger itself announces as a result."""
        [step] = self.record([event])
        if step.error:
            raise step.error
        return step.announced

    def record(self, events: list[Envelope]) -> Iterator[Step]:
        """Record a batch of events, in order; yield what each step recorded and announces.

        A run's document events are held and written together, before the next run-level event
        (whose logic reads what they wrote) and at the end."""
        pending: dict[str, list[tuple[int, _Change]]] = {}
        for index, event in enumerate(events):
            try:
                detail = event.detail
                self._ensure_run(event.run_id, event.occurred_at)
                change = self._change(event, detail)
            except Exception as exc:  # noqa: BLE001 - this event is delivered again
                yield Step(event.run_id, [index], error=exc)
                continue
            if change:
                pending.setdefault(event.run_id, []).append((index, change))
                continue
            yield from self._flush(pending)
            try:
                yield Step(event.run_id, [index], self._apply_run_event(event, detail))
            except Exception as exc:  # noqa: BLE001
                yield Step(event.run_id, [index], error=exc)
        yield from self._flush(pending)

    def _flush(self, pending: dict[str, list[tuple[int, _Change]]]) -> Iterator[Step]:
        for run_id, changes in pending.items():
            indexes = [index for index, _ in changes]
            try:
                announced = self._record_documents(run_id, changes)
            except Exception as exc:  # noqa: BLE001 - all delivered again: what was written counts nothing twice
                yield Step(run_id, indexes, error=exc)
                continue
            yield Step(run_id, indexes, announced)
        pending.clear()

    def _change(self, event: Envelope, detail: Any) -> _Change | None:
        """What a document event writes; None for a run-level event."""
        builders: dict[type, Callable[[Envelope, Any], _Change | None]] = {
            FilingDiscovered: self._filing,
            DocumentExtractRequested: self._filing,
            DocumentStored: self._stored,
            DocumentUnchanged: self._unchanged,
            DocumentExtracted: self._extracted,
            DocumentNeedsOcr: self._needs_ocr,
            DocumentOcrExtracted: self._ocr_extracted,
            DocumentFailed: self._failed,
        }
        build = builders.get(type(detail))
        return build(event, detail) if build else None

    def _apply_run_event(self, event: Envelope, detail: Any) -> list[Envelope]:
        handlers: dict[type, Callable[[Envelope, Any], bool | list[Envelope]]] = {
            RunRequested: self._requested,
            RunDiscovered: self._discovered,
            GoldRequested: self._gold_requested,
            GoldPublished: self._gold_published,
            GoldRejected: self._gold_rejected,
        }
        handler = handlers.get(type(detail))
        result = handler(event, detail) if handler else []
        if event.event_type == COMPLETES_ON:
            return self._finish(event.run_id, detail.gold_version, detail.written)
        if isinstance(result, list):
            return result
        # A duplicate (result False) may be the redelivery of one whose worker died after its
        # write and before announcing: check again, and announce a settlement again if need be.
        return self._check_settled(event.run_id, reannounce=not result)

    def _record_documents(self, run_id: str, pending: list[tuple[int, _Change]]) -> list[Envelope]:
        """Write a run's document changes with its counters; return what the ledger announces."""
        counted = duplicate = False
        for round_ in _rounds(pending):
            changes = [change for _, change in round_]
            duplicates = self._write(run_id, changes)
            for n, change in enumerate(changes):
                if change.condition is None:
                    continue
                counted = True
                duplicate = duplicate or n in duplicates
                if change.error and n not in duplicates:
                    self._record_error(run_id, change.error)
        if not counted:  # filings only: nothing that settles
            return []
        # Once for all of them; a duplicate among them may re-announce, as in `_apply_run_event`.
        return self._check_settled(run_id, reannounce=duplicate)

    def _write(self, run_id: str, changes: list[_Change]) -> set[int]:
        """Write changes of distinct documents and the run's counters for those that are new;
        return the positions of the duplicates (their condition did not hold: counted already)."""

        def counters(live: list[int]) -> Update | None:
            new = [changes[n] for n in live if changes[n].condition is not None]
            return self._counters(run_id, new) if new else None

        applied = apply_each([change.update(run_id) for change in changes], self.connection, summary=counters)
        return {n for n, done in enumerate(applied) if not done}

    @staticmethod
    def _counters(run_id: str, changes: list[_Change]) -> Update:
        """The run item's one update for these changes: their counters summed."""
        counts: Counter[str] = Counter()
        durations: Counter[str] = Counter()
        for change in changes:
            counts.update(change.counts)  # update() keeps a zero: the count exists, as event by event
            durations.update(change.durations_ms)
        actions = [*(RunItem.counts[name].add(value) for name, value in counts.items()),
                   *(RunItem.durations_ms[stage].add(value) for stage, value in durations.items()),
                   RunItem.updated_at.set(_now())]
        settled = sum(change.settles for change in changes)
        if settled:
            actions.append(RunItem.docs_settled.add(settled))
        return run_item(run_id), actions, None

    # ------------------------------------------------------------------ helpers
    def _ensure_run(self, run_id: str, occurred_at: str) -> None:
        if run_id in self._ensured:
            return
        # Create the run item once: a late event of a finished run must not make it active again.
        update_if((run_item(run_id), [
            RunItem.run_id.set(run_id),
            RunItem.entity.set(RUN),
            RunItem.active.set(RUN),
            RunItem.status.set("running"),
            RunItem.started_at.set(occurred_at),
            RunItem.counts.set({}),
            RunItem.durations_ms.set({}),
            RunItem.errors.set([]),
            RunItem.docs_settled.set(0),
            RunItem.docs_expected.set(0),
            RunItem.years_discovered.set(0),
        ], RunItem.status.does_not_exist()))
        self._ensured.add(run_id)

    def _transition(self, run_id: str, item: LedgerTable, item_actions: list, condition, run_actions: list) -> bool:
        """Apply item_actions to one item iff condition holds, and run_actions with it, atomically."""
        run_actions = [*run_actions, RunItem.updated_at.set(_now())]
        # A failed condition is a duplicate delivery: already counted.
        return update_if((item, item_actions, condition),
                         (run_item(run_id), run_actions, None), connection=self.connection)

    @staticmethod
    def _record_error(run_id: str, text: str) -> None:
        update_if((run_item(run_id), [RunItem.errors.set(RunItem.errors.append([text]))],
                   size(RunItem.errors) < MAX_ERRORS))

    @staticmethod
    def _count(name: str, value: int = 1):
        return RunItem.counts[name].add(value)

    # ------------------------------------------------------------------ event handlers
    def _requested(self, event: Envelope, detail: RunRequested) -> bool:
        # Once: a duplicate request must not touch the run (its updated_at is how idle it is).
        return update_if((run_item(event.run_id), [
            RunItem.trigger.set(detail.trigger),
            RunItem.years.set(detail.years),  # type: ignore[arg-type]  # pynamodb types a list of numbers as attributes
            RunItem.years_expected.set(len(detail.years)),
            RunItem.updated_at.set(_now()),
        ], RunItem.trigger.does_not_exist()))

    def _discovered(self, event: Envelope, d: RunDiscovered) -> bool:
        run_actions = [
            RunItem.years_discovered.add(1),
            RunItem.docs_expected.add(d.dispatched),
            self._count("index_rows", d.index_rows),
            self._count("filings_distinct", d.distinct_filings),
            self._count("filings_dispatched", d.dispatched),
            self._count("filings_unchanged", d.unchanged),
            self._count(f"index_{d.index_status}"),
        ]
        changed = self._transition(
            event.run_id, RunYearItem.at(run_id=event.run_id, year=d.year),
            [RunYearItem.year.set(d.year), RunYearItem.detail.set(d.model_dump()), RunYearItem.run_id.set(event.run_id)],
            RunYearItem.sk.does_not_exist(), run_actions,
        )
        if changed and d.index_status == "failed":
            self._record_error(event.run_id, f"discover {d.year}: {d.error}")
        return changed

    @staticmethod
    def _filing(event: Envelope, d: FilingDiscovered | DocumentExtractRequested) -> _Change:
        return _Change(d.doc_id, [
            RunDocumentItem.run_id.set(event.run_id),
            RunDocumentItem.doc_id.set(d.doc_id),
            RunDocumentItem.year.set(d.year),
            RunDocumentItem.filing_type.set(d.filing_type),
        ], None)

    @staticmethod
    def _document(event: Envelope, doc_id: str, actions: list, condition: Condition, **adds: Any) -> _Change:
        base = [RunDocumentItem.run_id.set(event.run_id), RunDocumentItem.doc_id.set(doc_id), RunDocumentItem.updated_at.set(_now())]
        return _Change(doc_id, base + actions, condition, **adds)

    def _stored(self, event: Envelope, d: DocumentStored) -> _Change:
        return self._document(event, d.doc_id, [RunDocumentItem.fetch.set(DocumentState.STORED)], RunDocumentItem.fetch.does_not_exist(),
                              counts={"fetch_stored": 1}, durations_ms={"fetch": d.fetch_ms})

    def _terminal(self, event: Envelope, doc_id: str, outcome: DocumentState | Literal["unchanged"], actions: list,
                  **adds: Any) -> _Change:
        """The document's last outcome in this run: the state it ended in, or unchanged (its
        bytes were already stored: nothing to do)."""
        return self._document(event, doc_id, [RunDocumentItem.terminal.set(outcome), *actions],
                              RunDocumentItem.terminal.does_not_exist(), settles=True, **adds)

    def _unchanged(self, event: Envelope, d: DocumentUnchanged) -> _Change:
        return self._terminal(event, d.doc_id, "unchanged", [RunDocumentItem.fetch.set("unchanged")],
                              counts={"fetch_unchanged": 1})

    def _extracted(self, event: Envelope, d: DocumentExtracted) -> _Change:
        outcome = DocumentState.NEEDS_OCR if isinstance(d, DocumentNeedsOcr) else DocumentState.EXTRACTED
        return self._terminal(
            event, d.doc_id, outcome, [RunDocumentItem.extract.set(outcome)],
            counts={f"extract_{outcome}": 1, "transactions": d.transactions, "pages": d.pages},
            durations_ms={"extract": d.extract_ms},
        )

    def _needs_ocr(self, event: Envelope, d: DocumentNeedsOcr) -> _Change:
        """A scanned PTR waits for the OCR stage: counted here, settled by its OCR outcome. Any
        other scanned filing (and an event from before the OCR stage, without a type) ends here."""
        if d.filing_type != "P":
            return self._extracted(event, d)
        return self._document(
            event, d.doc_id, [RunDocumentItem.extract.set(DocumentState.NEEDS_OCR)], RunDocumentItem.extract.does_not_exist(),
            counts={"extract_needs_ocr": 1, "pages": d.pages}, durations_ms={"extract": d.extract_ms},
        )

    def _ocr_extracted(self, event: Envelope, d: DocumentOcrExtracted) -> _Change:
        return self._terminal(
            event, d.doc_id, DocumentState.OCR_EXTRACTED, [RunDocumentItem.ocr.set(DocumentState.OCR_EXTRACTED)],
            counts={"ocr_extracted": 1, "transactions": d.transactions, "ocr_transactions": d.transactions,
                    "ocr_needs_review": d.needs_review, "ocr_pages": d.pages},
            durations_ms={"ocr": d.ocr_ms},
        )

    def _failed(self, event: Envelope, d: DocumentFailed) -> _Change:
        stage_attr = {"fetch": RunDocumentItem.fetch, "ocr": RunDocumentItem.ocr}.get(d.stage, RunDocumentItem.extract)
        state = DocumentState(f"{d.stage}_failed")
        return self._terminal(
            event, d.doc_id, state,
            [stage_attr.set(state), RunDocumentItem.reason.set(d.reason), RunDocumentItem.message.set(d.message[:1000])],
            counts={f"{d.stage}_failed": 1, f"failed_{d.reason}": 1},
            error=f"{d.stage} {d.doc_id}: {d.reason}: {d.message[:300]}",
        )

    def _gold_requested(self, event: Envelope, d: GoldRequested) -> list[Envelope]:
        """A rebuild outside a pipeline run: nothing to settle, it ends with the build.

        Another ledger invocation may record the build's end first: the request then only says
        what the run was, and never reopens it."""
        update_if((run_item(event.run_id), [
            RunItem.trigger.set("gold"), RunItem.years.set(d.years),  # type: ignore[arg-type]  # as above
            RunItem.years_expected.set(0),
        ], RunItem.trigger.does_not_exist()))
        update_if((run_item(event.run_id), [
            RunItem.status.set("settled"), RunItem.active.set(RUN), RunItem.settled_at.set(_now()),
        ], RunItem.status == "running"))
        return []

    def _gold_published(self, event: Envelope, d: GoldPublished) -> list[Envelope]:
        update_if((run_item(event.run_id), [RunItem.gold_version.set(d.version)], None))
        return []

    def _gold_rejected(self, event: Envelope, d: GoldRejected) -> list[Envelope]:
        reason = f"quality gate rejected gold {d.version}: {', '.join(d.failed_checks)}"
        self._record_error(event.run_id, reason)
        # Running: a rebuild whose gold.requested another ledger invocation has not recorded yet
        # (a pipeline run is settled before its build starts).
        return self.finish(event.run_id, "failed", reason, expected=("running", "settled"))

    # ------------------------------------------------------------------ settlement and completion
    def _check_settled(self, run_id: str, reannounce: bool = False) -> list[Envelope]:
        run = RunItem.get(*RunItem.KIND.key(run_id=run_id), consistent_read=True)
        if reannounce and run.status == "settled" and not run.settled_announced_at:
            return [self._settled_event(run)]
        ready = (
            run.status in ("running", "failed")
            and run.years_expected
            and (run.years_discovered or 0) >= run.years_expected
            and (run.docs_settled or 0) >= (run.docs_expected or 0)
        )
        if not ready:
            return []
        # A failed run settled by a replay is active again (build_gold and publish_api follow),
        # and its failure is over: the reason goes to the run's errors, as history.
        if not update_if((run_item(run_id), [
            RunItem.status.set("settled"), RunItem.active.set(RUN), RunItem.settled_at.set(_now()),
            RunItem.failure_reason.remove(),
        ], RunItem.status.is_in("running", "failed") & RunItem.settled_at.does_not_exist())):
            return []
        self._superseded(run)
        return [self._settled_event(run)]

    def _superseded(self, run: RunItem) -> None:
        """Keep a failure a run recovered from in its errors (its failure_reason was removed)."""
        if run.status == "failed" and run.failure_reason:
            self._record_error(run.run_id, f"recovered from: {run.failure_reason}")

    @staticmethod
    def announced(events: list[Envelope]) -> None:
        """Record that the settlements and final statuses among these events were published
        (after publishing): one whose publish failed is announced again."""
        for event in events:
            if event.event_type == "run.documents_settled":
                update_if((run_item(event.run_id), [RunItem.settled_announced_at.set(_now())], None))
            elif event.event_type in FINAL_EVENTS:
                update_if((run_item(event.run_id), [RunItem.final_announced_at.set(_now())], None))

    @staticmethod
    def _settled_event(run: RunItem) -> Envelope:
        counts = {k: int(v) for k, v in (run.counts.as_dict() if run.counts else {}).items()}
        settled = RunDocumentsSettled(years=list(run.years or []), documents=int(run.docs_expected or 0), counts=counts)
        return Envelope.build(settled, run_id=run.run_id, source=SERVICE)

    def _finish(self, run_id: str, gold_version: str, api_written: int) -> list[Envelope]:
        """The run's end, on the site's publication of its Gold version. That version is written
        here too: `gold.published` may reach another ledger invocation later than this; so is the
        number of objects the publication wrote (`api_written`, for the cost model)."""
        run = RunItem.get(*RunItem.KIND.key(run_id=run_id), consistent_read=True)
        counts = {k: int(v) for k, v in (run.counts.as_dict() if run.counts else {}).items()}
        failed_indexes = counts.get("index_failed", 0)
        status = "failed" if failed_indexes else "succeeded"
        reason = f"{failed_indexes} index(es) could not be read" if failed_indexes else None
        # A run the watchdog failed can still complete once its dead letters are replayed; a running
        # one is a rebuild whose gold.requested is not recorded yet, as in _gold_rejected.
        return self.finish(run_id, status, reason, expected=("running", "settled", "failed"),
                           gold_version=gold_version, api_written=api_written)

    def finish(self, run_id: str, status: str, reason: str | None, expected: str | tuple[str, ...],
               gold_version: str | None = None, api_written: int | None = None) -> list[Envelope]:
        """Move the run to its final status once; return run.succeeded / run.failed to announce."""
        expected = (expected,) if isinstance(expected, str) else expected
        run = RunItem.get(*RunItem.KIND.key(run_id=run_id), consistent_read=True)
        finished = datetime.now(UTC)
        # A run's failure reason is its last one's: one that ends otherwise drops an earlier reason.
        actions = [RunItem.status.set(status), RunItem.active.remove(),
                   RunItem.finished_at.set(finished.isoformat(timespec="milliseconds")),
                   RunItem.failure_reason.set(reason) if reason else RunItem.failure_reason.remove()]
        if gold_version:
            actions.append(RunItem.gold_version.set(gold_version))
        if api_written is not None:
            actions.append(RunItem.api_written.set(api_written))
        if not update_if((run_item(run_id), actions, RunItem.status.is_in(*expected))):
            # Already ended: a redelivery. Its end is announced again if its publish failed.
            return self.unannounced_end(run_id, status)
        if status == "succeeded":
            self._superseded(run)
        return [self._final_event(run, status, reason, finished)]

    def unannounced_end(self, run_id: str, status: str | None = None) -> list[Envelope]:
        """The final status (`status`, if given) of a run that ended but whose announcement was
        never recorded as published, to announce again."""
        run = RunItem.get(*RunItem.KIND.key(run_id=run_id), consistent_read=True)
        if run.status not in FINAL_STATUSES or run.final_announced_at or status not in (None, run.status):
            return []
        finished = datetime.fromisoformat(run.finished_at) if run.finished_at else datetime.now(UTC)
        return [self._final_event(run, run.status, run.failure_reason, finished)]

    @staticmethod
    def _final_event(run: RunItem, status: str, reason: str | None, finished: datetime) -> Envelope:
        counts = {k: int(v) for k, v in (run.counts.as_dict() if run.counts else {}).items()}
        if status == "succeeded":
            started = datetime.fromisoformat(run.started_at) if run.started_at else finished
            detail: RunSucceeded | RunFailed = RunSucceeded(
                counts=counts, duration_s=round((finished - started).total_seconds(), 3))
        else:
            detail = RunFailed(reason=reason or "unknown", counts=counts)
        return Envelope.build(detail, run_id=run.run_id, source=SERVICE)
