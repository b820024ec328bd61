"""CLI commands: `parse` runs the pipeline's analysis (OCR included) on PDFs, `evaluate` scores
the PTR parser against golden files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from infra.cli.console import console, out
from services.extract.analyze import analyze_document
from services.extract.errors import InvalidPdf, ParseFailure
from services.extract.evaluate import DEFAULT_GOLDEN_DIR, DEFAULT_PDF_DIR, Evaluation, evaluate
from services.ocr.stage import OCR_VERSION, Reader, failure_reason, read_pdf, silver_rows, succeeded

if TYPE_CHECKING:
    from services.ocr.evaluate import ScannedEvaluation


def ocr_reader() -> Reader:
    """The pipeline's OCR reader (Tesseract); ImportError when it cannot be loaded here."""
    from services.ocr.reader import read_scanned_ptr

    return read_scanned_ptr


def _ocr_document(analysis: dict[str, Any], pdf_bytes: bytes, doc_id: str, reader: Reader) -> dict[str, Any]:
    """A scanned filing read as the OCR stage reads it: its rows, or ParseFailure with the reason."""
    result = read_pdf(reader, pdf_bytes, doc_id)
    ocr = {"engine": result.engine, "layout": result.layout, "ocr_version": OCR_VERSION,
           "cpu_seconds": result.cpu_seconds, "pages": [p.model_dump(mode="json") for p in result.page_info]}
    if result.failure_reason == "not_ptr":
        return {**_not_ptr(analysis, doc_id), "ocr": ocr}
    if not succeeded(result):
        reason = failure_reason(result)
        raise ParseFailure(reason, f"{doc_id}: {result.failure_message or 'the OCR reader gave no row'}")
    return {
        "doc_id": doc_id, "filer_name": result.filer_name, "status": None, "state_district": result.state_district,
        "pages": analysis["pages"], "rendering": "scanned", "transactions": silver_rows(result),
        "signature_date": result.signature_date, "is_ptr": True, "warnings": list(result.warnings),
        "parser_version": analysis["parser_version"], "ocr": ocr,
    }


def _not_ptr(analysis: dict[str, Any], doc_id: str) -> dict[str, Any]:
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


def parsed_document(pdf_bytes: bytes, doc_id: str, reader: Reader | None = None) -> dict[str, Any]:
    """The golden-shaped document for any filing: a PTR's rows, or no rows for other types. With a
    reader, a scanned filing is OCR'd as the pipeline's OCR stage does it (a scanned filing that is
    not a PTR has no rows); without one, it is reported with no rows and a warning."""
    analysis = analyze_document(pdf_bytes, doc_id)
    if analysis["rendering"] == "scanned" and reader is not None:
        return _ocr_document(analysis, pdf_bytes, doc_id, reader)
    if analysis["ptr"] is not None:
        return {**analysis["ptr"], "is_ptr": True}
    return _not_ptr(analysis, doc_id)


