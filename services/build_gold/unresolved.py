"""Filers of a year that did not resolve to a member, with the reason: `disclosures members unresolved`."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from typing import Any

import pyarrow.compute as pc

from services.build_gold import schemas
from services.common import objects
from services.common.documents import read_pointer

REASONS = {
    "unresolved_no_match": "no current or former House member has this name and seat",
    "unresolved_ambiguous": "more than one member matches, even on the filing date: none is chosen",
    "unresolved_no_name": "the filing names no filer",
}


@dataclass(frozen=True)
class UnresolvedFiler:
    member_key: str
    filer_name: str | None
    state_district: str | None
    method: str
    reason: str
    filings: int
    filing_types: dict[str, int]  # filing type -> filings of the year
    doc_ids: list[str]


def reason_of(method: str) -> str:
    return REASONS.get(method.removeprefix("header:"), method)


def unresolved_filers(
    members: list[dict[str, Any]], filings: list[dict[str, Any]], year: int, filing_type: str | None = None
) -> list[UnresolvedFiler]:
    """dim_member and fact_filings rows -> the year's unresolved filers, PTR filers first.

    Candidates and officers are resolved as such and are not listed.
    """
    by_member: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for f in filings:
        if f["year"] == year and (filing_type is None or f["filing_type"] == filing_type.upper()):
            by_member[f["member_key"]].append(f)
    found = []
    for m in members:
        own = by_member.get(m["member_key"])
        if not own or m["filer_kind"] != "unresolved":
            continue
        found.append(
            UnresolvedFiler(
                member_key=m["member_key"],
                filer_name=m["filer_name"],
                state_district=m["state_district"],
                method=m["match_method"],
                reason=reason_of(m["match_method"]),
                filings=len(own),
                filing_types=dict(sorted(Counter(f["filing_type"] or "?" for f in own).items())),
                doc_ids=sorted(f["doc_id"] for f in own),
            )
        )
    found.sort(key=lambda u: ("P" not in u.filing_types, u.filer_name or "", u.member_key))
    return found


class YearNotInVersion(LookupError):
    """The live version holds no such year: no filer of it is resolved or not."""


def read_live(s3: Any, gold_bucket: str, year: int, filing_type: str | None = None) -> list[UnresolvedFiler] | None:
    """The live Gold version's unresolved filers of a year; None before any version is live."""
    pointer = read_pointer(s3, gold_bucket)
    if pointer is None:
        return None
    if year not in pointer.manifest.years:
        raise YearNotInVersion(f"the live Gold version {pointer.manifest.version} holds no year {year} "
                          f"(it holds {', '.join(map(str, sorted(pointer.manifest.years))) or 'none'})")
    tables = pointer.manifest.tables
    members = [objects.read_parquet(s3, gold_bucket, k, schemas.DIM_MEMBER) for k in tables["dim_member"]]
    filings = []
    for key in tables["fact_filings"]:
        part = objects.read_parquet(s3, gold_bucket, key, schemas.FACT_FILINGS)
        filings += part.filter(pc.equal(part["year"], year)).to_pylist()
    return unresolved_filers([r for t in members for r in t.to_pylist()], filings, year, filing_type)


def as_dicts(found: list[UnresolvedFiler]) -> list[dict[str, Any]]:
    return [asdict(u) for u in found]
