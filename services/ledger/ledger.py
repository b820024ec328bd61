"""The run ledger: the only place that knows how a run is going.

Every event lands here once per delivery, possibly more than once: each count moves in a
transaction with a conditional write on the document or year item it concerns, so a duplicate
delivery changes nothing. Settlement and the final status are conditional writes too, so each
is announced exactly once. The write that changes a run's status also sets or removes `active`
(the key of the active-runs index): a run is in that index exactly while it is running or settled.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pynamodb.connection import Connection
from pynamodb.expressions.condition import size

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
from services.common.conditional import update_if
from services.common.tables import RUN, RUN_DOCUMENT, RUN_ITEM, RUN_YEAR, LedgerItem

SERVICE = "ledger"
MAX_ERRORS = 10
# The event after which nothing more happens in a run. It moves down the flow as stages land.
COMPLETES_ON = "api.published"


def run_pk(run_id: str) -> str:
    return RUN_ITEM.key(run_id=run_id)[0]


def run_item(run_id: str) -> LedgerItem:
    return LedgerItem(*RUN_ITEM.key(run_id=run_id))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Ledger:
    def __init__(self) -> None:
        self._ensured: set[str] = set()

    @property
    def connection(self) -> Connection:
        """The ledger table model's own connection (one client, set up again whenever the
        tables are configured again: a new endpoint, a new table name)."""
        return LedgerItem._get_connection().connection

    # ------------------------------------------------------------------ entry point
    def apply(self, event: Envelope) -> list[Envelope]:
        """Record one event; return the events the ledger itself announces as a result."""
        detail = event.typed()  # before any write: an event that fails validation makes no run
        self._ensure_run(event.run_id, event.occurred_at)
        handler = {
            RunRequested: self._requested,
            RunDiscovered: self._discovered,
            FilingDiscovered: self._filing,
            DocumentExtractRequested: self._filing,
            DocumentStored: self._stored,
            DocumentUnchanged: self._unchanged,
            DocumentExtracted: self._extracted,
            DocumentNeedsOcr: self._needs_ocr,
            DocumentOcrExtracted: self._ocr_extracted,
            DocumentFailed: self._failed,
            GoldRequested: self._gold_requested,
            GoldPublished: self._gold_published,
            GoldRejected: self._gold_rejected,
        }.get(type(detail))
        result = handler(event, detail) if handler else []
        if event.event_type == COMPLETES_ON:
            return self._finish(event.run_id)
        if isinstance(result, list):
            return result
        if result is None:
            return []
        # A duplicate (result False) may be the redelivery of one whose worker died after its
        # write and before announcing: check again, and announce a settlement again if need be.
        return self._check_settled(event.run_id, reannounce=not result)

    # ------------------------------------------------------------------ helpers
    def _ensure_run(self, run_id: str, occurred_at: str) -> None:
        if run_id in self._ensured:
            return
        # Create the run item once: a late event of a finished run must not make it active again.
        update_if((run_item(run_id), [
            LedgerItem.run_id.set(run_id),
            LedgerItem.entity.set(RUN),
            LedgerItem.active.set(RUN),
            LedgerItem.status.set("running"),
            LedgerItem.started_at.set(occurred_at),
            LedgerItem.counts.set({}),
            LedgerItem.durations_ms.set({}),
            LedgerItem.errors.set([]),
            LedgerItem.docs_settled.set(0),
            LedgerItem.docs_expected.set(0),
            LedgerItem.years_discovered.set(0),
        ], LedgerItem.status.does_not_exist()))
        self._ensured.add(run_id)

    def _transition(self, run_id: str, key: tuple[str, str], item_actions: list, condition, run_actions: list) -> bool:
        """Apply item_actions to one item iff condition holds, and run_actions with it, atomically."""
        run_actions = [*run_actions, LedgerItem.updated_at.set(_now())]
        # A failed condition is a duplicate delivery: already counted.
        return update_if((LedgerItem(*key), item_actions, condition),
                         (run_item(run_id), run_actions, None), connection=self.connection)

    @staticmethod
    def _record_error(run_id: str, text: str) -> None:
        update_if((run_item(run_id), [LedgerItem.errors.set(LedgerItem.errors.append([text]))],
                   size(LedgerItem.errors) < MAX_ERRORS))

    @staticmethod
    def _count(name: str, value: int = 1):
        return LedgerItem.counts[name].add(value)

    # ------------------------------------------------------------------ event handlers
    def _requested(self, event: Envelope, detail: RunRequested) -> bool:
        # Once: a duplicate request must not touch the run (its updated_at is how idle it is).
        return update_if((run_item(event.run_id), [
            LedgerItem.trigger.set(detail.trigger),
            LedgerItem.years.set(detail.years),
            LedgerItem.years_expected.set(len(detail.years)),
            LedgerItem.updated_at.set(_now()),
        ], LedgerItem.trigger.does_not_exist()))

    def _discovered(self, event: Envelope, d: RunDiscovered) -> bool:
        run_actions = [
            LedgerItem.years_discovered.add(1),
            LedgerItem.docs_expected.add(d.dispatched),
            self._count("index_rows", d.index_rows),
            self._count("filings_distinct", d.distinct_filings),
            self._count("filings_dispatched", d.dispatched),
            self._count("filings_unchanged", d.unchanged),
            self._count(f"index_{d.index_status}"),
        ]
        changed = self._transition(
            event.run_id, RUN_YEAR.key(run_id=event.run_id, year=d.year),
            [LedgerItem.year.set(d.year), LedgerItem.detail.set(d.model_dump()), LedgerItem.run_id.set(event.run_id)],
            LedgerItem.sk.does_not_exist(), run_actions,
        )
        if changed and d.index_status == "failed":
            self._record_error(event.run_id, f"discover {d.year}: {d.error}")
        return changed

    def _filing(self, event: Envelope, d: FilingDiscovered | DocumentExtractRequested) -> None:
        LedgerItem(*RUN_DOCUMENT.key(run_id=event.run_id, doc_id=d.doc_id)).update(
            actions=[
                LedgerItem.run_id.set(event.run_id),
                LedgerItem.doc_id.set(d.doc_id),
                LedgerItem.year.set(d.year),
                LedgerItem.filing_type.set(d.filing_type),
            ]
        )
        return None

    def _doc_update(self, event: Envelope, doc_id: str, actions: list, condition, run_actions: list) -> bool:
        base = [LedgerItem.run_id.set(event.run_id), LedgerItem.doc_id.set(doc_id), LedgerItem.updated_at.set(_now())]
        return self._transition(event.run_id, RUN_DOCUMENT.key(run_id=event.run_id, doc_id=doc_id), base + actions,
                                condition, run_actions)

    def _stored(self, event: Envelope, d: DocumentStored) -> bool:
        return self._doc_update(
            event, d.doc_id, [LedgerItem.fetch.set("stored")], LedgerItem.fetch.does_not_exist(),
            [self._count("fetch_stored"), LedgerItem.durations_ms["fetch"].add(d.fetch_ms)],
        )

    def _terminal(self, event: Envelope, doc_id: str, outcome: str, actions: list, counts: list) -> bool:
        return self._doc_update(
            event, doc_id, [LedgerItem.terminal.set(outcome), *actions], LedgerItem.terminal.does_not_exist(),
            [LedgerItem.docs_settled.add(1), *counts],
        )

    def _unchanged(self, event: Envelope, d: DocumentUnchanged) -> bool:
        return self._terminal(event, d.doc_id, "unchanged", [LedgerItem.fetch.set("unchanged")], [self._count("fetch_unchanged")])

    def _extracted(self, event: Envelope, d: DocumentExtracted) -> bool:
        outcome = "needs_ocr" if isinstance(d, DocumentNeedsOcr) else "extracted"
        return self._terminal(
            event, d.doc_id, outcome, [LedgerItem.extract.set(outcome)],
            [self._count(f"extract_{outcome}"), self._count("transactions", d.transactions),
             self._count("pages", d.pages), LedgerItem.durations_ms["extract"].add(d.extract_ms)],
        )

    def _needs_ocr(self, event: Envelope, d: DocumentNeedsOcr) -> bool:
        """A scanned PTR waits for the OCR stage: counted here, settled by its OCR outcome. Any
        other scanned filing (and an event from before the OCR stage, without a type) ends here."""
        if d.filing_type != "P":
            return self._extracted(event, d)
        return self._doc_update(
            event, d.doc_id, [LedgerItem.extract.set("needs_ocr")], LedgerItem.extract.does_not_exist(),
            [self._count("extract_needs_ocr"), self._count("pages", d.pages),
             LedgerItem.durations_ms["extract"].add(d.extract_ms)],
        )

    def _ocr_extracted(self, event: Envelope, d: DocumentOcrExtracted) -> bool:
        return self._terminal(
            event, d.doc_id, "ocr_extracted", [LedgerItem.ocr.set("extracted")],
            [self._count("ocr_extracted"), self._count("transactions", d.transactions),
             self._count("ocr_transactions", d.transactions), self._count("ocr_needs_review", d.needs_review),
             self._count("ocr_pages", d.pages), LedgerItem.durations_ms["ocr"].add(d.ocr_ms)],
        )

    def _failed(self, event: Envelope, d: DocumentFailed) -> bool:
        stage_attr = {"fetch": LedgerItem.fetch, "ocr": LedgerItem.ocr}.get(d.stage, LedgerItem.extract)
        changed = self._terminal(
            event, d.doc_id, "failed",
            [stage_attr.set("failed"), LedgerItem.reason.set(d.reason), LedgerItem.message.set(d.message[:1000])],
            [self._count(f"{d.stage}_failed"), self._count(f"failed_{d.reason}")],
        )
        if changed:
            self._record_error(event.run_id, f"{d.stage} {d.doc_id}: {d.reason}: {d.message[:300]}")
        return changed

    def _gold_requested(self, event: Envelope, d: GoldRequested) -> list[Envelope]:
        """A rebuild outside a pipeline run: nothing to settle, it ends with the build."""
        # Only from running: a redelivery after the build finished must not reopen the run.
        update_if((run_item(event.run_id), [
            LedgerItem.trigger.set("gold"), LedgerItem.years.set(d.years), LedgerItem.years_expected.set(0),
            LedgerItem.status.set("settled"), LedgerItem.active.set(RUN), LedgerItem.settled_at.set(_now()),
        ], LedgerItem.status == "running"))
        return []

    def _gold_published(self, event: Envelope, d: GoldPublished) -> list[Envelope]:
        run_item(event.run_id).update(actions=[LedgerItem.gold_version.set(d.version)])
        return []

    def _gold_rejected(self, event: Envelope, d: GoldRejected) -> list[Envelope]:
        reason = f"quality gate rejected gold {d.version}: {', '.join(d.failed_checks)}"
        self._record_error(event.run_id, reason)
        return self.finish(event.run_id, "failed", reason, expected="settled")

    # ------------------------------------------------------------------ settlement and completion
    def _check_settled(self, run_id: str, reannounce: bool = False) -> list[Envelope]:
        run = LedgerItem.get(*RUN_ITEM.key(run_id=run_id), consistent_read=True)
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
            LedgerItem.status.set("settled"), LedgerItem.active.set(RUN), LedgerItem.settled_at.set(_now()),
            LedgerItem.failure_reason.remove(),
        ], LedgerItem.status.is_in("running", "failed") & LedgerItem.settled_at.does_not_exist())):
            return []
        self._superseded(run)
        return [self._settled_event(run)]

    def _superseded(self, run: LedgerItem) -> None:
        """Keep a failure a run recovered from in its errors (its failure_reason was removed)."""
        if run.status == "failed" and run.failure_reason:
            self._record_error(run.run_id, f"recovered from: {run.failure_reason}")

    @staticmethod
    def announced(events: list[Envelope]) -> None:
        """Record that the settlements among these events were published (after publishing)."""
        for event in events:
            if event.event_type == "run.documents_settled":
                run_item(event.run_id).update(actions=[LedgerItem.settled_announced_at.set(_now())])

    @staticmethod
    def _settled_event(run: LedgerItem) -> Envelope:
        counts = {k: int(v) for k, v in (run.counts.as_dict() if run.counts else {}).items()}
        settled = RunDocumentsSettled(years=list(run.years or []), documents=int(run.docs_expected or 0), counts=counts)
        return Envelope.build(settled, run_id=run.run_id, source=SERVICE)

    def _finish(self, run_id: str) -> list[Envelope]:
        run = LedgerItem.get(*RUN_ITEM.key(run_id=run_id), consistent_read=True)
        counts = {k: int(v) for k, v in (run.counts.as_dict() if run.counts else {}).items()}
        failed_indexes = counts.get("index_failed", 0)
        status = "failed" if failed_indexes else "succeeded"
        reason = f"{failed_indexes} index(es) could not be read" if failed_indexes else None
        # A run the watchdog failed can still complete once its dead letters are replayed.
        return self.finish(run_id, status, reason, expected=("settled", "failed"))

    def finish(self, run_id: str, status: str, reason: str | None, expected: str | tuple[str, ...]) -> list[Envelope]:
        """Move the run to its final status once; return run.succeeded / run.failed to announce."""
        expected = (expected,) if isinstance(expected, str) else expected
        run = LedgerItem.get(*RUN_ITEM.key(run_id=run_id), consistent_read=True)
        finished = datetime.now(UTC)
        # A run's failure reason is its last one's: one that ends otherwise drops an earlier reason.
        actions = [LedgerItem.status.set(status), LedgerItem.active.remove(),
                   LedgerItem.finished_at.set(finished.isoformat(timespec="milliseconds")),
                   LedgerItem.failure_reason.set(reason) if reason else LedgerItem.failure_reason.remove()]
        if not update_if((run_item(run_id), actions, LedgerItem.status.is_in(*expected))):
            return []
        if status == "succeeded":
            self._superseded(run)
        counts = {k: int(v) for k, v in (run.counts.as_dict() if run.counts else {}).items()}
        if status == "succeeded":
            started = datetime.fromisoformat(run.started_at) if run.started_at else finished
            detail = RunSucceeded(counts=counts, duration_s=round((finished - started).total_seconds(), 3))
        else:
            detail = RunFailed(reason=reason or "unknown", counts=counts)
        return [Envelope.build(detail, run_id=run_id, source=SERVICE)]
