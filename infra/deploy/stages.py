"""Per-stage deployment settings: `infra/stages/<stage>.json`.

A stage file holds plain parameter overrides, and for anything secret or personal (the alert
e-mail address, tokens) only the *name* of an SSM parameter: the value is read from SSM at
deploy time and never stored in the repository.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

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

    @property
    def ssm_prefix(self) -> str:
        return f"/congress-disclosures/{self.stage}"

    @property
    def nightly_flag_parameter(self) -> str:
        """Set to "true" by `verify` once a smoke run succeeded; later deploys then enable the rule."""
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
    )
    if config.stage != stage:
        raise StageError(f"{path}: stage is {config.stage!r}, expected {stage!r}")
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
