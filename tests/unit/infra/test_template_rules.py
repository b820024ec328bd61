"""Template rules AWS enforces only at run time, where a mistake drops messages or misbehaves
silently: queue policies that let each subscription and rule deliver, visibility timeouts of at
least six times the function timeout, and no function reading a variable the template does not
give it. Each rule is checked, and each check is shown to fail on a template that breaks it."""

from __future__ import annotations

import ast
import copy
import functools
import importlib
import importlib.util
from pathlib import Path
from typing import Any

import pytest

from infra.local.template import Stack, function_handler, load

ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = ROOT / "infra" / "template.yaml"
# Set by Lambda itself (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime).
LAMBDA_PROVIDED = {"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION",
                   "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "_X_AMZN_TRACE_ID", "AWS_EXECUTION_ENV", "LAMBDA_TASK_ROOT"}
# Read only outside Lambda (documented in services/common/config.py): the shared fixtures' folder.
NOT_IN_LAMBDA = {"DISCLOSURES_FIXTURES"}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load(TEMPLATE)


def _stack(template: dict[str, Any]) -> Stack:
    return Stack(template, name="t", endpoint="http://emu")


# --------------------------------------------------------------------------- queue policies
def _policy_allows(stack: Stack, queue_arn: str, service: str, source_arn: str) -> bool:
    """Whether some queue policy lets `service` send to the queue, on the condition that the
    source is exactly `source_arn` (ArnEquals, or ArnLike matching it)."""
    import fnmatch

    for policy in stack.of_type("AWS::SQS::QueuePolicy").values():
        props = stack.resolve(policy["Properties"])
        for statement in props["PolicyDocument"]["Statement"]:
            resources = statement.get("Resource", [])
            resources = [resources] if isinstance(resources, str) else resources
            actions = statement.get("Action", [])
            actions = [actions] if isinstance(actions, str) else actions
            if statement.get("Effect") != "Allow" or statement.get("Principal", {}).get("Service") != service:
                continue
            if queue_arn not in resources or not {"sqs:SendMessage", "sqs:*"} & set(actions):
                continue
            condition = statement.get("Condition", {})
            equals = condition.get("ArnEquals", {}).get("aws:SourceArn")
            like = condition.get("ArnLike", {}).get("aws:SourceArn")
            if equals == source_arn or (like and fnmatch.fnmatchcase(source_arn, like)):
                return True
    return False


def policy_gaps(template: dict[str, Any]) -> list[str]:
    stack = _stack(template)
    gaps = []
    for logical_id, sub in stack.of_type("AWS::SNS::Subscription").items():
        props = stack.resolve(sub["Properties"])
        if props["Protocol"] == "sqs" and not _policy_allows(stack, props["Endpoint"], "sns.amazonaws.com", props["TopicArn"]):
            gaps.append(f"{logical_id}: no queue policy lets {props['TopicArn']} send to {props['Endpoint']}")
    for logical_id, rule in stack.of_type("AWS::Events::Rule").items():
        for target in stack.resolve(rule["Properties"]).get("Targets", []):
            if ":sqs:" in target["Arn"] and not _policy_allows(stack, target["Arn"], "events.amazonaws.com",
                                                                stack.arn(logical_id)):
                gaps.append(f"{logical_id}: no queue policy lets the rule send to {target['Arn']}")
    for logical_id, bucket in stack.of_type("AWS::S3::Bucket").items():
        props = stack.resolve(bucket.get("Properties", {}))
        for config in props.get("NotificationConfiguration", {}).get("QueueConfigurations", []):
            if not _policy_allows(stack, config["Queue"], "s3.amazonaws.com", stack.arn(logical_id)):
                gaps.append(f"{logical_id}: no queue policy lets the bucket notify {config['Queue']}")
    return gaps


def test_every_subscription_rule_and_notification_may_deliver_to_its_queue(template):
    assert policy_gaps(template) == []


def test_a_subscription_whose_queue_policy_lacks_its_source_arn_is_caught(template):
    broken = copy.deepcopy(template)
    for statements in _queue_policy_statements(broken):
        for statement in statements:
            if statement["Principal"]["Service"] == "sns.amazonaws.com":
                statement["Condition"] = {"ArnEquals": {"aws:SourceArn": "arn:aws:sns:us-east-1:1:another-topic"}}
    assert any("Subscription" in gap for gap in policy_gaps(broken))
    no_rule = copy.deepcopy(template)
    for statements in _queue_policy_statements(no_rule):
        statements[:] = [s for s in statements if s["Principal"]["Service"] != "events.amazonaws.com"]
    assert any("Rule" in gap for gap in policy_gaps(no_rule))


def _queue_policy_statements(template: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """Each queue policy's statement list, to edit in place."""
    return [resource["Properties"]["PolicyDocument"]["Statement"] for resource in template["Resources"].values()
            if resource["Type"] == "AWS::SQS::QueuePolicy"]


# --------------------------------------------------------------------------- visibility
def visibility_gaps(template: dict[str, Any]) -> list[str]:
    """AWS: a queue's visibility timeout at least six times its function's timeout, so a batch
    being retried by Lambda is not handed to another invocation meanwhile."""
    stack = _stack(template)
    queues = {stack.arn(q): q for q in stack.of_type("AWS::SQS::Queue")}
    gaps = []
    for logical_id, fn in stack.of_type("AWS::Serverless::Function").items():
        timeout = stack.timeout_of(logical_id)
        for event in fn["Properties"].get("Events", {}).values():
            if event["Type"] != "SQS":
                continue
            queue = queues[stack.resolve(event["Properties"]["Queue"])]
            visibility = int(stack.resources[queue]["Properties"].get("VisibilityTimeout", 30))
            if visibility < 6 * timeout:
                gaps.append(f"{queue}: visibility {visibility} s < 6 x {logical_id}'s timeout {timeout} s")
    return gaps


def test_every_sqs_event_source_has_six_times_its_function_timeout(template):
    assert visibility_gaps(template) == []


def test_a_queue_with_too_short_a_visibility_is_caught(template):
    broken = copy.deepcopy(template)
    broken["Resources"]["RunsQueue"]["Properties"]["VisibilityTimeout"] = 900
    assert any(gap.startswith("RunsQueue") for gap in visibility_gaps(broken))


# --------------------------------------------------------------------------- time per record
def test_extract_fits_a_document_at_the_page_limit_in_its_timeout(template):
    """A PDF at extract's page limit parses in up to PARSE_AT_LIMIT_S on one full vCPU; Lambda
    gives a function CPU in proportion to its memory (one vCPU at 1,769 MB)."""
    from services.extract.limits import PARSE_AT_LIMIT_S

    stack = _stack(template)
    memory = int(stack.resources["ExtractFunction"]["Properties"].get("MemorySize", 128))
    slowest_s = PARSE_AT_LIMIT_S * max(1.0, 1769 / memory)
    assert slowest_s < stack.timeout_of("ExtractFunction"), f"{slowest_s:.0f} s at {memory} MB"


# --------------------------------------------------------------------------- environment
def _module_path(name: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(name)
    except (ModuleNotFoundError, ValueError):  # `from package.module import function`
        return None
    return Path(spec.origin) if spec and spec.origin and spec.origin.endswith(".py") else None


def _imports(tree: ast.AST, package: str) -> set[str]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}
    return {n for n in out if n.split(".")[0] in ("services", "events")}


def _reads(tree: ast.AST) -> set[str]:
    """Names read from the environment: os.environ[...], os.environ.get(...), os.getenv(...),
    and the same through a local alias of os.environ (`env = os.environ`)."""
    names = set()
    for node in ast.walk(tree):
        target = None
        if isinstance(node, ast.Subscript):
            target, key = node.value, node.slice
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("get", "getenv") \
                and node.args:
            target, key = node.func.value if node.func.attr == "get" else node.func, node.args[0]
        else:
            continue
        text = ast.unparse(target)
        if (text in ("os.environ", "env", "os.getenv") or text.endswith("os.getenv")) and isinstance(key, ast.Constant) \
                and isinstance(key.value, str):
            names.add(key.value)
    return names


@functools.cache
def _module_facts(module: str) -> tuple[frozenset[str], frozenset[str]]:
    """(variables the module reads, project modules it imports). Each module once per process:
    the checks below walk every function's imports, several times per test (ast.unparse under
    coverage made it 11 s of the suite)."""
    path = _module_path(module)
    if path is None:
        return frozenset(), frozenset()
    tree = ast.parse(path.read_text())
    return frozenset(_reads(tree)), frozenset(_imports(tree, module))


def env_reads(handler: str) -> set[str]:
    """Every variable the handler's module and what it imports (in this project) may read."""
    seen: set[str] = set()
    todo = [handler.rsplit(".", 1)[0]]
    names: set[str] = set()
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        reads, imports = _module_facts(module)
        names |= reads
        todo += [m for m in imports if m not in seen]
    return names - LAMBDA_PROVIDED - NOT_IN_LAMBDA


def settings_model(handler: str) -> Any:
    """The function's settings model: `SETTINGS` in its handler's module."""
    return importlib.import_module(handler.rsplit(".", 1)[0]).SETTINGS


# A function's own variables that are not its settings: read by Powertools and Tesseract.
NOT_SETTINGS = {"POWERTOOLS_SERVICE_NAME", "OMP_THREAD_LIMIT"}


def environment_gaps(template: dict[str, Any]) -> list[str]:
    stack = _stack(template)
    common = set(template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}))
    gaps = []
    for logical_id, fn in stack.of_type("AWS::Serverless::Function").items():
        own = set(fn["Properties"].get("Environment", {}).get("Variables", {}))
        handler = function_handler(fn["Properties"])
        declared = settings_model(handler).variables()
        needed = env_reads(handler) | {name for name, required in declared.items() if required}
        missing = sorted(needed - common - own)
        if missing:
            gaps.append(f"{logical_id} reads {', '.join(missing)}, which the template does not give it")
        unread = sorted(own - set(declared) - NOT_SETTINGS)
        if unread:
            gaps.append(f"{logical_id} is given {', '.join(unread)}, which its settings model does not declare")
    return gaps


