from __future__ import annotations

from collections.abc import Callable
from functools import cache
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from django.test import Client
from openapi_spec_validator import validate
from rest_framework.test import APIClient

from accounts.models import User
from jobs.models import Job


@cache  # the schema depends on the code only: build it once for these tests
def published_schema() -> dict[str, Any]:
    response = Client().get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def body_of(response: Any) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


class PageAssets(HTMLParser):
    """What a page makes the browser load: script and stylesheet URLs, and inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self.icons: list[str] = []
        self.inline_scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script":
            self._in_script = found.get("src") is None
            if found.get("src") is not None:
                self.scripts.append(found["src"] or "")
        elif tag == "link" and found.get("rel") == "stylesheet":
            self.styles.append(found.get("href") or "")
        elif tag == "link" and found.get("rel") == "icon":
            self.icons.append(found.get("href") or "")

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False


@pytest.mark.django_db
def test_the_schema_endpoint_serves_a_valid_openapi_3_document() -> None:
    document = published_schema()
    assert document["openapi"].startswith("3.")
    validate(document)
    assert "/api/v1/jobs/{job_id}/" in document["paths"]
    assert "/api/v1/uploads/" in document["paths"]


@pytest.mark.django_db
def test_the_docs_page_loads_only_same_origin_assets_and_this_server_serves_them() -> None:
    # given the interactive docs page
    client = Client()
    page = client.get("/api/docs/")
    assert page.status_code == 200
    assets = PageAssets()
    assets.feed(page.content.decode())

    # then it needs nothing from another origin, and no inline script (script-src 'self')
    assert assets.inline_scripts == []
    assert len(assets.scripts) == 3 and len(assets.styles) == 1
    for url in [*assets.scripts, *assets.styles, *assets.icons]:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc and url.startswith("/"), url

    # and this server answers each of them with the real files
    served = {}
    for url in assets.scripts:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "javascript" in response["Content-Type"], (url, response["Content-Type"])
        served[url] = body_of(response)
    bundle = next(body for url, body in served.items() if url.endswith("swagger-ui-bundle.js"))
    assert b"SwaggerUIBundle" in bundle and len(bundle) > 500_000
    init = next(body for url, body in served.items() if "swagger-ui" not in url)
    assert b"SwaggerUIBundle(" in init and b"/api/schema/" in init
    style = client.get(assets.styles[0])
    assert style.status_code == 200 and style["Content-Type"].startswith("text/css")
    assert b".swagger-ui" in body_of(style)


def error_statuses(operation: dict[str, Any]) -> dict[str, Any]:
    return {code: r for code, r in operation["responses"].items() if code >= "400"}


@pytest.mark.django_db
def test_every_operation_documents_its_errors_in_the_one_error_shape() -> None:
    document = published_schema()
    error = document["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "detail", "fields"}
    assert error["properties"]["retry_after"]["type"] == "integer"
    operations = [
        (path, method, op) for path, ops in document["paths"].items() for method, op in ops.items()
    ]
    assert len(operations) >= 60
    for path, method, operation in operations:
        errors = error_statuses(operation)
        assert "503" in errors, (method, path)
        for code, response in errors.items():
            schema = response["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, code)
            assert response["description"], (method, path, code)
        if "{" in path:
            assert "404" in errors, (method, path)
        if "requestBody" in operation:
            assert {"400", "413", "415"} <= set(errors), (method, path)
        if operation.get("security") != [{}]:  # anything that authenticates can refuse a token
            assert "401" in errors, (method, path)


@pytest.mark.django_db
def test_statuses_a_view_answers_on_its_own_are_documented() -> None:
    paths = published_schema()["paths"]
    # throttled views, with Retry-After
    throttled = paths["/api/v1/uploads/"]["post"]["responses"]["429"]
    assert "Retry-After" in throttled["headers"]
    assert "429" in paths["/api/v1/auth/login/"]["post"]["responses"]
    # uploads: too large, wrong kind, unusable file
    assert {"413", "415", "422"} <= set(paths["/api/v1/uploads/"]["post"]["responses"])
    assert "422" in paths["/api/v1/cameo/captures/{capture_id}/clip/"]["post"]["responses"]
    # conflicts named by the view, and the idempotency replay conflict
    assert "409" in paths["/api/v1/auth/signup/"]["post"]["responses"]
    assert "409" in paths["/api/v1/jobs/{job_id}/cancel/"]["post"]["responses"]
    assert (
        "idempotency_conflict"
        in (paths["/api/v1/generations/"]["post"]["responses"]["409"]["description"])
    )
    # the login refusal, although the view authenticates nobody
    assert "401" in paths["/api/v1/auth/login/"]["post"]["responses"]
    assert "401" not in paths["/api/v1/auth/signup/"]["post"]["responses"]
    assert "410" in paths["/api/v1/cameos/{cameo_id}/biometrics/"]["get"]["responses"]


PAGED = {
    "/api/v1/jobs/": ("PaginatedJobOutputList", {"cursor", "page_size"}),
    "/api/v1/cameos/{cameo_id}/appearances/": (
        "PaginatedAppearanceOutputList",
        {"cursor", "page_size"},
    ),
    "/api/v1/consent/audit/": ("PaginatedEventOutputList", {"cursor", "page_size"}),
    "/api/v1/feeds/for-you/": ("PostCardFeedPage", {"cursor"}),
    "/api/v1/feeds/following/": ("PostCardFeedPage", {"before"}),
    "/api/v1/users/{username}/posts/": ("PostCardFeedPage", {"before"}),
    "/api/v1/hashtags/{tag}/posts/": ("PostCardFeedPage", {"before"}),
    "/api/v1/posts/{post_id}/remixes/": ("PostCardFeedPage", {"before"}),
}


@pytest.mark.django_db
def test_lists_that_are_paged_are_documented_as_the_page_they_answer() -> None:
    document = published_schema()
    for path, (component, query) in PAGED.items():
        operation = document["paths"][path]["get"]
        schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{component}"}, path
        page = document["components"]["schemas"][component]
        assert page["type"] == "object" and page["properties"]["results"]["type"] == "array"
        assert page["properties"]["next"]["nullable"] is True
        names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        assert names == query, path
        assert operation["operationId"].endswith("_list"), path
    cursor_page = document["components"]["schemas"]["PaginatedJobOutputList"]
    assert "previous" in cursor_page["properties"]
    assert "previous" not in document["components"]["schemas"]["PostCardFeedPage"]["properties"]


@pytest.mark.django_db
def test_the_documented_page_is_the_one_the_api_answers(
    owner: User, client_for: Callable[[User], APIClient]
) -> None:
    # given a user with a job, reading the paged list of their jobs
    Job.objects.create(owner=owner, kind="media.transcode")
    body = client_for(owner).get("/api/v1/jobs/").json()
    # then the keys are those of the documented envelope
    page = published_schema()["components"]["schemas"]["PaginatedJobOutputList"]
    assert set(body) == set(page["properties"])
    assert len(body["results"]) == 1


@pytest.mark.services
@pytest.mark.slow
# Serialized like every transactional test here: a plain flush would re-create the content
# types under new ids, and the next serialized test could not restore its own.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_docs_render_in_a_browser_from_this_server_alone(
    live_url: str,
    browser: Any,  # noqa: F811 - the fixture imported above
    wait_for: Callable[[Callable[[], bool], float, str], None],
) -> None:
    from selenium.webdriver.common.by import By

    # when a real browser opens the docs, under the app's Content-Security-Policy
    origin = f"http://{live_url}"
    browser.get(f"{origin}/api/docs/")
    operations = lambda: browser.find_elements(By.CSS_SELECTOR, ".swagger-ui .opblock")  # noqa: E731
    wait_for(lambda: len(operations()) >= 60, 20, "Swagger UI to list the operations")
    # then it shows the API, having fetched nothing from any other origin, and nothing failed
    title = browser.find_element(By.CSS_SELECTOR, ".swagger-ui .info .title").text
    assert title.startswith("Doubletake API")
    loaded = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert loaded and all(url.startswith(origin + "/") for url in loaded), loaded
    errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
