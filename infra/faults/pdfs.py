"""Hostile PDFs for the fault suite, the benchmarks and the tests: small files with many pages."""

from __future__ import annotations

# One line of text repeated down the page: every page has a text layer for pdfium to lay out.
_LINE = b"BT /F1 9 Tf 36 %d Td (Periodic Transaction Report  SP  Example Holdings Inc (EXH) [ST]  P  01/02/2025) Tj ET\n"


def many_page_pdf(pages: int, lines_per_page: int = 60, pad_to: int = 0) -> bytes:
    """A valid PDF of `pages` pages that all share one content stream and one font.

    Each page costs ~70 bytes in the file but a full page of text once pdfium loads it: the shape
    of the "4 MB, 25,000 pages" attack. `pad_to` pads the file with a comment to about that many bytes.
    """
    content = b"".join(_LINE % (760 - 12 * i) for i in range(lines_per_page))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # the page tree, filled in below once the page object numbers are known
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    first = len(objects) + 1
    kids = b" ".join(b"%d 0 R" % n for n in range(first, first + pages))
    objects[1] = (b"<< /Type /Pages /Count %d /MediaBox [0 0 612 792] "
                  b"/Resources << /Font << /F1 4 0 R >> >> /Kids [%s] >>" % (pages, kids))
    objects += [b"<< /Type /Page /Parent 2 0 R /Contents 3 0 R >>"] * pages
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_size = 20 * (len(objects) + 1) + 100
    if pad_to > len(out) + xref_size:
        out += b"%" + b"x" * (pad_to - len(out) - xref_size) + b"\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