def pdf_files(paths: list[Path]) -> Iterator[Path]:
    """The PDFs named, and those under the folders named (recursively, in name order)."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() == ".pdf")
        else:
            yield path


def _lazy_reader() -> Reader:
    """The OCR reader, loaded at the first scanned filing: parsing e-filed PDFs needs no Tesseract.
    Where it cannot be loaded, each scanned filing fails with `ocr_unavailable`."""
    loaded: list[Reader] = []

    def read(pdf_bytes: bytes, doc_id: str | None):
        if not loaded:
            try:
                loaded.append(ocr_reader())
            except ImportError as exc:
                raise ParseFailure("ocr_unavailable", f"the OCR reader cannot be loaded here: {exc}") from exc
        return loaded[0](pdf_bytes, doc_id)

    return read


def parse(
    paths: Annotated[list[Path], typer.Argument(exists=True, help="PDF files and/or folders of PDFs")],
    doc_id: Annotated[str | None, typer.Option("--doc-id", help="DocID of a single file (default: its name)")] = None,
    jsonl: Annotated[bool, typer.Option("--jsonl", help="One JSON document per line (the default for many files)")] = False,
    ocr: Annotated[bool, typer.Option("--ocr/--no-ocr", help="Read scanned filings with the OCR reader")] = True,
) -> None:
    """Parse disclosure PDFs as the pipeline does (OCR included) and print them as JSON.

    One file prints one indented JSON document. Many files or a folder print one JSON document per
    line; a file that cannot be parsed prints `{"doc_id", "file", "error", "message"}` and the
    command exits 1 at the end. A progress bar shows on a terminal.
    """
    files = list(pdf_files(paths))
    if not files:
        typer.echo("error: no PDF found", err=True)
        raise typer.Exit(2)
    if doc_id and len(files) > 1:
        typer.echo("error: --doc-id names a single file", err=True)
        raise typer.Exit(2)
    reader = _lazy_reader() if ocr else None
    if len(files) == 1 and not jsonl and not paths[0].is_dir():
        try:
            document = parsed_document(files[0].read_bytes(), doc_id or files[0].stem, reader)
        except (InvalidPdf, ParseFailure) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
        typer.echo(json.dumps(document, indent=1, ensure_ascii=False))
        return
    if _parse_many(files, reader):
        raise typer.Exit(1)


def _parse_many(files: list[Path], reader: Reader | None) -> int:
    """Print one JSON line per file; return how many failed."""
    failed = rows = ocr_rows = 0
    with Progress(TextColumn("[bold]parse"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.fields[detail]}"), console=console, disable=not console.is_terminal) as progress:
        task = progress.add_task("parse", total=len(files), detail="")
        for path in files:
            try:
                document = parsed_document(path.read_bytes(), path.stem, reader)
            except (InvalidPdf, ParseFailure) as exc:
                failed += 1
                document = {"doc_id": path.stem, "file": str(path), "error": exc.reason, "message": str(exc)}
            else:
                document = {**document, "file": str(path)}
                rows += len(document["transactions"])
                ocr_rows += sum(r.get("source") == "ocr" for r in document["transactions"])
            typer.echo(json.dumps(document, ensure_ascii=False))
            progress.update(task, advance=1, detail=f"{rows} rows ({ocr_rows} by OCR) · {failed} failed")
    console.print(f"{len(files)} files: {rows} rows ({ocr_rows} by OCR), {failed} failed", markup=False)
    return failed


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


def _print_scanned_evaluation(result: ScannedEvaluation, console: Console) -> None:
    from services.ocr.evaluate import MIN_FIELD_ACCURACY

    summary = Table(title="OCR reader vs hand-labelled scanned PTRs")
    summary.add_column("metric")
    summary.add_column("value", justify="right")
    for name, value in (
        ("typed documents", str(result.documents)),
        ("golden rows (typed)", str(result.golden_rows)),
        ("predicted rows", str(result.predicted_rows)),
        ("row recall", f"{result.recall:.4f}"),
        ("row precision", f"{result.precision:.4f}"),
        ("asset name CER", f"{result.asset_cer:.4f}"),
        ("wrong names not flagged", str(result.unflagged_wrong_names)),
        ("handwritten flagged", f"{result.handwritten_flagged}/{result.handwritten_documents}"),
        ("handwritten rows invented", str(result.handwritten_rows_invented)),
        ("pages", str(result.pages)),
        ("OCR CPU-s per page", f"{result.cpu_seconds / max(1, result.pages):.2f}"),
    ):
        summary.add_row(name, value)
    for name, acc in {**result.doc_accuracy(), **result.field_accuracy()}.items():
        summary.add_row(name, f"{acc:.4f}", style=None if acc >= MIN_FIELD_ACCURACY else "red")
    console.print(summary)
    for line in result.errors + result.mismatches:
        console.print(line, style="red", markup=False)


def evaluate_cmd(
    golden_dir: Annotated[
        Path | None, typer.Argument(help="folder of golden PTR JSON files (default: golden/ptr, or ptr-scanned)")
    ] = None,
    pdf_dir: Annotated[
        Path | None, typer.Option("--pdf-dir", help="folder searched for <DocID>.pdf")
    ] = None,
    scanned: Annotated[
        bool, typer.Option("--scanned", help="score the OCR reader on the hand-labelled paper PTRs")
    ] = False,
) -> None:
    """Score the parser (or, with --scanned, the OCR reader) against golden files: row recall,
    row precision, per-field accuracy; for OCR also the asset-name character error rate."""
    if scanned:
        # Imported here: loading the OCR engine is not needed by the rest of the CLI.
        from services.ocr.evaluate import (
            DEFAULT_SCANNED_GOLDEN_DIR,
            DEFAULT_SCANNED_PDF_DIR,
            evaluate_scanned,
        )

        golden_dir = golden_dir or DEFAULT_SCANNED_GOLDEN_DIR
        if not golden_dir.is_dir():
            typer.echo(f"error: golden folder not found: {golden_dir}", err=True)
            raise typer.Exit(2)
        with out.status("reading scanned PTRs with OCR...") as status:
            scored = evaluate_scanned(
                golden_dir, pdf_dir or DEFAULT_SCANNED_PDF_DIR,
                progress=lambda doc: status.update(f"reading {doc} with OCR..."),
            )
        _print_scanned_evaluation(scored, out)
        if not scored.passes():
            raise typer.Exit(1)
        return
    golden_dir = golden_dir or DEFAULT_GOLDEN_DIR
    if not golden_dir.is_dir():
        typer.echo(f"error: golden folder not found: {golden_dir}", err=True)
        raise typer.Exit(2)
    result = evaluate(golden_dir, pdf_dir or DEFAULT_PDF_DIR)
    _print_evaluation(result, out)
    if result.recall < 1.0 or result.precision < 1.0 or result.errors:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("parse")(parse)
    app.command("evaluate")(evaluate_cmd)
