"""`disclosures`: run, operate and inspect the pipeline, locally or on AWS."""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from infra.cli import local_stack
from infra.cli.console import console, out

app = typer.Typer(help="US House financial disclosures pipeline (non-commercial use only: 5 U.S.C. 13107).",
                  no_args_is_help=True, add_completion=False)
runs_app = typer.Typer(help="Inspect the run ledger.", no_args_is_help=True)
dlq_app = typer.Typer(help="Dead-letter queues: depth, oldest message, replay.", no_args_is_help=True)
app.add_typer(runs_app, name="runs")
app.add_typer(dlq_app, name="dlq")


YearsOpt = Annotated[list[int] | None, typer.Option("--years", "-y", help="Index years (default: current and previous)")]
HttpWorkersOpt = Annotated[int, typer.Option(
    help="Processes serving the API and website, as API Gateway spreads requests over Lambda instances (1: one process)",
    min=1, max=16)]


def _summary(run: dict[str, Any]) -> dict[str, Any]:
    started, finished = run.get("started_at"), run.get("finished_at")
    duration = None
    if started and finished:
        from datetime import datetime

        duration = round((datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds(), 3)
    return {
        "run_id": run.get("run_id"),
        "status": run.get("status"),
        "years": run.get("years", []),
        "counts": run.get("counts", {}),
        "duration_s": duration,
        "failure_reason": run.get("failure_reason"),
        "errors": run.get("errors", []),
    }


def _print_run(run: dict[str, Any]) -> None:
    s = _summary(run)
    colour = {"succeeded": "green", "failed": "red"}.get(s["status"] or "", "yellow")
    out.print(f"[bold]run[/bold] {s['run_id']}  [{colour}]{s['status']}[/{colour}]  years={s['years']}  "
              f"duration={s['duration_s']}s  gold={run.get('gold_version') or '-'}")
    table = Table("count", "value", title="counts per stage and outcome")
    for key, value in sorted(s["counts"].items()):
        table.add_row(key, str(value))
    out.print(table)
    if s["failure_reason"]:
        out.print(f"[red]failure:[/red] {s['failure_reason']}")
    for error in s["errors"]:
        out.print(f"  [dim]-[/dim] {error}")


def _watch(runtime_wait, run_id: str, timeout: float, show: bool) -> dict[str, Any]:
    """Wait for a run with a progress bar of settled documents."""
    if not show:
        return runtime_wait(run_id, timeout, None)
    # The run id stays whole and the detail wraps: in a log (no terminal: 80 columns) both were cut.
    description = f"run {run_id}"
    with Progress(TextColumn("[bold]{task.description}", table_column=Column(no_wrap=True, min_width=len(description))),
                  BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.fields[detail]}", table_column=Column(overflow="fold")),
                  console=console, transient=False) as progress:
        task = progress.add_task(description, total=None, detail="waiting for discover")

        def update(run: dict[str, Any]) -> None:
            counts = run.get("counts", {})
            expected = run.get("docs_expected") or None
            detail = (f"{run.get('status')} · stored {counts.get('fetch_stored', 0)} · extracted "
                      f"{counts.get('extract_extracted', 0)} · scanned {counts.get('extract_needs_ocr', 0)} · "
                      f"OCR'd {counts.get('ocr_extracted', 0)} · failed "
                      f"{counts.get('fetch_failed', 0) + counts.get('extract_failed', 0) + counts.get('ocr_failed', 0)}")
            progress.update(task, total=expected, completed=run.get("docs_settled", 0), detail=detail)

        return runtime_wait(run_id, timeout, update)


