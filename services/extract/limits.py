"""What one document may cost extraction, checked before the work that would cost it.

Checked by extract before it reads any page. The OCR stage, which renders every page of a scan,
refuses earlier still (`services/ocr/reader.py`, `MAX_PAGES`).
"""

from __future__ import annotations

# The longest real filing in the 2025 corpus has 121 pages (an annual report; the longest PTR,
# 20030891, 81, parses in about 10 s). A document over this limit is refused as `too_many_pages`
# before any page is loaded: a 4 MB PDF can declare 25,000 pages that share one content stream,
# and laying out every page took over 14 GB. At the limit, a page full of text each, a PTR parse
# peaks near 210 MB (tests/benchmarks/bench_extract_memory.py).
MAX_PAGES = 300
# The slowest parse at that limit, 300 pages full of text, on one full vCPU (46-78 s measured,
# docs/pipeline.md): extract starts no further record of a batch with less of its invocation left,
# and the template gives it a full vCPU (1,769 MB) inside its timeout.
PARSE_AT_LIMIT_S = 78.0
