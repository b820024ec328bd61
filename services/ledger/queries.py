"""Read the ledger for operators (CLI, API, watchdog)."""

from __future__ import annotations

from typing import Any

from services.common.tables import LedgerItem
from services.ledger.ledger import run_pk


def _plain(item: LedgerItem) -> dict[str, Any]:
    data = item.to_simple_dict()
    for key, value in list(data.items()):
        if isinstance(value, float) and value.is_integer():
            data[key] = int(value)
        if isinstance(value, dict):
            data[key] = {k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in value.items()}
    return data


def list_runs(limit: int = 20) -> list[dict[str, Any]]:
    """Most recent first (run ids start with their start time)."""
    runs = [_plain(item) for item in LedgerItem.scan(LedgerItem.sk == "RUN")]
    runs.sort(key=lambda r: r.get("run_id", ""), reverse=True)
    return runs[:limit]


def get_run(run_id: str) -> dict[str, Any] | None:
    items = list(LedgerItem.query(run_pk(run_id), consistent_read=True))
    run = next((i for i in items if i.sk == "RUN"), None)
    if run is None:
        return None
    out = _plain(run)
    out["years_detail"] = [_plain(i) for i in items if i.sk.startswith("YEAR#")]
    out["documents"] = [_plain(i) for i in items if i.sk.startswith("DOC#")]
    return out


def active_runs() -> list[dict[str, Any]]:
    return [r for r in list_runs(limit=1000) if r.get("status") in ("running", "settled")]
