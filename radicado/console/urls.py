from django.urls import path

from radicado.console import habeas, notifications, views

app_name = "console"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("filas/", views.rows, name="rows"),
    path("nuevo/", views.phone_intake, name="new"),
    path("correo/", views.mail_review, name="mail_review"),
    path("salida/", views.outbox, name="outbox"),
    path("avisos/", notifications.rules, name="notification_rules"),
    path("avisos/nueva/", notifications.rule_edit, name="notification_rule_new"),
    path("avisos/<int:rule_id>/", notifications.rule_edit, name="notification_rule"),
    path("avisos/<int:rule_id>/eliminar/", notifications.rule_delete, name="notification_rule_delete"),
    path("tokens/", views.api_tokens, name="api_tokens"),
    path("habeas/", habeas.person, name="habeas"),
    path("habeas/exportar/", habeas.export, name="habeas_export"),
    path("habeas/anonimizar/", habeas.anonymise, name="habeas_anonymise"),
    path("habeas/consentimiento/", habeas.consent, name="habeas_consent"),
    path("t/<int:number>/", views.ticket_view, name="ticket"),
    path("t/<int:number>/mensaje/", views.post_message, name="message"),
    path("t/<int:number>/cambiar/", views.update, name="update"),
    path("t/<int:number>/aprobacion/", views.ask_confirmation, name="ask_confirmation"),
]
