"""Cell parsing, mark detection and orientation, on values and on crops of real scans."""

from __future__ import annotations

from datetime import date

import numpy as np
import pypdfium2 as pdfium
import pytest

from services.ocr.fields import (
    clean_asset,
    parse_ocr_date,
    parse_owner,
    says_see_attached,
    split_owner,
    split_ticker,
)
from services.ocr.grid import HEADER_RATIOS, find_grid, label_columns
from services.ocr.marks import mark_group
from services.ocr.pages import deskew, ink, render_pages, rotation_candidates, without_rules
from services.ocr.reader import _year_fixed
from tests.unit.ocr.conftest import scanned_pdf


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10/21/25", date(2025, 10, 21)),
        ("| 10/21/25", date(2025, 10, 21)),
        ("05-12-2025", date(2025, 5, 12)),
        ("§/7/2025", date(2025, 5, 7)),
        ("102125", date(2025, 10, 21)),
        ("13/45/25", None),
        ("(MM/DD/YY)", None),
        ("", None),
    ],
)
def test_parse_ocr_date(text: str, expected: date | None) -> None:
    assert parse_ocr_date(text) == expected


def test_year_misread_is_fixed_and_said() -> None:
    failed: list[str] = []
    review: list[str] = []
    assert _year_fixed(date(2075, 5, 21), 2025, "transaction_date", failed, review) == date(2025, 5, 21)
    assert failed == ["transaction_date_year_read"] and "2075" in review[0]
    # A trade of late last year reported this year is no misreading.
    assert _year_fixed(date(2024, 12, 30), 2025, "transaction_date", [], []) == date(2024, 12, 30)
    # Two digits away is not corrected.
    assert _year_fixed(date(2099, 1, 1), 2025, "transaction_date", [], []) == date(2099, 1, 1)


def test_asset_cell_specks_removed() -> None:
    assert clean_asset("\\Ishares Tr Core MSCI Europe ETF") == "Ishares Tr Core MSCI Europe ETF"
    assert clean_asset("(MAYS-ALLOCATE") == "MAYS-ALLOCATE"
    assert clean_asset("TENNESSEE HSG DEV AGY :") == "TENNESSEE HSG DEV AGY"
    assert clean_asset("KRAFT (THE) HEINZ CO SHS") == "KRAFT (THE) HEINZ CO SHS"
    assert clean_asset("ABC INC.") == "ABC INC."


def test_owner_codes() -> None:
    assert parse_owner("JT") == ("JT", True)
    assert parse_owner("5P") == ("SP", True)
    assert parse_owner("") == (None, True)
    assert parse_owner("xq") == (None, False)


def test_an_owner_code_read_with_the_asset_is_split_off() -> None:
    """A table whose owner/asset rule was not found reads both in one cell."""
    assert split_owner("DC WASTE MANAGEMENT INC CMN") == ("DC", "WASTE MANAGEMENT INC CMN")
    assert split_owner("pe SBA COMMUNICATIONS CORPORATION") == ("pe", "SBA COMMUNICATIONS CORPORATION")  # to review
    assert split_owner("BP PLC ADR") == ("", "BP PLC ADR")  # an asset's own first word stays
    assert split_owner("DC") == ("", "DC")


def _grid_of(doc_id: str, page: int, rotation: int = 0):
    pdf = pdfium.PdfDocument(scanned_pdf(doc_id).read_bytes())
    image = next(img for n, img in render_pages(pdf) if n == page)
    mask = ink(deskew(image.rotate(rotation, expand=True) if rotation else image))
    for ratio in HEADER_RATIOS:
        grid = find_grid(mask, ratio)
        if grid is not None and label_columns(grid):
            return grid
    return None


def test_a_row_whose_rules_are_hidden_does_not_end_the_table() -> None:
    """8220904 page 1 prints 24 rows; one band's column rules are hidden and the table used to
    end there, 18 rows in (NVIDIA, AMAZON, UBER, Simpson, DYNATRACE and Hayward were lost)."""
    grid = _grid_of("8220904", 1, rotation=90)
    assert grid is not None and len(grid.rows) == 25  # the 24 typed rows and the blank one after


def test_a_low_header_over_tall_rows_and_wide_amount_columns() -> None:
    """8221231 page 2 (Khanna): a header of 94 px over rows of 52 (not twice as tall), columns
    I and K two to three times as wide as the other amount columns. It read as no table."""
    grid = _grid_of("8221231", 2)
    assert grid is not None and len(grid.rows) == 15 and len(grid.amounts) == 11
    assert grid.owner is None  # the owner/asset rule is not found: split_owner reads the code


def test_ticker_split_only_after_a_mixed_case_name() -> None:
    assert split_ticker("American Centy ETF Tr Avantis Intl AVDV") == ("American Centy ETF Tr Avantis Intl", "AVDV")
    assert split_ticker("UNITEDHEALTH GROUP INC") == ("UNITEDHEALTH GROUP INC", None)
    assert split_ticker("Apple Inc (AAPL)") == ("Apple Inc", "AAPL")
    assert says_see_attached("Please see the attached")


