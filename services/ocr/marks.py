"""Marks (X, tick, typed "x") in the mark columns, read from the pixels of each cell.

OCR does not read marks: a typed "x" is tiny, a hand-drawn X crosses the cell, a tick is a
stroke. What they share is ink where an unmarked cell of the same group has none (or only its
printed square). Each cell's ink is compared with the group's baseline, the median cell of the
group over the page, since most cells of a group are empty on any form.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Box = tuple[int, int, int, int]
MIN_EXTRA_INK = 0.025  # share of the cell's inner area a mark adds at the least (a small typed "x")


def cell_ink(mask: np.ndarray, box: Box) -> float:
    """Share of ink in the inner part of a cell, away from its ruled borders."""
    x0, y0, x1, y1 = box
    dx, dy = max(4, (x1 - x0) // 10), max(4, (y1 - y0) // 10)
    inner = mask[y0 + dy : y1 - dy, x0 + dx : x1 - dx]
    return float(inner.mean()) if inner.size else 0.0


@dataclass(frozen=True, slots=True)
class MarkGroup:
    """Ink of each cell of a group (rows x columns) and each column's empty-cell baseline."""

    ink: np.ndarray
    baseline: float
    column_baselines: np.ndarray

    def threshold(self, col: int) -> float:
        base = float(self.column_baselines[col])
        return base + max(MIN_EXTRA_INK, 0.2 * base)

    def marked(self, row: int) -> list[int]:
        """Indexes (within the group) of the columns marked in a row."""
        return [i for i, value in enumerate(self.ink[row]) if value > self.threshold(i)]

    def strength(self, row: int, col: int) -> float:
        """How far a cell is above its empty level, in units of the mark margin (1 = threshold)."""
        base = float(self.column_baselines[col])
        margin = self.threshold(col) - base
        return (float(self.ink[row, col]) - base) / margin if margin else 0.0

    def printed_boxes(self) -> bool:
        """Empty cells hold ink of their own: printed squares to mark (the checkbox form)."""
        return self.baseline > 0.04


def mark_group(mask: np.ndarray, boxes: list[list[Box]]) -> MarkGroup:
    """`boxes[row][col]` are the cells of one group (e.g. the amount columns) on a page."""
    ink = np.array([[cell_ink(mask, b) for b in row] for row in boxes], dtype=np.float64)
    if ink.size == 0:
        return MarkGroup(ink.reshape(len(boxes), 0), 0.0, np.zeros(0))
    median = float(np.median(ink))
    # A column's empty level: its faintest cell (blank rows, or an unmarked printed square),
    # unless every row of it is marked, when the group's median cell (an empty one) is lower.
    return MarkGroup(ink, median, np.minimum(ink.min(axis=0), median))
