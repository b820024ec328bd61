"""The legislators reference files reach build_gold from their URLs, stored in bronze, on AWS and locally."""

from __future__ import annotations

import boto3
import pytest
import yaml

from infra.local.mirror import MirrorServer
from services.build_gold import members, reference
from services.build_gold.members import load_legislators
from services.common import tables


def _person(bioguide: str, last: str) -> dict:
    term = {"type": "rep", "start": "2023-01-03", "end": "2025-01-03", "state": "MN", "district": 3, "party": "Democrat"}
    return {"id": {"bioguide": bioguide}, "name": {"first": "Dean", "last": last}, "terms": [term]}


@pytest.fixture
def served(ledger_table, monkeypatch, tmp_path):
    monkeypatch.setenv("HTTP_BACKOFF_S", "0.01")
    (tmp_path / "current.yaml").write_text(yaml.safe_dump([_person("A000001", "Current")]))
    (tmp_path / "history.yaml").write_text(yaml.safe_dump([_person("P000616", "Phillips")]))
    tables.WatermarksTable.create_table(wait=True)
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="bronze")
    server = MirrorServer(tmp_path).start()
    yield server
    server.stop()


def test_current_and_former_members_are_stored_apart_and_survive_an_outage(served):
    current, current_key = reference.load(f"{served.url}/current.yaml", "bronze")
    history, history_key = reference.load(f"{served.url}/history.yaml", "bronze", reference.HISTORY)
    assert [leg.bioguide_id for leg in load_legislators(current, history)] == ["A000001", "P000616"]
    assert history_key.startswith("reference/legislators-historical.yaml/sha256=")
    assert current_key.startswith("reference/legislators-current.yaml/sha256=")
    assert {i.sk for i in tables.ReferenceMark.query("REFERENCE#legislators")} == {"CURRENT", "HISTORY"}
    # Unchanged (304), then unreachable: the stored copy of each file stands, the other untouched.
    assert reference.load(f"{served.url}/history.yaml", "bronze", reference.HISTORY) == (history, history_key)
    served.faults["/history.yaml"] = 503
    assert reference.load(f"{served.url}/history.yaml", "bronze", reference.HISTORY) == (history, history_key)
    assert reference.load(f"{served.url}/current.yaml", "bronze") == (current, current_key)
    body = boto3.client("s3", region_name="us-east-1").get_object(Bucket="bronze", Key=history_key)["Body"].read()
    assert body == history


def test_a_file_checked_on_download_is_not_parsed_again_by_the_build(served, monkeypatch):
    members._parse.cache_clear()  # another test may have parsed the same file in this process
    parsed: list[int] = []
    real_parse = yaml.parse
    monkeypatch.setattr(yaml, "parse", lambda data, Loader: parsed.append(len(data)) or real_parse(data, Loader=Loader))
    current, _ = reference.load(f"{served.url}/current.yaml", "bronze")  # checked: it reads as legislators
    assert parsed == [len(current)]
    assert [leg.bioguide_id for leg in load_legislators(current)] == ["A000001"]
    copy = bytes(bytearray(current))  # the same bytes in another object, as the next build reads them
    assert copy is not current and [leg.bioguide_id for leg in load_legislators(copy)] == ["A000001"]
    assert parsed == [len(current)]  # a megabyte of YAML takes about a second: parsed once per process
    assert load_legislators(current.replace(b"Current", b"Renamed"))[0].last == "Renamed"  # new content is read


def _as_plain(node: yaml.Node):
    """PyYAML's own reading of a document, its scalars left as written (a null as None)."""
    if isinstance(node, yaml.MappingNode):
        return {_as_plain(key): _as_plain(value) for key, value in node.value}
    if isinstance(node, yaml.SequenceNode):
        return [_as_plain(item) for item in node.value]
    return None if node.tag == "tag:yaml.org,2002:null" else node.value


def test_a_real_reference_file_reads_as_pyyaml_composes_it(fixtures_dir):
    # One file of the two (the same format): a megabyte costs seconds under coverage.
    data = (fixtures_dir / "reference" / "legislators-current.yaml").read_bytes()
    composed = _as_plain(yaml.compose(data, Loader=yaml.CSafeLoader))
    assert len(composed) > 500
    assert members.plain_yaml(data) == composed


def test_plain_yaml_gives_strings_and_plain_nulls_only():
    text = b"""
- id: {bioguide: A000001}
  name: {first: Dean, middle: ~, nickname: null, suffix: '', last: "null"}
  terms:
  - {type: rep, district: 3, start: 2023-01-03, end: 2025-01-03}
  - type: sen
    end:
"""
    assert members.plain_yaml(text) == [{
        "id": {"bioguide": "A000001"},
        "name": {"first": "Dean", "middle": None, "nickname": None, "suffix": "", "last": "null"},
        "terms": [{"type": "rep", "district": "3", "start": "2023-01-03", "end": "2025-01-03"},
                  {"type": "sen", "end": None}]}]
    assert members.plain_yaml(b"") is None


@pytest.mark.parametrize("text, error", [(b"- &a {x: 1}\n- *a\n", "aliases"), (b"--- 1\n--- 2\n", "more than one")])
def test_plain_yaml_refuses_what_it_does_not_read(text, error):
    with pytest.raises(ValueError, match=error):
        members.plain_yaml(text)
