"""Errors raised by the extraction service."""

from __future__ import annotations


class InvalidPdf(ValueError):
    """The input cannot be read as a PDF (not a PDF, empty, truncated, encrypted, malformed), or
    not within the limits of services/extract/limits.py (`too_many_pages`)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"invalid PDF ({reason}): {message}")
        self.reason = reason


class ParseFailure(RuntimeError):
    """The PDF is readable but the parser could not produce a trustworthy result.

    Raised instead of returning an empty success, e.g. when a PTR page has row anchors
    but no row was parsed (`reason="no_rows"`) or no transaction table was found (`"no_table"`).
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"parse failure ({reason}): {message}")
        self.reason = reason
