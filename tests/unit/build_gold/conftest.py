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
def gold_from(resolver: MemberResolver) -> Callable[..., dict]:
    """Gold tables from a filings snapshot and document records, without S3."""

    def make(snapshot: dict[str, Any], records: list[dict[str, Any]], year: int = 2025) -> dict:
        tables, failures = compact_year(snapshot, keys.filings_key(year), silver_objects(records, year), year)
        assert failures == []
        return build_gold_tables(SilverTables(**tables.as_dict()), resolver)

    return make
