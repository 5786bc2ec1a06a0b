"""Issue 14's remaining record gaps on SQLite and PostgreSQL: an upload started from a
product's page remembers the product; lab uploads are entries of the product's history with
the lab user as actor; deeply nested JSON/YAML bodies answer 422 naming the problem."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient

from tests.test_web_pages import failing_report, signed_in, site  # noqa: F401


def upload_for(client: TestClient, token: str, sku: str, content: bytes, org: str = "") -> str:
    data = {"csrf": token, "sku": sku, **({"org": org} if org else {})}
    r = client.post(
        "/reports/upload", data=data, files={"file": ("r.json", content, "application/json")}
    )
    return f"{r.status_code} {r.text}"


def test_an_upload_from_a_products_page_remembers_the_product(site: TestClient) -> None:  # noqa: F811
    token = signed_in(site, "seller@maple.example")
    page = site.get("/products/MM-STK-07").text
    link = re.search(r'href="(/reports/upload\?sku=[^"]+)"', page)
    assert link is not None
    form = site.get(link[1].replace("&amp;", "&")).text
    assert 'name="sku" value="MM-STK-07"' in form and 'id="upload-for"' in form
    # A report for another product is refused, naming both; the form still knows the product.
    rattle = json.loads(failing_report())
    rattle["report_no"] = "ETC-RATTLE-9"
    rattle["products"] = [{"sku": "LN-RTL-02"}]
    wrong = upload_for(site, token, "MM-STK-07", json.dumps(rattle).encode())
    assert wrong.startswith("422")
    assert "not for MM-STK-07" in wrong and 'name="sku" value="MM-STK-07"' in wrong
    assert "ETC-RATTLE-9" not in site.get("/products/LN-RTL-02").text  # nothing stored
    # The right one is stored and links back to the product.
    right = upload_for(site, token, "MM-STK-07", failing_report())
    assert right.startswith("200") and 'href="/products/MM-STK-07"' in right


def test_lab_uploads_are_in_the_products_history_with_the_lab_actor(site: TestClient) -> None:  # noqa: F811
    token = signed_in(site, "seller@maple.example")
    shared = site.post(
        "/products/MM-STK-07/share",
        data={"csrf": token, "lab_id": "1234"},
        follow_redirects=False,
    )
    assert shared.status_code == 303
    lab = TestClient(site.app)
    lab_token = signed_in(lab, "lab@etc.example")
    inbox = lab.get("/").text
    assert "/reports/upload?sku=MM-STK-07" in inbox
    got = upload_for(lab, lab_token, "MM-STK-07", failing_report(), org="default")
    assert got.startswith("200"), got[:500]
    page = site.get("/products/MM-STK-07").text
    rows = [r for r in re.findall(r"<tr>.*?</tr>", page, re.S) if "report add" in r]
    assert rows, "the lab's upload is not in the product's history"
    assert any("lab@etc.example" in r and "1234" in r for r in rows)


def test_deeply_nested_bodies_answer_422_naming_the_problem(site: TestClient) -> None:  # noqa: F811
    token = signed_in(site, "seller@maple.example")
    deep = "[" * 1000 + "]" * 1000
    for path in ("/api/v1/products", "/api/v1/listings", "/api/v1/program/validations"):
        r = site.post(path, content=deep, headers={"content-type": "application/json"})
        assert r.status_code == 422, (path, r.status_code, r.text[:200])
        [problem] = r.json()["detail"]
        assert problem["loc"] == ["body"] and "nested deeper than" in problem["msg"]
    obj = '{"a":' * 1000 + "1" + "}" * 1000
    r = site.post("/api/v1/products", content=obj, headers={"content-type": "application/json"})
    assert r.status_code == 422 and "nested deeper" in r.text
    # Brackets inside strings do not count; an ordinary body still reaches the route.
    fine = json.dumps({"name": "[" * 1000})
    r = site.post("/api/v1/products", content=fine, headers={"content-type": "application/json"})
    assert r.status_code < 500 and "nested deeper" not in r.text  # reached the route
    # YAML and JSON files uploaded through the web are refused the same way, not a 500.
    for name, text in (("deep.json", obj), ("deep.yaml", deep)):
        page = site.post(
            "/reports/upload",
            data={"csrf": token},
            files={"file": (name, text.encode(), "application/octet-stream")},
        )
        assert page.status_code == 422, (name, page.status_code)
        assert "nested deeper than" in page.text or "not a JSON lab report" in page.text
