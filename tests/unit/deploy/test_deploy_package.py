from __future__ import annotations

import json
import zipfile

import pytest

from infra.deploy import package
from infra.local.template import load


def test_artifact_holds_the_code_and_every_handler_resolves(tmp_path):
    deps = tmp_path / "deps"
    (deps / "fakedep").mkdir(parents=True)
    (deps / "fakedep" / "__init__.py").write_text("X = 1\n")
    (deps / "fakedep" / "__pycache__").mkdir()
    (deps / "fakedep" / "__pycache__" / "x.cpython-312.pyc").write_bytes(b"\0")
    artifact = package.build_code_zip(tmp_path / "out", deps_dir=deps)
    names = set(zipfile.ZipFile(artifact.path).namelist())

    assert "fakedep/__init__.py" in names
    assert "events/models.py" in names and "services/common/config.py" in names
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    assert not any(n.startswith(("tests/", "infra/")) for n in names)
    template = load()
    assert package.handlers(template)  # every function has a handler
    assert package.missing_handlers(template, names) == []
    # Package data the handlers read at run time travels with them.
    assert any(n.startswith("services/website/") for n in names)


def test_artifact_is_deterministic_and_content_addressed(tmp_path):
    first = package.build_code_zip(tmp_path / "a")
    second = package.build_code_zip(tmp_path / "b")
    assert first.sha256 == second.sha256
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.key == f"code/{first.sha256}.zip"
    assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in zipfile.ZipFile(first.path).infolist())


def test_a_missing_handler_module_is_reported():
    template = {"Resources": {"F": {"Type": "AWS::Serverless::Function", "Properties": {"Handler": "services.nope.handler.lambda_handler"}}}}
    assert package.missing_handlers(template, {"services/other.py"}) == ["F: services.nope.handler.lambda_handler"]


def test_an_artifact_without_a_handler_module_is_not_built(tmp_path, monkeypatch):
    monkeypatch.setattr(package, "CODE_PACKAGES", ("events",))
    with pytest.raises(ValueError, match="FetchFunction: services.fetch.handler.lambda_handler"):
        package.build_code_zip(tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_packaged_template_points_every_function_at_the_artifact():
    template = package.package_template("bucket", "stack/code/abc.zip")
    assert template["Globals"]["Function"]["CodeUri"] == {"Bucket": "bucket", "Key": "stack/code/abc.zip"}
    assert template["Transform"] == "AWS::Serverless-2016-10-31"
    assert template["Globals"]["Function"]["AutoPublishAlias"] == "live"
    body = json.loads(package.template_json(template))
    # Short-form tags became their long form: valid CloudFormation JSON.
    assert body["Resources"]["RunsQueue"]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["RunsDLQ", "Arn"]}
    for res in body["Resources"].values():
        if res["Type"] == "AWS::Serverless::Function":
            assert res["Properties"].get("CodeUri", body["Globals"]["Function"]["CodeUri"])["Bucket"] == "bucket"


def test_runtime_requirements_come_from_pyproject():
    requirements = package.runtime_requirements()
    assert any(r.startswith("pyarrow") for r in requirements)
    assert not any(r.startswith(("moto", "pytest")) for r in requirements)


def test_install_dependencies_targets_the_lambda_platform(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(package.subprocess, "run", lambda command, check: calls.append(command))
    package.install_dependencies(tmp_path / "deps", ["pydantic>=2"])
    (command,) = calls
    assert command[command.index("--platform") + 1] == "manylinux2014_aarch64"
    assert command[command.index("--python-version") + 1] == "3.12"
    assert "--only-binary=:all:" in command and command[-1] == "pydantic>=2"


def test_the_ocr_function_runs_an_image_of_the_same_code():
    template = load()
    ocr = template["Resources"]["OcrFunction"]["Properties"]
    assert ocr["PackageType"] == "Image" and ocr["ImageUri"] == {"Ref": "OcrImageUri"}
    # SAM refuses Runtime and Handler on an image: neither may come from Globals.
    assert "Runtime" not in template["Globals"]["Function"] and "Handler" not in ocr
    assert ocr["Environment"]["Variables"]["OMP_THREAD_LIMIT"] == "1"
    assert package.handlers(template)["OcrFunction"] == "services.ocr.handler.lambda_handler"
    assert package.missing_handlers(template, {"services/ocr/handler.py"}) == [
        f"{lid}: {h}" for lid, h in package.handlers(template).items() if lid != "OcrFunction"]
    zips = [r["Properties"] for r in template["Resources"].values()
            if r["Type"] == "AWS::Serverless::Function" and r["Properties"].get("PackageType") != "Image"]
    assert all(p["Runtime"] == "python3.12" for p in zips)


def test_the_zip_leaves_out_what_only_the_ocr_image_needs():
    requirements = ["pyarrow>=15", "tesserocr>=2.6", "TesserOCR==2.7 ; python_version>'3'", "pillow>=10"]
    assert package.zip_requirements(requirements) == ["pyarrow>=15", "pillow>=10"]
