"""``radicado export_openapi``: write the API schema checked in at docs/api/openapi.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Write the OpenAPI schema of /api/v1 to docs/api/openapi.json."

    def handle(self, *args: Any, **opts: Any) -> None:
        from radicado.api.api import api

        path = Path(settings.BASE_DIR) / "docs" / "api" / "openapi.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(api.get_openapi_schema(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        self.stdout.write(f"wrote {path}")
