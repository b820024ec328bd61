"""Trades that stay true: corrections supersede what they correct, a trade filed twice counts once.

Works on plain rows (one per Gold transaction), across every year in Gold, in two passes:

1. **The same trade filed twice** (a print-out of an e-filed PTR inside a paper one, or the
   same rows filed again): among a filer's rows whose filing status is New (or not printed),
   a row of another filing with the same owner, transaction date, transaction type and amount
   range and the same asset (ticker, else the name's words) is the same trade. It is paired once
   with the copy of the preferred filing (e-filed before OCR, then the earlier filing), becomes
   `duplicate` and stops counting; the kept copy lists every filing it appears in
   (`also_filed_in`). Only fields an OCR reader returns are compared, so paper rows pair too: a
   type or amount the reader could not read (null on an OCR row) is unknown and does not
   contradict, and OCR's truncated words match the words they start or end ('Manufacturin',
   'aiwan'); a subholding counts only when both rows print one. Rows of one filing never pair:
   a filer can report two identical trades.
2. **Corrections**: a row whose status is Amended or Deleted, in filing order, supersedes the
   row it corrects. By the Clerk's transaction ID first: originals do not print theirs, so an ID
   is learned when a correction is linked to its original, and a later correction printing the
   same ID (an amendment deleted later, or the same correction filed twice) follows the chain to
   its latest link. Otherwise by fields: among the filer's rows still counted from earlier
   filings, each with the same asset is scored (`FIELD_WEIGHTS`); the best at or above
   `MATCH_THRESHOLD` is the original when no other candidate scores as high. A tie is flagged
   `ambiguous` with its candidates and supersedes nothing: an ambiguous Amended row counts (it
   is the filer's latest word) and its candidates keep counting, for review; an ambiguous or
   unmatched Deleted row never counts.

Statuses: `active` (counted), `amended` and `deleted` (superseded: an amendment or a deletion
replaced them), `deletion` (the Deleted row itself), `duplicate`. Only `active` rows count in
any total, trend or statistic; every row stays in `fact_transactions` with its chain.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

ACTIVE, AMENDED, DELETED, DELETION, DUPLICATE = "active", "amended", "deleted", "deletion", "duplicate"
BY_TRANSACTION_ID, BY_FIELDS, AMBIGUOUS, NOT_FOUND = "transaction_id", "fields", "ambiguous", "not_found"

# Field weights of a correction's match to its original; the asset must match to be a candidate.
FIELD_WEIGHTS = {
    "asset": 0.35,
    "transaction_date": 0.20,
    "side": 0.15,
    "owner": 0.10,
    "amount": 0.10,
    "subholding": 0.10,
}
MATCH_THRESHOLD = 0.70  # the asset plus date and type, or the asset and all but one other field
ASSET_SIMILARITY = 0.80  # share of name words in common for assets without a ticker
# Words that name no company: 'Nike, Inc. Common Stock' and 'NIKE INC' are one asset.
_NOISE = frozenset(
    "INC INCORPORATED CORP CORPORATION CO COMPANY LTD LIMITED PLC LLC LP SA NV AG HOLDINGS HOLDING GROUP "
    "CLASS CL A B C COMMON STOCK SHARES SHARE ORDINARY ADR ADS SPONSORED THE OF AND".split()
)


@dataclass
class TradeRow:
    """What reconciling needs of one Gold transaction."""

    key: str
    filing_key: str
    member_key: str
    filing_order: tuple[Any, ...]  # (filing date, doc_id): the order filings were made in
    row: int
    filing_status: str | None
    transaction_id: str | None
    owner: str | None
    ticker: str | None
    asset_name: str | None
    transaction_type: str | None
    transaction_date: date | None
    amount_low: float | None
    amount_high: float | None
    subholding_of: str | None
    source: str = "efiled"
    asset_words: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        # Words of one or two letters are noise or OCR fragments ('Ir' of 'Inc', 'St' of 'Stock').
        words = re.sub(r"[^A-Z0-9]+", " ", (self.asset_name or "").upper()).split()
        self.asset_words = frozenset(w for w in words if len(w) > 2) - _NOISE

    @property
    def status(self) -> str:
        return (self.filing_status or "new").strip().lower()

    @property
    def side(self) -> str:
        return (self.transaction_type or "").strip().upper()[:1]


@dataclass
class Outcome:
    trade_status: str = ACTIVE
    supersedes: str | None = None
    superseded_by: str | None = None
    correction_match: str | None = None
    correction_score: float | None = None
    correction_candidates: list[str] = field(default_factory=list)
    duplicate_of: str | None = None
    also_filed_in: list[str] = field(default_factory=list)

    @property
    def counted(self) -> bool:
        return self.trade_status == ACTIVE


def _norm(text: str | None) -> str:
    return re.sub(r"[^A-Z0-9]+", " ", (text or "").upper()).strip()


def _word_in(word: str, words: frozenset[str]) -> bool:
    # OCR cuts words at a cell's edge: a word of 4+ letters inside another counts as that word.
    return word in words or (len(word) >= 4 and any(word in w or (len(w) >= 4 and w in word) for w in words))


def asset_similarity(a: TradeRow, b: TradeRow) -> float:
    """1 for the same ticker; 0 for two different tickers; else the share of the shorter name's
    words found in the other name (the ticker counting as a word)."""
    ta, tb = (a.ticker or "").upper(), (b.ticker or "").upper()
    if ta and tb:
        return 1.0 if ta == tb else 0.0
    wa, wb = a.asset_words | ({ta} if ta else set()), b.asset_words | ({tb} if tb else set())
    if not wa or not wb:
        return 0.0
    short, long_ = sorted((frozenset(wa), frozenset(wb)), key=len)
    return sum(_word_in(w, long_) for w in short) / len(short)


def field_score(correction: TradeRow, original: TradeRow) -> float:
    """How well a correction matches a candidate original: 0 unless the asset is the same."""
    if asset_similarity(correction, original) < ASSET_SIMILARITY:
        return 0.0
    same = {
        "asset": True,
        "transaction_date": correction.transaction_date == original.transaction_date,
        "side": correction.side == original.side,
        "owner": (correction.owner or "") == (original.owner or ""),
        "amount": (correction.amount_low, correction.amount_high) == (original.amount_low, original.amount_high),
        "subholding": _norm(correction.subholding_of) == _norm(original.subholding_of),
    }
    return round(sum(w for name, w in FIELD_WEIGHTS.items() if same[name]), 4)


def _agrees(a: TradeRow, b: TradeRow, value: Any, other: Any) -> bool:
    """Equal values; a value an OCR reader could not read (null) is unknown and agrees."""
    return value == other or (value is None and a.source == "ocr") or (other is None and b.source == "ocr")


def _is_copy(row: TradeRow, kept: TradeRow) -> bool:
    amount = None if row.amount_low is None and row.amount_high is None else (row.amount_low, row.amount_high)
    kept_amount = None if kept.amount_low is None and kept.amount_high is None else (kept.amount_low, kept.amount_high)
    if (row.owner or "") != (kept.owner or "") or not (
        _agrees(row, kept, row.side or None, kept.side or None) and _agrees(row, kept, amount, kept_amount)
    ):
        return False
    a, b = _norm(row.subholding_of), _norm(kept.subholding_of)
    if a and b and a != b:
        return False
    return asset_similarity(row, kept) >= ASSET_SIMILARITY


def _preference(row: TradeRow) -> tuple[Any, ...]:
    # The text layer is exact and OCR is not: the e-filed copy is kept, then the earlier filing.
    return (row.source == "ocr", row.filing_order, row.filing_key, row.row)


def _pair_duplicates(rows: list[TradeRow], out: dict[str, Outcome]) -> None:
    by_member: dict[str, list[TradeRow]] = defaultdict(list)
    for row in rows:
        if row.status == "new" and row.transaction_date is not None:
            by_member[row.member_key].append(row)
    for member_rows in by_member.values():
        buckets: dict[date | None, list[TradeRow]] = defaultdict(list)
        for row in member_rows:
            buckets[row.transaction_date].append(row)
        for bucket in buckets.values():
            if len({r.filing_key for r in bucket}) < 2:
                continue
            kept: list[TradeRow] = []
            for row in sorted(bucket, key=_preference):
                # One copy per kept row and filing: identical rows of one filing stay distinct trades.
                match = next(
                    (
                        k for k in kept
                        if k.filing_key != row.filing_key
                        and row.filing_key not in out[k.key].also_filed_in
                        and _is_copy(row, k)
                    ),
                    None,
                )  # fmt: skip
                if match is None:
                    kept.append(row)
                    continue
                out[row.key].trade_status, out[row.key].duplicate_of = DUPLICATE, match.key
                out[match.key].also_filed_in.append(row.filing_key)
    for outcome in out.values():
        outcome.also_filed_in.sort()


def _supersede(rows: list[TradeRow], out: dict[str, Outcome]) -> None:
    live: dict[str, list[TradeRow]] = defaultdict(list)  # member -> rows still counted, filing order
    by_id: dict[str, str] = {}  # Clerk transaction ID -> key of the latest link of its chain
    by_key = {r.key: r for r in rows}
    ordered = sorted(rows, key=lambda r: (r.filing_order, r.filing_key, r.row))
    for row in ordered:
        outcome = out[row.key]
        if row.status not in ("amended", "deleted"):
            if outcome.counted:
                live[row.member_key].append(row)
            continue
        target, earlier = None, [
            r for r in live[row.member_key] if (r.filing_order, r.filing_key) < (row.filing_order, row.filing_key)
        ]
        head = by_key.get(by_id.get(row.transaction_id or "", ""))
        if head is not None and head in earlier:
            target, outcome.correction_match, outcome.correction_score = head, BY_TRANSACTION_ID, 1.0
        else:
            scored = sorted(((field_score(row, r), r) for r in earlier), key=lambda s: -s[0])
            scored = [(s, r) for s, r in scored if s >= MATCH_THRESHOLD]
            if not scored:
                outcome.correction_match = NOT_FOUND
            elif len(scored) > 1 and scored[1][0] == scored[0][0]:
                outcome.correction_match, outcome.correction_score = AMBIGUOUS, scored[0][0]
                outcome.correction_candidates = sorted(r.key for s, r in scored if s == scored[0][0])
            else:
                target = scored[0][1]
                outcome.correction_match, outcome.correction_score = BY_FIELDS, scored[0][0]
        deleted = row.status == "deleted"
        if target is not None:
            live[row.member_key].remove(target)
            out[target.key].trade_status = DELETED if deleted else AMENDED
            out[target.key].superseded_by = row.key
            outcome.supersedes = target.key
            for tid, key in list(by_id.items()):
                if key == target.key:
                    by_id[tid] = row.key
        if row.transaction_id:
            by_id[row.transaction_id] = row.key
        if deleted:
            outcome.trade_status = DELETION
        else:
            live[row.member_key].append(row)


def reconcile(rows: Iterable[TradeRow]) -> dict[str, Outcome]:
    """Each row's outcome (status, chain, provenance), keyed by transaction key."""
    rows = list(rows)
    out = {r.key: Outcome() for r in rows}
    _pair_duplicates(rows, out)
    _supersede(rows, out)
    return out


_Row = TypeVar("_Row", bound=Mapping[str, Any])


def first_of_chain(rows: Mapping[str, _Row], row: _Row) -> _Row:
    """The row a chain of corrections starts from: `supersedes` followed back (a cycle stops it)."""
    first, seen = row, {row["transaction_key"]}
    while first["supersedes"] in rows and first["supersedes"] not in seen:
        first = rows[first["supersedes"]]
        seen.add(first["transaction_key"])
    return first
