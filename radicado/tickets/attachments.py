"""Attachment intake: limits, allowed types, content-addressed storage names."""

from __future__ import annotations

import datetime as dt
import hashlib
import mimetypes
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _

from radicado.action import insert
from radicado.errors import UserError
from radicado.tickets.models import Attachment, Note, Reply, Ticket
from radicado.workspaces.models import User

# An allow-list: documents, images, archives and mail a support case needs.
# Anything a browser could execute (html, svg, js) is refused.
ALLOWED_EXTENSIONS = frozenset(
    {
        "pdf",
        "txt",
        "csv",
        "log",
        "json",
        "xml",
        "rtf",
        "doc",
        "docx",
        "xls",
        "xlsx",
        "ppt",
        "pptx",
        "odt",
        "ods",
        "odp",
        "png",
        "jpg",
        "jpeg",
        "gif",
        "webp",
        "bmp",
        "tif",
        "tiff",
        "heic",
        "zip",
        "7z",
        "gz",
        "rar",
        "eml",
        "msg",
        "mp3",
        "mp4",
        "m4a",
        "ogg",
        "wav",
    }
)


class AttachmentRejected(UserError):
    """An upload that breaks a limit; the message says which and how to fix it."""


@dataclass(frozen=True)
class Upload:
    """A file handed in by an interface (form, API, e-mail)."""

    filename: str
    data: bytes


def _extension(filename: str) -> str:
    return PurePath(filename).suffix.lower().lstrip(".")


def safe_filename(filename: str) -> str:
    """The base name only, without path parts or control characters."""
    name = PurePath(filename.replace("\\", "/")).name
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"<>|:*?')
    return name[:200] or "archivo"


def validate_uploads(uploads: Sequence[Upload]) -> None:
    """Raise AttachmentRejected if any upload breaks the count, size or type limits."""
    max_files = settings.ATTACHMENT_MAX_FILES
    max_bytes = settings.ATTACHMENT_MAX_BYTES
    if len(uploads) > max_files:
        raise AttachmentRejected(_("You can attach at most %(n)d files at a time.") % {"n": max_files})
    for upload in uploads:
        name = safe_filename(upload.filename)
        if len(upload.data) > max_bytes:
            raise AttachmentRejected(
                _("%(name)s is too large: the limit is %(mb).0f MB per file.")
                % {"name": name, "mb": max_bytes / (1024 * 1024)}
            )
        if len(upload.data) == 0:
            raise AttachmentRejected(_("%(name)s is empty.") % {"name": name})
        if _extension(name) not in ALLOWED_EXTENSIONS:
            raise AttachmentRejected(
                _("%(name)s: this file type is not accepted. Use PDF, images, Office documents, text or ZIP.")
                % {"name": name}
            )


def store_uploads(
    *,
    ticket: Ticket,
    uploads: Sequence[Upload],
    uploaded_by: User | None,
    now: dt.datetime,
    reply: Reply | None = None,
    note: Note | None = None,
) -> list[Attachment]:
    """Write validated uploads to storage and record them on the ticket."""
    stored = []
    for upload in uploads:
        name = safe_filename(upload.filename)
        digest = hashlib.sha256(upload.data).hexdigest()
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        attachment = Attachment(
            workspace_id=ticket.workspace_id,
            ticket=ticket,
            reply=reply,
            note=note,
            filename=name,
            content_type=content_type,
            size=len(upload.data),
            sha256=digest,
            uploaded_by=uploaded_by,
            created_at=now,
        )
        # Random storage names: never the user's name, never guessable.
        storage_name = f"{ticket.workspace_id}/{secrets.token_hex(16)}.{_extension(name)}"
        attachment.file.save(storage_name, ContentFile(upload.data), save=False)
        insert(attachment)
        stored.append(attachment)
    return stored
