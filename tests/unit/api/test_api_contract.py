"""The OpenAPI document: it validates, carries the use restriction, and no generated request finds a 5xx."""

from __future__ import annotations

import json
from typing import Any

import pytest
from gold_env import gold_stack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra.local.http_api import LambdaContext, http_event


@pytest.fixture(scope="module")
def stack():
    with gold_stack(publish=True) as env:
        yield env


def _document() -> dict[str, Any]:
    from services.api.handler import lambda_handler

    response = lambda_handler(http_event("/openapi.json"), LambdaContext())
    assert response["statusCode"] == 200
    return json.loads(response["body"])


def test_openapi_document_validates(stack):
    from openapi_spec_validator import validate

    doc = _document()
    validate(doc)
    assert "5 U.S.C. 13107" in doc["info"]["description"]
    paths = set(doc["paths"])
    for route in ("/v1/trades", "/v1/members", "/v1/members/{member_key}", "/v1/tickers", "/v1/tickers/{ticker}",
                  "/v1/filings", "/v1/filings/{filing_id}", "/v1/trending", "/v1/summary", "/v1/health",
                  "/v1/ops/runs", "/v1/ops/dlq", "/v1/trades/latest"):  # fmt: skip
        assert route in paths, route
    for path, methods in doc["paths"].items():
        responses = methods["get"]["responses"]
        assert "422" not in responses, path  # our bad requests are 400s
        if methods["get"].get("parameters"):
            assert "400" in responses, path
    trades = {p["name"]: p for p in doc["paths"]["/v1/trades"]["get"]["parameters"]}
    assert {"member", "ticker", "owner", "type", "from", "to", "min_amount", "max_amount", "sort", "limit", "offset"} <= set(trades)


# --- property-based: every route, generated parameters, never a 5xx --------------------------------

JUNK = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", " ", "-1", "0", "1e309", "NaN", "inf", "2025-02-30", "9999-12-31", "../../etc", "%00", "null",
                     "true", "NVDA", "P000197", "pelosi", "2025-20026590", "ST", "SP", "-amount"]),  # fmt: skip
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
    st.dates().map(lambda d: d.isoformat()),
)


def _value(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    options = schema.get("anyOf", [schema])
    valid: list[st.SearchStrategy[str]] = []
    for option in options:
        if "enum" in option:
            valid.append(st.sampled_from([str(v) for v in option["enum"]]))
        elif option.get("type") == "integer":
            lo, hi = int(option.get("minimum", -1000)), int(option.get("maximum", 10**6))
            valid.append(st.integers(lo, hi).map(str))
        elif option.get("type") == "number":
            valid.append(st.floats(0, 1e9, allow_nan=False).map(lambda f: f"{f:.2f}"))
        elif option.get("format") == "date":
            valid.append(st.dates().map(lambda d: d.isoformat()))
        elif option.get("type") == "boolean":
            valid.append(st.sampled_from(["true", "false"]))
    return st.one_of(*valid, JUNK) if valid else JUNK


def _operations() -> list[tuple[str, list[dict[str, Any]]]]:
    from services.api.app import openapi_document

    return [(path, methods["get"].get("parameters", [])) for path, methods in openapi_document()["paths"].items()]


@st.composite
def requests(draw) -> tuple[str, dict[str, str]]:
    path, parameters = draw(st.sampled_from(_operations()))
    query: dict[str, str] = {}
    for parameter in parameters:
        if parameter["in"] == "path":
            path = path.replace("{" + parameter["name"] + "}", draw(_value(parameter["schema"])) or "x")
        elif draw(st.booleans()):
            query[parameter["name"]] = draw(_value(parameter["schema"]))
    if draw(st.booleans()):
        query[draw(st.sampled_from(["foo", "limit", "sort", "from"]))] = draw(JUNK)
    return path, query


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(request=requests())
def test_no_generated_request_finds_a_5xx(stack, request):
    from urllib.parse import quote

    from services.api.handler import lambda_handler

    path, query = request
    # API Gateway hands the handler a decoded path; a slash inside a value would be another route.
    path = "/".join(quote(part, safe="") if i > 2 else part for i, part in enumerate(path.split("/")))
    response = lambda_handler(http_event(path, query), LambdaContext())
    assert response["statusCode"] < 500, (path, query, response["body"][:500])
    body = json.loads(response["body"])
    if response["statusCode"] >= 400:
        assert body["error"] and body["message"]
