"""Build the Lambda artifact and the deployable template, without `sam build`.

Every function of the template runs from the same code: the `services/` and `events/`
packages plus the runtime dependencies of pyproject.toml, installed for the Lambda platform
(the template's Python, python3.12, on arm64, manylinux wheels only). The zip is deterministic
(sorted entries, fixed timestamps and modes), so unchanged code gives the same bytes, the same
content-addressed S3 key and therefore no new function version on the next deploy.

The OCR function is the exception: it runs a container image (infra/ocr/Dockerfile, Debian's
Tesseract), built and pushed by `make ocr-image`; the template receives its URI as the
`OcrImageUri` parameter (from SSM, infra/stages/*.json). What only that image needs stays out
of the zip (`IMAGE_ONLY`).

The template is emitted as JSON with `CodeUri` pointing at the uploaded zip; the SAM
transform (`AWS::Serverless-2016-10-31`) runs in CloudFormation itself.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.local.template import TEMPLATE_PATH, function_handler, lambda_python, load

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CODE_PACKAGES = ("services", "events")
LAMBDA_PLATFORM = "manylinux2014_aarch64"  # Globals.Function.Architectures: [arm64]
_EXCLUDED_DIRS = {"__pycache__", ".pytest_cache", "tests"}
_EXCLUDED_SUFFIXES = (".pyc", ".pyo")
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
# Runtime dependencies only the OCR image uses: the Tesseract bindings need libtesseract, which
# the zip functions do not have (and its PyPI wheel bundles a Tesseract of its own).
IMAGE_ONLY = frozenset({"tesserocr"})


@dataclass
class Artifact:
    path: Path
    sha256: str
    size: int
    unzipped_size: int

    @property
    def key(self) -> str:
        return f"code/{self.sha256}.zip"


def runtime_requirements(pyproject: Path = PROJECT_ROOT / "pyproject.toml") -> list[str]:
    """The project's runtime dependencies (not dev, not local)."""
    return list(tomllib.loads(pyproject.read_text())["project"]["dependencies"])


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].strip().lower()


def zip_requirements(requirements: list[str] | None = None) -> list[str]:
    """The runtime dependencies the zip carries: all but those only the OCR image needs."""
    return [r for r in (requirements if requirements is not None else runtime_requirements())
            if _name(r) not in IMAGE_ONLY]


def install_dependencies(target: Path, requirements: list[str] | None = None, *,
                         python_version: str | None = None, platform: str = LAMBDA_PLATFORM) -> Path:
    """pip-install the runtime dependencies for the Lambda platform into `target` (needs PyPI), for
    the template's Python unless told another."""
    target.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--target", str(target), "--platform", platform, "--implementation", "cp",
        "--python-version", python_version or lambda_python(), "--only-binary=:all:", "--upgrade",
        *(requirements if requirements is not None else zip_requirements()),
    ]
    subprocess.run(command, check=True)
    return target


def _files(root: Path, base: Path) -> list[tuple[str, Path]]:
    out = []
    for path in root.rglob("*"):
        rel = path.relative_to(base)
        if path.is_dir() or any(part in _EXCLUDED_DIRS for part in rel.parts) or path.name.endswith(_EXCLUDED_SUFFIXES):
            continue
        out.append((rel.as_posix(), path))
    return out


def build_code_zip(out_dir: Path, *, deps_dir: Path | None = None, project_root: Path = PROJECT_ROOT) -> Artifact:
    """Zip the code packages (and the installed dependencies, at the zip's root) deterministically."""
    entries: dict[str, Path] = {}
    if deps_dir is not None:
        for name, path in _files(deps_dir, deps_dir):
            entries[name] = path
    for package in CODE_PACKAGES:
        for name, path in _files(project_root / package, project_root):
            entries[name] = path  # our code wins over a same-named dependency file
    if missing := missing_handlers(load(TEMPLATE_PATH), set(entries)):
        raise ValueError(f"the artifact would lack the modules of these handlers: {', '.join(missing)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / "code.zip.tmp"
    unzipped = 0
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            data = entries[name].read_bytes()
            unzipped += len(data)
            archive.writestr(info, data)
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
    path = out_dir / f"code-{digest[:16]}.zip"
    tmp.replace(path)
    if unzipped > LAMBDA_UNZIPPED_LIMIT:
        raise ValueError(f"the artifact unzips to {unzipped / 2**20:.0f} MiB, over Lambda's 250 MiB limit")
    return Artifact(path=path, sha256=digest, size=path.stat().st_size, unzipped_size=unzipped)


def handlers(template: dict[str, Any]) -> dict[str, str]:
    """Logical id -> handler of every function of the template."""
    return {
        logical_id: function_handler(res["Properties"])
        for logical_id, res in template["Resources"].items()
        if res["Type"] == "AWS::Serverless::Function"
    }


def missing_handlers(template: dict[str, Any], names: set[str]) -> list[str]:
    """Handlers whose module file is not in the artifact (names: the zip's entries)."""
    missing = []
    for logical_id, handler in handlers(template).items():
        module = handler.rsplit(".", 1)[0]
        if f"{module.replace('.', '/')}.py" not in names:
            missing.append(f"{logical_id}: {handler}")
    return missing


def package_template(bucket: str, key: str, template_path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """The template with every CodeUri pointing at the uploaded artifact."""
    template = load(template_path)
    code_uri = {"Bucket": bucket, "Key": key}
    template.setdefault("Globals", {}).setdefault("Function", {})["CodeUri"] = code_uri
    for res in template["Resources"].values():
        if res["Type"] == "AWS::Serverless::Function" and "CodeUri" in res.get("Properties", {}):
            res["Properties"]["CodeUri"] = code_uri
    return template


def template_json(template: dict[str, Any]) -> bytes:
    return json.dumps(template, indent=1, sort_keys=False).encode()
