"""`disclosures gold`: the live Gold version, quality overrides, rebuilds."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Column, Table

from infra.cli.console import out

gold_app = typer.Typer(help="Gold layer: live version, quality-check overrides, rebuild.", no_args_is_help=True)


def register(app: typer.Typer, attach, request) -> None:
    """attach() configures clients for the stack; request(detail, wait, as_json, timeout) starts a run."""

    @gold_app.command("status")
    def status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
        """The live Gold version, its row counts and quality report."""
        from services.build_gold import overrides
        from services.common.aws import client
        from services.common.config import settings
        from services.common.documents import read_pointer

        attach()
        pointer = read_pointer(client("s3"), settings().gold_bucket)
        body = pointer.manifest.to_json() if pointer else None
        if as_json:
            print(json.dumps({"live": body, "overrides": overrides.active()}, default=str))
            return
        if body is None:
            out.print("no Gold version is live yet")
            return
        out.print(f"live version [bold]{body['version']}[/bold] built {body['built_at']} by run {body['run_id']}")
        table = Table("table", "rows")
        for name, rows in sorted(body["row_counts"].items()):
            table.add_row(name, str(rows))
        out.print(table)
        checks = Table("check", "severity", "passed", "overridden", "details")
        for check in body["quality"]["checks"]:
            checks.add_row(check["name"], check.get("severity", "block"), str(check["passed"]),
                           check.get("override_reason") or "", str(check.get("details", ""))[:80])
        out.print(checks)

    @gold_app.command("override")
    def override(check: str, reason: Annotated[str, typer.Option(help="Why publishing despite this check is right")],
                 who: Annotated[str, typer.Option(help="Who decided")] = "operator") -> None:
        """Let a failing check pass, with a recorded reason, until cleared (emergencies only)."""
        from services.build_gold import overrides

        attach()
        try:
            overrides.set_override(check, reason, who)
        except ValueError as exc:
            out.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from exc
        out.print(f"override recorded for {check}; rebuild with `disclosures gold rebuild --year ...`")

    @gold_app.command("clear")
    def clear(check: str) -> None:
        """Remove an override."""
        from services.build_gold import overrides

        attach()
        overrides.clear(check)
        out.print(f"override of {check} cleared")

    @gold_app.command("rebuild")
    def rebuild(year: Annotated[list[int], typer.Option("--year")], reason: str = "operator rebuild",
                wait: bool = True, as_json: Annotated[bool, typer.Option("--json")] = False, timeout: float = 900.0) -> None:
        """Rebuild Gold from silver for these years (no re-extraction)."""
        from events.models import GoldRequested

        attach()
        request(GoldRequested(years=year, reason=reason), wait, as_json, timeout)

    @gold_app.command("prune")
    def prune(dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would be deleted")] = False,
              as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
        """Delete old Gold versions and unreferenced silver year tables (what build_gold does after a publish)."""
        from services.build_gold import retention
        from services.common.aws import client
        from services.common.config import settings

        attach()
        cfg = settings()
        try:
            policy = retention.Policy.from_env()
            s3 = client("s3")
            pruned = retention.prune(s3, gold_bucket=cfg.gold_bucket, silver_bucket=cfg.silver_bucket, policy=policy,
                                     served=retention.served_versions(s3, cfg.site_bucket), dry_run=dry_run)
        except (ValueError, retention.RetentionError) as exc:
            out.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from exc
        plan = pruned.plan
        if as_json:
            print(json.dumps({**plan.to_dict(), "dry_run": dry_run,
                              "deleted": None if pruned.applied is None else {
                                  "gold_objects": pruned.applied.gold_objects,
                                  "silver_objects": pruned.applied.silver_objects}}, default=str))
            return
        if plan.live is None:
            out.print("no Gold version is live yet: nothing is pruned")
            return
        out.print(f"live version [bold]{plan.live}[/bold]; keeping {policy.keep_versions} versions live before it "
                  f"and rejected versions for {policy.keep_rejected_days} days")
        table = Table("action", "gold objects", "silver tables", "reason")
        table.columns.insert(0, Column("version", no_wrap=True))
        for d in plan.decisions:
            kept = f"{d.silver_kept} kept" if d.silver_kept else ""
            if d.keep:
                table.add_row(d.version, "keep", "", kept, d.reason)
            elif d.gold_keys or d.silver_keys:
                silver = ", ".join(filter(None, [f"{len(d.silver_keys)} deleted" if d.silver_keys else "", kept]))
                table.add_row(d.version, "[red]delete[/red]", str(len(d.gold_keys)), silver, d.reason)
        out.print(table)
        verb = "would delete" if dry_run else "deleted"
        gold_objects = len(plan.gold_keys) if pruned.applied is None else pruned.applied.gold_objects
        silver_tables = len(plan.silver_keys) if pruned.applied is None else pruned.applied.silver_objects
        out.print(f"{verb} {len(plan.deleted_versions)} versions: {gold_objects} Gold objects, "
                  f"{silver_tables} silver year tables")

    app.add_typer(gold_app, name="gold")
