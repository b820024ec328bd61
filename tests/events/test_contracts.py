"""The contracts: event models, the generated schemas/, the S3 key layout."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from events.models import (
    DETAIL_TYPES,
    EVENT_CLASSES,
    DocumentExtracted,
    DocumentNeedsOcr,
    Envelope,
    FilingDiscovered,
    RunRequested,
    RunRequestedEvent,
    new_run_id,
    parse_event,
    parse_event_json,
)
from infra.cli.schemas_cmd import SCHEMAS_DIR, generated
from services.common import keys


def test_schemas_folder_matches_the_models():
    stale = [name for name, content in generated().items()
             if not (SCHEMAS_DIR / name).exists() or (SCHEMAS_DIR / name).read_text() != content]
    assert not stale, f"run `disclosures schemas --write`: {stale}"


def test_every_event_type_has_a_schema_file():
    for event_type in DETAIL_TYPES:
        assert (SCHEMAS_DIR / "events" / f"{event_type}.schema.json").exists()


def test_envelope_round_trips_and_types_its_detail():
    event = Envelope.build(RunRequested(years=[2025], source_url="http://x"), run_id="r1", source="cli", trace="Root=1-a")
    again = parse_event_json(event.model_dump_json())
    assert again == event
    assert type(again) is RunRequestedEvent and again.event_type == "run.requested"
    assert isinstance(again.detail, RunRequested) and again.detail.years == [2025]


def test_one_parse_types_the_detail_by_the_event_type():
    for event_type, model in DETAIL_TYPES.items():
        [cls] = [c for c in EVENT_CLASSES if c.model_fields["detail"].annotation is model]
        assert cls.model_fields["event_type"].annotation.__args__ == (event_type,)
    # A needs_ocr detail is a DocumentExtracted too: the event type decides, not the shape.
    extracted = DocumentExtracted(doc_id="1", year=2025, rendering="scanned", pages=1, transactions=0,
                                  silver_key="k", parser_version="v", extract_ms=1)
    body = Envelope.build(extracted, run_id="r", source="extract").model_dump()
    assert type(parse_event(body).detail) is DocumentExtracted
    assert type(parse_event({**body, "event_type": "document.needs_ocr"}).detail) is DocumentNeedsOcr


def test_a_detail_that_does_not_fit_its_type_is_refused():
    body = {"event_type": "filing.discovered", "run_id": "r", "source": "discover", "detail": {"doc_id": "1"}}
    with pytest.raises(ValidationError, match=r"filing.discovered`?\.detail\.year"):
        parse_event(body)
    with pytest.raises(ValidationError, match="does not match any of the expected tags"):
        parse_event({**body, "event_type": "filing.exploded"})
    with pytest.raises(ValidationError):
        FilingDiscovered(doc_id="1", year=2025, filing_type="P", filer_name="x", source_url="u", surprise=1)


def test_run_ids_sort_by_start_time():
    first, second = new_run_id(), new_run_id()
    assert first[:16] <= second[:16]
    assert len(first.split("-")[1]) == 8


def test_pdf_keys_are_content_addressed_and_parse_back():
    sha = "a" * 64
    key = keys.pdf_key(2025, "P", "20026590", sha)
    assert key == f"house-fd/pdf/year=2025/type=P/doc_id=20026590/sha256={sha}.pdf"
    parsed = keys.parse_pdf_key(key)
    assert (parsed.year, parsed.filing_type, parsed.doc_id, parsed.sha256) == (2025, "P", "20026590", sha)
    assert keys.parse_pdf_key(keys.index_key(2025, sha)) is None
    assert keys.parse_pdf_key(key.replace(".pdf", ".html")) is None
