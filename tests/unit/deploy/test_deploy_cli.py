from __future__ import annotations

import json
import zipfile

from typer.testing import CliRunner

from infra.cli.main import app


def test_package_only_builds_the_artifact_and_template_without_aws(tmp_path):
    deps = tmp_path / "deps"
    (deps / "dep").mkdir(parents=True)
    (deps / "dep" / "__init__.py").write_text("")
    result = CliRunner().invoke(app, ["deploy", "--stage", "dev", "--package-only", "--deps-dir", str(deps),
                                      "--build-dir", str(tmp_path / "build")])
    assert result.exit_code == 0, result.output
    (artifact,) = (tmp_path / "build").glob("code-*.zip")
    assert "dep/__init__.py" in zipfile.ZipFile(artifact).namelist()
    template = json.loads((tmp_path / "build" / "template.json").read_text())
    assert template["Globals"]["Function"]["CodeUri"]["Key"].startswith("congress-disclosures-dev/code/")


def test_stage_errors_exit_2():
    runner = CliRunner()
    assert runner.invoke(app, ["deploy", "--stage", "local"]).exit_code == 2
    bad = runner.invoke(app, ["deploy", "--stage", "qa", "--package-only"])
    assert bad.exit_code == 2 and "known: dev, prod" in bad.output
    assert runner.invoke(app, ["verify", "--stage", "qa"]).exit_code == 2
    assert runner.invoke(app, ["rollback", "--stage", "qa"]).exit_code == 2
    assert runner.invoke(app, ["nightly", "status", "--stage", "qa"]).exit_code == 2
    assert runner.invoke(app, ["nightly", "on", "--stage", "local"]).exit_code == 2
    bad_profile = runner.invoke(app, ["nightly", "status", "--stage", "prod", "--profile", "no-such-profile-here"])
    assert bad_profile.exit_code == 2 and "no-such-profile-here" in bad_profile.output


def test_local_commands_without_a_running_stack_say_how_to_start_one(tmp_path, monkeypatch):
    from infra.cli import local_stack

    monkeypatch.setattr(local_stack, "STATE_FILE", tmp_path / "stack.json")
    result = CliRunner().invoke(app, ["rollback", "--stage", "local"])
    assert result.exit_code == 2 and "disclosures up" in result.output
