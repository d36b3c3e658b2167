from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "radicado.portal"
    label = "portal"
