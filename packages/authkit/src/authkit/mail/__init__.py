"""Account mail: messages from templates, mailers (outbox folder, memory, SMTP), a dispatcher.

The core builds a :class:`MailMessage` with :class:`MailComposer` and hands it to a
:class:`Mailer` chosen by URL (:func:`open_mailer`); :class:`MailDispatcher` sends in
the background so no request waits for a mail server. Failures raise
:class:`~authkit.errors.MailDeliveryError` (re-exported here).
"""

from authkit.errors import MailDeliveryError
from authkit.mail._composer import KINDS, MailComposer, mask_email
from authkit.mail._dispatcher import FailureHook, Job, MailDispatcher, SentHook
from authkit.mail._local import FileOutboxMailer, MemoryMailer
from authkit.mail._message import Mailer, MailMessage
from authkit.mail._smtp import Retry, Security, SmtpMailer
from authkit.mail._url import open_mailer

__all__ = [
    "KINDS",
    "FailureHook",
    "FileOutboxMailer",
    "Job",
    "MailComposer",
    "MailDeliveryError",
    "MailDispatcher",
    "MailMessage",
    "Mailer",
    "MemoryMailer",
    "Retry",
    "Security",
    "SentHook",
    "SmtpMailer",
    "mask_email",
    "open_mailer",
]
