"""Property-based tests of the REST API against its own OpenAPI schema (schemathesis, in-process).

Every operation under /api/v1 gets schema-conforming and schema-violating requests with a valid
bearer token (a seller, a lab and an admin) on a seeded SQLite workspace; whatever the input,
the answer must never be a server error (5xx). Some path parameters are steered to SKUs and a
certificate that exist, so the generated requests also reach the code behind the 404s.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from typer.testing import CliRunner

from tests.program_seed import open_request, seed_listing, seed_policy
from toysafe.cli.app import app as cli
from toysafe.store.db import open_store
from toysafe.web.app import create_app

with warnings.catch_warnings():  # starlette's TestClient warns about httpx at import time
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

EX = Path(__file__).resolve().parent.parent / "examples"
STACKER_FILE = EX / "products" / "painted-wooden-stacker.yaml"
CHEM = EX / "reports" / "stacker-chemistry-pass.json"
MECH = EX / "reports" / "stacker-mechanical-pass.csv"
AS_OF = "2026-11-21"
STACKER = "MM-STK-07"
KNOWN_SKUS = [STACKER, "CG-ELE-12", "BM-TILE-60", "NO-SUCH-SKU"]
ROLES = ["seller", "lab", "admin"]
OPERATIONS = [
    ("GET", "/api/v1/health"),
    ("POST", "/api/v1/assess"),
    ("GET", "/api/v1/products"),
    ("POST", "/api/v1/products"),
    ("GET", "/api/v1/products/{sku}"),
    ("GET", "/api/v1/products/{sku}/assessment"),
    ("GET", "/api/v1/products/{sku}/verification"),
    ("GET", "/api/v1/products/{sku}/history"),
    ("PUT", "/api/v1/products/{sku}/shares/{lab_id}"),
    ("DELETE", "/api/v1/products/{sku}/shares/{lab_id}"),
    ("POST", "/api/v1/reports"),
    ("GET", "/api/v1/listings"),
    ("POST", "/api/v1/listings"),
    ("GET", "/api/v1/labs"),
    ("POST", "/api/v1/labs"),
    ("POST", "/api/v1/products/{sku}/certificates"),
    ("GET", "/api/v1/certificates/{cert_id}"),
    ("GET", "/api/v1/certificates/{cert_id}/pdf"),
    ("GET", "/api/v1/status"),
    ("GET", "/api/v1/impact"),
    ("PUT", "/api/v1/products/{sku}"),
    ("POST", "/api/v1/products/{sku}/revert"),
    ("POST", "/api/v1/reports/{report_no}/withdrawal"),
    ("POST", "/api/v1/password-reset"),
    ("POST", "/api/v1/password-reset/confirm"),
]
# The reviewer queue's routes (the rest of the program's API has its own tests).
REVIEW_OPERATIONS = [
    ("GET", "/api/v1/program/queue"),
    ("GET", "/api/v1/program/requests/{request_id}/review"),
    ("POST", "/api/v1/program/requests/{request_id}/claim"),
    ("POST", "/api/v1/program/requests/{request_id}/release"),
    ("POST", "/api/v1/program/requests/{request_id}/escalate"),
    ("POST", "/api/v1/program/requests/{request_id}/notes"),
]
OPERATIONS += REVIEW_OPERATIONS

# 5xx found by this file, each with the request that shows it (reported to the owner of api.py).
# Not strict: whether 25 examples reach as_of=9999-12-31 on a non-empty catalog is up to chance
# (tests/test_api.py asserts the same bug deterministically, on both databases).
_STATUS_OVERFLOW = (
    "BUG: GET /api/v1/status?as_of=9999-12-31 (on a catalog with products) -> 500: OverflowError "
    "'date value out of range' in core/catalog.py status_of (as_of + timedelta(days=EXPIRING_DAYS))"
)
KNOWN_5XX: dict[tuple[str, str, str], str] = {}  # none known

EDGE_DATES = ["0001-01-01", "1999-12-31", "2000-02-29", AS_OF, "2038-01-19", "9999-12-31"]
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def _profile() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(STACKER_FILE.read_text(encoding="utf-8"))
    return data


def _report() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(CHEM.read_text(encoding="utf-8"))
    return data


def _listings() -> list[dict[str, Any]]:
    return [{"listing_id": "B0CW00DST7", "sku": STACKER, "title": "Stacker", "status": "Active"}]


# Valid documents for the JSON bodies: some examples replace a few of their fields with any JSON
# (or an edge date), which reaches the code behind the model validation.
VALID_BODIES: dict[tuple[str, str], Callable[[], Any]] = {
    ("POST", "/api/v1/assess"): _profile,
    ("POST", "/api/v1/products"): _profile,
    ("POST", "/api/v1/reports"): _report,
    ("POST", "/api/v1/listings"): _listings,
}


def _mutated(data: Any, doc: Any) -> Any:
    target = doc[0] if isinstance(doc, list) else doc
    if isinstance(target, dict) and isinstance(target.get("results"), list):
        if data.draw(st.booleans()):  # a report: mutate one result rather than the report
            target = target["results"][data.draw(st.integers(0, len(target["results"]) - 1))]
    keys = data.draw(st.lists(st.sampled_from(sorted(target)), min_size=0, max_size=2, unique=True))
    for key in keys:
        target[key] = data.draw(JSON | st.sampled_from(EDGE_DATES))
    return doc


runner = CliRunner()


def ok(*args: str) -> str:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 0, f"toysafe {' '.join(args)}: {result.output}"
    return str(result.stdout)


@dataclass
class Seeded:
    app: Any
    tokens: dict[str, str]
    cert_id: str

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """The examples, a rival with the same stacker SKU, users, shares and one certificate."""
    home = tmp_path_factory.mktemp("api-schema") / "ws"
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("TOYSAFE_DATABASE_URL", raising=False)
        mp.delenv("TOYSAFE_SIGNING_KEY", raising=False)
        mp.setenv("TOYSAFE_HOME", str(home))
        mp.setenv("TOYSAFE_ACTOR", "schemathesis")
        ok("init", "--party", str(EX / "party.yaml"))
        ok("labs", "import", str(EX / "labs.csv"), "--as-of", AS_OF)
        ok("product", "add", str(EX / "products"), "--as-of", AS_OF)
        users = {
            "seller": ("s@default.example", "default", "seller", []),
            "rival": ("s@rival.example", "rival", "seller", []),
            "lab": ("l@etc.example", "etc-lab", "lab", ["--lab-id", "1234"]),
            "admin": ("a@ops.example", "ops", "admin", []),
        }
        tokens = {}
        for role, (email, org, kind, extra) in users.items():
            out = ok("users", "add", email, "--org", org, "--role", kind, *extra, "--token")
            tokens[role] = out.strip().splitlines()[-1]
        ok("product", "add", str(EX / "products" / "painted-wooden-stacker.yaml"), "--org", "rival")
        ok("share", STACKER, "--lab", "1234")
        passing = [CHEM, MECH]
        ok("report", "add", *map(str, passing), "--as-of", AS_OF)
        store = open_store()
        # a program with one request waiting for a reviewer, for the queue's routes
        seed_policy(store)
        open_request(store, seed_listing(store), state="in_review")
        app = create_app(store, Path(os.environ["TOYSAFE_HOME"]), secure_cookies=False)
        with TestClient(app) as client:
            headers = {"Authorization": f"Bearer {tokens['seller']}"}
            r = client.post(
                f"/api/v1/products/{STACKER}/certificates", headers=headers, params={"as_of": AS_OF}
            )
            assert r.status_code == 201, r.text
        yield Seeded(app, tokens, r.json()["certificate"]["id"])
        store.engine.dispose()


@pytest.fixture(scope="module")
def api_schema(seeded: Seeded) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", seeded.app)


def test_the_operations_are_every_operation_of_the_schema(api_schema: Any) -> None:
    documented = {
        (method.upper(), path)
        for path, ops in api_schema.raw_schema["paths"].items()
        if path.startswith("/api/v1/")
        for method in ops
        # the program's API (contract 8.6) has its own tests: tests/test_program_api.py
        if not path.startswith("/api/v1/program/") or (method.upper(), path) in REVIEW_OPERATIONS
    }
    assert documented == set(OPERATIONS)


def _params(method: str, path: str, role: str) -> Any:
    marks = []
    if (method, path, role) in KNOWN_5XX:
        marks.append(pytest.mark.xfail(reason=KNOWN_5XX[(method, path, role)], strict=False))
    return pytest.param(method, path, role, id=f"{role}-{method}-{path}", marks=marks)


@pytest.mark.parametrize(
    ("method", "path", "role"),
    [_params(method, path, role) for role in ROLES for method, path in OPERATIONS],
)
@settings(
    max_examples=25,
    deadline=None,
    database=None,
    derandomize=True,  # the same requests on every run: CI stays reproducible
    suppress_health_check=list(HealthCheck),
)
@given(data=st.data())
def test_no_server_errors(
    api_schema: Any, seeded: Seeded, method: str, path: str, role: str, data: Any
) -> None:
    operation = api_schema[path][method]
    mode = data.draw(st.sampled_from([GenerationMode.POSITIVE, GenerationMode.NEGATIVE]))
    case = data.draw(operation.as_strategy(generation_mode=mode))
    params = case.path_parameters or {}
    if "sku" in params and data.draw(st.booleans()):
        params["sku"] = data.draw(st.sampled_from(KNOWN_SKUS))
    if "cert_id" in params and data.draw(st.booleans()):
        params["cert_id"] = seeded.cert_id
    if "request_id" in params and data.draw(st.booleans()):
        params["request_id"] = "REQ-000001"
    if "lab_id" in params and data.draw(st.booleans()):
        params["lab_id"] = "1234"
    query = case.query if isinstance(case.query, dict) else {}
    if "org" in query and data.draw(st.booleans()):
        query["org"] = data.draw(st.sampled_from(["default", "rival", "ops", "nowhere"]))
    for name in ("as_of", "from", "to"):
        if name in query and data.draw(st.booleans()):
            query[name] = data.draw(st.sampled_from(EDGE_DATES))
    base = VALID_BODIES.get((method, path))
    if base is not None and data.draw(st.booleans()):
        case.body = _mutated(data, base())
    response = case.call_and_validate(headers=seeded.auth(role), checks=[not_a_server_error])
    assert response.status_code < 500
