"""`disclosures events capture`: record what each queue really delivers, as test fixtures."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from infra.cli.console import console

CAPTURED = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "events" / "captured"


SCANNED_PTR = "8221237"  # a typed paper PTR of the real 2025 year: what reaches the OCR queue


def capture(out: Path, source: str, scanned_source: str | None, timeout: float = 600.0) -> list[Path]:
    """Run the local stack on `source`: the nightly rule's run, then a reprocess of every document
    and a Gold rebuild request; then, on `scanned_source`, a run of one scanned PTR (the OCR
    queue). Keep the first SQS event of each kind every queue delivered."""
    from events.models import GoldRequested
    from infra.local.runtime import LocalRuntime, RuntimeOptions

    with tempfile.TemporaryDirectory() as scratch:
        runtime = LocalRuntime(RuntimeOptions(source=source, capture_dir=Path(scratch), http_port=None))
        runtime.start()
        try:
            nightly = runtime.wait_for_run(runtime.fire_nightly(), timeout_s=timeout)
            years = [int(y) for y in nightly["years"]]
            runs = [nightly,
                    runtime.wait_for_run(runtime.request_run(years, force=True, trigger="reprocess"), timeout_s=timeout),
                    runtime.wait_for_run(runtime.request(GoldRequested(years=years, reason="capture")), timeout_s=timeout)]
            failed = [f"{run['run_id']}: {run.get('status')} {run.get('failure_reason') or ''}" for run in runs
                      if run.get("status") != "succeeded"]
            if failed:  # events of a broken run are no fixtures
                raise RuntimeError(f"runs did not succeed: {failed}")
        finally:
            runtime.stop()
        if scanned_source:
            runtime = LocalRuntime(RuntimeOptions(source=scanned_source, capture_dir=Path(scratch), http_port=None))
            runtime.start()
            try:
                run = runtime.wait_for_run(runtime.request_run([2025], doc_ids=[SCANNED_PTR]), timeout_s=timeout)
                if run.get("status") != "succeeded":
                    raise RuntimeError(f"the scanned PTR's run did not succeed: {run.get('failure_reason')}")
            finally:
                runtime.stop()
        out.mkdir(parents=True, exist_ok=True)
        for old in out.glob("*.json"):
            old.unlink()
        written = []
        for path in sorted(Path(scratch).glob("*.json")):
            written.append(out / path.name)
            written[-1].write_text(path.read_text())
    return written


def register(app: typer.Typer) -> None:
    events_app = typer.Typer(help="The pipeline's events as the queues deliver them.")
    app.add_typer(events_app, name="events")

    @events_app.command("capture")
    def capture_cmd(
        out: Annotated[Path, typer.Option(help="Folder to write one SQS event per queue and kind")] = CAPTURED,
        source: Annotated[str | None, typer.Option(help="Clerk mirror folder (default: the small shared mirror; the "
                                                         "OCR queue's event comes from the real 2025 year)")] = None,
    ) -> None:
        """Run the local stack and keep the first event of each kind every queue delivered
        (tests/fixtures/events/captured/: the handler tests read them)."""
        from infra.local.runtime import SHARED_MIRROR, SHARED_YEAR

        chosen = source or str(SHARED_MIRROR)
        if not Path(chosen).is_dir() and not chosen.startswith("http"):
            console.print(f"no mirror at {chosen}: pass --source")
            raise typer.Exit(2)
        scanned = str(SHARED_YEAR) if SHARED_YEAR.is_dir() else None
        if scanned is None:
            console.print(f"no {SHARED_YEAR}: the OCR queue's events are not captured")
        for path in capture(out, chosen, scanned):
            console.print(str(path))
