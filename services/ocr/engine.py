"""Tesseract 5 through tesserocr: one loaded model per process, single-threaded.

tesserocr keeps the model in memory between calls (pytesseract starts a process and reloads the
model for every image); measured here it is several times cheaper per page. Tesseract's OpenMP
threads cost 7-17x more CPU for the same text on these scans, so the limit is set before the
library is loaded. Only the Debian `tesseract-ocr-eng` model is used: nothing is downloaded.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

import threading  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import tesserocr  # noqa: E402
from PIL import Image  # noqa: E402

PSM = tesserocr.PSM
_LOCK = threading.RLock()
_API: tesserocr.PyTessBaseAPI | None = None


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    conf: float
    left: int
    top: int
    right: int
    bottom: int

    @property
    def cy(self) -> float:
        return (self.top + self.bottom) / 2


def engine_version() -> str:
    return "tesseract " + tesserocr.tesseract_version().split()[1]


def _api() -> tesserocr.PyTessBaseAPI:
    global _API
    if _API is None:
        _API = tesserocr.PyTessBaseAPI(lang="eng", psm=PSM.SINGLE_BLOCK, oem=tesserocr.OEM.LSTM_ONLY)
    return _API


class Page:
    """One page image, read region by region with the loaded model (one reader at a time).

    Each region is handed to Tesseract as its own small image with a white margin: cheaper
    than recognising the page, and (unlike SetRectangle on the whole page, which misread
    large regions here) reliable.
    """

    MARGIN = 10

    def __init__(self, image: Image.Image, dpi: int) -> None:
        self.image = image if image.mode == "L" else image.convert("L")
        self.dpi = dpi

    def __enter__(self) -> Page:
        _LOCK.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        _api().Clear()
        _LOCK.release()

    def words(self, box: tuple[int, int, int, int] | None = None, psm: int = PSM.SINGLE_BLOCK) -> list[Word]:
        """Words (text, confidence 0-100, box in page pixels) of a region, or the whole page."""
        api = _api()
        api.SetPageSegMode(psm)
        m = self.MARGIN
        if box is None:
            box = (0, 0, self.image.width, self.image.height)
        left, top, right, bottom = box
        crop = self.image.crop((left, top, max(left + 1, right), max(top + 1, bottom)))
        canvas = Image.new("L", (crop.width + 2 * m, crop.height + 2 * m), 255)
        canvas.paste(crop, (m, m))
        # Raw greyscale bytes: no encoding round trip (tesserocr's SetImage writes an image file
        # that Leptonica may read back wrongly for some Pillow versions).
        api.SetImageBytes(canvas.tobytes(), canvas.width, canvas.height, 1, canvas.width)
        api.SetSourceResolution(self.dpi)
        api.Recognize()
        words: list[Word] = []
        it = api.GetIterator()
        if it is None:
            return []
        level = tesserocr.RIL.WORD
        for w in tesserocr.iterate_level(it, level):
            try:
                text = w.GetUTF8Text(level)
            except RuntimeError:  # an empty word box (noise) has no text
                continue
            bbox = w.BoundingBox(level)
            if not text or not text.strip() or bbox is None:
                continue
            x0, y0, x1, y1 = bbox
            words.append(Word(text.strip(), w.Confidence(level), x0 - m + left, y0 - m + top, x1 - m + left,
                              y1 - m + top))
        return words

    def text(self, box: tuple[int, int, int, int], psm: int = PSM.SINGLE_LINE) -> tuple[str, float | None]:
        """The text of one cell and its mean word confidence (None when empty)."""
        words = self.words(box, psm)
        if not words:
            return "", None
        return " ".join(w.text for w in words), sum(w.conf for w in words) / len(words)
