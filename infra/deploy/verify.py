"""`disclosures verify --stage X`: the post-deployment checks.

Everything is derived from the template, so a resource added there is verified too:
tables, buckets (and the bronze bucket's notification to the extract queue), queues (and
their redrive to a DLQ), the topic's subscriptions (and filter policies), the rules (and their
targets), the functions (their `live` alias and event source mappings on AWS; their event sources
locally), the alarms; then a smoke run that must succeed, the API, which must answer with
the data that run published, and the website: the CDN (stack output WebsiteUrl) serves the
pages, with the use-restriction notice, and routes /v1 to the API on the same origin.

The same checks run against AWS (a deployed stage) and against the local stack (moto), where
functions are local worker processes, the Lambda-alias alarms do not apply and the local HTTP server (the API's
URL) plays the CDN's role.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from events.models import Envelope, RunRequested, new_run_id
from infra.local.template import ACCOUNT_ID, REGION, Stack

ALIAS = "live"
NOTICE = "13107"  # 5 U.S.C. 13107, the use restriction every page shows


@dataclass
class DeployedStack(Stack):
    """The template's names in a real account and region (the local Stack assumes moto's)."""

    account: str = ACCOUNT_ID
    region: str = REGION

    def ref(self, name: str) -> str:
        if name == "AWS::AccountId":
            return self.account
        if name == "AWS::Region":
            return self.region
        return super().ref(name)

    def arn(self, logical_id: str) -> str:
        return super().arn(logical_id).replace(f":{REGION}:{ACCOUNT_ID}:", f":{self.region}:{self.account}:")


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""

    def line(self) -> str:
        return f"{'PASS' if self.ok else 'FAIL'}  {self.name}: {self.detail}"


@dataclass
class Verifier:
    stack: Stack
    clients: Callable[[str], Any]
    mode: str = "aws"  # aws | local
    api_url: str | None = None
    website_url: str | None = None  # the CDN (stack output WebsiteUrl); locally the API's URL
    source_url: str | None = None
    physical: dict[str, str] = field(default_factory=dict)  # logical id -> physical id (from CloudFormation)
    local_sources: dict[str, set[str]] = field(default_factory=dict)  # function -> queue names it polls (local)
    log: Callable[[str], None] = lambda _m: None

    # ------------------------------------------------------------------ helpers
    def name(self, logical_id: str) -> str:
        return self.physical.get(logical_id) or self.stack.physical_name(logical_id)

    def _resources(self, type_name: str) -> list[str]:
        """Logical ids of the template's resources of this type whose Condition holds."""
        return [lid for lid, res in self.stack.of_type(type_name).items()
                if self.stack.enabled(res)]

    def _props(self, logical_id: str) -> dict[str, Any]:
        return self.stack.resolve(self.stack.resources[logical_id].get("Properties", {}))

    def _queue_url(self, sqs, name: str) -> str:
        return sqs.get_queue_url(QueueName=name)["QueueUrl"]

    # ------------------------------------------------------------------ resources
    def check_tables(self) -> Check:
        ddb = self.clients("dynamodb")
        problems, names = [], []
        for logical_id in self._resources("AWS::DynamoDB::Table"):
            name = self.name(logical_id)
            names.append(name)
            try:
                table = ddb.describe_table(TableName=name)["Table"]
            except ClientError:
                problems.append(f"{name} missing")
                continue
            if table["TableStatus"] != "ACTIVE":
                problems.append(f"{name} is {table['TableStatus']}")
            # An index added to an existing table is built after the stack update ends; reads fail until then.
            indexes = {i["IndexName"]: i.get("IndexStatus") for i in table.get("GlobalSecondaryIndexes", [])}
            for index in self._props(logical_id).get("GlobalSecondaryIndexes", []):
                state = indexes.get(index["IndexName"], "missing")
                if state != "ACTIVE":
                    problems.append(f"{name} index {index['IndexName']} is {state}")
        return Check("tables", not problems, "; ".join(problems) or f"{len(names)} active")

    def check_queues(self) -> Check:
        sqs = self.clients("sqs")
        problems, count = [], 0
        for logical_id in self._resources("AWS::SQS::Queue"):
            name = self.name(logical_id)
            try:
                url = self._queue_url(sqs, name)
            except ClientError:
                problems.append(f"{name} missing")
                continue
            count += 1
            redrive = self._props(logical_id).get("RedrivePolicy")
            if redrive:
                attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"]).get("Attributes", {})
                actual = json.loads(attrs.get("RedrivePolicy", "{}")).get("deadLetterTargetArn", "")
                if actual.rsplit(":", 1)[-1] != redrive["deadLetterTargetArn"].rsplit(":", 1)[-1]:
                    problems.append(f"{name} redrives to {actual or 'nothing'}")
        return Check("queues", not problems, "; ".join(problems) or f"{count} queues, every consumer queue has its DLQ")

    def check_buckets(self) -> Check:
        s3 = self.clients("s3")
        problems, count = [], 0
        for logical_id in self._resources("AWS::S3::Bucket"):
            name = self.name(logical_id)
            try:
                s3.head_bucket(Bucket=name)
            except ClientError:
                problems.append(f"{name} missing")
                continue
            count += 1
            wanted = self._props(logical_id).get("NotificationConfiguration", {}).get("QueueConfigurations", [])
            if wanted:
                actual = s3.get_bucket_notification_configuration(Bucket=name).get("QueueConfigurations", [])
                actual_names = {qc["QueueArn"].rsplit(":", 1)[-1] for qc in actual}
                for qc in wanted:
                    if qc["Queue"].rsplit(":", 1)[-1] not in actual_names:
                        problems.append(f"{name} does not notify {qc['Queue'].rsplit(':', 1)[-1]}")
        return Check("buckets", not problems, "; ".join(problems) or f"{count} buckets, notifications wired")

    def check_subscriptions(self) -> Check:
        sns = self.clients("sns")
        problems, count = [], 0
        actual: dict[tuple[str, str], list[str]] = {}
        topics = {self._props(lid)["TopicArn"] for lid in self._resources("AWS::SNS::Subscription")}
        for topic in topics:
            topic_arn = self._topic_arn(topic)
            try:
                pages = sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn)
                for page in pages:
                    for sub in page["Subscriptions"]:
                        key = (topic.rsplit(":", 1)[-1], sub["Endpoint"].rsplit(":", 1)[-1])
                        actual.setdefault(key, []).append(sub["SubscriptionArn"])
            except ClientError:
                problems.append(f"topic {topic_arn} missing")
        for logical_id in self._resources("AWS::SNS::Subscription"):
            props = self._props(logical_id)
            key = (props["TopicArn"].rsplit(":", 1)[-1], props["Endpoint"].rsplit(":", 1)[-1])
            arns = actual.get(key)
            if not arns:
                problems.append(f"{key[1]} is not subscribed to {key[0]}")
                continue
            count += 1
            if "FilterPolicy" in props:
                policies = [json.loads(sns.get_subscription_attributes(SubscriptionArn=a)["Attributes"].get("FilterPolicy", "{}"))
                            for a in arns]
                if props["FilterPolicy"] not in policies:
                    problems.append(f"{key[1]}: filter policy {policies} != {props['FilterPolicy']}")
        return Check("subscriptions", not problems, "; ".join(problems) or f"{count} subscriptions with their filters")

    def _topic_arn(self, arn: str) -> str:
        if isinstance(self.stack, DeployedStack):
            return arn
        name = arn.rsplit(":", 1)[-1]
        return f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{name}"

    def check_rules(self) -> Check:
        events = self.clients("events")
        problems, states = [], []
        for logical_id in self._resources("AWS::Events::Rule"):
            name = self.name(logical_id)
            try:
                rule = events.describe_rule(Name=name)
            except ClientError:
                problems.append(f"rule {name} missing")
                continue
            states.append(f"{logical_id}={rule.get('State')}")
            targets = {t["Arn"].rsplit(":", 1)[-1] for t in events.list_targets_by_rule(Rule=name)["Targets"]}
            for target in self._props(logical_id).get("Targets", []):
                if target["Arn"].rsplit(":", 1)[-1] not in targets:
                    problems.append(f"rule {name} does not target {target['Arn'].rsplit(':', 1)[-1]}")
        return Check("rules", not problems, "; ".join(problems) or ", ".join(states))

    def _sqs_sources(self) -> dict[str, set[str]]:
        """Function name -> names of the queues the template says it consumes."""
        out: dict[str, set[str]] = {}
        for logical_id in self._resources("AWS::Serverless::Function"):
            events = self._props(logical_id).get("Events", {})
            queues = {e["Properties"]["Queue"].rsplit(":", 1)[-1] for e in events.values() if e["Type"] == "SQS"}
            out[self.name(logical_id)] = queues
        return out

    def check_functions(self) -> Check:
        wanted = self._sqs_sources()
        problems: list[str] = []
        if self.mode == "local":
            for function, queues in wanted.items():
                missing = queues - self.local_sources.get(function, set())
                if missing:
                    problems.append(f"{function}: no poller for {sorted(missing)}")
            return Check("functions", not problems, "; ".join(problems) or
                         f"{len(wanted)} functions; every SQS event source has a poller (local)")
        lam = self.clients("lambda")
        for function, queues in wanted.items():
            try:
                lam.get_function(FunctionName=function)
                alias = lam.get_alias(FunctionName=function, Name=ALIAS)
            except ClientError as exc:
                problems.append(f"{function}: {exc.response['Error']['Code']}")
                continue
            if not alias["FunctionVersion"].isdigit():
                problems.append(f"{function}: {ALIAS} points at {alias['FunctionVersion']}")
            if queues:
                mappings = lam.list_event_source_mappings(FunctionName=alias["AliasArn"])["EventSourceMappings"]
                mapped = {m["EventSourceArn"].rsplit(":", 1)[-1] for m in mappings if m.get("State") in ("Enabled", "Enabling", "Updating")}
                if queues - mapped:
                    problems.append(f"{function}:{ALIAS} does not consume {sorted(queues - mapped)}")
        return Check("functions", not problems, "; ".join(problems) or
                     f"{len(wanted)} functions behind {ALIAS}, event sources mapped to the alias")

    def check_alarms(self) -> Check:
        cloudwatch = self.clients("cloudwatch")
        expected = [self._props(lid).get("AlarmName") or self.name(lid) for lid in self._resources("AWS::CloudWatch::Alarm")]
        found: set[str] = set()
        for start in range(0, len(expected), 100):
            response = cloudwatch.describe_alarms(AlarmNames=expected[start:start + 100])
            found |= {a["AlarmName"] for a in response.get("MetricAlarms", []) + response.get("CompositeAlarms", [])}
        missing = sorted(set(expected) - found)
        return Check("alarms", not missing, f"missing {missing}" if missing else f"{len(expected)} alarms")

    # ------------------------------------------------------------------ behaviour
    def smoke_run(self, years: list[int], timeout_s: float = 900.0) -> tuple[Check, dict[str, Any]]:
        """Request a run as the CLI does, and wait for the ledger to settle it."""
        topics = self._resources("AWS::SNS::Topic")
        topic_logical = "PipelineEventsTopic" if "PipelineEventsTopic" in topics else topics[0]
        topic_arn = self._topic_arn(self.stack.arn(topic_logical)) if self.mode == "local" else \
            (self.physical.get(topic_logical) or self.stack.arn(topic_logical))
        source_url = self.source_url or self.stack.parameters.get("ClerkBaseUrl", "")
        run_id = new_run_id()
        envelope = Envelope.build(RunRequested(years=years, source_url=source_url, trigger="cli"), run_id=run_id, source="cli")
        self.clients("sns").publish(TopicArn=topic_arn, Message=envelope.model_dump_json(), MessageAttributes={
            "event_type": {"DataType": "String", "StringValue": envelope.event_type},
            "run_id": {"DataType": "String", "StringValue": run_id},
        })
        self.log(f"smoke run {run_id} requested (years {years})")
        run = self._wait_for_run(run_id, timeout_s)
        ok = run.get("status") == "succeeded"
        detail = f"run {run_id} {run.get('status')}" + (f": {run.get('failure_reason')}" if run.get("failure_reason") else "")
        return Check("smoke run", ok, detail), run

    def _wait_for_run(self, run_id: str, timeout_s: float) -> dict[str, Any]:
        from services.ledger.ledger import FINAL_STATUSES

        ddb = self.clients("dynamodb")
        table = self.name(next(lid for lid in self._resources("AWS::DynamoDB::Table") if "Ledger" in lid))
        deadline = time.monotonic() + timeout_s
        run: dict[str, Any] = {"run_id": run_id, "status": "requested"}
        while time.monotonic() < deadline:
            item = ddb.get_item(TableName=table, Key={"pk": {"S": f"RUN#{run_id}"}, "sk": {"S": "RUN"}},
                                ConsistentRead=True).get("Item")
            if item:
                run = {k: next(iter(v.values())) for k, v in item.items()}
                if run.get("status") in FINAL_STATUSES:
                    return run
            time.sleep(1.0 if self.mode == "aws" else 0.25)
        run["status"] = f"{run.get('status')} after {timeout_s:.0f}s (timed out)"
        return run

    def check_api(self, run: dict[str, Any] | None = None) -> Check:
        if not self.api_url:
            return Check("api", False, "no API URL (stack output ApiUrl)")
        try:
            health = _get_json(f"{self.api_url.rstrip('/')}/v1/health")
            _get_json(f"{self.api_url.rstrip('/')}/v1/summary")
        except OSError as exc:
            return Check("api", False, f"{self.api_url}: {exc}")
        problems = []
        if health.get("status") != "ok" or health.get("stale"):
            problems.append(f"health is {health.get('status')} (freshness {health.get('freshness_hours')} h)")
        if run and run.get("gold_version") and health.get("gold_version") != run["gold_version"]:
            problems.append(f"serves gold {health.get('gold_version')}, the smoke run published {run['gold_version']}")
        return Check("api", not problems, "; ".join(problems) or
                     f"fresh: gold {health.get('gold_version')}, {health.get('freshness_hours')} h old")

    def check_website(self) -> Check:
        """The CDN serves the website (with the use-restriction notice) and the API on one origin."""
        url = self.website_url or (self.api_url if self.mode == "local" else None)
        if not url:
            return Check("website", False, "no website URL (stack output WebsiteUrl)")
        base = url.rstrip("/")
        try:
            status, headers, body = _get(f"{base}/")
            if status != 200:
                return Check("website", False, f"GET {base}/ answered {status}")
            if "html" not in headers.get("content-type", "") or NOTICE not in body.decode("utf-8", "replace"):
                return Check("website", False, f"GET {base}/ is not the website: no 5 U.S.C. {NOTICE} notice "
                                               f"({headers.get('content-type')}, {len(body)} bytes)")
            status, headers, body = _get(f"{base}/v1/health")
        except OSError as exc:
            return Check("website", False, f"{base}: {exc}")
        try:
            health = json.loads(body) if "json" in headers.get("content-type", "") else None
        except ValueError:
            health = None
        if status != 200 or not isinstance(health, dict) or "status" not in health:
            return Check("website", False, f"GET {base}/v1/health does not reach the API: {status} "
                                           f"{headers.get('content-type')} {body[:80]!r}")
        return Check("website", True, f"{base}/ serves the pages with the {NOTICE} notice; "
                                      f"/v1/health answers through it ({health['status']})")

    def run(self, *, smoke: bool = True, years: list[int] | None = None, timeout_s: float = 900.0) -> list[Check]:
        checks = [self.check_tables(), self.check_buckets(), self.check_queues(), self.check_subscriptions(),
                  self.check_rules(), self.check_functions(), self.check_alarms()]
        for check in checks:
            self.log(check.line())
        run = None
        if smoke:
            if years is None:
                from services.discover.discover import default_years

                years = default_years()
            check, run = self.smoke_run(years, timeout_s)
            self.log(check.line())
            checks.append(check)
        for check in (self.check_api(run), self.check_website()):
            self.log(check.line())
            checks.append(check)
        return checks


def _get_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - the stack's own API
        return json.loads(response.read())


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of a GET; an HTTP error status is an answer, not an exception."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - the stack's own CDN
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def all_passed(checks: Iterable[Check]) -> bool:
    return all(c.ok for c in checks)

