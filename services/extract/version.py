"""Version of the extraction output; bump whenever the parser's output changes."""

PARSER_VERSION = "1.1.0"