# --------------------------------------------------------------------------- the main job
@app.command()
def demo(
    source: Annotated[str | None, typer.Option(help="Folder laid out like the Clerk's site, or a base URL")] = None,
    years: YearsOpt = None,
    once: Annotated[bool, typer.Option(help="Exit when the run ends: 0 if it succeeded")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON summary on the last line")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the run")] = 3600.0,  # the real year on a busy machine
    port: Annotated[int, typer.Option(help="Port of the local API and website (0: any free port)")] = 0,
    http_workers: HttpWorkersOpt = 2,
) -> None:
    """Bring the whole stack up on the local emulator, run what the nightly rule runs, report."""
    from infra.local.runtime import LocalRuntime, RuntimeOptions, default_source, python_notice

    options = RuntimeOptions(source=source or default_source(), http_port=port, http_workers=http_workers)
    console.print(f"[bold]source[/bold] {options.source}")
    if notice := python_notice():
        console.print(f"[yellow]{notice}[/yellow]")
    runtime = LocalRuntime(options)
    with console.status("starting the local stack (moto server, provisioning the template)"):
        runtime.start()
    assert runtime.emulator and runtime.http  # started, with HTTP (http_port is never None here)
    console.print(f"[bold]emulator[/bold] {runtime.emulator.endpoint}  [bold]clerk[/bold] {runtime.source_url}")
    console.print(f"[bold]website[/bold] {runtime.http.url}/  [bold]api[/bold] {runtime.http.url}/v1/summary  "
                  f"[bold]openapi[/bold] {runtime.http.url}/openapi.json")
    try:
        run_id = runtime.request_run(years, trigger="cli") if years else _nightly_or_mirror_years(runtime)
        run = _watch(runtime.wait_for_run, run_id, timeout, show=not as_json)
        run = runtime.run_item(run_id) or run
        if not as_json:
            _print_run(run)
        if not once and sys.stdin.isatty():
            console.print("stack is up; Ctrl-C to stop")
            _wait_for_signal()
    finally:
        runtime.stop()
    if as_json:
        print(json.dumps(_summary(run)))
    raise typer.Exit(0 if run.get("status") == "succeeded" else 1)


def _nightly_or_mirror_years(runtime) -> str:
    """What the nightly rule runs; but a mirror folder whose years the rule no longer covers
    (the shared mirror holds 2025) is run over the years it holds, so the demo keeps working."""
    from services.discover.discover import default_years

    folder = Path(runtime.options.source) / "public_disc" / "financial-pdfs"
    held = sorted(int(p.name[:4]) for p in folder.glob("[0-9][0-9][0-9][0-9]FD.zip")) if folder.is_dir() else []
    if held and not set(held) & set(default_years()):
        console.print(f"the nightly years {default_years()} are not in this mirror: running {held}")
        return runtime.request_run(held, trigger="cli")
    return runtime.fire_nightly()


def _wait_for_signal() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(1):
            pass
    except KeyboardInterrupt:
        pass


# --------------------------------------------------------------------------- stack lifecycle
StateDirOpt = Annotated[Path | None, typer.Option(
    "--state-dir", help="Where the local stack keeps its state (default: $DISCLOSURES_STATE_DIR or .disclosures/state)")]


@app.callback()
def _main(state_dir: StateDirOpt = None) -> None:
    """US House financial disclosures pipeline (non-commercial use only: 5 U.S.C. 13107)."""
    if state_dir:
        local_stack.use_state_dir(state_dir)


@app.command()
def up(
    source: Annotated[str | None, typer.Option(help="Clerk mirror folder or base URL")] = None,
    port: Annotated[int, typer.Option(help="Port of the API and website")] = 8080,
    http_workers: HttpWorkersOpt = 2,
    state_dir: StateDirOpt = None,
) -> None:
    """Start the local stack in the background: emulator, pollers, scheduler, API and website.
    Its state (buckets, tables, queued messages, the site) is kept in the state folder across
    `down`/`up`, a crash and a reboot; a run a crash interrupted goes on."""
    if state_dir:
        local_stack.use_state_dir(state_dir)
    try:
        state = local_stack.read_state()
        wanted = str(Path(source).resolve()) if source and Path(source).is_dir() else source
        if not wanted or wanted == state.get("source"):
            console.print(f"already up (pid {state['pid']}): one stack per state folder")
            _print_stack(state)
            return
        # Another source on a running stack: restart it on the new one; its state stays (the
        # mirror keeps its port, so filings queued meanwhile are fetched from the new source).
        console.print(f"restarting the stack (pid {state['pid']}) with source {wanted}; its state stays")
        local_stack.stop()
        source = wanted
    except local_stack.NoStack:
        pass
    args = (["--source", source] if source else []) + ["--port", str(port), "--http-workers", str(http_workers)]
    with console.status("starting the local stack"):
        state = local_stack.start_detached(args)
    _print_stack(state)
    from infra.local.runtime import python_notice

    if notice := python_notice():
        console.print(f"[yellow]{notice}[/yellow]")


