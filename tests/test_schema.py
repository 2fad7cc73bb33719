from __future__ import annotations

import pytest
import yaml
from django.test import Client
from openapi_spec_validator import validate


@pytest.mark.django_db
def test_the_schema_endpoint_serves_a_valid_openapi_3_document() -> None:
    response = Client().get("/api/schema/")
    assert response.status_code == 200
    document = yaml.safe_load(response.content)
    assert document["openapi"].startswith("3.")
    validate(document)
    assert "/api/v1/jobs/{job_id}/" in document["paths"]
    assert "/api/v1/uploads/" in document["paths"]


@pytest.mark.django_db
def test_the_interactive_docs_page_renders() -> None:
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()
