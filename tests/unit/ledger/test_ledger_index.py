"""Runs are read through the ledger's sparse indexes: newest first, active runs, freshness, no scan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from events.models import (
    ApiPublished,
    DocumentFailed,
    DocumentStored,
    Envelope,
    FilingDiscovered,
    GoldRejected,
    GoldRequested,
    RunDiscovered,
    RunRequested,
)
from infra.local.template import Stack, load
from services.common import tables
from services.common.tables import RunItem
from services.ledger.ledger import Ledger
from services.ledger.queries import active_runs, last_success_finished_at, list_runs

T0 = datetime(2025, 11, 20, 7, 0, tzinfo=UTC)


def run_id(day: int) -> str:
    return (T0 + timedelta(days=day)).strftime("%Y%m%dT%H%M%SZ") + f"-{day:08x}"


def request(ledger: Ledger, rid: str) -> None:
    ledger.apply(Envelope.build(RunRequested(years=[2025], source_url="x"), run_id=rid, source="cli"))


def settle(ledger: Ledger, rid: str, docs: int = 2) -> list[Envelope]:
    """Discover `docs` documents for the run and store each: the run settles."""
    ledger.apply(Envelope.build(RunDiscovered(year=2025, index_status="changed", dispatched=docs), run_id=rid, source="discover"))
    announced = []
    for n in range(docs):
        doc = f"{n:08d}"
        ledger.apply(Envelope.build(FilingDiscovered(doc_id=doc, year=2025, filing_type="P", filer_name="x", source_url="x"),
                                    run_id=rid, source="discover"))
        ledger.apply(Envelope.build(DocumentStored(doc_id=doc, year=2025, filing_type="P", bucket="b", key="k", sha256="0" * 64,
                                                   size=1, fetch_ms=1), run_id=rid, source="fetch"))
        announced += ledger.apply(Envelope.build(DocumentFailed(doc_id=doc, year=2025, stage="extract", reason="no_rows",
                                                                message="m"), run_id=rid, source="extract"))
    return announced


def finished(rid: str, status: str, at: datetime) -> None:
    Ledger().finish(rid, status, None if status == "succeeded" else "why", expected=("running", "settled"))
    RunItem(f"RUN#{rid}", "RUN").update(actions=[RunItem.finished_at.set(at.isoformat(timespec="milliseconds"))])


def test_list_runs_is_one_query_of_the_runs_index_newest_first(ledger_table):
    ledger = Ledger()
    for day in (0, 2, 1, 3):
        request(ledger, run_id(day))
    settle(ledger, run_id(1), docs=12)  # documents and years share the table: they must not be read
    ledger_table.clear()

    runs = list_runs(limit=2)
    assert [r["run_id"] for r in runs] == [run_id(3), run_id(2)]
    assert all(r["sk"] == "RUN" and "counts" in r for r in runs)
    assert ledger_table == ["Query"]
    assert [r["run_id"] for r in list_runs(limit=10)] == [run_id(d) for d in (3, 2, 1, 0)]
    assert "Scan" not in ledger_table


def test_a_run_is_active_exactly_while_running_or_settled(ledger_table):
    ledger = Ledger()
    for day in range(4):
        request(ledger, run_id(day))
    assert [r["run_id"] for r in active_runs()] == [run_id(d) for d in (3, 2, 1, 0)]

    assert [e.event_type for e in settle(ledger, run_id(0))] == ["run.documents_settled"]
    finished(run_id(1), "succeeded", T0)
    finished(run_id(2), "failed", T0)  # the watchdog's failure
    ledger_table.clear()
    assert {r["run_id"]: r["status"] for r in active_runs()} == {run_id(3): "running", run_id(0): "settled"}
    assert "Scan" not in ledger_table

    # A late event of a finished run does not make it active again (a new worker ensures the run).
    request(Ledger(), run_id(1))
    # A failed run whose dead letters are replayed settles, and is active again until it ends.
    assert [e.event_type for e in settle(Ledger(), run_id(2))] == ["run.documents_settled"]
    assert {r["run_id"] for r in active_runs()} == {run_id(3), run_id(2), run_id(0)}
    Ledger().apply(Envelope.build(ApiPublished(gold_version="v", objects=1), run_id=run_id(2), source="publish_api"))
    assert {r["run_id"] for r in active_runs()} == {run_id(3), run_id(0)}

    # The invariant on every run item: `active` exactly when the status is not final.
    for item in RunItem.scan(RunItem.sk == "RUN"):
        assert item.entity == "RUN"
        assert (item.active == "RUN") == (item.status in ("running", "settled")), (item.run_id, item.status, item.active)


def test_freshness_is_the_latest_finish_among_succeeded_runs(ledger_table):
    ledger = Ledger()
    for day in range(4):
        request(ledger, run_id(day))
    assert last_success_finished_at() is None
    # Day 1 started after day 0 but finished first: the latest finish wins, not the latest start.
    finished(run_id(0), "succeeded", T0 + timedelta(days=1, hours=5))
    finished(run_id(1), "succeeded", T0 + timedelta(days=1, hours=1))
    finished(run_id(2), "failed", T0 + timedelta(days=2, hours=1))
    ledger_table.clear()
    assert last_success_finished_at() == (T0 + timedelta(days=1, hours=5)).isoformat(timespec="milliseconds")
    assert "Scan" not in ledger_table


def test_the_template_declares_the_indexes_of_the_model():
    props = Stack(load()).resources["LedgerTable"]["Properties"]
    assert props["GlobalSecondaryIndexes"] == tables.global_indexes(RunItem)
    declared = {(a["AttributeName"], a["AttributeType"]) for a in props["AttributeDefinitions"]}
    wanted = {(a["AttributeName"], a["AttributeType"]) for a in RunItem._get_schema()["attribute_definitions"]}
    assert declared == wanted


def test_the_local_runtime_provisions_the_indexes_from_the_template(ledger_table):
    import boto3

    from infra.local.provision import Provisioned, _tables

    class Emulator:
        @staticmethod
        def client(service: str):
            return boto3.client(service, region_name="us-east-1")

    stack = Stack(load(), name="t")
    _tables(stack, Emulator(), Provisioned())
    tables.configure(ledger="t-ledger")
    ledger = Ledger()
    for day in range(3):
        request(ledger, run_id(day))
    finished(run_id(1), "succeeded", T0)
    assert [r["run_id"] for r in list_runs(2)] == [run_id(2), run_id(1)]
    assert [r["run_id"] for r in active_runs()] == [run_id(2), run_id(0)]


def test_a_redelivered_gold_request_does_not_reopen_its_finished_run(ledger_table):
    ledger, rid = Ledger(), run_id(5)
    requested = Envelope.build(GoldRequested(years=[2025], reason="rebuild"), run_id=rid, source="cli")
    ledger.apply(requested)
    assert [r["run_id"] for r in active_runs()] == [rid]
    ledger.apply(Envelope.build(ApiPublished(gold_version="v", objects=1), run_id=rid, source="publish_api"))
    ledger.apply(requested)  # SQS delivers at least once
    [run] = list_runs(limit=1)
    assert run["status"] == "succeeded" and active_runs() == []


@pytest.mark.parametrize(("end", "status"), [
    (ApiPublished(gold_version="v", objects=1), "succeeded"),
    (GoldRejected(version="v", years=[2025], failed_checks=["volume"], report={}), "failed"),
])
def test_a_rebuild_whose_end_is_recorded_before_its_request_still_ends(ledger_table, end, status):
    """Two ledger invocations at once: the build's end may be recorded before gold.requested.
    The run ends all the same, and the late request says what it was without reopening it."""
    ledger, rid = Ledger(), run_id(6)
    [ended] = ledger.apply(Envelope.build(end, run_id=rid, source="build_gold"))
    assert ended.event_type == f"run.{status}"
    ledger.apply(Envelope.build(GoldRequested(years=[2025], reason="rebuild"), run_id=rid, source="cli"))
    [run] = list_runs(limit=1)
    assert (run["status"], run["trigger"], run["years"]) == (status, "gold", [2025])
    assert active_runs() == []
