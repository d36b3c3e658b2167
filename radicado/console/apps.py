from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "radicado.console"
    label = "console"
