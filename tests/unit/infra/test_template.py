"""The template is the one description of the system: check what every part of it must have."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from infra.local.template import Stack, load

TEMPLATE = Path(__file__).resolve().parents[3] / "infra" / "template.yaml"


@pytest.fixture(scope="module")
def stack() -> Stack:
    return Stack(load(TEMPLATE), name="t", endpoint="http://emu")


def test_cfn_lint_passes():
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run([str(cfn_lint), str(TEMPLATE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_work_queue_has_a_dead_letter_queue(stack):
    queues = stack.of_type("AWS::SQS::Queue")
    work = [q for q in queues if not q.endswith("DLQ")]
    assert work
    for logical_id in work:
        redrive = queues[logical_id]["Properties"].get("RedrivePolicy")
        assert redrive, f"{logical_id} has no DLQ"
        assert stack.resolve(redrive["deadLetterTargetArn"]).endswith("-dlq")


def test_every_sqs_event_source_reports_partial_batch_failures(stack):
    sources = 0
    for logical_id, fn in stack.of_type("AWS::Serverless::Function").items():
        for event in fn["Properties"].get("Events", {}).values():
            if event["Type"] == "SQS":
                sources += 1
                assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"], logical_id
    assert sources >= 6


def test_every_function_has_its_own_policies_and_tracing(stack):
    assert stack.template["Globals"]["Function"]["Tracing"] == "Active"
    for logical_id, fn in stack.of_type("AWS::Serverless::Function").items():
        assert fn["Properties"].get("Policies"), f"{logical_id} has no least-privilege policies"


def test_buckets_are_versioned_encrypted_and_private(stack):
    for logical_id, bucket in stack.of_type("AWS::S3::Bucket").items():
        props = bucket["Properties"]
        assert props["VersioningConfiguration"]["Status"] == "Enabled", logical_id
        assert props["BucketEncryption"], logical_id
        assert all(props["PublicAccessBlockConfiguration"].values()), logical_id


def test_the_stages_subscribe_to_the_events_they_handle(stack):
    filters = {
        stack.resolve(sub["Properties"]["Endpoint"]).rsplit(":", 1)[1]:
            sub["Properties"].get("FilterPolicy", {}).get("event_type")
        for sub in stack.of_type("AWS::SNS::Subscription").values()
        if sub["Properties"]["Protocol"] == "sqs"
    }
    assert filters["t-runs"] == ["run.requested"]
    assert filters["t-fetch"] == ["filing.discovered"]
    assert filters["t-ledger"] is None  # the ledger hears everything
    assert "run.documents_settled" in filters["t-gold"]
    assert filters["t-publish"] == ["gold.published"]


def test_intrinsics_resolve_for_the_local_runtime(stack):
    env = stack.function_environment()
    assert env["BRONZE_BUCKET"] == "t-bronze-123456789012"
    assert env["EVENTS_TOPIC_ARN"] == "arn:aws:sns:us-east-1:123456789012:t-pipeline-events"
    assert env["LEDGER_TABLE"] == "t-ledger"
    assert stack.ref("RunsQueue") == "http://emu/123456789012/t-runs"
    assert all(url.startswith("http://emu/") for url in env["DEAD_LETTER_QUEUES"].split(","))


def test_a_variable_meaning_two_things_is_refused(stack):
    template = load(TEMPLATE)
    fn = next(iter(Stack(template).of_type("AWS::Serverless::Function").values()))
    fn["Properties"]["Environment"]["Variables"]["BRONZE_BUCKET"] = "elsewhere"
    with pytest.raises(ValueError, match="BRONZE_BUCKET differs"):
        Stack(template).function_environment()


def test_the_http_api_is_declared_with_throttling_stricter_on_operations(stack):
    api = stack.resources["HttpApi"]
    assert api["Type"] == "AWS::Serverless::HttpApi"
    default = api["Properties"]["DefaultRouteSettings"]
    assert default["ThrottlingRateLimit"] > 0 and default["ThrottlingBurstLimit"] >= default["ThrottlingRateLimit"]
    events = stack.resources["ApiFunction"]["Properties"]["Events"]
    assert all(e["Type"] == "HttpApi" and e["Properties"]["ApiId"] == {"Ref": "HttpApi"} for e in events.values())
    routes = {(e["Properties"]["Method"], e["Properties"]["Path"]): e["Properties"] for e in events.values()}
    ops = {route: props["RouteSettings"] for route, props in routes.items() if "/ops/" in route[1]}
    assert set(ops) == {(m, p) for m in ("GET", "HEAD") for p in ("/v1/ops/runs", "/v1/ops/dlq")}
    # An HTTP API route matches one method: whatever CloudFront passes on to the API has one.
    behaviors = stack.resources["SiteDistribution"]["Properties"]["DistributionConfig"]["CacheBehaviors"]
    for behavior in behaviors:
        pattern = behavior["PathPattern"].replace("/*", "/{proxy+}")
        for method in set(behavior["AllowedMethods"]) - {"OPTIONS"}:  # preflights: the CorsConfiguration's
            assert (method, pattern) in routes, f"{method} {pattern} reaches the API, which has no route for it"
    for settings in ops.values():
        assert settings["ThrottlingRateLimit"] < default["ThrottlingRateLimit"]
        assert settings["ThrottlingBurstLimit"] < default["ThrottlingBurstLimit"]
    # No implicit API left behind: the URL output names the declared one.
    assert "${HttpApi}" in stack.template["Outputs"]["ApiUrl"]["Value"]["Fn::Sub"]
    assert "ServerlessHttpApi" not in TEMPLATE.read_text()


def test_the_watchdog_may_peek_at_dead_letter_queues_that_redrive_nowhere(stack):
    queues = stack.of_type("AWS::SQS::Queue")
    dlqs = {q for q in queues if q.endswith("DLQ")}
    # Peeking raises a message's receive count: harmless only because a DLQ has no redrive of its own.
    assert dlqs and all("RedrivePolicy" not in queues[q]["Properties"] for q in dlqs)
    statements = [s for p in stack.resources["WatchdogFunction"]["Properties"]["Policies"] if "Statement" in p
                  for s in p["Statement"]]
    sqs = next(s for s in statements if "sqs:ReceiveMessage" in s["Action"])
    assert {r["Fn::GetAtt"][0] for r in sqs["Resource"]} == dlqs
    # What it read it hides for the pass and then makes visible again (services/common/queues.py).
    assert "sqs:ChangeMessageVisibility" in sqs["Action"]
    assert "sqs:DeleteMessage" not in str(statements)


def test_cloudfront_serves_the_site_and_the_api_on_one_origin(stack):
    # The website calls the API on its own origin (empty <meta name="api-base">), as locally.
    [distribution_id] = stack.of_type("AWS::CloudFront::Distribution")
    config = stack.resources[distribution_id]["Properties"]["DistributionConfig"]
    origins = {o["Id"]: o for o in config["Origins"]}
    assert len(origins) == 2
    site = next(o for o in origins.values() if "S3OriginConfig" in o)
    api = next(o for o in origins.values() if "CustomOriginConfig" in o)
    assert site["DomainName"] == {"Fn::GetAtt": ["SiteBucket", "RegionalDomainName"]}
    assert site["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # OAC, not the legacy identity
    [oac_id] = stack.of_type("AWS::CloudFront::OriginAccessControl")
    assert site["OriginAccessControlId"] == {"Fn::GetAtt": [oac_id, "Id"]}
    oac = stack.resources[oac_id]["Properties"]["OriginAccessControlConfig"]
    assert (oac["OriginAccessControlOriginType"], oac["SigningBehavior"], oac["SigningProtocol"]) == ("s3", "always", "sigv4")
    assert api["DomainName"] == {"Fn::Sub": "${HttpApi}.execute-api.${AWS::Region}.amazonaws.com"}
    assert api["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert api["CustomOriginConfig"]["OriginSSLProtocols"] == ["TLSv1.2"]

    default = config["DefaultCacheBehavior"]
    assert default["TargetOriginId"] == site["Id"] and config["DefaultRootObject"] == "index.html"
    assert default["ViewerProtocolPolicy"] == "redirect-to-https" and default["Compress"] is True
    assert default["CachePolicyId"] == "658327ea-f89d-4fab-a63d-7e88639e58f6"  # CachingOptimized: honours max-age
    behaviors = {b["PathPattern"]: b for b in config["CacheBehaviors"]}
    assert set(behaviors) == {"/v1/*", "/openapi.json"}
    for behavior in behaviors.values():
        assert behavior["TargetOriginId"] == api["Id"]
        assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
        assert set(behavior["AllowedMethods"]) == {"GET", "HEAD", "OPTIONS"}
        # The API's own Cache-Control decides (no-store for health and operations)...
        assert behavior["CachePolicyId"] == {"Ref": "ApiCachePolicy"}
        # ...and API Gateway gets its own Host header (AllViewerExceptHostHeader), or it answers 403.
        assert behavior["OriginRequestPolicyId"] == "b689b0a8-53d0-40ab-baf2-68738e2966ac"
    policy = stack.resources["ApiCachePolicy"]["Properties"]["CachePolicyConfig"]
    keyed = policy["ParametersInCacheKeyAndForwardedToOrigin"]
    # Cache-key headers are forwarded whatever the origin request policy says: no Host among them.
    # Origin is one: API Gateway's CORS headers (it ignores the function's) depend on it.
    assert keyed["HeadersConfig"] == {"HeaderBehavior": "whitelist", "Headers": ["Origin"]}
    assert keyed["CookiesConfig"] == {"CookieBehavior": "none"}
    assert stack.resources["HttpApi"]["Properties"]["CorsConfiguration"]["AllowOrigins"] == ["*"]
    assert keyed["QueryStringsConfig"] == {"QueryStringBehavior": "all"}  # filters and pages are queries
    assert (policy["MinTTL"], policy["DefaultTTL"]) == (0, 0)  # only what the API marks cacheable
    for behavior in [default, *behaviors.values()]:
        assert behavior["ResponseHeadersPolicyId"] == "67f7725c-6f97-4210-82d7-5512b31e9d03"
    assert (config["PriceClass"], config["HttpVersion"], config["IPV6Enabled"]) == ("PriceClass_100", "http2and3", True)
    assert "CustomErrorResponses" not in config  # a missing key is S3's own 404 (ListBucket below)
    assert stack.template["Outputs"]["WebsiteUrl"]["Value"] == {"Fn::Sub": f"https://${{{distribution_id}.DomainName}}"}


def test_only_the_distribution_reads_the_private_site_bucket(stack):
    [distribution_id] = stack.of_type("AWS::CloudFront::Distribution")
    site = stack.resources["SiteBucket"]["Properties"]
    assert all(site["PublicAccessBlockConfiguration"].values())
    policies = [p for p in stack.of_type("AWS::S3::BucketPolicy").values() if p["Properties"]["Bucket"] == {"Ref": "SiteBucket"}]
    assert len(policies) == 1
    statements = policies[0]["Properties"]["PolicyDocument"]["Statement"]
    denied = [s for s in statements if s["Effect"] == "Deny" and s.get("Sid") != "DenyInsecureTransport"]
    statements = [s for s in statements if s["Effect"] == "Allow"]
    # The precomputed answers and api/meta.json stay private: visitors get /v1 from the API.
    assert [(s["Action"], stack.resolve(s["Resource"])) for s in denied] == [("s3:GetObject", "arn:aws:s3:::t-site-123456789012/api/*")]
    assert {s["Action"] for s in statements} == {"s3:GetObject", "s3:ListBucket"}
    for statement in statements:
        assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
        source = statement["Condition"]["StringEquals"]["AWS:SourceArn"]
        # This distribution only, not any CloudFront distribution of any account.
        assert stack.resolve(source) == f"arn:aws:cloudfront::123456789012:distribution/t-{distribution_id}"
        assert source["Fn::Sub"].endswith(f"distribution/${{{distribution_id}}}")
    get = next(s for s in statements if s["Action"] == "s3:GetObject")
    assert stack.resolve(get["Resource"]) == "arn:aws:s3:::t-site-123456789012/*"
    listing = next(s for s in statements if s["Action"] == "s3:ListBucket")
    assert stack.resolve(listing["Resource"]) == "arn:aws:s3:::t-site-123456789012"


def test_replaced_site_objects_expire(stack):
    # Each Gold version's answers are new objects; the deleted ones must not stay as versions forever.
    [rule] = stack.resources["SiteBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled" and rule["NoncurrentVersionExpiration"]["NoncurrentDays"] <= 30


def test_versions_pruned_from_gold_and_silver_expire(stack):
    # build_gold's retention deletes old Gold versions and unreferenced silver year tables; in these
    # versioned buckets each delete leaves a noncurrent version, which must not stay forever.
    from services.build_gold.retention import Policy
    from services.common import keys

    for bucket, prefix in (("GoldBucket", None), ("SilverBucket", keys.SILVER_TABLES_PREFIX)):
        [rule] = stack.resources[bucket]["Properties"]["LifecycleConfiguration"]["Rules"]
        assert rule["Status"] == "Enabled" and rule["NoncurrentVersionExpiration"]["NoncurrentDays"] <= 30
        assert rule["ExpiredObjectDeleteMarker"] is True
        assert rule.get("Prefix") == prefix, bucket  # silver: only the year tables, records keep their history
    # The retention settings the function gets are valid (a bad one would stop retention).
    assert Policy.from_env(stack.function_environment()) == Policy(keep_versions=5, keep_rejected_days=30)


# ------------------------------------------------------------------ security (issue 16)
# Generic on purpose: a bucket, queue or function added later is held to the same rules.

def _statements(stack: Stack, bucket: str) -> list[dict]:
    return [s for p in stack.of_type("AWS::S3::BucketPolicy").values() if p["Properties"]["Bucket"] == {"Ref": bucket}
            for s in p["Properties"]["PolicyDocument"]["Statement"]]


def _log_bucket(stack: Stack) -> str:
    [target] = {b["Properties"]["LoggingConfiguration"]["DestinationBucketName"]["Ref"]
                for b in stack.of_type("AWS::S3::Bucket").values() if "LoggingConfiguration" in b["Properties"]}
    return target


def test_every_bucket_refuses_plain_http(stack):
    buckets = stack.of_type("AWS::S3::Bucket")
    assert len(buckets) >= 5
    for logical_id in buckets:
        arn = stack.resolve({"Fn::GetAtt": [logical_id, "Arn"]})
        denies = [s for s in _statements(stack, logical_id)
                  if s["Effect"] == "Deny" and s["Principal"] == "*" and s["Action"] in ("s3:*", ["s3:*"])
                  and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}]
        assert denies, f"{logical_id} has no aws:SecureTransport deny"
        assert set(stack.resolve(denies[0]["Resource"])) == {arn, f"{arn}/*"}, logical_id


def test_every_queue_is_encrypted(stack):
    queues = stack.of_type("AWS::SQS::Queue")
    assert len(queues) >= 12
    for logical_id, queue in queues.items():
        props = queue["Properties"]
        assert props.get("SqsManagedSseEnabled") is True or props.get("KmsMasterKeyId"), f"{logical_id} is not encrypted"


def test_every_data_bucket_logs_its_access_to_the_log_bucket(stack):
    logs = _log_bucket(stack)
    for logical_id, bucket in stack.of_type("AWS::S3::Bucket").items():
        if logical_id == logs:
            assert "LoggingConfiguration" not in bucket["Properties"]  # a log bucket logging into itself loops
            continue
        config = bucket["Properties"].get("LoggingConfiguration")
        assert config, f"{logical_id} has no access logging"
        assert config["DestinationBucketName"] == {"Ref": logs} and config["LogFilePrefix"], logical_id
    # S3's logging service may write there, for this account's buckets only.
    [allow] = [s for s in _statements(stack, logs) if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "logging.s3.amazonaws.com"} and allow["Action"] == "s3:PutObject"
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    rules = stack.resources[logs]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert any(rule.get("ExpirationInDays") for rule in rules)


# SAM policy templates that grant a whole bucket.
_WHOLE_BUCKET = {"S3CrudPolicy", "S3ReadPolicy", "S3WritePolicy", "S3FullAccessPolicy"}
# The one function that owns a whole bucket: publish_api writes the entire website.
_OWNED = {("PublishApiFunction", "SiteBucket")}


def test_every_function_has_s3_rights_on_its_own_prefixes_only(stack):
    buckets = {stack.physical_name(b): b for b in stack.of_type("AWS::S3::Bucket")}
    checked = 0
    for fn_id, fn in stack.of_type("AWS::Serverless::Function").items():
        for policy in fn["Properties"].get("Policies", []):
            for template in _WHOLE_BUCKET & set(policy):
                assert (fn_id, policy[template]["BucketName"]["Ref"]) in _OWNED, f"{fn_id}: {template} grants a whole bucket"
            for statement in policy.get("Statement", []):
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                if not any(a.startswith("s3:") for a in actions):
                    continue
                assert statement["Effect"] == "Allow" and "s3:*" not in actions, fn_id
                resources = stack.resolve(statement["Resource"])
                for arn in resources if isinstance(resources, list) else [resources]:
                    name, _, path = arn.removeprefix("arn:aws:s3:::").partition("/")
                    assert name in buckets, f"{fn_id}: {arn} names no bucket of the stack"
                    checked += 1
                    if actions == ["s3:ListBucket"]:
                        assert not path, f"{fn_id}: ListBucket applies to a bucket, not {arn}"
                        continue
                    assert "s3:ListBucket" not in actions, fn_id
                    # An object right names a prefix (or one key), never the whole bucket.
                    assert path and path != "*" and not path.startswith("*"), f"{fn_id}: {arn} is a whole bucket"
    assert checked >= 15


# A function whose reads take any error as "not found" needs no listing right.
_READS_WITHOUT_LISTING = {("WatchdogFunction", "BronzeBucket")}  # dead_letters.py: a failed HEAD attributes nothing


def test_a_function_that_reads_a_bucket_may_list_it(stack):
    """Without s3:ListBucket, S3 answers a missing key with 403, not 404: code that takes a missing
    object as 'not yet' (objects.is_missing) would fail instead."""
    buckets = {stack.physical_name(b): b for b in stack.of_type("AWS::S3::Bucket")}
    gaps = []
    for fn_id, fn in stack.of_type("AWS::Serverless::Function").items():
        reads, lists = set(), set()
        for policy in fn["Properties"].get("Policies", []):
            for statement in policy.get("Statement", []):
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                resources = stack.resolve(statement["Resource"])
                for arn in resources if isinstance(resources, list) else [resources]:
                    bucket = buckets.get(arn.removeprefix("arn:aws:s3:::").partition("/")[0])
                    if bucket and "s3:GetObject" in actions:
                        reads.add(bucket)
                    if bucket and "s3:ListBucket" in actions:
                        lists.add(bucket)
        gaps += [f"{fn_id} reads {b} but may not list it" for b in sorted(reads - lists)
                 if (fn_id, b) not in _READS_WITHOUT_LISTING]  # fmt: skip
    assert gaps == []
