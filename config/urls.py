"""URL map: interfaces only."""

from django.urls import include, path

urlpatterns = [
    path("api/v1/", include("radicado.api.urls")),
    path("w/<slug:ws>/console/", include("radicado.console.urls")),
    path("", include("radicado.portal.urls")),
]
