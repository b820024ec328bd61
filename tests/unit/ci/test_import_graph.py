"""Dependencies follow the data: a stage may import an earlier stage (it reads what that one
wrote) and the shared packages, never a later stage, so a change downstream cannot break what
runs before it. Read from the source with `ast`; nothing is imported."""

from __future__ import annotations

import ast
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[3] / "services"

# The flow, earliest first. `common` (contracts, keys, tables, AWS helpers) is below every stage;
# `read_model` reads what build_gold writes and serves every consumer of Gold; `website` holds
# the static files publish_api uploads (no Python imports it).
FLOW = ["common", "discover", "fetch", "extract", "ocr", "ledger", "build_gold", "read_model", "publish_api", "api",
        "website"]  # fmt: skip


def imports_of(package: str, services: Path = SERVICES) -> dict[str, set[str]]:
    """For each module of `services/<package>`, the other service packages it imports."""
    found: dict[str, set[str]] = {}
    for path in sorted((services / package).rglob("*.py")):
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else [])
            for name in names:
                parts = name.split(".")
                if parts[0] == "services" and len(parts) > 1 and parts[1] != package:
                    targets.add(parts[1])
        found[str(path.relative_to(services.parent))] = targets
    return found


def test_every_service_package_has_a_place_in_the_flow():
    packages = {p.name for p in SERVICES.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages == set(FLOW)


def test_no_import_from_an_earlier_stage_into_a_later_one():
    backwards = [
        f"{module} imports services.{target}"
        for package in FLOW
        for module, targets in imports_of(package).items()
        for target in targets
        if FLOW.index(target) > FLOW.index(package)
    ]
    assert backwards == []


def test_the_check_sees_an_arrow_against_the_flow(tmp_path):
    """The walk above finds both import forms, at any depth (a check that cannot fail would pass anything)."""
    fetch = tmp_path / "services" / "fetch"
    fetch.mkdir(parents=True)
    (fetch / "a.py").write_text("import services.api.app\nfrom services.common import keys\nfrom . import b\n")
    (fetch / "b.py").write_text("def f():\n    from services.build_gold.store import head\n")
    assert imports_of("fetch", tmp_path / "services") == {
        "services/fetch/a.py": {"api", "common"}, "services/fetch/b.py": {"build_gold"}}
