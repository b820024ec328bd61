"""`disclosures rollback --stage local` on the local stack: every function's `live` alias moves
back one version. moto creates functions, versions and aliases without Docker (it would need
Docker only to invoke them), so the stack's functions are published into the local emulator."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from infra.cli.main import app
from infra.deploy.rollback import behind, roll_forward, template_function_names
from infra.local.template import Stack, load
from tests.unit.deploy.helpers import publish_release

# Every function of the template, the OCR image function included.
FUNCTIONS = 9

pytestmark = pytest.mark.e2e


def _rollback(stack, *extra: str):
    result = CliRunner().invoke(app, ["rollback", "--stage", "local", "--endpoint", stack.emulator.endpoint,
                                      "--stack-name", stack.options.stack_name, *extra])
    assert result.exit_code == 0, result.output
    return result


def test_rollback_points_every_alias_at_the_previous_version(make_stack, mirror_dir):
    stack = make_stack(mirror_dir, pollers=False)
    names = template_function_names(Stack(load(), name=stack.options.stack_name))
    lam = stack.client("lambda")
    publish_release(lam, stack.client("iam"), names, releases=2)
    assert {lam.get_alias(FunctionName=n, Name="live")["FunctionVersion"] for n in names} == {"2"}

    moves = json.loads(_rollback(stack, "--json").stdout.strip().splitlines()[-1])
    assert sorted(m["function"] for m in moves) == names and len(names) == FUNCTIONS
    assert all((m["action"], m["from_version"], m["to_version"]) == ("rolled_back", "2", "1") for m in moves)
    assert {lam.get_alias(FunctionName=n, Name="live")["FunctionVersion"] for n in names} == {"1"}

    # Version 1 is the oldest: a second rollback has nothing left to move.
    again = _rollback(stack)
    assert f"0 of {FUNCTIONS} function(s) rolled back" in again.stdout
    assert again.stdout.count("nothing to roll back") == FUNCTIONS


def test_rollback_with_a_single_version_reports_nothing_to_roll_back(make_stack, mirror_dir):
    stack = make_stack(mirror_dir, pollers=False)
    names = template_function_names(Stack(load(), name=stack.options.stack_name))
    publish_release(stack.client("lambda"), stack.client("iam"), names, releases=1)
    moves = json.loads(_rollback(stack, "--json").stdout.strip().splitlines()[-1])
    assert {m["action"] for m in moves} == {"nothing_to_roll_back"}
    assert {stack.client("lambda").get_alias(FunctionName=n, Name="live")["FunctionVersion"] for n in names} == {"1"}


def test_dry_run_says_what_would_move(make_stack, mirror_dir):
    stack = make_stack(mirror_dir, pollers=False)
    names = template_function_names(Stack(load(), name=stack.options.stack_name))
    publish_release(stack.client("lambda"), stack.client("iam"), names, releases=3)
    out = _rollback(stack, "--dry-run").stdout
    assert out.count("would move live 3 -> 2") == FUNCTIONS
    assert {stack.client("lambda").get_alias(FunctionName=n, Name="live")["FunctionVersion"] for n in names} == {"3"}


def test_after_a_rollback_the_aliases_stay_behind_until_rolled_forward(make_stack, mirror_dir):
    """What `deploy` does after its change set: by default it reports the aliases a rollback left
    behind the declared versions and moves nothing; with --roll-forward it puts them back."""
    stack = make_stack(mirror_dir, pollers=False)
    names = template_function_names(Stack(load(), name=stack.options.stack_name))
    lam = stack.client("lambda")
    publish_release(lam, stack.client("iam"), names, releases=2)
    _rollback(stack)
    declared = {n: "2" for n in names}

    lagging = behind(lam, declared)
    assert sorted(m.function for m in lagging) == names
    assert {(m.from_version, m.to_version, m.action) for m in lagging} == {("1", "2", "behind")}
    assert {lam.get_alias(FunctionName=n, Name="live")["FunctionVersion"] for n in names} == {"1"}

    moves = roll_forward(lam, declared)
    assert sorted(m.function for m in moves) == names and {(m.from_version, m.to_version) for m in moves} == {("1", "2")}
    assert {lam.get_alias(FunctionName=n, Name="live")["FunctionVersion"] for n in names} == {"2"}
    assert behind(lam, declared) == []
