"""Fixtures of the build_gold tests: silver records made from the shared golden PTRs and mirror index."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from gold_records import index_filings, mirror_records, silver_objects

from services.build_gold.compact import compact_year
from services.build_gold.members import MemberResolver, load_legislators
from services.build_gold.transform import SilverTables, build_gold_tables
from services.common import keys
from services.common.config import shared_fixtures

FIXTURES = shared_fixtures()
GOLDEN_DIR = FIXTURES / "golden" / "ptr"
LEGISLATORS = FIXTURES / "reference" / "legislators-current.yaml"
MIRROR_INDEX = FIXTURES / "house-clerk" / "mirror" / "public_disc" / "financial-pdfs" / "2025FD.zip"


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared fixture absent: {path}")
    return path


@pytest.fixture(scope="session")
def legislators_bytes() -> bytes:
    return _require(LEGISLATORS).read_bytes()


@pytest.fixture(scope="session")
def golden() -> dict[str, dict[str, Any]]:
    files = sorted(_require(GOLDEN_DIR).glob("*.json"))
    return {f.stem: json.loads(f.read_text()) for f in files}


@pytest.fixture(scope="session")
def mirror_filings() -> list[dict[str, Any]]:
    """The mirror's 2025 index rows (34, DocID 10072224 three times), as discover writes them."""
    return index_filings(_require(MIRROR_INDEX).read_bytes())


@pytest.fixture(scope="session")
def mirror_silver(golden, mirror_filings) -> Callable[[], tuple[dict[str, Any], list[dict[str, Any]]]]:
    """(filings snapshot, document records) of the mirror: golden PTRs, other docs extracted, 404s absent."""

    def make() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        return {"year": 2025, "filings": mirror_filings}, mirror_records(golden, mirror_filings)

    return make


@pytest.fixture(scope="session")
def resolver(legislators_bytes: bytes) -> MemberResolver:
    return MemberResolver(load_legislators(legislators_bytes))


@pytest.fixture(scope="session")
def gold_from(house_resolver: MemberResolver) -> Callable[..., dict]:
    """Gold tables from a filings snapshot and document records, without S3, resolving filers as
    build_gold does: against current and former members."""

    def make(snapshot: dict[str, Any], records: list[dict[str, Any]], year: int = 2025) -> dict:
        tables, failures = compact_year(snapshot, keys.filings_key(year), silver_objects(records, year), year)
        assert failures == []
        return build_gold_tables(SilverTables(**tables.as_dict()), house_resolver)

    return make


HOUSE_HISTORY = FIXTURES / "reference" / "legislators-house-2012-2026.yaml"
INDEX_2025 = FIXTURES / "house-clerk" / "index" / "2025FD.xml"
MIRROR_2025 = FIXTURES / "house-clerk" / "mirror-2025"


@pytest.fixture(scope="session")
def house_resolver(legislators_bytes: bytes) -> MemberResolver:
    """Current and former House members (the history file), as build_gold resolves them."""
    return MemberResolver(load_legislators(legislators_bytes, _require(HOUSE_HISTORY).read_bytes()))


@pytest.fixture(scope="session")
def index_2025() -> list[dict[str, Any]]:
    """The full real 2025 index, read by discover's own parser."""
    from services.discover.index import parse_xml

    return [row.as_record() for row in parse_xml(_require(INDEX_2025).read_bytes(), 2025).rows]


@pytest.fixture(scope="session")
def mirror_2025() -> Path:
    return _require(MIRROR_2025)
