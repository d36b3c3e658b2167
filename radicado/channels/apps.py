from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "radicado.channels"
    label = "channels"
