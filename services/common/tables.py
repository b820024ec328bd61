"""DynamoDB table schemas: the one place that defines the watermark and ledger tables.

Both tables use a generic `pk`/`sk` pair so one table holds several item kinds (single-table
design). Each kind is a pynamodb model of its own (`FilingMark`, `RunItem`, ...) that owns its
key shape (`KIND`, `Model.at(...)`) and only its attributes; `schemas/tables.json` is
generated from them.
Table names come from the environment (set by the template on AWS, by the runtime locally).
`infra/template.yaml` declares the same keys and indexes (a unit test compares them).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from pynamodb.attributes import (
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model
from pynamodb.pagination import ResultIterator

from services.common import states
from services.common.keys import SOURCE

# The value of the `entity` and `active` attributes of run items, the only items that have them.
RUN = "RUN"


@dataclass(frozen=True)
class ItemKind:
    """One kind of item of a table: its key shape and what it holds."""

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


class _Item(Model):
    """An item of one kind: the model owns its key shape (`KIND`) and only its own attributes.
    Kinds are told apart by their keys (no attribute names the kind: items written before
    these models read as they are)."""

    KIND: ClassVar[ItemKind]
    KIND_TABLE: ClassVar[str]
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    updated_at = UnicodeAttribute(null=True)

    @classmethod
    def at(cls, **parts: Any) -> Self:
        """The item of this kind at the key these parts name (nothing is read)."""
        return cls(*cls.KIND.key(**parts))


class WatermarksTable(_Item):
    """The watermarks table: what has been seen and done (its kinds below)."""

    KIND_TABLE: ClassVar[str] = "watermarks"

    class Meta:
        table_name = os.environ.get("WATERMARKS_TABLE", "watermarks")


class DocumentStateAttribute(UnicodeAttribute):
    """A `DocumentState`; a value written before that vocabulary reads as what it meant."""

    def deserialize(self, value: str) -> states.DocumentState | None:
        return states.read_mark(value)


class FilingMark(WatermarksTable):
    KIND = ItemKind("watermarks", "filing", f"{SOURCE}#{{year}}", "DOC#{doc_id}",
                    "the filing's version, who claimed it, how far it got; the retry schedule of a failed one")
    fingerprint = UnicodeAttribute(null=True)
    status = DocumentStateAttribute(null=True)  # moved only as `states.TRANSITIONS` allows (see watermarks.move)
    run_id = UnicodeAttribute(null=True)
    sha256 = UnicodeAttribute(null=True)
    bronze_key = UnicodeAttribute(null=True)
    parser_version = UnicodeAttribute(null=True)
    # Which bytes the OCR stage read, with which reader: its kept result is reused for the same pair.
    ocr_sha256 = UnicodeAttribute(null=True)
    ocr_version = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    # The run whose fetch recorded the filing's bytes or failure, and the failure's message: a
    # duplicate fetch of that run announces the outcome again instead of downloading again.
    fetch_run = UnicodeAttribute(null=True)
    fetch_message = UnicodeAttribute(null=True)
    # While a fetch has failed: the state and reason of the bytes the filing holds (stored, or
    # how they read). The same bytes fetched again make it the filing's state again (see fetch).
    read_status = DocumentStateAttribute(null=True)
    read_reason = UnicodeAttribute(null=True)
    attempts = NumberAttribute(null=True)  # times the filing was claimed for this fingerprint
    next_attempt_at = UnicodeAttribute(null=True)  # when a failed filing may be asked for again


class _StoredCopy(WatermarksTable):
    """The last stored copy of a file the source serves: its ETag, digest and bronze key."""

    etag = UnicodeAttribute(null=True)
    sha256 = UnicodeAttribute(null=True)
    bronze_key = UnicodeAttribute(null=True)


class IndexMark(_StoredCopy):
    KIND = ItemKind("watermarks", "index", f"{SOURCE}#{{year}}", "INDEX", "the last stored {year}FD.zip")


class Breaker(WatermarksTable):
    KIND = ItemKind("watermarks", "breaker", f"SOURCE#{SOURCE}", "BREAKER",
                    "after a 403, until when every fetcher stops asking the source, and why")
    blocked_until = NumberAttribute(null=True)
    reason = UnicodeAttribute(null=True)


class ReferenceMark(_StoredCopy):
    KIND = ItemKind("watermarks", "reference", "REFERENCE#{name}", "{which}",
                    "the last stored copy of a reference file (legislators: CURRENT members, HISTORY of former ones)")


class QualityOverride(WatermarksTable):
    KIND = ItemKind("watermarks", "quality_override", "GOLD#overrides", "CHECK#{check}",
                    "an operator's override of a failing quality check: the reason (who, when)")
    reason = UnicodeAttribute(null=True)


class RunsIndex(GlobalSecondaryIndex["RunItem"]):
    """Every run, newest first (run ids start with their start time). Sparse: only run items
    carry `entity`, so listing runs reads runs, never the documents of a run."""

    class Meta:
        index_name = "runs"
        projection = AllProjection()

    entity = UnicodeAttribute(hash_key=True)
    run_id = UnicodeAttribute(range_key=True)


class ActiveRunsIndex(GlobalSecondaryIndex["RunItem"]):
    """Runs not yet final (running or settled): `active` is set with those statuses and removed
    with the final one, in the same write. Keys only, so counter updates never write to it."""

    class Meta:
        index_name = "active-runs"
        projection = KeysOnlyProjection()

    active = UnicodeAttribute(hash_key=True)
    run_id = UnicodeAttribute(range_key=True)


class LedgerTable(_Item):
    """The run ledger: per run, one run item, one item per year and one per document."""

    KIND_TABLE: ClassVar[str] = "ledger"

    class Meta:
        table_name = os.environ.get("LEDGER_TABLE", "ledger")
        billing_mode = "PAY_PER_REQUEST"

    run_id = UnicodeAttribute(null=True)


class RunItem(LedgerTable):
    KIND = ItemKind("ledger", "run", "RUN#{run_id}", "RUN",
                    "status, counts per stage_outcome, durations, first errors; entity=RUN (index runs), "
                    "active=RUN while running or settled (index active-runs)")
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
    final_announced_at = UnicodeAttribute(null=True)  # set once run.succeeded / run.failed is published
    finished_at = UnicodeAttribute(null=True)
    gold_version = UnicodeAttribute(null=True)
    api_written = NumberAttribute(null=True)  # site objects the publication that ended the run wrote (cost model)

    runs = RunsIndex()
    active_runs = ActiveRunsIndex()


class RunYearItem(LedgerTable):
    KIND = ItemKind("ledger", "year", "RUN#{run_id}", "YEAR#{year}", "discover's result for one year")
    year = NumberAttribute(null=True)
    detail: MapAttribute[str, Any] = MapAttribute(null=True)


class RunDocumentItem(LedgerTable):
    KIND = ItemKind("ledger", "document", "RUN#{run_id}", "DOC#{doc_id}",
                    "fetch, extract and ocr outcome, the terminal one, reason and message of a failure")
    doc_id = UnicodeAttribute(null=True)
    year = NumberAttribute(null=True)
    filing_type = UnicodeAttribute(null=True)
    fetch = UnicodeAttribute(null=True)
    extract = UnicodeAttribute(null=True)
    ocr = UnicodeAttribute(null=True)
    terminal = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    message = UnicodeAttribute(null=True)


# Every kind, its model: schemas/tables.json is generated from these.
ITEM_MODELS: tuple[type[_Item], ...] = (FilingMark, IndexMark, Breaker, ReferenceMark, QualityOverride,
                                        RunItem, RunYearItem, RunDocumentItem)
TABLES: dict[str, type[_Item]] = {"watermarks": WatermarksTable, "ledger": LedgerTable}
KINDS = tuple(model.KIND for model in ITEM_MODELS)

def model_of(table: str, pk: str, sk: str) -> type[_Item] | None:
    """The model of a stored item's kind (None for a key no kind describes)."""
    return next((m for m in ITEM_MODELS if m.KIND.table == table and m.KIND.matches(pk, sk)), None)


