"""PTR transaction table parser driven by word positions.

The table's columns are located from the printed header on each page. A row starts at an anchor
line (a transaction date left-aligned under "Date", with a transaction type or notification date
beside it); every following table line, across page breaks, belongs to that row until the next
anchor: first the wrapped cells (asset name, amount), then the labelled detail lines.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from services.extract.ptr.checks import completeness, score_row
from services.extract.ptr.fields import (
    DATE_RE,
    join_lines,
    parse_amount,
    parse_asset,
    parse_date,
    parse_tx_type,
)
from services.extract.ptr.labels import is_filing_id, is_section_title, match_detail_label
from services.extract.ptr.layout import Line, PageLayout, Word

ALIGN_TOL = 4.0  # points: cells are left-aligned under their header word
_CAP_EMPTY, _CAP_TICKED = "gfedc", "gfedcb"  # ZapfDingbats checkbox glyphs (2019-2022 renderings)
_HEADER_REQUIRED = ("owner", "asset", "transaction", "notification", "amount")
_HEADER_CONTINUATION = {"type", "date", "gains", ">", "$200?", "gains >"}
# The Clerk's transaction ID, printed in the ID column of an amended or deleted row.
_TRANSACTION_ID = re.compile(r"^\d{6,12}$")


@dataclass(frozen=True)
class Columns:
    """Left edges of the form's columns on one page."""

    owner: float
    asset: float
    tx: float
    date: float
    notif: float
    amount: float
    cap: float | None

    def of(self, x: float) -> str:
        name = "id"
        for col, start in self._starts():
            if x >= start - ALIGN_TOL:
                name = col
        return name

    def _starts(self) -> list[tuple[str, float]]:
        starts = [
            ("owner", self.owner),
            ("asset", self.asset),
            ("tx", self.tx),
            ("date", self.date),
            ("notif", self.notif),
            ("amount", self.amount),
        ]
        return starts + ([("cap", self.cap)] if self.cap is not None else [])


def _key(word: Word) -> str:
    return word.text.lower().strip(".:")


def find_header(lines: list[Line]) -> tuple[int, Columns, float] | None:
    """(index of the header line, columns, y of the header block's bottom) or None."""
    for i, line in enumerate(lines):
        by_key = {_key(w): w for w in line.words}
        if not all(k in by_key for k in _HEADER_REQUIRED):
            continue
        tx, notif = by_key["transaction"].x0, by_key["notification"].x0
        dates = [w for w in line.words if _key(w) == "date" and tx < w.x0 < notif]
        if not dates:
            continue
        cap = next((w.x0 for w in line.words if _key(w) == "cap" and w.x0 > by_key["amount"].x0), None)
        cols = Columns(
            by_key["owner"].x0, by_key["asset"].x0, tx, dates[0].x0, notif, by_key["amount"].x0, cap
        )
        bottom = line.bottom
        for below in lines[i + 1 :]:
            if line.top - below.top > 40 or not all(_key(w) in _HEADER_CONTINUATION for w in below.words):
                break
            bottom = below.bottom
        return i, cols, bottom
    return None


@dataclass
class TableLine:
    page: PageLayout
    line: Line
    cols: Columns


def table_lines(pages: list[PageLayout]) -> tuple[list[TableLine], bool]:
    """Lines of the transaction table in reading order across pages, and whether a header was found."""
    out: list[TableLine] = []
    cols: Columns | None = None
    header_seen = False
    for page in pages:
        header = find_header(page.lines)
        if header is not None:
            start, cols, _ = header
            header_seen = True
            body = _skip_header_block(page.lines, start)
        elif cols is not None:
            body = page.lines  # a table still open from the previous page without a repeated header
        else:
            continue
        for line in body:
            if is_section_title(line.text):
                cols = None  # the table has ended; later pages only continue it with a new header
                break
            if not is_filing_id(line.text):
                out.append(TableLine(page, line, cols))
    return out, header_seen


def _skip_header_block(lines: list[Line], start: int) -> list[Line]:
    i = start + 1
    while (
        i < len(lines)
        and lines[start].top - lines[i].top <= 40
        and all(_key(w) in _HEADER_CONTINUATION for w in lines[i].words)
    ):
        i += 1
    return lines[i:]


def _is_date_at(word: Word, x: float) -> bool:
    return abs(word.x0 - x) <= ALIGN_TOL and bool(DATE_RE.match(word.text))


def anchor_word(tl: TableLine) -> Word | None:
    """The line's date under "Date" (or, failing that, under "Notification Date"): a row anchor.

    The completeness check counts these; a row must start at every one of them.
    """
    for x in (tl.cols.date, tl.cols.notif):
        found = next((w for w in tl.line.words if _is_date_at(w, x)), None)
        if found is not None:
            return found
    return None


def is_anchor(tl: TableLine) -> bool:
    words = tl.line.words
    has_tx = any(abs(w.x0 - tl.cols.tx) <= ALIGN_TOL for w in words)
    has_date = any(_is_date_at(w, tl.cols.date) for w in words)
    has_notif = any(_is_date_at(w, tl.cols.notif) for w in words)
    # Two of the three left-aligned cells: a wrapped description rarely lines up with two columns.
    return has_tx + has_date + has_notif >= 2


