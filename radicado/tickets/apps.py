from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "radicado.tickets"
    label = "tickets"
