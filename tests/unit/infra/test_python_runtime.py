"""One Python for the functions: the template's `Runtime`. The deploy packages for it, and the
venv (`make`), the CI workflow's tests and the OCR image follow it."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from infra.local.template import lambda_python, load

ROOT = Path(__file__).resolve().parents[3]


def test_the_zip_functions_share_one_runtime():
    assert re.fullmatch(r"3\.\d+", lambda_python())


def test_functions_on_two_runtimes_are_refused():
    template = load()
    function = next(r for r in template["Resources"].values()
                    if r["Type"] == "AWS::Serverless::Function" and "Runtime" in r["Properties"])
    function["Properties"]["Runtime"] = "python3.11"
    with pytest.raises(ValueError, match="one Runtime"):
        lambda_python(template)


def test_the_venv_the_ci_tests_and_the_ocr_image_use_the_functions_python():
    version = lambda_python()
    makefile = (ROOT / "Makefile").read_text()
    preferred = re.search(r"^PYTHON \?= (.*)$", makefile, re.M)
    assert preferred and f"python{version} " in preferred.group(1) and f"/versions/{version}*/" in preferred.group(1)
    jobs = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())["jobs"]

    def python_of(job: str) -> str:
        return next(str(step["with"]["python-version"]) for step in jobs[job]["steps"]
                    if str(step.get("uses", "")).startswith("actions/setup-python"))

    assert python_of("test") == python_of("package") == version
    oldest = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"].removeprefix(">=")
    assert python_of("lint") == oldest  # lint on the oldest Python the CLI supports
    images = re.findall(r"^FROM \S*python:(\S+?)-", (ROOT / "infra" / "ocr" / "Dockerfile").read_text(), re.M)
    assert images and set(images) == {version}


def test_the_stack_says_when_it_runs_the_functions_on_another_python(monkeypatch):
    from infra.local import runtime

    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    monkeypatch.setattr(runtime, "lambda_python", lambda: here)
    assert runtime.python_notice() is None
    monkeypatch.setattr(runtime, "lambda_python", lambda: "3.99")
    notice = runtime.python_notice()
    assert notice and f"Python {here} here" in notice and "python3.99 on AWS" in notice
