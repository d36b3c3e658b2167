from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    name = "radicado.workspaces"
    label = "workspaces"
