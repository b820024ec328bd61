"""The nightly rule's switch: `/congress-disclosures/<stage>/nightly-enabled` in SSM.

On a stage whose `nightly_schedule` is `after-first-successful-run` (prod) the parameter holds
the decision, and every deploy passes it on as the template's NightlyScheduleState:

- absent: no smoke run has succeeded yet, the rule stays DISABLED;
- "true": written by the first `verify` whose smoke run succeeds, or by `disclosures nightly on`;
- "false": written by `disclosures nightly off`; `verify` never turns it back on.

`nightly on|off` also switches the rule itself, so it takes effect now rather than at the next
deploy. A stage with a fixed policy (dev: DISABLED) is changed in its stage file instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import ClientError

from infra.deploy.stages import StageConfig

AFTER_FIRST_RUN = "after-first-successful-run"


class NightlyError(RuntimeError):
    pass


def read_flag(ssm, name: str) -> str | None:
    try:
        return ssm.get_parameter(Name=name)["Parameter"]["Value"].strip().lower()
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ParameterNotFound":
            return None
        raise


def deploy_state(config: StageConfig, ssm) -> str:
    """NightlyScheduleState for the next deploy: the stage's fixed policy, or the recorded switch."""
    if config.nightly_schedule != AFTER_FIRST_RUN:
        return config.nightly_schedule
    return "ENABLED" if read_flag(ssm, config.nightly_flag_parameter) == "true" else "DISABLED"


def _rule_state(events, rule: str) -> str:
    return events.describe_rule(Name=rule).get("State", "")


def check_switchable(config: StageConfig) -> None:
    if config.nightly_schedule != AFTER_FIRST_RUN:
        raise NightlyError(f"stage {config.stage} has nightly_schedule {config.nightly_schedule} in "
                           f"infra/stages/{config.stage}.json: change it there and deploy")


def switch(config: StageConfig, events, ssm, rule: str, enabled: bool) -> str:
    """The operator's decision: record it for every later deploy and apply it to the rule now."""
    check_switchable(config)
    ssm.put_parameter(Name=config.nightly_flag_parameter, Value="true" if enabled else "false",
                      Type="String", Overwrite=True)
    (events.enable_rule if enabled else events.disable_rule)(Name=rule)
    return (f"nightly rule {rule} {'enabled' if enabled else 'disabled'}; "
            f"{config.nightly_flag_parameter} = {'true' if enabled else 'false'} (kept by every deploy)")


def after_smoke_run(config: StageConfig, events, ssm, rule: str) -> str:
    """After a successful smoke run: enable the rule the first time only, never over an explicit "false"."""
    flag = read_flag(ssm, config.nightly_flag_parameter)
    if flag is None:
        return "first successful smoke run: " + switch(config, events, ssm, rule, True)
    state = _rule_state(events, rule)
    if flag == "false":
        return (f"nightly runs are paused ({config.nightly_flag_parameter} = false), rule {rule} is {state}: "
                f"left as is (`disclosures nightly on --stage {config.stage}` resumes them)")
    if state != "ENABLED":
        return (f"{config.nightly_flag_parameter} = {flag} but rule {rule} is {state}: "
                f"settle it with `disclosures nightly on|off --stage {config.stage}`")
    return f"nightly rule {rule} is ENABLED ({config.nightly_flag_parameter} = {flag})"


@dataclass
class NightlyStatus:
    policy: str
    flag: str | None
    rule: str
    rule_state: str
    next_deploy: str

    def lines(self) -> list[str]:
        if self.policy != AFTER_FIRST_RUN:
            switch_line = "not used (the stage file fixes the state)"
        else:
            switch_line = self.flag if self.flag is not None else "not set (no successful smoke run yet)"
        return [f"policy       {self.policy}",
                f"switch       {switch_line}",
                f"rule         {self.rule} is {self.rule_state}",
                f"next deploy  NightlyScheduleState={self.next_deploy}"]


def status(config: StageConfig, events, ssm, rule: str) -> NightlyStatus:
    flag = read_flag(ssm, config.nightly_flag_parameter) if config.nightly_schedule == AFTER_FIRST_RUN else None
    return NightlyStatus(config.nightly_schedule, flag, rule, _rule_state(events, rule), deploy_state(config, ssm))
