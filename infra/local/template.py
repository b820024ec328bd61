"""Read the SAM template and resolve its intrinsic functions for the local runtime.

The local runtime derives everything it runs from `infra/template.yaml`, so adding a function,
queue or rule there is all it takes to run it locally.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

TEMPLATE_PATH = Path(__file__).resolve().parents[1] / "template.yaml"
ACCOUNT_ID = "123456789012"
REGION = "us-east-1"

_NAME_PROPERTY = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Serverless::Function": "FunctionName",
    "AWS::Events::Rule": "Name",
}


def function_handler(properties: dict[str, Any]) -> str:
    """The handler a function runs: `Handler` of a zip function, the image's command otherwise
    (`ImageConfig.Command`; locally an image function runs from the same code as the rest)."""
    if "Handler" in properties:
        return properties["Handler"]
    return properties["ImageConfig"]["Command"][0]


def lambda_python(template: dict[str, Any] | None = None) -> str:
    """The Python the zip functions run on AWS ("3.12" for `Runtime: python3.12`): one for them
    all, since the deploy packages one set of dependencies for them."""
    template = template if template is not None else load()
    # Per function: SAM refuses Runtime in Globals beside the OCR function's image.
    runtimes = {fn["Properties"]["Runtime"] for fn in template["Resources"].values()
                if fn["Type"] == "AWS::Serverless::Function" and "Runtime" in fn["Properties"]}
    if len(runtimes) != 1:
        raise ValueError(f"the zip functions must share one Runtime, not {sorted(runtimes)}")
    return runtimes.pop().removeprefix("python")


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """A YAML loader that turns CloudFormation short tags into their long form. On libyaml's
    parser where PyYAML has it: the pure-Python one took 0.2 s of every stack's start, 0.75 s
    under coverage."""


def _tag(name: str):
    def construct(loader: yaml.constructor.SafeConstructor, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if name == "Fn::GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value}

    return construct


for _short in ("Ref", "Sub", "GetAtt", "Join", "If", "Equals", "Not", "Select", "Split", "GetAZs", "FindInMap",
               "Condition", "And", "Or"):
    _full = "Ref" if _short == "Ref" else f"Fn::{_short}"
    _Loader.add_constructor(f"!{_short}", _tag(_full))


def load(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506 - a safe loader's subclass


@dataclass
class Stack:
    """A template resolved against a stack name and parameter values."""

    template: dict[str, Any]
    name: str = "disclosures-local"
    parameters: dict[str, str] = field(default_factory=dict)
    endpoint: str = ""

    def __post_init__(self) -> None:
        defaults = {k: str(v.get("Default", "")) for k, v in self.template.get("Parameters", {}).items()}
        self.parameters = {**defaults, **self.parameters}

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.template["Resources"]

    def of_type(self, type_name: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == type_name}

    def physical_name(self, logical_id: str) -> str:
        resource = self.resources[logical_id]
        prop = _NAME_PROPERTY.get(resource["Type"])
        explicit = resource.get("Properties", {}).get(prop) if prop else None
        return self.resolve(explicit) if explicit is not None else f"{self.name}-{logical_id}"

    def arn(self, logical_id: str) -> str:
        kind = self.resources[logical_id]["Type"]
        name = self.physical_name(logical_id)
        return {
            "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
            "AWS::SQS::Queue": f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}",
            "AWS::SNS::Topic": f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{name}",
            "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{name}",
            "AWS::Serverless::Function": f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}",
            "AWS::Events::Rule": f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{name}",
        }.get(kind, f"arn:aws:local:{REGION}:{ACCOUNT_ID}:{name}")

    def ref(self, name: str) -> str:
        pseudo = {
            "AWS::StackName": self.name,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Region": REGION,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        kind = self.resources[name]["Type"]
        if kind == "AWS::SQS::Queue":
            return f"{self.endpoint}/{ACCOUNT_ID}/{self.physical_name(name)}"
        if kind == "AWS::SNS::Topic":
            return self.arn(name)
        return self.physical_name(name)

    def get_att(self, logical_id: str, attribute: str) -> str:
        if attribute == "Arn":
            return self.arn(logical_id)
        if attribute in ("TopicName", "QueueName"):
            return self.physical_name(logical_id)
        raise KeyError(f"unsupported attribute {logical_id}.{attribute}")

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                return self.get_att(*arg)
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::Join":
                sep, items = arg
                return sep.join(str(i) for i in self.resolve(items))
            if key == "Fn::FindInMap":
                mapping, top, second = (self.resolve(a) for a in arg)
                return self.template["Mappings"][mapping][top][second]
            if key == "Fn::If":
                condition, if_true, if_false = arg
                return self.resolve(if_true if self.condition(condition) else if_false)
        return {k: self.resolve(v) for k, v in value.items()}

    def condition(self, name: str) -> bool:
        return bool(self._evaluate(self.template.get("Conditions", {})[name]))

    def enabled(self, resource: dict[str, Any]) -> bool:
        """Whether a resource's Condition (if any) holds for these parameters."""
        name = resource.get("Condition")
        return name is None or self.condition(name)

    def _evaluate(self, expression: Any) -> Any:
        """Evaluate a Conditions expression (Equals, Not, And, Or, Condition)."""
        (key, arg), = expression.items()
        if key == "Fn::Equals":
            left, right = (self.resolve(a) for a in arg)
            return str(left) == str(right)
        if key == "Fn::Not":
            return not self._evaluate(arg[0])
        if key == "Fn::And":
            return all(self._evaluate(a) for a in arg)
        if key == "Fn::Or":
            return any(self._evaluate(a) for a in arg)
        if key == "Condition":
            return self.condition(arg)
        raise KeyError(f"unsupported condition function {key}")

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                return self.get_att(*name.split(".", 1))
            return self.ref(name)

        return re.sub(r"\$\{([^}!]+)\}", replace, text)

    def global_environment(self) -> dict[str, str]:
        variables = self.template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
        return {k: str(v) for k, v in self.resolve(variables).items()}

    def timeout_of(self, logical_id: str) -> int:
        """A function's Timeout in seconds: its own, else the Globals', else Lambda's 3."""
        default = self.template.get("Globals", {}).get("Function", {}).get("Timeout", 3)
        return int(self.resources[logical_id]["Properties"].get("Timeout", default))

    def environment_of(self, logical_id: str) -> dict[str, str]:
        """What Lambda gives one function: the Globals' variables and its own."""
        own = self.resolve(self.resources[logical_id]["Properties"].get("Environment", {}).get("Variables", {}))
        return {**self.global_environment(), **{k: str(v) for k, v in own.items()}}

    def function_environment(self) -> dict[str, str]:
        """Every function's variables merged, for the operator's process (the CLI, the runtime),
        which reaches every bucket, table and topic: a name must mean the same in every function."""
        env = self.global_environment()
        for logical_id, fn in self.of_type("AWS::Serverless::Function").items():
            variables = self.resolve(fn["Properties"].get("Environment", {}).get("Variables", {}))
            for key, val in variables.items():
                if key == "POWERTOOLS_SERVICE_NAME":
                    continue
                if key in env and env[key] != val:
                    raise ValueError(f"{logical_id}: {key} differs between functions; rename it")
                env[key] = str(val)
        return {k: str(v) for k, v in env.items()}
