"""Page layout from pdfium: characters with boxes -> words -> visual lines.

Coordinates are PDF points with y growing upwards (pdfium's convention).
Every page is read once: one text call plus one box and one font-size call per character.
"""

from __future__ import annotations

import ctypes
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field

import pypdfium2.raw as pdfium_c

# Small-caps text in the Clerk's generator extracts as a letter followed by these.
PLACEHOLDERS = "\x00\ufffe"
# pdfium writes U+FFFE (its code point 2 in the per-character API) for a hyphen it found at the end
# of a line (FPDFText_IsHyphen): a word wrapped at its own hyphen (`SER AU-` / `2026`). They get
# their hyphen back; small-caps placeholders are not hyphens and stay.
_LINE_END_HYPHEN = "\ufffe\x02"
_BREAKS = " \r\n\t\xa0"

# Letter classes for telling a capital rendered with a lowercase code point from a real lowercase.
_CAPITALS = set("ABCDEFGHIKLMNOPRSTUVWXYZ")  # J and Q descend in many serif fonts
_XHEIGHT = set("acemnorsuvwxz")
_DESCENDERS = set("gpqyj")
_WIDE_ASCENDERS = {"l": 0.55, "t": 0.65}  # capital L/T are much wider than l/t


@dataclass(slots=True)
class Char:
    ch: str
    x0: float
    bottom: float
    x1: float
    top: float
    size: float


@dataclass(slots=True)
class Word:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float

    @property
    def cy(self) -> float:
        return (self.top + self.bottom) / 2


@dataclass(slots=True)
class Line:
    words: list[Word]
    top: float
    bottom: float

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def x0(self) -> float:
        return self.words[0].x0


@dataclass
class PageLayout:
    number: int  # 1-based
    width: float
    height: float
    lines: list[Line]
    repaired: int = 0  # characters whose case was repaired from glyph geometry
    # Lazily reads drawn vector paths (x0, bottom, x1, top, n_segments) in an x-range.
    paths: Callable[[float, float], list[tuple[float, float, float, float, int]]] = field(
        default=lambda lo, hi: [], repr=False
    )


def read_chars(textpage: object, text: str) -> list[Char | None]:
    """One entry per pdfium character; None for spaces and generated line breaks."""
    raw = textpage.raw  # type: ignore[attr-defined]
    left, right, bottom, top = ctypes.c_double(), ctypes.c_double(), ctypes.c_double(), ctypes.c_double()
    refs = (ctypes.byref(left), ctypes.byref(right), ctypes.byref(bottom), ctypes.byref(top))
    get_box, get_size = pdfium_c.FPDFText_GetCharBox, pdfium_c.FPDFText_GetFontSize
    out: list[Char | None] = []
    for i, ch in enumerate(text):
        if ch in _BREAKS or not get_box(raw, i, *refs):
            out.append(None)
            continue
        if ch in _LINE_END_HYPHEN and pdfium_c.FPDFText_IsHyphen(raw, i):
            ch = "-"
        out.append(Char(ch, left.value, bottom.value, right.value, top.value, round(get_size(raw, i), 1)))
    return out


def page_text(textpage: object) -> str:
    """Full text, aligned index-for-index with pdfium's character list."""
    n = textpage.count_chars()  # type: ignore[attr-defined]
    text = textpage.get_text_range() if n else ""  # type: ignore[attr-defined]
    if len(text) == n:
        return text
    # Characters outside the BMP make the UTF-16 text longer than the char list: rebuild per char.
    raw = textpage.raw  # type: ignore[attr-defined]
    return "".join(chr(pdfium_c.FPDFText_GetUnicode(raw, i) or 0xFFFE) for i in range(n))


def _cap_heights(chars: list[Char | None]) -> dict[float, float]:
    """Per font size: the height of a true capital (90th percentile, so small caps do not drag it down)."""
    heights: dict[float, list[float]] = {}
    for c in chars:
        if c is not None and c.ch in _CAPITALS:
            heights.setdefault(c.size, []).append(c.top - c.bottom)
    out = {}
    for size, hs in heights.items():
        hs.sort()
        out[size] = hs[min(len(hs) - 1, int(len(hs) * 0.9))]
    return out


