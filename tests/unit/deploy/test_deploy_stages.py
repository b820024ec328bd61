from __future__ import annotations

import json

import pytest

from infra.deploy.stages import StageError, load_stage, stage_names
from infra.local.template import load


def test_dev_and_prod_stage_files_are_valid_and_match_the_template():
    assert {"dev", "prod"} <= set(stage_names())
    declared = set(load().get("Parameters", {}))
    for stage in ("dev", "prod"):
        config = load_stage(stage)
        assert config.parameters["Stage"] == stage
        assert set(config.parameters) <= declared
        # Secrets and personal data are SSM parameter names, never values.
        assert all(name.startswith(f"/congress-disclosures/{stage}/") for name in config.ssm_parameters.values())
        assert not any("@" in v for v in config.parameters.values())
    assert load_stage("prod").nightly_schedule == "after-first-successful-run"
    assert load_stage("dev").nightly_schedule == "DISABLED"
    assert load_stage("prod").nightly_flag_parameter == "/congress-disclosures/prod/nightly-enabled"


def _write(tmp_path, name, **overrides):
    stage = name
    raw = {"stage": stage, "stack_name": f"s-{stage}", "region": "us-east-1", "parameters": {"Stage": stage}, **overrides}
    (tmp_path / f"{name}.json").write_text(json.dumps(raw))


@pytest.mark.parametrize("overrides, message", [
    ({"parameters": {"Stage": "prod"}}, "parameter Stage"),
    ({"parameters": {"NightlyScheduleState": "ENABLED"}}, "decided by the deploy"),
    ({"nightly_schedule": "sometimes"}, "nightly_schedule"),
    ({"parameters": {"AlertEmail": "x"}, "ssm_parameters": {"AlertEmail": "/a"}}, "both"),
    ({"stage": "prod"}, "expected"),
    ({"region": "us-east-9"}, "not an AWS region"),
    ({"account_id": "12345"}, "12-digit"),
])
def test_bad_stage_files_are_refused(tmp_path, overrides, message):
    _write(tmp_path, "dev", **overrides)
    with pytest.raises(StageError, match=message):
        load_stage("dev", tmp_path)


def test_unknown_stage_names_the_known_ones(tmp_path):
    _write(tmp_path, "dev")
    with pytest.raises(StageError, match="known: dev"):
        load_stage("qa", tmp_path)


def test_a_stage_can_pin_its_account(tmp_path):
    _write(tmp_path, "prod", account_id="111122223333")
    assert load_stage("prod", tmp_path).account_id == "111122223333"
    _write(tmp_path, "dev")
    assert load_stage("dev", tmp_path).account_id is None
