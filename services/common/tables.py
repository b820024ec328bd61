"""DynamoDB table schemas: the one place that defines the watermark and ledger tables.

Both tables use a generic `pk`/`sk` pair so one table holds several item kinds (single-table
design); the item kinds are listed in `ITEM_KINDS` and exported to `schemas/tables.json`.
Table names come from the environment (set by the template on AWS, by the runtime locally).
"""

from __future__ import annotations

import os
from typing import Any

from pynamodb.attributes import (
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.models import Model


class WatermarkItem(Model):
    """What has been seen and done: per filing, per index, per (run, year), the fetch breaker."""

    class Meta:
        table_name = os.environ.get("WATERMARKS_TABLE", "watermarks")

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    fingerprint = UnicodeAttribute(null=True)
    status = UnicodeAttribute(null=True)
    run_id = UnicodeAttribute(null=True)
    etag = UnicodeAttribute(null=True)
    sha256 = UnicodeAttribute(null=True)
    bronze_key = UnicodeAttribute(null=True)
    parser_version = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    blocked_until = NumberAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)


class LedgerItem(Model):
    """One run item (`RUN`) plus one item per year (`YEAR#y`) and per document (`DOC#id`)."""

    class Meta:
        table_name = os.environ.get("LEDGER_TABLE", "ledger")

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    run_id = UnicodeAttribute(null=True)
    # run item
    status = UnicodeAttribute(null=True)
    trigger = UnicodeAttribute(null=True)
    years = ListAttribute(of=NumberAttribute, null=True)
    years_expected = NumberAttribute(null=True)
    years_discovered = NumberAttribute(null=True)
    docs_expected = NumberAttribute(null=True)
    docs_settled = NumberAttribute(null=True)
    counts = MapAttribute(null=True)
    durations_ms = MapAttribute(null=True)
    errors = ListAttribute(null=True)
    failure_reason = UnicodeAttribute(null=True)
    started_at = UnicodeAttribute(null=True)
    settled_at = UnicodeAttribute(null=True)
    settled_announced_at = UnicodeAttribute(null=True)  # set once run.documents_settled is published
    finished_at = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)
    gold_version = UnicodeAttribute(null=True)
    # document and year items
    doc_id = UnicodeAttribute(null=True)
    year = NumberAttribute(null=True)
    filing_type = UnicodeAttribute(null=True)
    fetch = UnicodeAttribute(null=True)
    extract = UnicodeAttribute(null=True)
    terminal = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    message = UnicodeAttribute(null=True)
    detail = MapAttribute(null=True)


ITEM_KINDS: dict[str, dict[str, str]] = {
    "watermarks": {
        "filing": "pk=house-fd#{year} sk=DOC#{doc_id}: fingerprint of the index row, status, sha256, parser_version",
        "index": "pk=house-fd#{year} sk=INDEX: etag and sha256 of the last stored {year}FD.zip",
        "run_year": "pk=RUN#{run_id} sk=YEAR#{year}: discover finished this year for this run",
        "breaker": "pk=SOURCE#house-fd sk=BREAKER: blocked_until after a 403 (hard stop)",
    },
    "ledger": {
        "run": "pk=RUN#{run_id} sk=RUN: status, counts per stage_outcome, durations, first errors",
        "year": "pk=RUN#{run_id} sk=YEAR#{year}: discover result for one year",
        "document": "pk=RUN#{run_id} sk=DOC#{doc_id}: fetch and extract status, terminal outcome",
    },
}

MODELS: dict[str, type[Model]] = {"watermarks": WatermarkItem, "ledger": LedgerItem}


def configure(watermarks: str | None = None, ledger: str | None = None) -> None:
    """Point the models at other table names (the runtime and tests call this)."""
    for model, name in ((WatermarkItem, watermarks), (LedgerItem, ledger)):
        model.Meta.table_name = name or model.Meta.table_name
        model._connection = None


def configure_from_env() -> None:
    configure(os.environ.get("WATERMARKS_TABLE"), os.environ.get("LEDGER_TABLE"))


def describe() -> dict[str, Any]:
    """The exported description of both tables (keys, attributes, item kinds)."""
    out: dict[str, Any] = {}
    for logical, model in MODELS.items():
        attrs = model.get_attributes()
        out[logical] = {
            "hash_key": "pk",
            "range_key": "sk",
            "billing_mode": "PAY_PER_REQUEST",
            "attributes": {name: type(attr).__name__ for name, attr in sorted(attrs.items())},
            "item_kinds": ITEM_KINDS[logical],
        }
    return out
