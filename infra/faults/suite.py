"""The fault suite: inject what goes wrong in production into the local stack, and check that
nothing is lost and nothing is counted twice.

Each scenario starts the local runtime on one emulator (reset between scenarios), serves a Clerk
mirror it builds from the shared fixtures, injects one kind of fault and reports one row per
case: what was injected, what was expected, what happened, with counts. `disclosures faults`
prints the table and exits non-zero when a row failed. Slow (minutes): not part of `make test`.
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.faults.pdfs import many_page_pdf
from infra.local.emulator import Emulator
from infra.local.mirror import MirrorServer
from infra.local.runtime import SHARED_MIRROR, LocalRuntime, RuntimeOptions
from services.common import states

YEAR = 2025
GOOD = ("20026590", "20027933", "20026658")  # real e-filed PTRs of the shared mirror
BUCKETS = ("BRONZE_BUCKET", "SILVER_BUCKET", "GOLD_BUCKET", "SITE_BUCKET")
# Enough real filings that the kill lands mid-run.
REAL_YEAR = SHARED_MIRROR.parent / "mirror-2025" / "public_disc" / "ptr-pdfs" / str(YEAR)
KILL_DOCUMENTS = 40
# The poison scenario's local clock: three times the usual, as the e2e DLQ tests run. A poison is
# dead-lettered after maxReceiveCount visibility timeouts, and the template's longest (the OCR and
# Gold queues' 5400 s) are 90 s each at the usual 60x: 30 s here.
POISON_TIME_SCALE = 180.0
PARK_SLACK_S = 30.0  # beyond the queues' own timeouts: polls, and a loaded machine
SCANNED = "8221223"  # a one-page paper PTR of 2025: the OCR stage reads it


@dataclass
class Row:
    scenario: str
    injected: str
    expected: str
    happened: str
    counts: str
    ok: bool


def _member(doc_id: str, year: int = YEAR) -> str:
    return (f"<Member><Prefix>Hon.</Prefix><Last>Doe</Last><First>Jane</First><FilingType>P</FilingType>"
            f"<StateDst>CA11</StateDst><Year>{year}</Year><FilingDate>1/15/{year}</FilingDate>"
            f"<DocID>{doc_id}</DocID></Member>")


def _index(year: int, xml: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{year}FD.xml", xml)
    return buffer.getvalue()


def build_mirror(root: Path, documents: dict[str, bytes | None], extra_indexes: dict[int, bytes] | None = None) -> Path:
    """A Clerk mirror with these PTRs in the 2025 index (None: listed, but the PDF is missing)."""
    fin, ptr = root / "public_disc" / "financial-pdfs", root / "public_disc" / "ptr-pdfs" / str(YEAR)
    ptr.mkdir(parents=True)
    fin.mkdir(parents=True)
    for doc_id, body in documents.items():
        if body is not None:
            (ptr / f"{doc_id}.pdf").write_bytes(body)
    members = "".join(_member(d) for d in documents)
    (fin / f"{YEAR}FD.zip").write_bytes(_index(YEAR, f"<FinancialDisclosure>{members}</FinancialDisclosure>"))
    for year, data in (extra_indexes or {}).items():
        (fin / f"{year}FD.zip").write_bytes(data)
    return root


def good_pdf(doc_id: str) -> bytes:
    return (SHARED_MIRROR / "public_disc" / "ptr-pdfs" / str(YEAR) / f"{doc_id}.pdf").read_bytes()


class Harness:
    """One emulator for the whole suite; a stack per scenario on a mirror the harness serves
    (so a stack can die and another take over with the same source URL)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.emulator = Emulator.start()
        self.mirror: MirrorServer | None = None
        self.stacks: list[LocalRuntime] = []

    def close(self) -> None:
        for stack in self.stacks:
            stack.stop()
        if self.mirror:
            self.mirror.stop()
        self.emulator.stop()

    def fresh(self, name: str, documents: dict[str, bytes | None], time_scale: float = RuntimeOptions.time_scale,
              **mirror: Any) -> LocalRuntime:
        """Reset the emulator and start a stack on a new mirror (on a faster local clock if asked)."""
        for stack in self.stacks:
            stack.stop()
        self.stacks = []
        if self.mirror:
            self.mirror.stop()
        self.emulator.reset()
        self.mirror = MirrorServer(build_mirror(self.workdir / name, documents, **mirror)).start()
        return self.attach(time_scale)

    def attach(self, time_scale: float = RuntimeOptions.time_scale) -> LocalRuntime:
        """A stack on the current emulator and mirror, keeping what the emulator holds."""
        assert self.mirror
        # The handlers log the faults they meet; the table says what happened, so keep stdout for it.
        stack = LocalRuntime(RuntimeOptions(source=self.mirror.url, endpoint=self.emulator.endpoint, alarms=False,
                                            env={"POWERTOOLS_LOG_LEVEL": "CRITICAL"}, time_scale=time_scale))
        stack.start()
        self.stacks.append(stack)
        return stack

    def kill(self, stack: LocalRuntime) -> None:
        stack.stop()
        self.stacks.remove(stack)