def _print_stack(state: dict[str, Any]) -> None:
    out.print(f"website   {state['http_url']}/\napi       {state['http_url']}/v1/summary\n"
              f"openapi   {state['http_url']}/openapi.json\nemulator  {state['endpoint']}\n"
              f"clerk     {state['source_url']}\nstate     {local_stack.STATE_DIR}")


@app.command()
def down(state_dir: StateDirOpt = None) -> None:
    """Stop the local stack started by `disclosures up` (its state stays in the state folder)."""
    if state_dir:
        local_stack.use_state_dir(state_dir)
    console.print("stopped" if local_stack.stop() else "no local stack was running")


@app.command()
def reset(state_dir: StateDirOpt = None,
          yes: Annotated[bool, typer.Option("--yes", help="Do not ask")] = False) -> None:
    """Stop the local stack and wipe its state: every run, object, table and queued message."""
    if state_dir:
        local_stack.use_state_dir(state_dir)
    if not yes and not typer.confirm(f"wipe the local stack's state in {local_stack.STATE_DIR}?"):
        raise typer.Exit(1)
    removed = local_stack.reset()
    console.print(f"wiped {local_stack.STATE_DIR} ({', '.join(removed) or 'nothing was there'})")


@app.command(hidden=True)
def serve(
    state_file: Annotated[Path, typer.Option()],
    source: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int, typer.Option()] = 8080,
    http_workers: Annotated[int, typer.Option()] = 2,
) -> None:
    """Host the local stack in the foreground (what `up` runs in the background)."""
    import os

    from infra.local.runtime import LocalRuntime, RuntimeOptions, default_source

    local_stack.use_state_dir(state_file.parent)
    runtime = LocalRuntime(RuntimeOptions(source=source or local_stack.last_source() or default_source(), http_port=port,
                                          http_workers=http_workers, emulator_log=str(state_file.parent / "moto.log"), state_dir=state_file.parent))
    runtime.start()
    state = {**runtime.describe(), "pid": os.getpid()}
    tmp = state_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    tmp.replace(state_file)
    try:
        _wait_for_signal()
    finally:
        runtime.stop()
        state_file.unlink(missing_ok=True)


def _attached() -> dict[str, Any]:
    try:
        state = local_stack.read_state()
    except local_stack.NoStack as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    local_stack.attach(state)
    return state


def _request(detail, wait: bool, as_json: bool, timeout: float) -> None:
    """Publish a run-starting event, then optionally follow the run to its end."""
    from events.models import Envelope, new_run_id
    from services.common import bus

    run_id = new_run_id()
    bus.publish_one(Envelope.build(detail, run_id=run_id, source="cli"))
    console.print(f"requested run {run_id}")
    if not wait:
        print(run_id)
        return
    result = _watch(_ledger_wait, run_id, timeout, show=not as_json)
    if as_json:
        print(json.dumps(_summary(result)))
    else:
        _print_run(result)
    raise typer.Exit(0 if result.get("status") == "succeeded" else 1)


