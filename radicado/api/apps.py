from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "radicado.api"
    label = "api"
