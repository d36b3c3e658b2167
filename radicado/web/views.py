"""Sign-in, sign-out, the workspace chooser and authorised downloads."""

from __future__ import annotations

from django.contrib.auth import login, logout
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from radicado.action import acting
from radicado.tickets.access import access_attachment
from radicado.web.forms import SignInForm
from radicado.web.helpers import ActorRequest, client_address, now, with_actor
from radicado.workspaces.access import memberships_of
from radicado.workspaces.actions import InvalidCredentials, LoginThrottled, sign_in


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    form = SignInForm(request.POST if request.method == "POST" else None)
    next_url = request.GET.get("next", "")[:2000]
    error = ""
    status = 200
    if form.is_bound:
        next_url = form.data.get("next", "")[:2000] or next_url
        if not form.is_valid():
            error, status = _("The e-mail or the password is not correct."), 400
        else:
            next_url = form.cleaned_data["next"] or next_url
            try:
                user = sign_in(
                    email=form.cleaned_data["email"],
                    password=form.cleaned_data["password"],
                    address=client_address(request),
                    now=now(),
                )
            except LoginThrottled:
                error = _("Too many failed attempts. Wait 15 minutes and try again.")
                status = 429
            except InvalidCredentials:
                error = _("The e-mail or the password is not correct.")
                status = 400
            else:
                with acting():  # the session, and the user's last sign-in
                    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                if next_url and url_has_allowed_host_and_scheme(next_url, {request.get_host()}):
                    return redirect(next_url)
                return redirect("home")
    email = str(form.data.get("email", ""))[:254] if form.is_bound else ""
    return render(request, "web/login.html", {"error": error, "email": email, "next": next_url}, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("login")


def home(request: HttpRequest) -> HttpResponse:
    """Send a signed-in user to its workspace, or let it choose one."""
    if not request.user.is_authenticated:
        return redirect("login")
    memberships = memberships_of(user=request.user)
    if len(memberships) == 1:
        m = memberships[0]
        if m.is_staff_role:
            return redirect("console:queue", ws=m.workspace.slug)
        return redirect("portal:home", ws=m.workspace.slug)
    return render(request, "web/choose.html", {"memberships": memberships})


@with_actor()
def download_attachment(request: ActorRequest, attachment_id: int) -> FileResponse:
    """Serve a file only to someone who may see it, always as a download."""
    attachment = access_attachment(actor=request.actor, attachment_id=attachment_id)
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.filename,
        content_type="application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