# ------------------------------------------------------------------ what "nothing lost, nothing twice" means

def documents(stack: LocalRuntime, run_id: str) -> dict[str, dict[str, Any]]:
    item = stack.run_item(run_id) or {}
    docs: dict[str, dict[str, Any]] = {}
    for doc in item.get("documents", []):
        if doc["doc_id"] in docs:
            raise AssertionError(f"{doc['doc_id']} has two ledger items in run {run_id}")
        docs[doc["doc_id"]] = doc
    return docs


def ledger_counts(stack: LocalRuntime, run_id: str) -> tuple[bool, str]:
    """Every dispatched document settled exactly once, and the outcome counts add up to them."""
    run = stack.run_item(run_id) or {}
    docs = documents(stack, run_id)
    terminal = sum(1 for d in docs.values() if d.get("terminal"))
    expected, settled = int(run.get("docs_expected") or 0), int(run.get("docs_settled") or 0)
    ok = expected == settled == len(docs) == terminal
    return ok, f"docs {len(docs)}, settled {settled}/{expected}, terminal {terminal}"


def snapshot(stack: LocalRuntime, run_ids: list[str]) -> dict[str, Any]:
    """What a duplicate must not change: the runs' ledger items and every object version."""
    s3 = stack.client("s3")
    versions = {}
    for env in BUCKETS:
        bucket = stack.provisioned.environment[env]  # type: ignore[union-attr]
        found = s3.list_object_versions(Bucket=bucket)
        versions[env] = sorted((v["Key"], v["VersionId"]) for v in found.get("Versions", []))
    return {"runs": {r: stack.run_item(r) for r in run_ids}, "versions": versions}


def diff(before: dict[str, Any], after: dict[str, Any]) -> str:
    changed = [f"run {r}" for r in before["runs"] if before["runs"][r] != after["runs"][r]]
    for env, versions in before["versions"].items():
        added = set(after["versions"][env]) - set(versions)
        if added:
            names = sorted({key for key, _ in added})
            changed.append(f"{len(added)} new object versions in {env.split('_')[0].lower()} ({', '.join(names[:4])})")
    return ", ".join(changed)


def dlq_depths(stack: LocalRuntime) -> dict[str, int]:
    """Messages per DLQ, by the short name of its work queue (`fetch` for `<stack>-fetch-dlq`)."""
    return {info.name.rsplit("-", 2)[-2]: info.depth for info in stack.dlq_info()}


def work_queues(stack: LocalRuntime) -> dict[str, str]:
    """Every queue that has a DLQ (all the template's work queues), by short name."""
    return {url.rsplit("/", 1)[1].rsplit("-", 1)[-1]: url for url in stack.provisioned.dead_letter_queues}  # type: ignore[union-attr]


def parking_time(stack: LocalRuntime) -> float:
    """How long a message every delivery fails takes, at most, to reach its DLQ: the slowest work
    queue's visibility timeout times its maxReceiveCount, plus slack."""
    sqs = stack.client("sqs")
    longest = 0.0
    for url in work_queues(stack).values():
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout", "RedrivePolicy"])
        attributes = attributes["Attributes"]
        receives = json.loads(attributes["RedrivePolicy"])["maxReceiveCount"]
        longest = max(longest, int(attributes["VisibilityTimeout"]) * int(receives))
    return longest + PARK_SLACK_S


