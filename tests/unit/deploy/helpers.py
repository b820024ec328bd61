"""Create the stack's functions in moto: versions and aliases need no Docker (invoking would)."""

from __future__ import annotations

import io
import json
import zipfile


def code(marker: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("services/handler.py", f"VERSION = {marker!r}\n")
    return buffer.getvalue()


def role(iam) -> str:
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    try:
        return iam.create_role(RoleName="disclosures-fn", AssumeRolePolicyDocument=json.dumps(policy))["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        return iam.get_role(RoleName="disclosures-fn")["Role"]["Arn"]


def publish_release(lam, iam, names: list[str], releases: int = 2, alias: str = "live") -> None:
    """Each function gets `releases` published versions and `alias` on the newest, as SAM leaves it."""
    arn = role(iam)
    for name in names:
        lam.create_function(FunctionName=name, Runtime="python3.12", Role=arn, Handler="services.handler.lambda_handler",
                            Code={"ZipFile": code("v1")}, Architectures=["arm64"])
        version = lam.publish_version(FunctionName=name)["Version"]
        for n in range(2, releases + 1):
            lam.update_function_code(FunctionName=name, ZipFile=code(f"v{n}"))
            version = lam.publish_version(FunctionName=name)["Version"]
        lam.create_alias(FunctionName=name, Name=alias, FunctionVersion=version)


def fake_aws_env(monkeypatch) -> None:
    """Credentials and region for moto's in-process mock, and no endpoint left over from a runtime."""
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
