"""CLI commands: `parse FILE.pdf` prints the parsed document, `evaluate` scores against golden files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from infra.cli.console import out
from services.extract.analyze import analyze_document
from services.extract.errors import InvalidPdf, ParseFailure
from services.extract.evaluate import DEFAULT_GOLDEN_DIR, DEFAULT_PDF_DIR, Evaluation, evaluate


def parsed_document(pdf_bytes: bytes, doc_id: str) -> dict[str, Any]:
    """The golden-shaped document for any filing: a PTR's rows, or no rows for other types."""
    analysis = analyze_document(pdf_bytes, doc_id)
    if analysis["ptr"] is not None:
        return {**analysis["ptr"], "is_ptr": True}
    header = analysis["header"]
    return {
        "doc_id": doc_id,
        "filer_name": header["filer_name"],
        "status": header["status"],
        "state_district": header["state_district"],
        "pages": analysis["pages"],
        "rendering": analysis["rendering"],
        "transactions": [],
        "signature_date": header["signature_date"],
        "is_ptr": False,
        "warnings": analysis["warnings"],
        "parser_version": analysis["parser_version"],
    }


def parse(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="PDF to parse")],
    doc_id: Annotated[str | None, typer.Option("--doc-id", help="DocID (default: the file name)")] = None,
) -> None:
    """Parse one disclosure PDF and print it as JSON."""
    try:
        document = parsed_document(file.read_bytes(), doc_id or file.stem)
    except (InvalidPdf, ParseFailure) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(json.dumps(document, indent=1, ensure_ascii=False))


def _print_evaluation(result: Evaluation, console: Console) -> None:
    summary = Table(title="PTR parser vs golden files")
    summary.add_column("metric")
    summary.add_column("value", justify="right")
    summary.add_row("documents", str(result.documents))
    summary.add_row("golden rows", str(result.golden_rows))
    summary.add_row("predicted rows", str(result.predicted_rows))
    summary.add_row("row recall", f"{result.recall:.4f}")
    summary.add_row("row precision", f"{result.precision:.4f}")
    for name, acc in {**result.doc_accuracy(), **result.field_accuracy()}.items():
        summary.add_row(name, f"{acc:.4f}", style=None if acc == 1.0 else "red")
    console.print(summary)
    for line in result.errors + result.mismatches:
        console.print(line, style="red", markup=False)


def evaluate_cmd(
    golden_dir: Annotated[Path, typer.Argument(help="folder of golden PTR JSON files")] = DEFAULT_GOLDEN_DIR,
    pdf_dir: Annotated[
        Path, typer.Option("--pdf-dir", help="folder searched for <DocID>.pdf")
    ] = DEFAULT_PDF_DIR,
) -> None:
    """Score the parser against golden files: row recall, row precision, per-field accuracy."""
    if not golden_dir.is_dir():
        typer.echo(f"error: golden folder not found: {golden_dir}", err=True)
        raise typer.Exit(2)
    result = evaluate(golden_dir, pdf_dir)
    _print_evaluation(result, out)
    if result.recall < 1.0 or result.precision < 1.0 or result.errors:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("parse")(parse)
    app.command("evaluate")(evaluate_cmd)