def query_kinds(table: type[_Item], hash_key: str, consistent_read: bool = False) -> Iterator[_Item]:
    """Every item under one partition key, each as the model of its kind: one query for what
    several kinds hold together (a run's run, year and document items). An item of no kind is
    skipped."""
    def typed(raw: dict[str, Any]) -> _Item | None:
        model = model_of(table.KIND_TABLE, raw["pk"]["S"], raw["sk"]["S"])
        return model.from_raw_data(raw) if model else None

    pages: ResultIterator[_Item | None] = ResultIterator(table._get_connection().query, (hash_key,), {"consistent_read": consistent_read},
                           map_fn=typed)
    return (item for item in pages if item is not None)


def configure(watermarks: str | None = None, ledger: str | None = None) -> None:
    """Point the models at other table names (the runtime and tests call this)."""
    for table, name in ((WatermarksTable, watermarks), (LedgerTable, ledger)):
        table.Meta.table_name = name or table.Meta.table_name
        for model in (table, *(m for m in ITEM_MODELS if issubclass(m, table))):
            model._connection = None


def configure_from_env() -> None:
    configure(os.environ.get("WATERMARKS_TABLE"), os.environ.get("LEDGER_TABLE"))


def describe() -> dict[str, Any]:
    """The exported description of both tables (keys, attributes, item kinds)."""
    out: dict[str, Any] = {}
    for logical in TABLES:
        models = [m for m in ITEM_MODELS if m.KIND.table == logical]
        out[logical] = {
            "hash_key": "pk",
            "range_key": "sk",
            "billing_mode": "PAY_PER_REQUEST",
            "item_kinds": {m.KIND.name: {
                "pk": m.KIND.pk, "sk": m.KIND.sk, "holds": m.KIND.holds, "model": m.__name__,
                "attributes": {name: type(attr).__name__ for name, attr in sorted(m.get_attributes().items())},
            } for m in models},
        }
        indexes = [index for m in models for index in global_indexes(m)]
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
