from django.urls import path

from radicado.api.api import api

urlpatterns = [path("", api.urls)]
