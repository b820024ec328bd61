"""The test tiers (tests/conftest.py): every test is in exactly one, and `-m` selects what the
developer guide says. The real suite is collected in a subprocess (no test runs)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import tier_report

ROOT = Path(__file__).resolve().parents[3]


def collect(marker: str) -> list[dict]:
    """Every test of the suite, each with whether `-m marker` selected it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tests" / "support")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "tests", "--collect-only", "-q", "-p", "tier_report", "-m", marker],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode in (0, 5), done.stdout[-3000:] + done.stderr[-3000:]
    return tier_report.read(done.stdout)


def folder(item: dict) -> str:
    return item["nodeid"].split("/")[1]


def test_every_test_is_in_one_tier_and_unit_selects_no_aws_at_all():
    everything = collect("unit")
    assert len(everything) > 100
    assert [i["nodeid"] for i in everything if len(i["tiers"]) != 1] == []
    for item in everything:
        tier = item["tiers"][0]
        assert (tier == "browser") == (folder(item) == "browser"), item
        assert (tier == "e2e") == (folder(item) == "e2e"), item
        if item["emulator"]:
            assert tier in ("emulator", "e2e", "browser"), item
        elif item["mock_aws"]:
            assert tier == "aws", item
        assert item["selected"] == (tier == "unit"), item
    unit = [i for i in everything if i["selected"]]
    assert unit, "-m unit selected nothing"
    assert [i["nodeid"] for i in unit if i["emulator"] or i["mock_aws"]] == []


def test_not_e2e_and_not_browser_leaves_out_the_whole_stack():
    everything = collect("not e2e and not browser")
    selected = [i for i in everything if i["selected"]]
    assert selected
    assert {folder(i) for i in selected}.isdisjoint({"e2e", "browser"})
    assert {i["tiers"][0] for i in everything if not i["selected"]} == {"e2e", "browser"}
