from typing import Any

from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "radicado.web"
    label = "web"

    def ready(self) -> None:
        from django.conf import settings
        from django.db.backends.signals import connection_created

        if getattr(settings, "RADICADO_STRICT_WRITES", False):
            connection_created.connect(_refuse_writes_outside_actions, dispatch_uid="radicado_strict_writes")


def _refuse_writes_outside_actions(sender: Any, connection: Any, **kwargs: Any) -> None:
    from radicado.action import refuse_writes_outside_actions

    if refuse_writes_outside_actions not in connection.execute_wrappers:
        connection.execute_wrappers.append(refuse_writes_outside_actions)
