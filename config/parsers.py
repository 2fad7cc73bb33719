"""Request parsers. Kept apart from config/api.py: DRF imports these while building APIView."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.parsers import JSONParser


class BodyNotObject(exceptions.ParseError):
    default_code = "body_not_object"
    default_detail = "The request body must be a JSON object."


class ObjectJSONParser(JSONParser):
    """Every JSON body this API takes is an object: anything else (a list, a string, null)
    is refused here, once, before a view or throttle reads `request.data`."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        body = super().parse(stream, media_type, parser_context)
        if not isinstance(body, dict):
            raise BodyNotObject()
        return body
