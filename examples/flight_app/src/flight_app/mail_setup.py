"""Outgoing mail for the app: the core's mailer behind the app's resilience policy.

``FLIGHT_APP_MAIL_URL`` picks the mailer (``authkit.mail.open_mailer``); an SMTP
send is retried on transient failures (connection refused, timeout, SMTP 4xx)
with the same exponential backoff and full jitter as the flight provider
(``flight_app.resilience``), ``FLIGHT_APP_MAIL_RETRIES`` times. Sends happen on
the core's mail worker thread, never in a request, so the waits delay no one.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable

import tenacity

from authkit.errors import MailDeliveryError
from authkit.mail import Retry
from flight_app.resilience import ResiliencePolicy, TransientError, build_retrying

logger = logging.getLogger("flight_app.mail")


def mail_retry(
    retries: int,
    *,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> Retry:
    """A ``Retry`` for ``open_mailer``: transient ``MailDeliveryError`` s retried ``retries`` times.

    A permanent failure (authentication refused, a 5xx for the recipient) is
    raised at once; the last transient one is raised when the attempts run out.
    """
    policy = ResiliencePolicy(retries=retries)
    source = rng or random.SystemRandom()

    def before_sleep(state: tenacity.RetryCallState) -> None:
        logger.warning("mail send failed, retrying", extra={"attempt": state.attempt_number})

    def retry(attempt: Callable[[], None]) -> None:
        def once() -> None:
            try:
                attempt()
            except MailDeliveryError as exc:
                if exc.transient:
                    raise TransientError(exc.message) from exc
                raise

        try:
            build_retrying(policy, sleep=sleep, rng=source, before_sleep=before_sleep)(once)
        except TransientError as exc:
            cause = exc.__cause__
            raise cause if isinstance(cause, MailDeliveryError) else exc from None

    return retry


__all__ = ["mail_retry"]
