"""What every stage that opens PDFs shares."""

from __future__ import annotations

import threading

# PDFium is not thread-safe: extract and OCR take this lock around every use. Lambda runs one
# invocation per process; the local runtime may host several handlers' threads in one process.
PDFIUM_LOCK = threading.Lock()
