"""The GitHub workflow runs what `.ci/run` runs, with the fixtures where the tests look for them."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
WORKFLOW = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())


def _runs(job: str) -> list[str]:
    return [step["run"].strip() for step in WORKFLOW["jobs"][job]["steps"] if "run" in step]


def test_ci_run_and_the_workflow_run_the_same_make_target():
    assert (ROOT / ".ci" / "run").read_text().rstrip().endswith("make test")
    assert "make test" in _runs("test")
    assert {"make lint", "make cfn-lint", "make schemas"} <= set(_runs("lint"))


def test_fixtures_are_checked_out_beside_the_project_and_then_required():
    job = WORKFLOW["jobs"]["test"]
    checkouts = {step["with"]["path"]: step for step in job["steps"] if step.get("uses", "").startswith("actions/checkout")}
    assert set(checkouts) == {"main", "shared"}  # ../shared/fixtures seen from main/
    assert checkouts["shared"]["with"]["repository"] == "${{ vars.FIXTURES_REPOSITORY }}"
    assert "vars.FIXTURES_REPOSITORY" in job["env"]["DISCLOSURES_REQUIRE_FIXTURES"]
    make_test = next(step for step in job["steps"] if step.get("run", "").strip() == "make test")
    assert make_test["working-directory"] == "main"


def test_actions_are_pinned_to_a_major_version():
    for job in WORKFLOW["jobs"].values():
        for step in job["steps"]:
            if "uses" in step:
                assert "@v" in step["uses"], step["uses"]