@pytest.fixture(scope="module")
def fleischmann_page() -> tuple:
    """Page 1 of 8221237: upright, a large X per row in Purchase or Sale and in amount column A."""
    pdf = pdfium.PdfDocument(scanned_pdf("8221237").read_bytes())
    _, image = next(render_pages(pdf))
    upright = deskew(image)
    mask = ink(upright)
    grid = find_grid(mask)
    assert grid is not None and label_columns(grid)
    clean = without_rules(upright, mask, rows=[y for b in grid.rows for y in b], cols=[x for c in grid.cols for x in c],
                          span=(grid.header[0], grid.rows[-1][1]))
    return image, grid, ink(clean)


def test_grid_geometry_of_a_real_form(fleischmann_page: tuple) -> None:
    _, grid, _ = fleischmann_page
    assert len(grid.amounts) == 10  # A-J on this form version
    assert grid.tx_date == grid.amounts[0] - 2
    assert len(grid.tx) == 3


def test_marks_from_cell_pixels(fleischmann_page: tuple) -> None:
    _, grid, text_ink = fleischmann_page
    tx_cols = sorted(grid.tx)
    rows = range(len(grid.rows))
    tx = mark_group(text_ink, [[grid.cell(r, c) for c in tx_cols] for r in rows])
    amounts = mark_group(text_ink, [[grid.cell(r, c) for c in grid.amounts] for r in rows])
    # The last five bands are the five typed rows: P, S, P, P, S; all in column A.
    kinds = [[grid.tx[tx_cols[i]] for i in tx.marked(r)] for r in rows][-5:]
    assert kinds == [["P"], ["S"], ["P"], ["P"], ["S"]]
    assert [amounts.marked(r) for r in rows][-5:] == [[0]] * 5
    assert not amounts.printed_boxes()


def test_empty_printed_squares_are_not_marks() -> None:
    boxes = np.zeros((60, 60), dtype=bool)
    # A printed square in each of two cells; an X drawn in the second of another row.
    cells = [[(0, 0, 30, 30), (30, 0, 60, 30)], [(0, 30, 30, 60), (30, 30, 60, 60)]]
    for x0, y0, x1, y1 in (c for row in cells for c in row):
        boxes[y0 + 6 : y1 - 6, x0 + 6] = boxes[y0 + 6 : y1 - 6, x1 - 7] = True
        boxes[y0 + 6, x0 + 6 : x1 - 6] = boxes[y1 - 7, x0 + 6 : x1 - 6] = True
    for k in range(8, 22):
        boxes[30 + k, 30 + k] = boxes[30 + k, 30 + 29 - k] = True
    group = mark_group(boxes, cells)
    assert group.marked(0) == []
    assert group.marked(1) == [1]


def test_rotation_candidates_from_print_direction() -> None:
    pdf = pdfium.PdfDocument(scanned_pdf("8220844").read_bytes())
    _, image = next(render_pages(pdf))
    assert sorted(rotation_candidates(image)) == [90, 270]
    pdf = pdfium.PdfDocument(scanned_pdf("8221237").read_bytes())
    _, image = next(render_pages(pdf))
    assert rotation_candidates(image)[0] in (0, 180)


def test_rule_mask_keeps_exactly_the_long_straight_runs_both_ways():
    import numpy as np

    from services.ocr.pages import rule_mask, text_mask

    mask = np.zeros((120, 200), dtype=bool)
    mask[30, 10:150] = True  # a ruled line across
    mask[5:110, 170] = True  # a ruled line down
    mask[60:70, 40:45] = True  # a letter: short runs only
    mask[90, 20:45] = True  # a dash shorter than the rule length
    rules = rule_mask(mask, 40)
    lines = np.zeros_like(mask)
    lines[30, 10:150] = True
    lines[5:110, 170] = True
    near = lines.copy()  # the detector tolerates one missing pixel: a line may grow one at each end
    near[30, 9] = near[30, 150] = near[4, 170] = near[110, 170] = True
    assert rules[lines].all() and not rules[~near].any()
    assert np.array_equal(text_mask(mask), mask & ~rule_mask(mask, 30))
    assert text_mask(mask)[60:70, 40:45].all() and not text_mask(mask)[30].any()


def test_a_page_scanned_twice_counts_once() -> None:
    """8220904 holds its page 2 again as page 5, read a little differently the second time: the
    page with more rows is kept, and the document says so. Pages of like rows that are not the
    same rows are both kept."""
    from services.ocr.model import OcrRow
    from services.ocr.reader import _DocState, _drop_repeated_pages

    names = ["ONEMAIN HLDGS INC", "Arrow Electronics", "KING CNTY WASH SWR", "Insight Enterprises", "nVent Electric",
             "LENNAR CORP"]  # fmt: skip
    misread = ["GNEMAIN HLDGS INCCOM", "Arrow Stectronics, inc.", "KING CNTY WASH SWR REV", "Inslatht Enterprises",
               "pVent Electric", "LENNAR CORP", "AMAZON.COM INC"]  # fmt: skip
    other = ["APPLE INC", "MICROSOFT CORP", "NVIDIA CORP", "TESLA INC", "ALPHABET INC", "META PLATFORMS"]

    def rows(page: int, assets: list[str]) -> list[OcrRow]:
        return [OcrRow(row=n, page=page, asset_name=a, transaction_type="P", confidence=1.0) for n, a in enumerate(assets)]

    state = _DocState(rows=rows(2, names) + rows(3, other) + rows(5, misread))
    _drop_repeated_pages(state)
    assert sorted({r.page for r in state.rows}) == [3, 5] and len(state.rows) == 13
    assert state.warnings == ["page 2 repeats page 5: its 6 rows are not counted twice"]
