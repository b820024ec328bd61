"""Shared test fixtures: the real Clerk fixtures (by path), one moto server per session."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from services.common.config import shared_fixtures

FIXTURES = shared_fixtures()
MIRROR = FIXTURES / "house-clerk" / "mirror"
# Where the fixtures are provisioned on purpose (the GitHub workflow sets it when it checks them
# out), a test that would skip for want of them fails instead: a silent skip would hide a gap.
REQUIRE_FIXTURES = os.environ.get("DISCLOSURES_REQUIRE_FIXTURES") == "1"
FIXTURE_SKIPS = ("shared fixture", "got empty parameter set")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    # An empty parameter set is a fixture folder that listed nothing.
    if REQUIRE_FIXTURES and report.skipped and any(m in str(report.longrepr) for m in FIXTURE_SKIPS):
        report.outcome = "failed"
        report.longrepr = f"DISCLOSURES_REQUIRE_FIXTURES=1 but {report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr}"


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
