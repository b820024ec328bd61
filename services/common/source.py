"""Where the Clerk publishes each thing (DOMAIN.md: PTRs and other filings live apart)."""

from __future__ import annotations


def index_url(base_url: str, year: int) -> str:
    return f"{base_url.rstrip('/')}/public_disc/financial-pdfs/{year}FD.zip"


def pdf_url(base_url: str, year: int, filing_type: str, doc_id: str) -> str:
    folder = "ptr-pdfs" if filing_type == "P" else "financial-pdfs"
    return f"{base_url.rstrip('/')}/public_disc/{folder}/{year}/{doc_id}.pdf"
