"""`disclosures members`: who filed, and who did not resolve to a member."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from infra.cli.console import console, out

members_app = typer.Typer(help="Filers and their resolution to House members.", no_args_is_help=True)


def register(app: typer.Typer, attach) -> None:
    """attach() configures clients for the stack."""

    @members_app.command("unresolved")
    def unresolved(
        year: Annotated[int, typer.Option("--year", help="Filing year")],
        filing_type: Annotated[str | None, typer.Option("--type", help="Only filings of this type, e.g. P")] = None,
        as_json: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """Filers of a year that matched no member (live Gold), with the reason; PTR filers first."""
        from services.build_gold.unresolved import YearNotInVersion, as_dicts, read_live
        from services.common.aws import client
        from services.common.config import settings

        attach()
        try:
            found = read_live(client("s3"), settings().gold_bucket, year, filing_type)
        except YearNotInVersion as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from exc
        if as_json:
            print(json.dumps(None if found is None else as_dicts(found)))
            return
        if found is None:
            out.print("no Gold version is live yet")
            raise typer.Exit(1)
        table = Table("filer", "seat", "filings", "reason", "doc ids", title=f"{len(found)} unresolved filers, {year}")
        for u in found:
            types = ", ".join(f"{t} {n}" for t, n in u.filing_types.items())
            table.add_row(u.filer_name or u.member_key, u.state_district or "", types, u.reason, " ".join(u.doc_ids[:5]))
        out.print(table)

    app.add_typer(members_app, name="members")
