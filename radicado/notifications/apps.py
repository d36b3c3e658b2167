from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "radicado.notifications"
    label = "notifications"
