"""Page images: rendering with bounded size, ink masks, deskew, ruled lines, orientation by confidence."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pypdfium2 as pdfium
from PIL import Image

from services.ocr.engine import PSM, Page, Word

DPI = 200
ORIENT_DPI = 100
# A Letter page at 200 dpi is 3.7 Mpx; a Legal or tabloid scan is still well under this. A page
# that would exceed it is a corrupt or hostile size, refused before its pixels are allocated.
MAX_PAGE_PIXELS = 25_000_000
INK_LEVEL = 150  # grey below this is ink on these 1-bit scans (anti-aliased by the render)


class PageTooLarge(ValueError):
    """A page whose rendering would exceed MAX_PAGE_PIXELS."""


def page_pixels(page: pdfium.PdfPage, dpi: int = DPI) -> int:
    width, height = page.get_size()
    return int(width * dpi / 72) * int(height * dpi / 72)


def render_pages(pdf: pdfium.PdfDocument, dpi: int = DPI) -> Iterator[tuple[int, Image.Image]]:
    """(1-based page number, greyscale image) page by page; each page is closed before the next."""
    for index in range(len(pdf)):
        page = pdf[index]
        try:
            if page_pixels(page, dpi) > MAX_PAGE_PIXELS:
                raise PageTooLarge(f"page {index + 1} is {page_pixels(page, dpi):,} pixels at {dpi} dpi")
            bitmap = page.render(scale=dpi / 72, grayscale=True)
            image = bitmap.to_pil().convert("L")
            bitmap.close()
        finally:
            page.close()
        yield index + 1, image


def ink(image: Image.Image) -> np.ndarray:
    return np.asarray(image) < INK_LEVEL


def _runs(mask: np.ndarray, length: int, axis: int) -> np.ndarray:
    """Where a run of at least `length` ink pixels along `axis` starts (a thin-line detector)."""
    if axis == 0:
        # numpy sums along a row several times faster than down a column: work on the transpose.
        return _runs(np.ascontiguousarray(mask.T), length, axis=1).T
    # int16 halves the memory traffic of the sums; a run length never exceeds the axis length.
    cs: np.ndarray[Any, np.dtype[np.signedinteger]] = np.pad(
        np.cumsum(mask, axis=1, dtype=np.int16 if mask.shape[1] < 32_000 else np.int32), ((0, 0), (1, 0)))
    return (cs[:, length:] - cs[:, :-length]) >= length - 1


def skew_angle(mask: np.ndarray) -> float:
    """Degrees the ruled lines are tilted, from the sharpest row profile of long horizontal runs."""
    small = mask[::2, ::2]
    runs = _runs(small, 30, axis=1)
    ys, xs = np.nonzero(runs)
    if len(ys) < 200:
        return 0.0
    best, best_score = 0.0, -1.0
    for angle in np.arange(-2.0, 2.01, 0.1):
        shifted = np.round(ys - xs * np.tan(np.radians(angle))).astype(np.int64)
        shifted -= shifted.min()
        score = float(np.sum(np.bincount(shifted).astype(np.float64) ** 2))
        if score > best_score:
            best, best_score = float(angle), score
    return round(best, 2)


def deskew(image: Image.Image) -> Image.Image:
    angle = skew_angle(ink(image))
    if abs(angle) < 0.05:
        return image
    # Tilted lines run down to the right for a positive angle: turn the image back by it.
    return image.rotate(angle, resample=Image.Resampling.BILINEAR, fillcolor=255)


def line_positions(mask: np.ndarray, axis: int, min_cover: float, run: int = 40) -> list[int]:
    """Centres of ruled lines: rows (axis=1) or columns (axis=0) mostly covered by long ink runs."""
    runs = _runs(mask, run, axis=axis)
    extent = mask.shape[axis]
    cover = runs.sum(axis=axis) / max(1, extent - run)
    hits = np.nonzero(cover >= min_cover)[0]
    lines: list[int] = []
    group: list[int] = []
    for pos in hits:
        if group and pos - group[-1] > 3:
            lines.append(int(round(sum(group) / len(group))))
            group = []
        group.append(int(pos))
    if group:
        lines.append(int(round(sum(group) / len(group))))
    return lines


def _row_rules(mask: np.ndarray, length: int) -> np.ndarray:
    """The pixels of horizontal runs of at least `length` ink pixels."""
    starts = _runs(mask, length, axis=1).astype(np.int16 if mask.shape[1] < 32_000 else np.int32)
    # A pixel lies on a run if a run starts within `length` before it (a windowed sum).
    cs = np.cumsum(np.pad(starts, ((0, 0), (length, length - 1))), axis=1)
    return (cs[:, length:] - cs[:, :-length])[:, : mask.shape[1]] > 0


def rule_mask(mask: np.ndarray, length: int = 40) -> np.ndarray:
    """The pixels of ruled lines: every pixel of a straight run of at least `length` ink pixels."""
    return _row_rules(mask, length) | _row_rules(np.ascontiguousarray(mask.T), length).T


def text_mask(mask: np.ndarray) -> np.ndarray:
    """Ink that is not part of a ruled line."""
    return mask & ~rule_mask(mask, 30)


def without_rules(
    image: Image.Image, mask: np.ndarray, rows: Sequence[int] = (), cols: Sequence[int] = (), span: tuple[int, int] | None = None,
    width: int = 5, rules_from: int | None = None,
) -> Image.Image:
    """The page with its ruled lines painted white, so OCR of a cell sees only its text: every
    long straight run, and a band along each known rule of the table (broken rules leave bits)."""
    pixels = np.asarray(image).copy()
    top, bottom = span if span else (0, pixels.shape[0])
    # Only the table is read cell by cell: find the rules there (and above it from `rules_from`),
    # not on the whole page.
    start = top if rules_from is None else rules_from
    pixels[start:bottom][rule_mask(mask[start:bottom])] = 255
    for y in rows:
        pixels[max(0, y - width) : y + width + 1, :] = 255
    for x in cols:
        pixels[top:bottom, max(0, x - width) : x + width + 1] = 255
    return Image.fromarray(pixels)


def text_axis(mask: np.ndarray, block: int = 120) -> tuple[str, list[tuple[int, int, int, int]]]:
    """'h' if the text lines run along the image rows, 'v' if along its columns; and the blocks
    of text (x0, y0, x1, y1), densest first, to be read for the direction.

    Lines of print give a peaky profile across them and a flat one along them: compare, block
    by block, the variance of row sums with that of column sums.
    """
    text = text_mask(mask)
    votes = 0
    blocks: list[tuple[int, tuple[int, int, int, int]]] = []
    height, width = text.shape
    for y in range(0, height - block + 1, block):
        for x in range(0, width - block + 1, block):
            cell = text[y : y + block, x : x + block]
            amount = int(cell.sum())
            if amount < block * block * 0.02:
                continue
            rows, cols = cell.sum(axis=1).var(), cell.sum(axis=0).var()
            votes += 1 if rows > cols else -1
            blocks.append((amount, (x, y, x + block, y + block)))
    blocks.sort(reverse=True)
    return ("h" if votes >= 0 else "v"), [b for _, b in blocks]


@dataclass(frozen=True, slots=True)
class Orientation:
    rotation: int  # degrees counter-clockwise applied to the page image
    score: float
    words: list[Word]


def _text_score(words: list[Word]) -> float:
    return sum(w.conf for w in words if w.conf > 60 and sum(c.isalpha() for c in w.text) >= 3)


def _score_rotation(image: Image.Image, rotation: int, crop: tuple[int, int, int, int]) -> Orientation:
    region = image.crop(crop)
    turned = region.rotate(rotation, expand=True) if rotation else region
    with Page(turned, DPI) as page:
        words = page.words(None, PSM.SINGLE_BLOCK)
    return Orientation(rotation, _text_score(words), words)


def rotation_candidates(image: Image.Image, prior: int | None = None) -> list[int]:
    """The two rotations that make the lines of print horizontal (from pixel profiles, no OCR),
    the previous page's first."""
    small = image.resize((image.width * ORIENT_DPI // DPI, image.height * ORIENT_DPI // DPI))
    axis, _ = text_axis(ink(small), block=160)
    candidates = [0, 180] if axis == "h" else [90, 270]
    if prior in candidates:
        candidates.remove(prior)
        candidates.insert(0, prior)
    return candidates


def choose_rotation(image: Image.Image, prior: int | None = None) -> Orientation:
    """The rotation (0/90/180/270, counter-clockwise) under which Tesseract reads the page best.

    Tesseract's own orientation detection fails on small print, so candidates are read and
    compared on the page's densest text. The direction of the lines of print (from pixel
    profiles, no OCR) halves the candidates; the previous page's rotation is tried first.
    """
    small = image.resize((image.width * ORIENT_DPI // DPI, image.height * ORIENT_DPI // DPI))
    axis, blocks = text_axis(ink(small), block=160)
    if not blocks:
        return Orientation(prior or 0, 0.0, [])
    candidates = [0, 180] if axis == "h" else [90, 270]
    if prior in candidates:
        candidates.remove(prior)
        candidates.insert(0, prior)
    scale = DPI // ORIENT_DPI
    totals = dict.fromkeys(candidates, 0.0)
    words: dict[int, list[Word]] = {r: [] for r in candidates}
    # Read strips around the densest blocks (at full resolution: the densest text is often the
    # smallest print) until one direction clearly wins.
    for x0, y0, x1, y1 in blocks[:4]:
        if axis == "h":
            crop = (max(0, x0 - 160), y0, min(small.width, x1 + 160), y1)
        else:
            crop = (x0, max(0, y0 - 160), x1, min(small.height, y1 + 160))
        full = (crop[0] * scale, crop[1] * scale, crop[2] * scale, crop[3] * scale)
        for rotation in candidates:
            result = _score_rotation(image, rotation, full)
            totals[rotation] += result.score
            words[rotation] += result.words
            if rotation == prior and totals[rotation] >= 1000:
                return Orientation(rotation, totals[rotation], words[rotation])
        ranked = sorted(totals.values(), reverse=True)
        if ranked[0] >= 500 and ranked[0] >= 3 * ranked[1]:
            break
    best = max(candidates, key=lambda r: totals[r])
    return Orientation(best, totals[best], words[best])