def _is_capital_shape(c: Char, cap_h: float, baseline: float | None) -> bool:
    """True when the glyph box proves a capital letter behind a lowercase code point."""
    h, w = c.top - c.bottom, c.x1 - c.x0
    if c.ch in _XHEIGHT:
        return h >= 0.85 * cap_h
    if c.ch in _DESCENDERS:
        return baseline is not None and h >= 0.8 * cap_h and c.bottom >= baseline - 0.12 * cap_h
    ratio = _WIDE_ASCENDERS.get(c.ch)
    return ratio is not None and w >= ratio * cap_h and h <= 1.05 * cap_h


def _word_baseline(chars: list[Char]) -> float | None:
    bottoms = [c.bottom for c in chars if c.ch.isalnum() and c.ch not in _DESCENDERS]
    return statistics.median(bottoms) if bottoms else None


def _repair_case(chars: list[Char], cap_heights: dict[float, float]) -> int:
    """Upper-case lowercase code points whose glyph is a capital (the 2016-2021 font mapping bug)."""
    repaired = 0
    baseline: float | None = None
    for c in chars:
        if not c.ch.islower():
            continue
        cap_h = cap_heights.get(c.size)
        if not cap_h:
            continue
        if c.ch in _DESCENDERS and baseline is None:
            baseline = _word_baseline(chars)
        if _is_capital_shape(c, cap_h, baseline):
            c.ch = c.ch.upper()
            repaired += 1
    return repaired


def _flush(chars: list[Char], words: list[Word]) -> None:
    words.append(
        Word(
            "".join(c.ch for c in chars),
            chars[0].x0,
            max(c.x1 for c in chars),
            max(c.top for c in chars),
            min(c.bottom for c in chars),
        )
    )


def _starts_new_word(prev: Char, c: Char) -> bool:
    height = max(prev.top - prev.bottom, c.top - c.bottom, 1.0)
    if abs((c.top + c.bottom) - (prev.top + prev.bottom)) / 2 > 0.8 * height:
        return True
    return c.x0 - prev.x1 > max(2.5, 0.9 * height)  # a column gap without a space character


def build_words(chars: list[Char | None]) -> tuple[list[Word], int]:
    cap_heights = _cap_heights(chars)
    words: list[Word] = []
    repaired = 0
    current: list[Char] = []
    for c in chars:
        if c is not None and (not current or not _starts_new_word(current[-1], c)):
            current.append(c)
            continue
        if current:
            repaired += _repair_case(current, cap_heights)
            _flush(current, words)
        current = [c] if c is not None else []
    if current:
        repaired += _repair_case(current, cap_heights)
        _flush(current, words)
    return words, repaired


def group_lines(words: list[Word]) -> list[Line]:
    """Visual lines, top to bottom: words whose vertical centres agree within a tolerance."""
    if not words:
        return []
    heights = sorted(w.top - w.bottom for w in words)
    tol = max(1.5, 0.45 * heights[len(heights) // 2])
    lines: list[Line] = []
    group: list[Word] = []
    anchor_cy = 0.0
    for w in sorted(words, key=lambda w: -w.cy):
        if group and anchor_cy - w.cy > tol:
            lines.append(_make_line(group))
            group = []
        if not group:
            anchor_cy = w.cy
        group.append(w)
    lines.append(_make_line(group))
    return lines


def _make_line(group: list[Word]) -> Line:
    group.sort(key=lambda w: w.x0)
    return Line(group, max(w.top for w in group), min(w.bottom for w in group))


def build_layout(number: int, page: object, textpage: object, text: str) -> PageLayout:
    chars = read_chars(textpage, text)
    words, repaired = build_words(chars)
    width, height = page.get_size()  # type: ignore[attr-defined]
    return PageLayout(number, width, height, group_lines(words), repaired, _path_reader(page))


def _path_reader(page: object) -> Callable[[float, float], list[tuple[float, float, float, float, int]]]:
    """Read small drawn paths (checkboxes, check marks) only when a caller asks for them."""
    cache: list[tuple[float, float, float, float, int]] | None = None

    def read(x_lo: float, x_hi: float) -> list[tuple[float, float, float, float, int]]:
        nonlocal cache
        if cache is None:
            cache = _small_paths(page)
        return [p for p in cache if p[0] >= x_lo and p[2] <= x_hi]

    return read


def _small_paths(page: object) -> list[tuple[float, float, float, float, int]]:
    out = []
    for obj in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_PATH,), max_depth=3):  # type: ignore[attr-defined]
        x0, bottom, x1, top = obj.get_bounds()
        if 4.0 <= x1 - x0 <= 18.0 and 4.0 <= top - bottom <= 18.0:
            out.append((x0, bottom, x1, top, pdfium_c.FPDFPath_CountSegments(obj.raw)))
    return out
