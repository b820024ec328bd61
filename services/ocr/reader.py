"""Read a scanned (paper) PTR: the rows of its ruled tables, with the honesty of each row.

Page by page: render at 200 dpi, turn upright (rotation chosen by recognition confidence),
deskew, find the ruled table and give its columns their roles, then read each row: the text
cells (owner, asset, dates) by OCR, the mark cells (transaction type, amount) from their pixels.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from difflib import SequenceMatcher
from typing import Any

import pypdfium2 as pdfium

from services.extract.ptr.fields import FORM_RANGES
from services.ocr.engine import PSM, Page, Word, engine_version
from services.ocr.fields import (
    clean_asset,
    is_example,
    parse_ocr_date,
    parse_owner,
    says_see_attached,
    split_owner,
    split_ticker,
)
from services.ocr.grid import HEADER_RATIOS, Grid, find_grid, label_columns, read_tx_headings
from services.ocr.marks import MarkGroup, mark_group
from services.ocr.model import Layout, OcrPage, OcrResult, OcrRow, PageKind
from services.ocr.pages import (
    DPI,
    PageTooLarge,
    choose_rotation,
    deskew,
    ink,
    render_pages,
    rotation_candidates,
    without_rules,
)

# The longest real PTR has 81 pages; past this a "PTR" is not one, or is hostile.
MAX_PAGES = 120
# Mean word confidence under which a page's typed cells are taken for handwriting.
HANDWRITING_CONFIDENCE = 60.0
# Word confidence under which an asset name is not certain.
ASSET_CONFIDENCE = 80.0
_PTR_TITLE = re.compile(r"PERIODIC\s*TRANSACTION|TRANSACTION\s*REPORT", re.IGNORECASE)


@dataclass
class _DocState:
    subholding: str | None = None
    rotation: int | None = None
    rows: list[OcrRow] = field(default_factory=list)
    pages: list[OcrPage] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    cover_read: bool = False
    tx_headings: dict[int, list[str]] = field(default_factory=dict)
    filer_name: str | None = None
    state_district: str | None = None
    saw_title: bool = False
    saw_table: bool = False
    saw_attached: bool = False
    printed_boxes: bool = False
    handwritten_pages: int = 0


def read_scanned_ptr(pdf_bytes: bytes, doc_id: str | None = None) -> OcrResult:
    """Rows of a scanned PTR, or a specific failure_reason when it gives none."""
    started = time.process_time()
    label = doc_id or "document"
    try:
        pdf = pdfium.PdfDocument(pdf_bytes)
    except pdfium.PdfiumError as exc:
        return _failed("unreadable", f"{label}: not a readable PDF ({exc})", 0, started)
    try:
        pages = len(pdf)
        if pages > MAX_PAGES:
            return _failed("too_many_pages", f"{label}: {pages} pages (limit {MAX_PAGES})", pages, started)
        state = _DocState()
        try:
            for number, image in render_pages(pdf):
                _read_page(number, image, state)
                image.close()
        except PageTooLarge as exc:
            return _failed("page_too_large", f"{label}: {exc}", pages, started)
    finally:
        pdf.close()
    _drop_repeated_pages(state)
    return _result(state, pages, started, label)


def _drop_repeated_pages(state: _DocState) -> None:
    """A page scanned twice (8220904 holds its page 2 again as page 5) would count its trades
    twice: of two pages whose rows match in order, the one with more rows is kept, and said."""
    by_page: dict[int, list[OcrRow]] = {}
    for row in state.rows:
        by_page.setdefault(row.page, []).append(row)
    dropped: set[int] = set()
    numbers = sorted(by_page)
    for n, later in enumerate(numbers):
        for earlier in numbers[:n]:
            if {earlier, later} & dropped or not _same_rows(by_page[earlier], by_page[later]):
                continue
            drop, keep = (earlier, later) if len(by_page[later]) > len(by_page[earlier]) else (later, earlier)
            dropped.add(drop)
            state.warnings.append(f"page {drop} repeats page {keep}: its {len(by_page[drop])} rows are not counted twice")
    if dropped:
        state.rows = [row for row in state.rows if row.page not in dropped]


def _same_rows(a: list[OcrRow], b: list[OcrRow]) -> bool:
    """The same rows in the same order, read twice (OCR reads a second scan a little differently)."""
    shortest = min(len(a), len(b))
    if shortest < 5 or abs(len(a) - len(b)) > 2:
        return False
    alike = sum(
        x.transaction_type == y.transaction_type
        and SequenceMatcher(None, _letters(x.asset_name), _letters(y.asset_name)).ratio() >= 0.75
        for x, y in zip(a, b, strict=False)
    )
    return alike >= 0.8 * shortest


def _letters(text: str | None) -> str:
    return re.sub(r"[^A-Z]", "", (text or "").upper())


def _failed(reason: str, message: str, pages: int, started: float) -> OcrResult:
    layout: Layout = "unreadable"
    return OcrResult(
        layout=layout, pages=pages, failure_reason=reason, failure_message=message,
        engine=engine_version(), cpu_seconds=round(time.process_time() - started, 3),
    )


def _upright_table(image: Any, state: _DocState) -> tuple[int, Any, Any, Grid] | None:
    """The rotation under which the page shows a PTR table the right way up, or None.

    A table read upside down or mirrored has its amount columns left of the asset column, so
    labelling the columns fails: the grid decides between the two rotations that make the
    print horizontal, without OCR. Pages without a table are oriented by recognition
    confidence instead (`choose_rotation`).
    """
    turned = []
    for rotation in rotation_candidates(image, state.rotation):
        upright = deskew(image.rotate(rotation, expand=True) if rotation else image)
        turned.append((rotation, upright, ink(upright)))
    for ratio in HEADER_RATIOS:
        for rotation, upright, mask in turned:
            grid = find_grid(mask, ratio)
            if grid is not None and label_columns(grid):
                return rotation, upright, mask, grid
    return None


def _read_page(number: int, image: Any, state: _DocState) -> None:
    found = _upright_table(image, state)
    kind: PageKind = "other"
    confidence: float | None = None
    if found is None:
        # No table: read the page's densest print under each rotation to classify it.
        orientation = choose_rotation(image, state.rotation)
        state.saw_title |= bool(_PTR_TITLE.search(" ".join(w.text for w in orientation.words)))
        if ink(image).mean() < 0.003:
            kind = "blank"
        state.pages.append(OcrPage(page=number, rotation=orientation.rotation, kind=kind))
        return
    rotation, upright, mask, grid = found
    state.rotation = rotation
    state.saw_table = True
    # Headings are read once per document and table shape: every page of a filing repeats them.
    shape = len(grid.tx)
    if shape not in state.tx_headings:
        read_tx_headings(grid, upright)
        state.tx_headings[shape] = [grid.tx[c] for c in sorted(grid.tx)]
    grid.tx = dict(zip(sorted(grid.tx), state.tx_headings[shape], strict=True))
    clean = without_rules(
        upright, mask, rows=[y for band in grid.rows for y in band], cols=[x for col in grid.cols for x in col],
        span=(grid.header[0], grid.rows[-1][1]),
        # The cover above the table is read once per document: clear its rules on that page only.
        rules_from=0 if not state.cover_read else None,
    )
    with Page(clean, DPI) as page:
        cover = False
        if not state.cover_read and grid.header[0] > DPI:
            words = page.words((0, 0, upright.width, grid.header[0]), PSM.SINGLE_BLOCK)
            state.cover_read = cover = True
            state.saw_title |= bool(_PTR_TITLE.search(" ".join(w.text for w in words)))
            state.filer_name, state.state_district = _cover_fields(page, words)
        kind, confidence = _read_table(number, page, clean, grid, state)
        if kind == "attachment" and cover:
            kind = "form"
    state.pages.append(OcrPage(page=number, rotation=rotation, kind=kind, word_confidence=confidence))


@dataclass
class _Cells:
    owner: str = ""
    asset: str = ""
    tx_date: str = ""
    notif_date: str = ""
    confs: list[float] = field(default_factory=list)
    asset_conf: float | None = None


def _read_cells(page: Page, grid: Grid, row: int, text_ink: Any) -> _Cells:
    cells = _Cells()

    def read(col: int | None, psm: int) -> tuple[str, float | None]:
        if col is None:
            return "", None
        x0, y0, x1, y1 = grid.cell(row, col)
        # Specks left in an empty cell read as junk letters: OCR only cells with print in them.
        if text_ink[y0:y1, x0:x1].sum() < 40:
            return "", None
        text, conf = page.text((x0 + 2, y0 + 2, x1 - 2, y1 - 2), psm)
        if conf is not None:
            cells.confs.append(conf)
        return text, conf

    cells.asset, cells.asset_conf = read(grid.asset, PSM.SINGLE_BLOCK)
    cells.owner, _ = read(grid.owner, PSM.SINGLE_LINE)
    if grid.owner is None:
        cells.owner, cells.asset = split_owner(cells.asset)
    cells.tx_date, _ = read(grid.tx_date, PSM.SINGLE_LINE)
    cells.notif_date, _ = read(grid.notif_date, PSM.SINGLE_LINE)
    return cells


def _read_table(
    number: int, page: Page, clean: Any, grid: Grid, state: _DocState
) -> tuple[PageKind, float | None]:
    tx_cols = sorted(grid.tx)
    # Marks are read on the page without its rules, so a rule's remnant is no mark.
    text_ink = ink(clean)
    tx_group = mark_group(text_ink, [[grid.cell(r, c) for c in tx_cols] for r in range(len(grid.rows))])
    amount_group = mark_group(text_ink, [[grid.cell(r, c) for c in grid.amounts] for r in range(len(grid.rows))])
    state.printed_boxes |= amount_group.printed_boxes()
    drafts: list[tuple[int, _Cells, list[int], list[int]]] = []
    confs: list[float] = []
    attached = False
    for r in range(len(grid.rows)):
        tx_marks, amount_marks = tx_group.marked(r), amount_group.marked(r)
        # An empty row reads nothing: skip the OCR of cells that hold no ink.
        cells = _read_cells(page, grid, r, text_ink) if (tx_marks or amount_marks or _has_text(text_ink, grid, r)) else _Cells()
        if says_see_attached(cells.asset):
            attached = True
            continue
        if not (cells.asset or cells.tx_date or cells.notif_date):
            if tx_marks and amount_marks:
                state.warnings.append(f"page {number}: a row with marks but no text read; not a row")
            continue
        if is_example(cells.asset) or is_example(cells.tx_date) or is_example(cells.notif_date):
            continue
        confs += cells.confs
        drafts.append((r, cells, tx_marks, amount_marks))
    state.saw_attached |= attached
    mean_conf = sum(confs) / len(confs) if confs else None
    if not drafts:
        return ("cover" if attached else "form"), mean_conf
    dated = sum(1 for _, c, _, _ in drafts if parse_ocr_date(c.tx_date))
    if mean_conf is not None and mean_conf < HANDWRITING_CONFIDENCE and dated < len(drafts) / 2:
        state.handwritten_pages += 1
        state.warnings.append(
            f"page {number}: {len(drafts)} filled rows look handwritten (mean word confidence "
            f"{mean_conf:.0f}); not read"
        )
        return "handwritten", mean_conf
    years = Counter(
        d.year for _, c, _, _ in drafts for d in (parse_ocr_date(c.tx_date), parse_ocr_date(c.notif_date))
        if d is not None and d <= date.today()
    )
    usual_year = years.most_common(1)[0][0] if years else None
    for r, cells, tx_marks, amount_marks in drafts:
        row = _build_row(
            number, grid, r, cells, tx_marks, amount_marks, tx_group, amount_group, tx_cols, state, usual_year
        )
        if row is not None:
            state.rows.append(row)
    return "attachment", mean_conf


def _has_text(mask: Any, grid: Grid, row: int) -> bool:
    for col in (grid.asset, grid.tx_date):
        if col is None:
            continue
        x0, y0, x1, y1 = grid.cell(row, col)
        inner = mask[y0 + 4 : y1 - 4, x0 + 4 : x1 - 4]
        if inner.size and inner.mean() > 0.01:
            return True
    return False


def _build_row(
    number: int, grid: Grid, r: int, cells: _Cells, tx_marks: list[int], amount_marks: list[int],
    tx_group: MarkGroup, amount_group: MarkGroup, tx_cols: list[int], state: _DocState, usual_year: int | None,
) -> OcrRow | None:
    review: list[str] = []
    failed: list[str] = []
    asset = clean_asset(cells.asset)
    tx_date, notif_date = parse_ocr_date(cells.tx_date), parse_ocr_date(cells.notif_date)
    tx_date, notif_date = (
        _year_fixed(value, usual_year, name, failed, review)
        for value, name in ((tx_date, "transaction_date"), (notif_date, "notification_date"))
    )
    kinds = [grid.tx[tx_cols[i]] for i in tx_marks]
    amount_idx = [grid.amounts[i] for i in amount_marks]
    if asset and not tx_date and not notif_date and not amount_idx:
        # A line with a name but no dates and no amount heads the holdings listed under it.
        state.subholding = asset
        return None
    owner, owner_ok = parse_owner(cells.owner)
    if not owner_ok:
        failed.append("owner_code")
        review.append(f"owner cell {cells.owner!r} is not JT, SP or DC")
    cap_gains = True if "cap_gains" in kinds else None
    type_kinds = [k for k in kinds if k != "cap_gains"]
    tx_type: str | None = None
    if "partial" in type_kinds and set(type_kinds) <= {"partial", "S"}:
        tx_type = "S (partial)"
    elif len(type_kinds) == 1:
        tx_type = type_kinds[0]
    if tx_type is None:
        failed.append("one_type_mark")
        review.append(f"{len(type_kinds)} transaction-type marks")
    amount_low = amount_high = None
    if len(amount_idx) == 1:
        position = grid.amounts.index(amount_idx[0])
        # Ten columns are A-J; an eleventh (K) is "Spouse/DC over $1,000,000".
        amount_low, amount_high = FORM_RANGES[position] if position < len(FORM_RANGES) else (None, None)
    else:
        failed.append("one_amount_mark")
        review.append(f"{len(amount_idx)} amount marks")
    for name, value, raw in (("transaction_date", tx_date, cells.tx_date), ("notification_date", notif_date, cells.notif_date)):
        if value is None:
            failed.append(f"{name}_parses")
            review.append(f"{name} {raw!r} does not parse")
    if tx_date and notif_date and notif_date < tx_date:
        failed.append("notification_not_before_transaction")
        review.append("notification date before transaction date")
    if tx_date and tx_date > date.today():
        failed.append("date_not_future")
        review.append("transaction date in the future")
    if not asset:
        failed.append("asset_name")
        review.append("asset name not read")
    elif cells.asset_conf is None or cells.asset_conf < ASSET_CONFIDENCE:
        failed.append("asset_word_confidence")
        review.append(f"asset name read with confidence {cells.asset_conf or 0:.0f}")
    name, ticker = split_ticker(asset) if asset else ("", None)
    weak = [s for s in (tx_group, amount_group) if s.ink.size]
    if any(0 < min((g.strength(r, i) for i in g.marked(r)), default=2) < 1.5 for g in weak):
        failed.append("clear_marks")
        review.append("a mark is faint")
    checks = 9
    return OcrRow(
        row=len(state.rows) + 1,
        owner=owner,
        asset_name=name or None,
        ticker=ticker,
        transaction_type=tx_type,
        transaction_date=tx_date.isoformat() if tx_date else None,
        notification_date=notif_date.isoformat() if notif_date else None,
        amount_low=amount_low,
        amount_high=amount_high,
        cap_gains_over_200=cap_gains,
        subholding_of=state.subholding,
        page=number,
        amount_text=None,
        confidence=round(max(0.0, 1 - len(failed) / checks), 3),
        checks_failed=failed,
        needs_review=review,
    )


def _year_fixed(
    value: date | None, usual_year: int | None, name: str, failed: list[str], review: list[str]
) -> date | None:
    """A year in the future or far from the page's usual year, one digit away from it, is a
    misread digit ('2075' or '2020' for '2025'): take the usual year and say so."""
    if value is None or usual_year is None or value.year == usual_year:
        return value
    if value <= date.today() and abs(value.year - usual_year) <= 1:
        return value  # a trade late in one year reported early in the next
    read, usual = str(value.year), str(usual_year)
    if len(read) == len(usual) and sum(a != b for a, b in zip(read, usual, strict=True)) == 1:
        try:
            fixed = value.replace(year=usual_year)
        except ValueError:
            return value
        failed.append(f"{name}_year_read")
        review.append(f"{name} year read as {value.year}, taken as {usual_year}")
        return fixed
    return value


_STATES = frozenset(
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH "
    "OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC AS GU MP PR VI".split()
)


def _field_text(page: Page, box: tuple[int, int, int, int]) -> tuple[str, float]:
    """One form field's value, read as a single line; ("", 0) when it is empty."""
    # Bits of the underline read as punctuation: only words with a letter or digit count.
    words = [w for w in page.words(box, PSM.SINGLE_LINE) if any(c.isalnum() for c in w.text)]
    if not words:
        return "", 0.0
    return " ".join(w.text for w in words).strip(" _:|.,-'\"‘’“”"), sum(w.conf for w in words) / len(words)


