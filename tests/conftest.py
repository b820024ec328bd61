"""Shared test fixtures: the real Clerk fixtures (by path), one moto server per session; and the
test tiers, given to every collected test by its folder and the fixtures it uses."""

from __future__ import annotations

import inspect
import os
import re
import shutil
import sys
from functools import cache
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


# --- Test tiers -------------------------------------------------------------------------------
# Every test gets exactly one tier marker (registered in pyproject.toml), so `-m unit` runs no AWS
# at all. It is decided here, not by `pytestmark` in a conftest (which pytest ignores):
#   browser, e2e   by folder (tests/browser, tests/e2e);
#   emulator       tests/integration, or a test whose fixtures include the session's moto server;
#   aws            moto in process: `mock_aws` in the test module, in a test helper module it
#                  uses, or in one of its fixtures (e.g. `ledger_table`);
#   unit           everything else.
TIERS = ("unit", "aws", "emulator", "e2e", "browser")
TESTS = Path(__file__).resolve().parent
FOLDER_TIERS = {"browser": "browser", "e2e": "e2e", "integration": "emulator"}
# moto started in process: a `with` block on mock_aws, or mock_aws as a decorator.
IN_PROCESS_AWS = re.compile(r"\bmock_aws\(|@mock_aws$", re.M)


def _is_test_code(path: str | None) -> bool:
    return bool(path) and Path(path).resolve().is_relative_to(TESTS)


@cache
def _module_uses_moto(name: str) -> bool:
    """Whether a test module, or a test helper module it takes names from, starts moto in process."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        module = sys.modules.get(todo.pop())
        if module is None or module.__name__ in seen or not _is_test_code(getattr(module, "__file__", None)):
            continue
        seen.add(module.__name__)
        if IN_PROCESS_AWS.search(Path(module.__file__).read_text()):
            return True
        for value in vars(module).values():
            todo.append(value.__name__ if inspect.ismodule(value) else getattr(value, "__module__", "") or "")
    return False


def _fixture_uses_moto(item: pytest.Item) -> bool:
    for name in item.fixturenames:
        for definition in item._fixtureinfo.name2fixturedefs.get(name, ()):
            func = definition.func
            if _is_test_code(inspect.getsourcefile(func)) and IN_PROCESS_AWS.search(inspect.getsource(func)):
                return True
    return False


def tier_of(item: pytest.Item) -> str:
    path = item.path.resolve()
    folder = path.relative_to(TESTS).parts[0] if path.is_relative_to(TESTS) else ""
    if folder in FOLDER_TIERS:
        return FOLDER_TIERS[folder]
    explicit = [m.name for m in item.iter_markers() if m.name in TIERS]
    if explicit:
        return explicit[0]
    if "emulator" in item.fixturenames:
        return "emulator"
    module = getattr(item, "module", None)
    if (module is not None and _module_uses_moto(module.__name__)) or _fixture_uses_moto(item):
        return "aws"
    return "unit"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        tier = tier_of(item)
        if not item.get_closest_marker(tier):
            item.add_marker(tier)


@pytest.fixture(autouse=True)
def _unit_runs_no_aws(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A unit test that starts moto after all fails: its tier was decided wrong (see `tier_of`)."""
    if request.node.get_closest_marker("unit") is None:
        return
    from moto.core.models import MockAWS

    def refuse(*_args, **_kwargs):
        raise RuntimeError(
            f"{request.node.nodeid} is in the unit tier but starts moto: start it where the test "
            "tiers see it (tests/conftest.py: tier_of) or mark the test `aws`"
        )

    monkeypatch.setattr(MockAWS, "start", refuse)