@dataclass
class RowDraft:
    page: PageLayout
    anchor: Line
    cols: Columns
    cells: dict[str, list[str]] = field(default_factory=dict)  # column -> its text on each line
    transaction_id: str | None = None
    glyph: str | None = None
    details: dict[str, list[str]] = field(default_factory=dict)
    detail: str | None = None
    unconsumed: list[str] = field(default_factory=list)

    def add(self, tl: TableLine) -> None:
        label = match_detail_label(tl.line.text)
        if label is not None:
            self.detail, value = label
            self.details.setdefault(self.detail, []).append(value)
        elif self.detail is not None and tl.line.x0 < tl.cols.tx - ALIGN_TOL:
            self.details[self.detail].append(tl.line.text)  # a wrapped detail line
        else:
            self._add_cells(tl.line, tl.cols, first=tl.line is self.anchor)

    def _add_cells(self, line: Line, cols: Columns, first: bool) -> None:
        on_line: dict[str, list[str]] = {}
        for w in line.words:
            col = cols.of(w.x0)
            if col == "cap":
                self._add_glyph(w)
            elif col in ("date", "notif") and not first:
                self.unconsumed.append(w.text)
            elif col == "id":
                self._add_id(w, first)
            else:
                on_line.setdefault(col, []).append(w.text)
        for col, words in on_line.items():
            self.cells.setdefault(col, []).append(" ".join(words))

    def _add_id(self, w: Word, first: bool) -> None:
        if first and self.transaction_id is None and _TRANSACTION_ID.match(w.text):
            self.transaction_id = w.text
        else:
            self.unconsumed.append(w.text)

    def _add_glyph(self, w: Word) -> None:
        if w.text not in (_CAP_EMPTY, _CAP_TICKED):
            self.unconsumed.append(w.text)
        elif self.glyph is None:
            self.glyph = w.text
        # A second glyph is the generator's stray copy of a box at a page top: nothing to read.

    def cell(self, name: str) -> str:
        return join_lines(self.cells.get(name, []))


def _cap_gains(draft: RowDraft) -> bool | None:
    if draft.glyph is not None:
        return draft.glyph == _CAP_TICKED
    if draft.cols.cap is None:
        return None  # the 2016-2018 form has no such column
    return _drawn_checkbox(draft)


def _drawn_checkbox(draft: RowDraft) -> bool | None:
    """From about 2022 the box is only drawn: a box outline, plus a differently shaped path when ticked."""
    assert draft.cols.cap is not None
    paths = draft.page.paths(draft.cols.cap - 2 * ALIGN_TOL, draft.page.width)
    if not paths:
        return None
    outline_segments = Counter(p[4] for p in paths).most_common(1)[0][0]
    lo, hi = draft.anchor.bottom - 8.0, draft.anchor.top + 2.0
    near = [p for p in paths if lo <= (p[1] + p[3]) / 2 <= hi]
    if not near:
        return None
    return any(p[4] != outline_segments for p in near)


def _detail(draft: RowDraft, name: str) -> str | None:
    return join_lines(draft.details.get(name, [])) or None


def finish_row(draft: RowDraft, number: int) -> dict[str, Any]:
    asset = parse_asset(draft.cell("asset"))
    amount = parse_amount(draft.cell("amount"))
    tx_date, note_date = parse_date(draft.cell("date")), parse_date(draft.cell("notif"))
    row: dict[str, Any] = {
        "row": number,
        "transaction_id": draft.transaction_id,
        "owner": draft.cell("owner").upper() or None,
        "asset_name": asset.name,
        "ticker": asset.ticker,
        "asset_type": asset.asset_type,
        "transaction_type": parse_tx_type(draft.cell("tx")),
        "transaction_date": tx_date.isoformat() if tx_date else None,
        "notification_date": note_date.isoformat() if note_date else None,
        "amount_low": amount.low,
        "amount_high": amount.high,
        "cap_gains_over_200": _cap_gains(draft),
        "filing_status": _detail(draft, "filing_status"),
        "description": _detail(draft, "description"),
        "subholding_of": _detail(draft, "subholding_of"),
        "location": _detail(draft, "location"),
        "comments": _detail(draft, "comments"),
        "page": draft.page.number,
        "amount_text": draft.cell("amount") or None,
        "unconsumed": draft.unconsumed,
    }
    row["confidence"], row["checks_failed"] = score_row(row)
    return row


def parse_ptr(pages: list[PageLayout]) -> dict[str, Any]:
    """Transactions and warnings of an e-filed PTR whose pages have been laid out."""
    lines, header_seen = table_lines(pages)
    drafts: list[RowDraft] = []
    warnings: list[str] = []
    anchors: dict[int, list[tuple[str, bool]]] = {}
    for tl in lines:
        anchoring = is_anchor(tl)
        word = anchor_word(tl)
        if word is not None:
            anchors.setdefault(tl.page.number, []).append((f"{word.text} at y={word.top:.0f}", anchoring))
        if anchoring:
            drafts.append(RowDraft(tl.page, tl.line, tl.cols))
            drafts[-1].add(tl)
        elif drafts:
            drafts[-1].add(tl)
        else:
            warnings.append(f"page {tl.page.number}: table line before the first row: {tl.line.text!r}")
    rows = [finish_row(d, i + 1) for i, d in enumerate(drafts)]
    warnings += completeness(anchors)
    for draft, row in zip(drafts, rows, strict=True):
        if row["unconsumed"]:
            warnings.append(f"row {row['row']} (page {row['page']}): unconsumed words {row['unconsumed']}")
        if row["cap_gains_over_200"] is None and draft.cols.cap is not None:
            warnings.append(f"row {row['row']} (page {row['page']}): cap-gains box neither in text nor drawn")
    return {"transactions": rows, "warnings": warnings, "header_found": header_seen, "anchors": anchors}