def wait_for(predicate: Callable[[], Any], timeout_s: float) -> Any:
    """The predicate's first truthy value within the time, else its last (falsy) one."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    return predicate()


# ------------------------------------------------------------------ scenarios

def bad_source(h: Harness) -> Iterator[Row]:
    """Each bad input of the source in one run: a clear terminal failure each, the rest goes on."""
    truncated = good_pdf(GOOD[1])
    cases = {  # doc_id: (body, injected, expected reason)
        "20000001": (b"<!DOCTYPE html><html><body>Not Found</body></html>", "an HTML page served as the PDF", "not_pdf"),
        "20000002": (b"", "an empty file", "empty"),
        "20000003": (truncated[: len(truncated) // 2], "a PDF cut in half", "truncated"),
        "20000004": (None, "no PDF (404)", "source_missing"),
        "20000005": (many_page_pdf(25_000, pad_to=4_000_000), "a 4 MB PDF of 25,000 pages", "too_many_pages"),
    }
    good = _index(2024, "<FinancialDisclosure></FinancialDisclosure>")
    indexes = {2024: good[: len(good) // 2], 2023: _index(2023, "<FinancialDisclosure><Member><DocID>1</Member>")}
    stack = h.fresh("bad-source", {GOOD[0]: good_pdf(GOOD[0]), **{d: c[0] for d, c in cases.items()}},
                    extra_indexes=indexes)
    run = stack.wait_for_run(stack.request_run([2023, 2024, YEAR]), timeout_s=240)
    docs = documents(stack, run["run_id"])
    ok_ledger, counts = ledger_counts(stack, run["run_id"])
    dead = sum(dlq_depths(stack).values())
    for doc_id, (_, injected, reason) in cases.items():
        doc = docs.get(doc_id, {})
        happened = f"{doc.get('terminal')}: {doc.get('reason')}" if doc else "not in the ledger"
        scenario = "many-page PDF" if reason == "too_many_pages" else f"bad source: {reason}"
        yield Row(scenario, injected, f"failed: {reason}", happened, f"{counts}, dead letters {dead}",
                  doc.get("terminal") in states.FAILED and doc.get("reason") == reason and ok_ledger and dead == 0)
    errors = " ".join(run.get("errors") or [])
    index_ok = "discover 2024: bad_zip" in errors and "discover 2023: malformed_xml" in errors
    good_doc = docs.get(GOOD[0], {}).get("terminal")
    yield Row("bad source: index", "a truncated 2024 zip, a malformed 2023 XML",
              "both years failed with reasons, run failed, 2025 extracted",
              f"run {run['status']}, index_failed {int(run['counts'].get('index_failed', 0))}, good document {good_doc}",
              f"{counts}, dead letters {dead}",
              index_ok and run["status"] == "failed" and good_doc == "extracted" and ok_ledger and dead == 0)


def storm_503(h: Harness) -> Iterator[Row]:
    """The Clerk answers 503 to every PDF: retries, then dead letters; after it recovers a replay completes the run."""
    stack = h.fresh("storm", {d: good_pdf(d) for d in GOOD})
    assert h.mirror
    for doc_id in GOOD:
        h.mirror.faults[f"/public_disc/ptr-pdfs/{YEAR}/{doc_id}.pdf"] = 503
    run_id = stack.request_run([YEAR])
    failed = stack.wait_for_run(run_id, timeout_s=180)
    parked = dlq_depths(stack).get("fetch", 0)
    h.mirror.faults.clear()
    replayed = stack.replay_dlqs().get(f"{stack.options.stack_name}-fetch-dlq", 0)
    run = stack.wait_for_run(run_id, timeout_s=180, statuses=("succeeded",)) if replayed else failed
    ok_ledger, counts = ledger_counts(stack, run_id)
    extracted = int(run["counts"].get("extract_extracted", 0))
    yield Row("503 storm from the source", f"503 on all {len(GOOD)} PDFs, then recovery and dlq replay",
              f"run failed with fetch-dlq={len(GOOD)}; after replay succeeded, {len(GOOD)} extracted",
              f"first {failed['status']} ({failed.get('failure_reason')}), parked {parked}, replayed {replayed}, "
              f"then {run['status']}, {extracted} extracted",
              counts, failed["status"] == "failed" and parked == replayed == extracted == len(GOOD)
              and run["status"] == "succeeded" and ok_ledger and sum(dlq_depths(stack).values()) == 0)


def _duplicates(stack: LocalRuntime, run_id: str) -> dict[str, list[str]]:
    """A second copy of a message each queue already handled, as a redelivery would bring."""
    from events.models import (
        DocumentExtractRequested,
        DocumentNeedsOcr,
        Envelope,
        FilingDiscovered,
        GoldPublished,
        RunDocumentsSettled,
    )
    from services.common import keys as s3keys

    run = stack.run_item(run_id) or {}
    bronze = stack.provisioned.environment["BRONZE_BUCKET"]  # type: ignore[union-attr]
    listed = stack.client("s3").list_objects_v2(Bucket=bronze, Prefix="house-fd/pdf/").get("Contents", [])
    pdf_key = next(o["Key"] for o in listed if f"doc_id={GOOD[0]}" in o["Key"])
    parsed = s3keys.parse_pdf_key(pdf_key)
    assert parsed
    s3_event = {"Records": [{"eventName": "ObjectCreated:Put", "s3": {
        "bucket": {"name": bronze}, "object": {"key": pdf_key.replace("=", "%3D"), "size": 1}}}]}
    filing = Envelope.build(FilingDiscovered(doc_id=GOOD[0], year=YEAR, filing_type="P", filer_name="Hon. Jane Doe",
                                             source_url=f"{stack.source_url}/public_disc/ptr-pdfs/{YEAR}/{GOOD[0]}.pdf"),
                            run_id=run_id, source="discover")
    reextract = Envelope.build(DocumentExtractRequested(doc_id=GOOD[0], year=YEAR, filing_type="P", key=pdf_key,
                                                        reason="parser_version"), run_id=run_id, source="discover")
    settled = Envelope.build(RunDocumentsSettled(years=[YEAR], documents=int(run["docs_expected"]),
                                                 counts={k: int(v) for k, v in run["counts"].items()}),
                             run_id=run_id, source="ledger")
    published = Envelope.build(GoldPublished(version=run["gold_version"], years=[YEAR], row_counts={}),
                               run_id=run_id, source="build_gold")
    scanned = stack.client("s3").get_object(Bucket=stack.provisioned.environment["SILVER_BUCKET"],  # type: ignore[union-attr]
                                            Key=s3keys.document_key(YEAR, SCANNED))["Body"].read()
    record = json.loads(scanned)
    needs_ocr = Envelope.build(DocumentNeedsOcr(
        doc_id=SCANNED, year=YEAR, rendering="scanned", pages=int(record.get("pages") or 1), transactions=0,
        silver_key=s3keys.document_key(YEAR, SCANNED), parser_version=record["parser_version"], extract_ms=0,
        filing_type="P"), run_id=run_id, source="extract")
    return {
        "runs": [_original_request(stack, run_id)],
        "fetch": [filing.model_dump_json()],
        "extract": [json.dumps(s3_event), reextract.model_dump_json()],
        "ocr": [needs_ocr.model_dump_json()],
        "ledger": [filing.model_dump_json(), settled.model_dump_json()],
        "gold": [settled.model_dump_json()],
        "publish": [published.model_dump_json()],
    }


def _original_request(stack: LocalRuntime, run_id: str) -> str:
    from events.models import Envelope, RunRequested

    run = stack.run_item(run_id) or {}
    request = RunRequested(years=[int(y) for y in run["years"]], source_url=stack.source_url, trigger="cli")
    envelope = Envelope.build(request, run_id=run_id, source="cli")
    return envelope.model_dump_json()


def duplicates_and_poison(h: Harness) -> Iterator[Row]:
    """A good run, then on every queue: duplicates (nothing may change), then a poison message
    (it parks in that queue's DLQ, and a replay neither loses nor doubles it)."""
    stack = h.fresh("duplicates", {**{d: good_pdf(d) for d in GOOD},
                                   SCANNED: (REAL_YEAR / f"{SCANNED}.pdf").read_bytes()}, time_scale=POISON_TIME_SCALE)
    run_id = stack.request_run([YEAR])
    run = stack.wait_for_run(run_id, timeout_s=240)
    runs = [run_id]
    ok_ledger, counts = ledger_counts(stack, run_id)
    sqs, queues = stack.client("sqs"), work_queues(stack)
    duplicates = _duplicates(stack, run_id)
    for queue in queues:
        bodies = duplicates.get(queue)
        if not bodies:
            yield Row(f"duplicate delivery: {queue}", "-", "a duplicate of a handled message", "the suite has none for this queue",
                      "-", False)
            continue
        before = snapshot(stack, runs)
        for _ in range(2):
            for body in bodies:
                sqs.send_message(QueueUrl=queues[queue], MessageBody=body)
        stack.wait_idle()
        changed = diff(before, snapshot(stack, runs))
        dead = sum(dlq_depths(stack).values())
        yield Row(f"duplicate delivery: {queue}", f"{2 * len(bodies)} copies of handled messages",
                  "nothing changes", changed or "nothing changed", f"{counts}, dead letters {dead}",
                  not changed and dead == 0 and ok_ledger and run["status"] == "succeeded")

    before = snapshot(stack, runs)
    for url in queues.values():
        sqs.send_message(QueueUrl=url, MessageBody="poison: not an event")
    parking = parking_time(stack)
    parked = wait_for(lambda: (d := dlq_depths(stack)) and all(d.get(q, 0) >= 1 for q in queues) and d, parking)
    replayed = stack.replay_dlqs()
    wait_for(lambda: (d := dlq_depths(stack)) and all(d.get(q, 0) >= 1 for q in queues), parking)
    stack.wait_idle()
    again = dlq_depths(stack)
    changed = diff(before, snapshot(stack, runs))
    for name in queues:
        moved = replayed.get(f"{stack.options.stack_name}-{name}-dlq", 0)
        # A replay counts moves: a poison its consumer dead-letters at once (the ledger does) can
        # come back while the replay still runs and be moved again; it is still one message.
        yield Row(f"poison message: {name}", "an undecodable body, then dlq replay",
                  "parked in its DLQ (1), replayed, parked again (1), nothing else changes",
                  f"parked {(parked or {}).get(name, 0)}, replayed {moved}, parked again {again.get(name, 0)}"
                  + (f"; {changed}" if changed else ""),
                  f"dead letters {sum(again.values())}",
                  (parked or {}).get(name) == 1 and moved >= 1 and again.get(name) == 1 and not changed)
    for info in stack.dlq_info():
        sqs.purge_queue(QueueUrl=info.url)


def kill_and_resume(h: Harness) -> Iterator[Row]:
    """The whole stack dies mid-run (pollers gone, in-flight messages unacknowledged); a new one
    takes over the same emulator and finishes the run."""
    docs: dict[str, bytes | None] = {p.stem: p.read_bytes() for p in sorted(REAL_YEAR.glob("*.pdf"))[:KILL_DOCUMENTS]}
    stack = h.fresh("kill", docs)
    run_id = stack.request_run([YEAR])
    progress = wait_for(lambda: int((stack.run_item(run_id) or {}).get("docs_settled") or 0) >= 3 and stack.run_item(run_id), 120)
    settled_at_kill = int((progress or {}).get("docs_settled") or 0)
    h.kill(stack)
    try:
        resumed = h.attach()
        run = resumed.wait_for_run(run_id, timeout_s=300)
        ok_ledger, counts = ledger_counts(resumed, run_id)
        extracted = int(run["counts"].get("extract_extracted", 0))
        happened = f"killed at {settled_at_kill} settled; resumed run {run['status']}, {extracted} extracted"
        ok = run["status"] == "succeeded" and extracted == len(docs) and ok_ledger
    except Exception as exc:  # noqa: BLE001 - the row reports whatever stopped the resume
        happened, counts, ok = f"killed at {settled_at_kill} settled; resume failed: {type(exc).__name__}: {str(exc)[:160]}", "-", False
    yield Row("kill of the stack mid-run, resume", f"all pollers stopped mid-run ({len(docs)} documents), new stack started",
              f"run succeeded, {len(docs)} extracted, each once", happened, counts, ok)


SCENARIOS: dict[str, Callable[[Harness], Iterator[Row]]] = {
    "bad-source": bad_source,
    "storm": storm_503,
    "duplicates-poison": duplicates_and_poison,
    "kill": kill_and_resume,
}


@contextmanager
def harness() -> Iterator[Harness]:
    workdir = Path(tempfile.mkdtemp(prefix="disclosures-faults-"))
    h = Harness(workdir)
    try:
        yield h
    finally:
        h.close()
        shutil.rmtree(workdir, ignore_errors=True)


def run(names: list[str] | None = None, on_row: Callable[[Row], None] | None = None) -> list[Row]:
    """Run the scenarios (all by default); a scenario that crashes is a failed row, not an abort."""
    rows: list[Row] = []
    with harness() as h:
        for name in names or list(SCENARIOS):
            try:
                for row in SCENARIOS[name](h):
                    rows.append(row)
                    if on_row:
                        on_row(row)
            except Exception as exc:  # noqa: BLE001 - reported as the scenario's failure
                row = Row(name, "-", "the scenario runs", f"crashed: {type(exc).__name__}: {str(exc)[:200]}", "-", False)
                rows.append(row)
                if on_row:
                    on_row(row)
    return rows
