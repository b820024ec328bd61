"""Shared test fixtures: the real Clerk fixtures (by path), one moto server per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT.parent / "shared" / "fixtures"
MIRROR = FIXTURES / "house-clerk" / "mirror"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    if not FIXTURES.is_dir():
        pytest.skip(f"shared fixtures not found at {FIXTURES} (they live beside the project checkout)")
    return FIXTURES


@pytest.fixture(scope="session")
def mirror_dir(fixtures_dir: Path) -> Path:
    return fixtures_dir / "house-clerk" / "mirror"


@pytest.fixture
def mirror_copy(mirror_dir: Path, tmp_path: Path) -> Path:
    """A writable copy of the Clerk mirror, for tests that change the source."""
    target = tmp_path / "mirror"
    shutil.copytree(mirror_dir, target)
    for path in target.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return target


@pytest.fixture(scope="session")
def emulator():
    """One moto server for the whole session; tests reset it rather than start their own."""
    from infra.local.emulator import Emulator

    server = Emulator.start()
    yield server
    server.stop()
