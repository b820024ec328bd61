"""Read the ledger for operators (CLI, API, watchdog).

Runs are read through the table's sparse indexes (`services/common/tables.py`), never by a
scan: a ledger holds one item per document of every run, and these readers want the runs only.
"""

from __future__ import annotations

from typing import Any

from services.common.tables import RUN, LedgerTable, RunDocumentItem, RunItem, RunYearItem, query_kinds
from services.ledger.ledger import run_pk

# Freshness looks at this many of the newest succeeded runs: runs are ordered by start, and a
# run that started earlier may have finished later (a nightly run and a manual one overlap).
FRESHNESS_WINDOW = 10


def _plain(item: LedgerTable) -> dict[str, Any]:
    data = item.to_simple_dict()
    for key, value in list(data.items()):
        if isinstance(value, float) and value.is_integer():
            data[key] = int(value)
        if isinstance(value, dict):
            data[key] = {k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in value.items()}
    return data


def list_runs(limit: int = 20) -> list[dict[str, Any]]:
    """The newest runs first (run ids start with their start time): one query of the runs index."""
    return [_plain(item) for item in RunItem.runs.query(RUN, scan_index_forward=False, limit=limit)]


def documents_settled() -> int:
    """Documents settled, summed over every run (one query of the runs index, paged)."""
    return sum(int(run.docs_settled or 0) for run in RunItem.runs.query(RUN, attributes_to_get=["docs_settled"]))


def get_run(run_id: str) -> dict[str, Any] | None:
    items = list(query_kinds(LedgerTable, run_pk(run_id), consistent_read=True))
    run = next((i for i in items if isinstance(i, RunItem)), None)
    if run is None:
        return None
    out = _plain(run)
    out["years_detail"] = [_plain(i) for i in items if isinstance(i, RunYearItem)]
    out["documents"] = [_plain(i) for i in items if isinstance(i, RunDocumentItem)]
    return out


def active_runs() -> list[dict[str, Any]]:
    """Runs still running or settled, read again from the table with consistent reads: the
    index is eventually consistent and keys-only, and the watchdog acts on what it reads."""
    keys = [(item.pk, item.sk) for item in RunItem.active_runs.query(RUN)]
    runs = [_plain(item) for item in RunItem.batch_get(keys, consistent_read=True)] if keys else []
    return sorted((r for r in runs if r.get("status") in ("running", "settled")), key=lambda r: r["run_id"], reverse=True)


def first_run_started_at() -> str | None:
    """When the oldest run in the ledger started: the runs index read oldest first, one item."""
    oldest = next(iter(RunItem.runs.query(RUN, scan_index_forward=True, limit=1)), None)
    return oldest.started_at if oldest else None


def last_success_finished_at() -> str | None:
    """When data was last published: the latest finish among the newest succeeded runs."""
    succeeded = RunItem.runs.query(
        RUN, scan_index_forward=False, filter_condition=RunItem.status == "succeeded", limit=FRESHNESS_WINDOW
    )
    # finish() writes every finished_at in one UTC format, so they order as strings.
    finished = [item.finished_at for item in succeeded if item.finished_at]
    return max(finished) if finished else None
