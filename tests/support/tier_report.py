"""A pytest plugin for tests/unit/ci/test_tiers.py: after collection and `-m` deselection, print one
JSON line per test (selected or deselected) with its tier markers and what it uses."""

from __future__ import annotations

import json
import re

import pytest

TIERS = ("unit", "aws", "emulator", "e2e", "browser")
PREFIX = "TIER-REPORT "
_deselected: list[pytest.Item] = []


def pytest_deselected(items: list[pytest.Item]) -> None:
    _deselected.extend(items)


def pytest_collection_finish(session: pytest.Session) -> None:
    texts: dict = {}
    for selected, items in ((True, session.items), (False, _deselected)):
        for item in items:
            text = texts.setdefault(item.path, item.path.read_text())
            print(PREFIX + json.dumps({
                "nodeid": item.nodeid,
                "selected": selected,
                "tiers": sorted({m.name for m in item.iter_markers() if m.name in TIERS}),
                "emulator": "emulator" in item.fixturenames,
                # Independent of the conftest's detection: moto named in the test's own module.
                "mock_aws": bool(re.search(r"\bmock_aws\(|@mock_aws$", text, re.M)) or "ledger_table" in item.fixturenames,
            }))


def read(stdout: str) -> list[dict]:
    return [json.loads(line[len(PREFIX):]) for line in stdout.splitlines() if line.startswith(PREFIX)]
