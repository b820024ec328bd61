"""The ruled table of a PTR page: row bands from its horizontal rules, columns from its vertical
rules, and the meaning of each column from its place and its printed heading."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from services.ocr.engine import PSM, Page
from services.ocr.pages import DPI, line_positions

MAX_ROW_HEIGHT = int(0.9 * DPI)  # a table row is under an inch tall; the header band is taller
MIN_HEADER_HEIGHT = int(0.35 * DPI)
MIN_COLUMN_WIDTH = 8

Box = tuple[int, int, int, int]


@dataclass
class Grid:
    header: tuple[int, int]
    rows: list[tuple[int, int]]
    cols: list[tuple[int, int]]
    # Column index of each role; "tx" maps a column to P/S/E/partial/cap_gains.
    owner: int | None = None
    asset: int | None = None
    tx_date: int | None = None
    notif_date: int | None = None
    tx: dict[int, str] = field(default_factory=dict)
    amounts: list[int] = field(default_factory=list)

    def cell(self, row: int, col: int) -> Box:
        (y0, y1), (x0, x1) = self.rows[row], self.cols[col]
        return x0, y0, x1, y1

    def header_cell(self, col: int) -> Box:
        (x0, x1), (y0, y1) = self.cols[col], self.header
        return x0, y0, x1, y1


# How much taller than the rows under it a band must be to be the column header: twice, else
# (for a page whose first try found no PTR table) 1.6 times: a header of small print over tall
# rows (8221231: 94 px over rows of 52). A data row that tall fails the columns' labelling.
HEADER_RATIOS = (2.0, 1.6)


def find_grid(mask: np.ndarray, header_ratio: float = HEADER_RATIOS[0]) -> Grid | None:
    """The table of a form or spreadsheet page, or None when the page has no ruled table.

    Rows are the bands between full-width rules counted up from the bottom of the table; the
    first band `header_ratio` times as tall as the rows under it is the column header.
    """
    hlines = line_positions(mask, axis=1, min_cover=0.35)
    bands = list(zip(hlines, hlines[1:], strict=False))
    rows: list[tuple[int, int]] = []
    header: tuple[int, int] | None = None
    for top, bottom in reversed(bands):
        height = bottom - top
        if height < 12:
            continue  # a doubled rule
        usual = sorted(b - a for a, b in rows)[len(rows) // 2] if rows else None
        if usual is not None and height >= max(MIN_HEADER_HEIGHT, header_ratio * usual):
            header = (top, bottom)
            break
        if height > MAX_ROW_HEIGHT:
            break
        rows.append((top, bottom))
    if header is None or not rows:
        return None
    rows.reverse()
    # Column rules: unbroken down through the rows, or in the lower half of the header (under
    # the group headings, clear of printed boxes) where they are broken in the rows; either way
    # they must run through the rows.
    top, bottom = header[0] + (header[1] - header[0]) // 2, header[1]
    heading = mask[top:bottom, :]
    body = mask[rows[0][0] : rows[-1][1], :]
    candidates = sorted(
        line_positions(heading, axis=0, min_cover=0.5, run=min(40, (bottom - top) // 2))
        + line_positions(body, axis=0, min_cover=0.6, run=min(40, max(10, body.shape[0] // 3)))
    )
    vlines: list[int] = []
    for x in candidates:
        if vlines and x - vlines[-1] <= 6:
            continue  # the same rule found twice
        if body[:, max(0, x - 3) : x + 4].any(axis=1).mean() > 0.6:
            vlines.append(x)
    # Bands below the table (a notes box) are ruled too, but the column rules do not cross them:
    # the table ends at the last band they run through. A band above it they miss (a row whose
    # rules a highlight or handwriting hides) is a row all the same.
    crossed = [n for n, band in enumerate(rows) if _crossed(mask, band, vlines)]
    rows = rows[: crossed[-1] + 1] if crossed and crossed[0] == 0 else []
    cols = [(a, b) for a, b in zip(vlines, vlines[1:], strict=False) if b - a >= MIN_COLUMN_WIDTH]
    if len(cols) < 8 or not rows:
        return None
    return Grid(header=header, rows=rows, cols=cols)


def _crossed(mask: np.ndarray, band: tuple[int, int], vlines: list[int]) -> bool:
    """Most column rules run through the middle of the band."""
    top, bottom = band
    inner = slice(top + (bottom - top) // 5, bottom - (bottom - top) // 5)
    hits = sum(1 for x in vlines if mask[inner, max(0, x - 3) : x + 4].any(axis=1).mean() > 0.8)
    return hits >= 0.7 * len(vlines)


_TX_WORDS = (
    ("PARTIAL", "partial"),
    ("PURCH", "P"),
    ("CAPITAL", "cap_gains"),
    ("GAIN", "cap_gains"),
    ("EXCH", "E"),
    ("SALE", "S"),
)
_DEFAULT_TX = {3: ["P", "S", "E"], 4: ["P", "S", "partial", "E"], 5: ["P", "S", "E", "cap_gains", "partial"]}


def _tx_kind(text: str) -> str | None:
    compact = re.sub(r"[^A-Z]", "", text.upper())
    for word, kind in _TX_WORDS:
        if word in compact:
            return kind
    return None


def _read_heading(image: Image.Image, box: Box) -> str | None:
    """The transaction-type keyword of a heading cell, printed across or up the column."""
    x0, y0, x1, y1 = box
    crop = image.crop((x0 + 2, y0 + 2, x1 - 2, y1 - 2))
    for rotation in (0, 90, 270):
        turned = crop.rotate(rotation, expand=True) if rotation else crop
        with Page(turned, DPI) as sub:
            words = sub.words(None, PSM.SINGLE_BLOCK)
        kind = _tx_kind(" ".join(w.text for w in words))
        if kind:
            return kind
    return None


def label_columns(grid: Grid) -> bool:
    """Give the columns their roles; False when the table is not a PTR table.

    From the right: the amount columns (a run of narrow columns of like width, A to J or K),
    then the notification date and the transaction date, then the transaction-type columns up
    to the widest column (the asset name), and the owner code left of it.
    """
    widths = [b - a for a, b in grid.cols]
    asset = int(np.argmax(widths))
    amounts = _amount_run(widths, asset) or _amount_run(widths, asset, wide=True)
    if len(amounts) < 8:
        return False
    first_amount = amounts[0]
    if first_amount - asset < 4:
        return False
    grid.asset = asset
    grid.owner = asset - 1 if asset >= 1 else None
    grid.notif_date = first_amount - 1
    grid.tx_date = first_amount - 2
    grid.amounts = amounts
    grid.tx = dict(zip(range(asset + 1, grid.tx_date), _DEFAULT_TX.get(grid.tx_date - asset - 1, ["P", "S", "E"]),
                       strict=False))
    return True


def _amount_run(widths: list[int], asset: int, wide: bool = False) -> list[int]:
    """The amount columns (A to J or K): the run of narrow columns of like width at the right.

    `wide`: some versions of the form print columns I ($25,000,001-$50,000,000) and K (the
    spouse's or child's asset over $1,000,000) two or three times as wide as the others; those
    two places may then be up to three times the run's usual width.
    """
    right = len(widths) - 1
    others = [widths[i] for i in range(max(asset + 1, right - 10), right + 1) if not wide or i not in (right, right - 2)]
    ref: float = float(np.median(others)) if wide and others else widths[right]
    amounts: list[int] = []
    for i in range(right, asset, -1):
        ceiling = 3.0 if wide and i in (right, right - 2) else 1.6
        if 0.6 * ref <= widths[i] <= ceiling * ref and len(amounts) < 11:
            amounts.append(i)
            if not wide:
                ref = (ref * (len(amounts) - 1) + widths[i]) / len(amounts) if len(amounts) > 1 else widths[i]
        else:
            break
    amounts.reverse()
    return amounts if len(amounts) >= 8 else []


def read_tx_headings(grid: Grid, image: Image.Image) -> None:
    """Name the transaction-type columns from their printed headings (form versions differ in
    order and in the Partial and Cap-gains columns); unread headings keep the usual order."""
    tx_cols = list(range(grid.asset + 1, grid.tx_date)) if grid.asset is not None and grid.tx_date else []
    kinds: dict[int, str] = {}
    for col in tx_cols:
        kind = _read_heading(image, grid.header_cell(col))
        if kind and kind not in kinds.values():
            kinds[col] = kind
    defaults = _DEFAULT_TX.get(len(tx_cols), ["P", "S", "E"])
    if len(kinds) < len(tx_cols):
        # Headings not read: the printed order of the form version with this many columns.
        for col, kind in zip(tx_cols, defaults, strict=False):
            if col not in kinds and kind not in kinds.values():
                kinds[col] = kind
    grid.tx = kinds