def test_no_function_reads_a_variable_the_template_does_not_give_it(template):
    assert environment_gaps(template) == []


def test_a_function_reading_an_unset_variable_is_caught(template):
    broken = copy.deepcopy(template)
    del broken["Globals"]["Function"]["Environment"]["Variables"]["BRONZE_BUCKET"]
    assert any("BRONZE_BUCKET" in gap and gap.startswith("FetchFunction") for gap in environment_gaps(broken))
    broken = copy.deepcopy(template)
    del _function(broken, "LedgerFunction")["Environment"]["Variables"]["LEDGER_DLQ_URL"]
    assert any(gap.startswith("LedgerFunction reads LEDGER_DLQ_URL") for gap in environment_gaps(broken))


def test_a_variable_no_settings_model_declares_is_caught(template):
    broken = copy.deepcopy(template)
    _function(broken, "FetchFunction")["Environment"]["Variables"]["FETCH_DELAY_SECONDS"] = "1"
    assert environment_gaps(broken) == [
        "FetchFunction is given FETCH_DELAY_SECONDS, which its settings model does not declare"]


def _function(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    return template["Resources"][logical_id]["Properties"]


def test_every_function_has_one_settings_model_that_reads_its_environment():
    from services.common.config import FunctionSettings
    from services.fetch.handler import FetchSettings

    handlers = [function_handler(fn["Properties"]) for fn in _stack(load(TEMPLATE)).of_type(
        "AWS::Serverless::Function").values()]
    assert all(issubclass(settings_model(h), FunctionSettings) for h in handlers) and len(handlers) == 9
    own = FetchSettings.from_env({"BRONZE_BUCKET": "b", "SILVER_BUCKET": "s", "EVENTS_TOPIC_ARN": "t",
                                  "FETCH_DELAY_MS": "250", "HTTP_BACKOFF_S": "0"})
    assert (own.fetch_delay_ms, own.http_backoff_s, own.gold_bucket) == (250, 0.0, "")
    with pytest.raises(ValueError, match="fetch_delay_ms"):
        FetchSettings.from_env({"BRONZE_BUCKET": "b", "SILVER_BUCKET": "s", "EVENTS_TOPIC_ARN": "t",
                                "FETCH_DELAY_MS": "soon"})