def _cover_fields(page: Page, words: list[Word]) -> tuple[str | None, str | None]:
    """Filer name and state-district from the cover's NAME, State and District fields.

    The labels are found among the cover's words; each value is then read on its own, right of
    its label (or, for NAME on the form, on the line under it), which reads far better than the
    cover read as one block with its stamps and boxes.
    """
    def label(match: str) -> Word | None:
        # DIST is a prefix: some form versions misprint "District" as "Distict".
        return next((w for w in words if w.conf >= 50 and (
            w.text.upper().strip(":;.,_|") == match or (match == "DIST" and w.text.upper().startswith(match))
        )), None)

    name: str | None = None
    anchor = label("NAME")
    if anchor is not None:
        height = anchor.bottom - anchor.top
        stop = min((w.left for w in words if w.text.upper().startswith("OFFICE") and w.left > anchor.right
                    and abs(w.cy - anchor.cy) < 2 * height), default=anchor.right + int(3.5 * DPI))
        for box in (
            (anchor.right + 4, anchor.top - height // 2, stop - 4, anchor.bottom + height // 2),
            (anchor.left - 10, anchor.bottom + 2, stop - 4, anchor.bottom + 2 + int(0.28 * DPI)),
        ):
            text, conf = _field_text(page, box)
            # A name read with low confidence (handwriting, a stamp) is no name.
            if sum(c.isalpha() for c in text) >= 4 and conf >= 60:
                name = re.sub(r"\s+", " ", text)
                break
    state = district = None
    for key in ("STATE", "DIST"):
        anchor = label(key)
        if anchor is None:
            continue
        height = anchor.bottom - anchor.top
        text, _ = _field_text(page, (anchor.right + 2, anchor.top - height, anchor.right + int(0.9 * DPI),
                                     anchor.bottom + height // 2))
        if key == "STATE":
            code = re.sub(r"[^A-Z]", "", text.upper())[:2]
            state = code if code in _STATES else None
        else:
            m = re.search(r"(\d{1,2})", text)
            district = m.group(1) if m else ("00" if "AT" in text.upper() and "LARGE" in text.upper() else None)
    state_district = f"{state}{int(district):02d}" if state and district else None
    return name, state_district


def _result(state: _DocState, pages: int, started: float, label: str) -> OcrResult:
    layout: Layout
    reason = message = None
    if state.rows:
        layout = "spreadsheet" if state.saw_attached else ("checkbox" if state.printed_boxes else "old_form")
    elif state.handwritten_pages:
        layout, reason = "handwritten", "handwritten"
        message = f"{label}: the filled rows are handwritten; not read (no invented rows)"
    elif not state.saw_table and not state.saw_title:
        layout, reason = "not_ptr", "not_ptr"
        message = f"{label}: no PTR table or title on any page"
    elif not state.saw_table:
        layout, reason = "unreadable", "unreadable"
        message = f"{label}: a PTR title but no ruled table could be found"
    else:
        layout, reason = "unreadable", "no_rows"
        message = f"{label}: the PTR table has no filled rows"
    return OcrResult(
        layout=layout, pages=pages, page_info=state.pages, filer_name=state.filer_name,
        state_district=state.state_district, transactions=state.rows, warnings=state.warnings,
        failure_reason=reason, failure_message=message, engine=engine_version(),
        cpu_seconds=round(time.process_time() - started, 3),
    )
