from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as BaseAutoSchema


class AutoSchema(BaseAutoSchema):
    """Names serializers nested in a view after the view (SignupApi.InputSerializer ->
    SignupApiInput), so the many InputSerializer classes do not collide in the schema."""

    def get_serializer_name(self, serializer: Any, direction: str) -> str:
        qualname = type(serializer).__qualname__
        if "." in qualname:
            return qualname.replace(".", "").removesuffix("Serializer")
        return super().get_serializer_name(serializer, direction)
