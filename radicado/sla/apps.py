from django.apps import AppConfig


class SlaConfig(AppConfig):
    name = "radicado.sla"
    label = "sla"
