"""CLI command: `faults` runs the fault suite on a local stack of its own and prints its table."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from infra.cli.console import console, out


def faults(
    only: Annotated[list[str] | None, typer.Option("--only", help="Run only this scenario (repeatable)")] = None,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the table as Markdown (for docs/faults.md)")] = False,
) -> None:
    """Inject faults into a local stack of its own (duplicates, poison, kill, bad source, 503 storm,
    many-page PDF) and print what happened; exits 1 when something was lost or counted twice."""
    from infra.faults import suite

    unknown = set(only or []) - set(suite.SCENARIOS)
    if unknown:
        typer.echo(f"error: unknown scenario {sorted(unknown)}; known: {sorted(suite.SCENARIOS)}", err=True)
        raise typer.Exit(2)
    with console.status("fault suite running (minutes)") as status:
        rows = suite.run(only, on_row=lambda row: status.update(f"{'ok' if row.ok else 'FAILED'}: {row.scenario}"))
    if markdown:
        out.print("| scenario | injected | expected | happened | counts | result |\n|---|---|---|---|---|---|", markup=False)
        for row in rows:
            cells = (row.scenario, row.injected, row.expected, row.happened, row.counts, "ok" if row.ok else "FAILED")
            out.print("| " + " | ".join(c.replace("|", "/") for c in cells) + " |", markup=False, highlight=False)
    table = Table(title="Fault suite")
    for column in ("scenario", "injected", "expected", "happened", "counts", "result"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row.scenario, row.injected, row.expected, row.happened, row.counts,
                      "[green]ok[/]" if row.ok else "[red]FAILED[/]")
    if not markdown:
        out.print(table)
    failed = [row.scenario for row in rows if not row.ok]
    out.print(f"{len(rows) - len(failed)}/{len(rows)} rows held" + (f"; failed: {', '.join(failed)}" if failed else ""))
    if failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("faults")(faults)
