"""Per-stage deployment settings: `infra/stages/<stage>.json`.

A stage file holds plain parameter overrides, and for anything secret or personal (the alert
e-mail address, tokens) only the *name* of an SSM parameter: the value is read from SSM at
deploy time and never stored in the repository. `account_id`, when set, pins the stage to one
AWS account: every command refuses credentials of another one (with one account per stage, the
recommended setup, the profile of one stage then cannot deploy the other).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from botocore.session import get_session

STAGES_DIR = Path(__file__).resolve().parents[1] / "stages"
NIGHTLY_POLICIES = ("ENABLED", "DISABLED", "after-first-successful-run")


class StageError(ValueError):
    pass


@dataclass
class StageConfig:
    stage: str
    stack_name: str
    region: str
    parameters: dict[str, str] = field(default_factory=dict)
    ssm_parameters: dict[str, str] = field(default_factory=dict)  # template parameter -> SSM parameter name
    nightly_schedule: str = "DISABLED"
    tags: dict[str, str] = field(default_factory=dict)
    account_id: str | None = None

    @property
    def ssm_prefix(self) -> str:
        return f"/congress-disclosures/{self.stage}"

    @property
    def nightly_flag_parameter(self) -> str:
        """The nightly switch of an after-first-successful-run stage, "true" or "false" (infra/deploy/nightly.py)."""
        return f"{self.ssm_prefix}/nightly-enabled"

    @property
    def artifacts_prefix(self) -> str:
        return f"{self.stack_name}/"


def stage_names(directory: Path = STAGES_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.json"))


def load_stage(stage: str, directory: Path = STAGES_DIR) -> StageConfig:
    path = directory / f"{stage}.json"
    if not path.is_file():
        raise StageError(f"no stage {stage!r}: expected {path} (known: {', '.join(stage_names(directory))})")
    raw = json.loads(path.read_text())
    config = StageConfig(
        stage=raw.get("stage", stage),
        stack_name=raw["stack_name"],
        region=raw["region"],
        parameters={k: str(v) for k, v in raw.get("parameters", {}).items()},
        ssm_parameters=dict(raw.get("ssm_parameters", {})),
        nightly_schedule=raw.get("nightly_schedule", "DISABLED"),
        tags=dict(raw.get("tags", {})),
        account_id=str(raw["account_id"]) if raw.get("account_id") else None,
    )
    if config.stage != stage:
        raise StageError(f"{path}: stage is {config.stage!r}, expected {stage!r}")
    if config.region not in get_session().get_available_regions("cloudformation"):
        raise StageError(f"{path}: region {config.region!r} is not an AWS region with CloudFormation")
    if config.account_id is not None and not (config.account_id.isdigit() and len(config.account_id) == 12):
        raise StageError(f"{path}: account_id must be the 12-digit AWS account id")
    if config.nightly_schedule not in NIGHTLY_POLICIES:
        raise StageError(f"{path}: nightly_schedule must be one of {NIGHTLY_POLICIES}")
    if config.parameters.get("Stage", stage) != stage:
        raise StageError(f"{path}: parameter Stage must be {stage!r}")
    if "NightlyScheduleState" in config.parameters:
        raise StageError(f"{path}: NightlyScheduleState is decided by the deploy (see nightly_schedule)")
    overlap = set(config.parameters) & set(config.ssm_parameters)
    if overlap:
        raise StageError(f"{path}: {sorted(overlap)} given both as a value and as an SSM parameter")
    return config
