"""OCR of scanned (paper) PTRs: the reader (render, orient, recognise, read the form) and its stage."""
