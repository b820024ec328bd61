"""The command line's two consoles: results on stdout, progress and messages on stderr.

Soft wrap keeps a long line (a URL, an error naming one) whole when the output is a pipe or a
CI log, where Rich would otherwise break it at 80 columns.
"""

from __future__ import annotations

from rich.console import Console

out = Console(soft_wrap=True)
console = Console(stderr=True, soft_wrap=True)