@app.command()
def run(
    years: YearsOpt = None,
    wait: Annotated[bool, typer.Option(help="Wait for the run to end and print its summary")] = False,
    force: Annotated[bool, typer.Option(help="Dispatch every filing, even those already done")] = False,
    doc: Annotated[list[str] | None, typer.Option(help="Only these DocIDs")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    timeout: float = 1800.0,
    source: Annotated[str | None, typer.Option(
        help="Another source for this run: a base URL, or a folder laid out like the Clerk's site (served by this "
             "command while it waits for the run)")] = None,
) -> None:
    """Request a run on the stack started by `disclosures up` (what the nightly rule does)."""
    from events.models import RunRequested
    from infra.local.mirror import MirrorServer
    from services.discover.discover import default_years

    state = _attached()
    mirror = None
    source_url = state["source_url"]
    if source and Path(source).is_dir():
        if not wait:
            console.print("a folder source is served by this command while the run runs: waiting for it")
            wait = True
        mirror = MirrorServer(Path(source)).start()
        source_url = mirror.url
    elif source:
        if not source.startswith(("http://", "https://")):
            console.print(f"[red]--source {source}: neither a folder nor an http(s) URL[/red]")
            raise typer.Exit(2)
        source_url = source.rstrip("/")
    request = RunRequested(years=years or default_years(), source_url=source_url, trigger="cli",
                           force=force, doc_ids=doc or [])
    try:
        _request(request, wait, as_json, timeout)
    finally:
        if mirror:
            mirror.stop()


@app.command()
def reprocess(
    year: Annotated[list[int], typer.Option("--year", help="Year(s) to re-extract and rebuild")],
    doc: Annotated[list[str] | None, typer.Option(help="Only these DocIDs")] = None,
    wait: Annotated[bool, typer.Option(help="Wait for the run to end")] = True,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    timeout: float = 1800.0,
) -> None:
    """Re-extract stored documents of a year (or some of them) and rebuild Gold; the source is not asked."""
    from events.models import RunRequested

    state = _attached()
    request = RunRequested(years=year, source_url=state["source_url"], trigger="reprocess", force=True, doc_ids=doc or [])
    _request(request, wait, as_json, timeout)


def _ledger_wait(run_id: str, timeout: float, on_progress) -> dict[str, Any]:
    from services.ledger.ledger import FINAL_STATUSES
    from services.ledger.queries import get_run

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = get_run(run_id) or {"run_id": run_id, "status": "requested"}
        if on_progress:
            on_progress(current)
        if current.get("status") in FINAL_STATUSES:
            return current
        time.sleep(0.5)
    console.print(f"[red]run {run_id} did not end within {timeout}s[/red]")
    raise typer.Exit(1)


# --------------------------------------------------------------------------- ledger
@runs_app.command("list")
def runs_list(limit: Annotated[int, typer.Option(min=1, help="How many runs")] = 20,
              as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Recent runs, newest first."""
    from services.ledger.queries import list_runs

    _attached()
    runs = list_runs(limit)
    if as_json:
        print(json.dumps([_summary(r) for r in runs]))
        return
    # Whole ids however narrow the terminal: they are what `runs show` takes.
    table = Table(Column("run_id", no_wrap=True, min_width=max((len(r["run_id"]) for r in runs), default=None)),
                  "status", "trigger", "years", "documents", "started", "duration_s")
    for r in runs:
        s = _summary(r)
        table.add_row(s["run_id"], s["status"], r.get("trigger", ""), str(s["years"]),
                      f"{r.get('docs_settled', 0)}/{r.get('docs_expected', 0)}", r.get("started_at", ""), str(s["duration_s"]))
    out.print(table)


@runs_app.command("show")
def runs_show(run_id: str, as_json: Annotated[bool, typer.Option("--json")] = False,
              documents: Annotated[bool, typer.Option(help="List every document of the run")] = False) -> None:
    """One run: status, counts, durations, errors (and its documents)."""
    from services.ledger.queries import get_run

    state = _attached()
    found = get_run(run_id)
    if found is None:
        console.print(f"[red]no run {run_id} in the ledger[/red]")
        raise typer.Exit(1)
    requests = _stack_requests(state)
    if as_json:
        from services.ledger.cost import run_cost

        print(json.dumps({**found, "cost": run_cost(found).to_dict(), "aws_requests": requests}, default=str))
        return
    _print_run(found)
    from infra.cli.ops_cmd import print_cost

    print_cost(found)
    _print_requests(requests)
    if documents:
        table = Table("doc_id", "type", "fetch", "extract", "ocr", "terminal", "reason")
        for d in found["documents"]:
            table.add_row(d.get("doc_id", ""), d.get("filing_type", ""), d.get("fetch", ""), d.get("extract", ""),
                          d.get("ocr", ""), d.get("terminal", ""), d.get("reason", ""))
        out.print(table)


def _stack_requests(state: dict[str, Any]) -> dict[str, Any] | None:
    """AWS requests by stage since the local stack started, per document settled meanwhile.
    The emulator counts per caller, not per run: with one run since `up` they are that run's."""
    import urllib.request

    from infra.local.callers import by_caller
    from services.ledger.queries import documents_settled

    try:
        rows = json.loads(urllib.request.urlopen(f"{state['endpoint']}/_local/requests", timeout=5).read())  # noqa: S310
    except OSError:
        return None
    # The counts start at zero at each `up`; the ledger's runs are kept across it.
    documents = max(0, documents_settled() - int(state.get("documents_settled_at_start") or 0))
    stages = by_caller(rows)
    return {"documents": documents, "by_stage": {
        caller: {"requests": sum(actions.values()), "per_document": round(sum(actions.values()) / documents, 2) if documents else None,
                 "actions": actions} for caller, actions in stages.items()}}


def _print_requests(requests: dict[str, Any] | None) -> None:
    if not requests:
        return
    table = Table("stage", "requests", "per document", "busiest actions",
                  title=f"AWS requests since the stack started ({requests['documents']} documents settled since)")
    for stage, info in requests["by_stage"].items():
        busiest = ", ".join(f"{a} {n}" for a, n in list(info["actions"].items())[:4])
        table.add_row(stage, str(info["requests"]), str(info["per_document"] or "-"), busiest)
    out.print(table)


# --------------------------------------------------------------------------- dead letters
@dlq_app.command("list")
def dlq_list(as_json: Annotated[bool, typer.Option("--json")] = False,
             peek: Annotated[bool, typer.Option(help="Show up to 10 messages of each non-empty DLQ")] = False,
             aws_stack: Annotated[str | None, typer.Option("--aws-stack", help="A stack deployed on AWS")] = None) -> None:
    """Depth and oldest message of every dead-letter queue."""
    from infra.cli import ops_cmd
    from infra.ops import dlq
    from services.common.aws import client

    if aws_stack:
        sqs = ops_cmd.aws_client("sqs")
        queues = ops_cmd.aws_dead_letter_queues(aws_stack)
    else:
        queues = _attached()["dead_letter_queues"]  # attach first: it points the client at the emulator
        sqs = client("sqs")
    infos = dlq.describe(sqs, queues)
    if as_json:
        print(json.dumps([i.__dict__ for i in infos]))
        return
    # Whole names however narrow the terminal: they are what `dlq replay --queue` takes.
    table = Table(Column("dead-letter queue", no_wrap=True, min_width=max((len(i.name) for i in infos), default=None)),
                  "depth", "oldest (s)", "replays to",
                  caption=f"oldest: exact, or '≥' when the queue could not be read whole ({dlq.AGE_SCAN_LIMIT} at most): "
                          "the oldest of those read")
    for i in infos:
        oldest = "" if i.oldest_age_s is None else f"{'' if i.oldest_exact else '≥ '}{i.oldest_age_s}"
        table.add_row(i.name, str(i.depth), oldest, i.source_url.rsplit("/", 1)[1])
    out.print(table)
    if peek:
        for i in infos:
            if i.depth:
                out.print_json(json.dumps(dlq.peek(sqs, i.url), default=str))


@dlq_app.command("replay")
def dlq_replay(queue: Annotated[str | None, typer.Option(help="Only this DLQ (name)")] = None,
               aws_stack: Annotated[str | None, typer.Option("--aws-stack", help="A stack deployed on AWS")] = None) -> None:
    """Move dead letters back to their source queue (after the fix); handlers are idempotent.
    On AWS SQS moves them itself (StartMessageMoveTask); locally a receive/send/delete loop."""
    from infra.ops import dlq
    from services.common.aws import client

    if aws_stack:
        from infra.cli import ops_cmd

        for name, handle in ops_cmd.dlq_replay_aws(aws_stack, queue):
            out.print(f"{name}: move task started ({handle})")
        return
    state = _attached()
    total = 0
    for source_url, dlq_url in state["dead_letter_queues"].items():
        name = dlq_url.rsplit("/", 1)[1]
        if queue and queue != name:
            continue
        moved = dlq.replay_local(client("sqs"), dlq_url, source_url)
        total += moved
        out.print(f"{name}: replayed {moved}")
    out.print(f"replayed {total} message(s)")


def _register_commands() -> None:
    from infra.cli import (
        deploy_cmd,
        events_cmd,
        faults_cmd,
        gold_cmd,
        members_cmd,
        ops_cmd,
        parse_cmd,
        schemas_cmd,
    )

    parse_cmd.register(app)
    schemas_cmd.register(app)
    gold_cmd.register(app, _attached, _request)
    members_cmd.register(app, _attached)
    deploy_cmd.register(app)
    ops_cmd.register(app, _attached)
    faults_cmd.register(app)
    events_cmd.register(app)


_register_commands()

if __name__ == "__main__":
    app()
