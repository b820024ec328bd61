"""DynamoDB table schemas: the one place that defines the watermark and ledger tables.

Both tables use a generic `pk`/`sk` pair so one table holds several item kinds (single-table
design); the item kinds are listed in `ITEM_KINDS` and exported to `schemas/tables.json`.
Table names come from the environment (set by the template on AWS, by the runtime locally).
`infra/template.yaml` declares the same keys and indexes (a unit test compares them).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import (
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from services.common.keys import SOURCE

# The value of the `entity` and `active` attributes of run items, the only items that have them.
RUN = "RUN"


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
    # The OCR stage's own mark on a scanned filing, beside extract's: which bytes, by which reader.
    ocr_status = UnicodeAttribute(null=True)
    ocr_sha256 = UnicodeAttribute(null=True)
    ocr_version = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    blocked_until = NumberAttribute(null=True)
    attempts = NumberAttribute(null=True)  # times the filing was claimed for this fingerprint
    next_attempt_at = UnicodeAttribute(null=True)  # when a failed filing may be asked for again
    updated_at = UnicodeAttribute(null=True)


class RunsIndex(GlobalSecondaryIndex["LedgerItem"]):
    """Every run, newest first (run ids start with their start time). Sparse: only run items
    carry `entity`, so listing runs reads runs, never the documents of a run."""

    class Meta:
        index_name = "runs"
        projection = AllProjection()

    entity = UnicodeAttribute(hash_key=True)
    run_id = UnicodeAttribute(range_key=True)


class ActiveRunsIndex(GlobalSecondaryIndex["LedgerItem"]):
    """Runs not yet final (running or settled): `active` is set with those statuses and removed
    with the final one, in the same write. Keys only, so counter updates never write to it."""

    class Meta:
        index_name = "active-runs"
        projection = KeysOnlyProjection()

    active = UnicodeAttribute(hash_key=True)
    run_id = UnicodeAttribute(range_key=True)


class LedgerItem(Model):
    """One run item (`RUN`) plus one item per year (`YEAR#y`) and per document (`DOC#id`)."""

    class Meta:
        table_name = os.environ.get("LEDGER_TABLE", "ledger")
        billing_mode = "PAY_PER_REQUEST"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    run_id = UnicodeAttribute(null=True)
    # run item
    entity = UnicodeAttribute(null=True)  # RUN: the key of the runs index
    active = UnicodeAttribute(null=True)  # RUN while running or settled: the key of the active-runs index
    status = UnicodeAttribute(null=True)
    trigger = UnicodeAttribute(null=True)
    years = ListAttribute(of=NumberAttribute, null=True)
    years_expected = NumberAttribute(null=True)
    years_discovered = NumberAttribute(null=True)
    docs_expected = NumberAttribute(null=True)
    docs_settled = NumberAttribute(null=True)
    counts: MapAttribute[str, Any] = MapAttribute(null=True)
    durations_ms: MapAttribute[str, Any] = MapAttribute(null=True)
    errors: ListAttribute[Any] = ListAttribute(null=True)
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
    ocr = UnicodeAttribute(null=True)
    terminal = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    message = UnicodeAttribute(null=True)
    detail: MapAttribute[str, Any] = MapAttribute(null=True)

    runs = RunsIndex()
    active_runs = ActiveRunsIndex()


@dataclass(frozen=True)
class ItemKind:
    """One kind of item of a table: its key shape and what it holds. Writers take their keys
    from here (`key`), so `ITEM_KINDS` names the kinds the code writes (a test scans for them)."""

    table: str
    name: str
    pk: str  # str.format templates: "{year}" is filled by key(year=...)
    sk: str
    holds: str

    def key(self, **parts: Any) -> tuple[str, str]:
        return self.pk.format(**parts), self.sk.format(**parts)

    def matches(self, pk: str, sk: str) -> bool:
        return bool(_template(self.pk).fullmatch(pk) and _template(self.sk).fullmatch(sk))


def _template(text: str) -> re.Pattern[str]:
    parts = re.split(r"\{\w+\}", text)
    return re.compile("[^#]+".join(re.escape(part) for part in parts))


FILING = ItemKind("watermarks", "filing", f"{SOURCE}#{{year}}", "DOC#{doc_id}",
                  "fingerprint of the index row, claiming run_id, status, sha256, bronze_key, parser_version, reason, "
                  "attempts and next_attempt_at (the retry schedule of a failed filing); ocr_status, ocr_sha256, "
                  "ocr_version once the OCR stage read a scanned PTR")
INDEX = ItemKind("watermarks", "index", f"{SOURCE}#{{year}}", "INDEX",
                 "etag, sha256 and bronze_key of the last stored {year}FD.zip")
BREAKER = ItemKind("watermarks", "breaker", f"SOURCE#{SOURCE}", "BREAKER",
                   "blocked_until and reason after a 403 (a hard stop for every fetcher)")
REFERENCE = ItemKind("watermarks", "reference", "REFERENCE#{name}", "{which}",
                     "etag, sha256 and bronze_key of the last stored copy of a reference file "
                     "(legislators: CURRENT members, HISTORY of former ones)")
OVERRIDE = ItemKind("watermarks", "quality_override", "GOLD#overrides", "CHECK#{check}",
                    "an operator's override of a failing quality check: reason (who, when)")
RUN_ITEM = ItemKind("ledger", "run", "RUN#{run_id}", "RUN",
                    "status, counts per stage_outcome, durations, first errors; entity=RUN (index runs), "
                    "active=RUN while running or settled (index active-runs)")
RUN_YEAR = ItemKind("ledger", "year", "RUN#{run_id}", "YEAR#{year}", "discover result for one year")
RUN_DOCUMENT = ItemKind("ledger", "document", "RUN#{run_id}", "DOC#{doc_id}",
                        "fetch, extract and ocr status, terminal outcome, reason and message of a failure")
KINDS = (FILING, INDEX, BREAKER, REFERENCE, OVERRIDE, RUN_ITEM, RUN_YEAR, RUN_DOCUMENT)

ITEM_KINDS: dict[str, dict[str, str]] = {
    table: {k.name: f"pk={k.pk} sk={k.sk}: {k.holds}" for k in KINDS if k.table == table}
    for table in ("watermarks", "ledger")
}


def kind_of(table: str, pk: str, sk: str) -> ItemKind | None:
    """The kind of a stored item (None for a key no kind describes)."""
    return next((k for k in KINDS if k.table == table and k.matches(pk, sk)), None)


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
        indexes = global_indexes(model)
        if indexes:
            out[logical]["global_secondary_indexes"] = indexes
    return out


def global_indexes(model: type[Model]) -> list[dict[str, Any]]:
    """The model's global secondary indexes in CloudFormation's shape (the template must match)."""
    out = []
    for index in sorted(model._indexes.values(), key=lambda i: i.Meta.index_name):
        schema = index._get_schema()
        out.append({
            "IndexName": schema["index_name"],
            "KeySchema": [{"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in schema["key_schema"]],
            "Projection": dict(schema["projection"]),
        })
    return out
