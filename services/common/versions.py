"""Versions written into the data that later stages compare: discover asks for a re-extraction of
every document an older parser read, so the version is a contract between stages, not extract's
own detail."""

PARSER_VERSION = "1.1.0"  # bump whenever the parser's output changes
