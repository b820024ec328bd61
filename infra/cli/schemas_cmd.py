"""`disclosures schemas`: export the contracts (events, S3 documents, tables) to `schemas/`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from events.models import DETAIL_TYPES, event_schema
from services.build_gold import schemas as parquet
from services.common import documents, states, tables

SCHEMAS_DIR = Path(__file__).resolve().parents[2] / "schemas"


def generated() -> dict[str, str]:
    """File name -> content of every generated schema."""
    files = {"envelope.schema.json": event_schema()}
    for event_type, model in DETAIL_TYPES.items():
        files[f"events/{event_type}.schema.json"] = model.model_json_schema()
    for name, document in documents.DOCUMENTS.items():
        files[f"documents/{name}.schema.json"] = document.model_json_schema()
    files["tables.json"] = tables.describe()
    files["states.json"] = states.describe()
    for layer, group in (("silver", parquet.SILVER_TABLES), ("gold", parquet.GOLD_TABLES)):
        for name, schema in group.items():
            files[f"parquet/{layer}/{name}.json"] = {
                "table": name,
                "layer": layer,
                "partitioned_by_year": name in parquet.PARTITIONED_BY_YEAR,
                "columns": [{"name": f.name, "type": str(f.type), "nullable": f.nullable} for f in schema],
            }
    return {name: json.dumps(body, indent=2, sort_keys=True) + "\n" for name, body in files.items()}


def register(app: typer.Typer) -> None:
    @app.command()
    def schemas(
        write: Annotated[bool, typer.Option(help="Rewrite schemas/ from the models")] = False,
    ) -> None:
        """Check (default) or rewrite the generated schemas in schemas/."""
        stale = []
        for name, content in generated().items():
            path = SCHEMAS_DIR / name
            if write:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(content)
            elif not path.exists() or path.read_text() != content:
                stale.append(name)
        if stale:
            typer.echo(f"schemas/ is out of date: {', '.join(stale)}; run `disclosures schemas --write`", err=True)
            raise typer.Exit(1)
        typer.echo("schemas written" if write else "schemas up to date")
