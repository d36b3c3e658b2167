from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "radicado.customers"
    label = "customers"
