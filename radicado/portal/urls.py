from django.urls import include, path
from django.views.i18n import set_language

from radicado.portal import views
from radicado.web import views as web
from radicado.web import webhooks

portal = (
    [
        path("", views.home, name="home"),
        path("ayuda/", views.help_page, name="help"),
        path("solicitudes/nueva/", views.new_request, name="new"),
        path("solicitudes/<int:number>/", views.request_detail, name="request"),
        path("solicitudes/<int:number>/responder/", views.reply, name="reply"),
        path("solicitudes/<int:number>/estado/", views.transition, name="transition"),
        path("solicitudes/<int:number>/encuesta/", views.answer_in_portal, name="survey"),
        path("solicitudes/<int:number>/terminos/", views.accept_terms_view, name="accept_terms"),
        path(
            "solicitudes/<int:number>/aprobaciones/<int:confirmation_id>/",
            views.answer_confirmation_view,
            name="answer_confirmation",
        ),
    ],
    "portal",
)

urlpatterns = [
    path("", web.home, name="home"),
    path("entrar/", web.login_view, name="login"),
    path("salir/", web.logout_view, name="logout"),
    path("idioma/", set_language, name="set_language"),
    path("encuesta/<str:token>/", views.survey, name="survey"),
    path("confirmacion/<str:token>/", views.confirmation_link, name="confirmation"),
    path("webhooks/whatsapp/<slug:ws>/meta/", webhooks.meta_webhook, name="whatsapp_meta"),
    path("webhooks/whatsapp/<slug:ws>/twilio/", webhooks.twilio_webhook, name="whatsapp_twilio"),
    path("w/<slug:ws>/adjuntos/<int:attachment_id>/", web.download_attachment, name="attachment"),
    path("w/<slug:ws>/", include(portal)),
]
