"""The shared fixtures' policy: absent, their tests skip with a reason; required, they fail."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
GOLDEN_TEST = "tests/unit/extract/test_ptr_golden.py"


def _pytest(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "DISCLOSURES_REQUIRE_FIXTURES"}
    environment |= {"DISCLOSURES_FIXTURES": str(tmp_path / "absent"), **env}
    return subprocess.run(
        [sys.executable, "-m", "pytest", GOLDEN_TEST, "-q", "-rs", "-p", "no:cacheprovider", "--no-cov"],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_absent_fixtures_skip_with_their_path(tmp_path):
    result = _pytest(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "skipped" in result.stdout and " passed" not in result.stdout
    assert str(tmp_path / "absent") in result.stdout  # the reason names where they were looked for


def test_required_fixtures_that_are_absent_fail(tmp_path):
    result = _pytest(tmp_path, DISCLOSURES_REQUIRE_FIXTURES="1")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "DISCLOSURES_REQUIRE_FIXTURES=1 but" in result.stdout
    assert "skipped" not in result.stdout
