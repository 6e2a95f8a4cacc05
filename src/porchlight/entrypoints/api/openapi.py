"""What the OpenAPI document adds to FastAPI's: the answers every operation shares.

A request body that is not JSON at all, or empty where one is required, is answered 400
(see ``errors._validation_error``) before any route code runs, so every operation that takes
a JSON body documents that 400 with the API's error body. FastAPI regenerates its document
when routes change; this wraps it and adds the answers each time, so a new route is covered
without a line of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

ERROR_BODY = {"$ref": "#/components/schemas/ErrorBody"}
MALFORMED_BODY = {
    "description": "The body is empty, not valid JSON, or not UTF-8",
    "content": {"application/json": {"schema": ERROR_BODY}},
}


def install(app: FastAPI) -> None:
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        document = generate()
        document_malformed_bodies(document)
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def document_malformed_bodies(document: dict[str, Any]) -> None:
    """Give every operation with a JSON request body its 400 answer (idempotent)."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            if _takes_json(operation):
                operation.setdefault("responses", {}).setdefault("400", MALFORMED_BODY)


def _takes_json(operation: Any) -> bool:
    if not isinstance(operation, dict):
        return False
    return "application/json" in operation.get("requestBody", {}).get("content", {})
