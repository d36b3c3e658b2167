from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "radicado.web"
    label = "web"
