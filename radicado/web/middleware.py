"""Request-wide rules that are not a view's business."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from radicado.action import guarded


class WritesInActionsMiddleware:
    """While a request is served, a domain write outside an action raises (``RADICADO_STRICT_WRITES``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with guarded():
            return self.get_response(request)
