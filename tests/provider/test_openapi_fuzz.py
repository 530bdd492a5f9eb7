"""Property-based: requests generated from the provider's OpenAPI document never produce a 500."""

from __future__ import annotations

import string
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.provider.conftest import Server

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**130), 2**130)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
AMOUNT = st.one_of(
    st.text(string.digits, max_size=45),
    st.integers(-5, 2**130),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
JSON_CT = {"content-type": "application/json"}
HEX = st.text("0123456789abcdefx", min_size=0, max_size=140).map(lambda s: "0x" + s)


def _body_for(schema_name: str | None) -> st.SearchStrategy[Any]:
    if schema_name == "StartRequest":
        return (
            st.fixed_dictionaries(
                {
                    "serviceId": st.sampled_from(["market-data-feed", "lofi-radio", "nope", ""]),
                    "channel": st.fixed_dictionaries(
                        {
                            "payer": HEX,
                            "signer": HEX,
                            "provider": HEX,
                            "token": HEX,
                            "withdrawDelay": st.integers(-1, 2**70),
                            "salt": HEX,
                        }
                    ),
                    "voucher": st.fixed_dictionaries({"cumulativeAmount": AMOUNT, "signature": HEX}),
                }
            )
            | JSON
        )
    if schema_name == "VoucherRequest":
        return (
            st.fixed_dictionaries(
                {"seq": st.integers(-3, 2**70), "cumulativeAmount": AMOUNT, "signature": HEX}
            )
            | JSON
        )
    return JSON


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, list[dict[str, Any]], str | None]]:
    ops = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            ref = (
                op.get("requestBody", {})
                .get("content", {})
                .get("application/json", {})
                .get("schema", {})
                .get("$ref")
            )
            ops.append(
                (method.upper(), path, op.get("parameters", []), ref.rsplit("/", 1)[-1] if ref else None)
            )
    return ops


def test_no_500_from_openapi_generated_requests(server: Server) -> None:
    with server.http() as http:
        doc = http.get("/openapi.json").json()
        ops = _operations(doc)
        assert len(ops) >= 18

        param_value = st.one_of(
            st.text(max_size=30),
            st.integers(-(2**70), 2**70).map(str),
            st.sampled_from(["market-data-feed", "0x" + "ab" * 32, "s_x", "day", "video", "%00", "..", "-1"]),
        )

        @st.composite
        def request(draw: Any) -> tuple[str, str, dict[str, str], Any]:
            method, path, params, schema = draw(st.sampled_from(ops))
            query: dict[str, str] = {}
            for p in params:
                value = draw(param_value)
                if p["in"] == "path":
                    path = path.replace("{" + p["name"] + "}", quote(value, safe="") or "x")
                elif p["in"] == "query" and draw(st.booleans()):
                    query[p["name"]] = value
            body = (
                draw(_body_for(schema) | st.binary(max_size=64))
                if method in ("POST", "PUT", "PATCH")
                else None
            )
            return method, path, query, body

        @settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(request())
        def check(req: tuple[str, str, dict[str, str], Any]) -> None:
            method, path, query, body = req
            if isinstance(body, bytes):  # raw, usually not JSON at all
                resp = http.request(method, path, params=query, content=body, headers=JSON_CT)
            else:
                resp = http.request(method, path, params=query, json=body)
            assert resp.status_code < 500, (method, path, query, body, resp.text)
            if resp.status_code >= 400:
                err = resp.json()
                assert isinstance(err["code"], str) and isinstance(err["message"], str)

        check()
