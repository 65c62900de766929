"""``AccountService``: email verification, password reset, email change and account deletion.

The flows attackers probe first (OWASP Forgot Password Cheat Sheet), built to
the same standard as sign-in:

* no enumeration: ``forgot_password`` does the same work in the request for a
  known and an unknown email (throttle, audit, hand a job to the mail
  dispatcher) and the lookup, token and mail happen in the background, so the
  answer and its timing are one for both; its budgets count the email as typed,
  known or not;
* every link is single use, short-lived, hashed at rest and bound to the state it
  acts on (see ``authkit.account._tokens``);
* a reset revokes every session of the account, ends any pending email change,
  verifies the address the link went to (the way back for an unverified account
  whose link expired) and tells the owner by mail; an email change needs the
  password, confirms at the new address, warns the old one, and checks
  uniqueness again when confirmed;
* deleting an account erases the row and everything under it; audit events keep
  their pseudonyms, which then point at no one.

Mail goes through a ``MailDispatcher``: a failed delivery is logged and counted
there and never fails or delays the request that caused it.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from datetime import timedelta
from typing import Protocol

from authkit.account._config import AccountConfig
from authkit.account._records import ActionPurpose
from authkit.account._tokens import ActionTokens
from authkit.audit._sink import AuditSink
from authkit.clock import Clock
from authkit.errors import Conflict, InvalidToken, NotFound, TooManyAttempts
from authkit.mail import MailComposer, MailDispatcher, MailMessage
from authkit.passwords._hashing import PasswordHasher
from authkit.tokens._refresh import RefreshTokens
from authkit.users._admin import require_admin
from authkit.users._identity import normalise_identity, validate_identity
from authkit.users._model import User, canonical
from authkit.users._query import is_user_id
from authkit.users._reauth import GuessThrottle, reauthenticate
from authkit.users._store import UserStore

VERIFY_REQUEST_EVENT = "email.verify_request"
"""Audit event: a verification link was asked for (at registration or signed in)."""
VERIFY_EVENT = "email.verify"
"""Audit event: a verification link was redeemed (or refused)."""
FORGOT_EVENT = "password.forgot"
"""Audit event: a forgot-password request, under the pseudonym of the email as typed."""
RESET_LINK_EVENT = "password.reset_link"
"""Audit event from the mail worker: a reset link was made, or skipped and why."""
RESET_EVENT = "password.reset"
"""Audit event: a password was reset through a link (or the link refused)."""
CHANGE_REQUEST_EVENT = "email.change_request"
"""Audit event: an email change was asked for (password checked)."""
CHANGE_EVENT = "email.change"
"""Audit event: an email change was confirmed at the new address (or refused)."""
DELETE_EVENT = "account.delete"
"""Audit event: an account deleted itself (password checked)."""
ADMIN_DELETE_EVENT = "admin.user.delete"
"""Audit event: an administrator deleted an account."""

_MAX_TYPED_EMAIL = 320


class AccountThrottle(GuessThrottle, Protocol):
    """The parts of ``LoginThrottle`` these flows use."""

    def forgot_password_attempt(self, address: str, email: str) -> None: ...

    def account_mail_attempt(self, user_id: str) -> None: ...


class PasswordPolicyLike(Protocol):
    def enforce(
        self, password: str, *, username: str | None = None, email: str | None = None
    ) -> None: ...


class MfaEraser(Protocol):
    """The part of ``MfaStore`` an erasure needs."""

    def disable(self, user_id: str) -> None: ...


class AccountService:
    """The account flows over emailed links: verify, forgot and reset, change email, delete.

    Built by ``authkit.build`` (``Authkit.account``); every decision about these
    flows is here, the adapters only map HTTP to these calls. See the module
    docstring for the security properties each flow keeps.
    """

    def __init__(
        self,
        *,
        users: UserStore,
        tokens: ActionTokens,
        refresh_tokens: RefreshTokens,
        mfa: MfaEraser,
        hasher: PasswordHasher,
        policy: PasswordPolicyLike,
        throttle: AccountThrottle,
        audit: AuditSink,
        clock: Clock,
        config: AccountConfig,
        composer: MailComposer,
        mail: MailDispatcher,
    ) -> None:
        self.users = users
        self.tokens = tokens
        self.refresh_tokens = refresh_tokens
        self.mfa = mfa
        self.hasher = hasher
        self.policy = policy
        self.throttle = throttle
        self.audit = audit
        self.clock = clock
        self.config = config
        self.composer = composer
        self.mail = mail

    # -- email verification ---------------------------------------------------------

    def registered(self, user: User, address: str) -> None:
        """A new account: send its verification link (``AuthService.register`` calls this)."""
        self._send_verification(user)
        self.audit.log(
            VERIFY_REQUEST_EVENT,
            outcome="success",
            actor=user.id,
            client_address=address,
            trigger="register",
        )

    def request_verification(self, *, user: User, address: str) -> None:
        """Send a fresh verification link to the account's email (the older one dies).

        An already verified address gets no mail, and the same answer.
        """
        try:
            self.throttle.account_mail_attempt(user.id)
        except TooManyAttempts:
            self.audit.log(
                VERIFY_REQUEST_EVENT,
                outcome="denied",
                actor=user.id,
                client_address=address,
                reason="throttled",
            )
            raise
        if not user.email_verified:
            self._send_verification(user)
        self.audit.log(
            VERIFY_REQUEST_EVENT,
            outcome="success",
            actor=user.id,
            client_address=address,
            already_verified=user.email_verified,
        )

    def _send_verification(self, user: User) -> None:
        def job() -> MailMessage:
            issued = self.tokens.issue(user, ActionPurpose.VERIFY_EMAIL)
            link = self.config.link(ActionPurpose.VERIFY_EMAIL, issued.token)
            return self.composer.verify_email(
                user.email, link, valid_for=self._ttl(ActionPurpose.VERIFY_EMAIL)
            )

        self._submit(job, "verify_email")

    def verify_email(self, *, token: str, address: str) -> User:
        """Redeem a verification link: the account's current email is verified.

        ``InvalidToken`` for an unknown, used or expired link, or one sent to an
        address the account no longer has.
        """
        with self._failure_audited(VERIFY_EVENT, address):
            _, user = self.tokens.redeem_record(token, ActionPurpose.VERIFY_EMAIL, self.users.get)
            verified = self.users.mark_email_verified(
                user.id, email=user.email, at=self.clock.now()
            )
            if verified is None:
                raise InvalidToken()
        self.audit.log(VERIFY_EVENT, outcome="success", actor=user.id, client_address=address)
        return verified

    # -- forgotten password ---------------------------------------------------------

    def forgot_password(self, *, email: str, address: str) -> None:
        """Accept a reset request; a link goes to a known, active account, later.

        The request does the same for every email: count it (per address and per
        email as typed), audit it under the typed email's pseudonym, and hand one
        job to the mail dispatcher. The job looks the account up, makes the token
        and composes the mail in the dispatcher's thread, after the answer left.
        """
        typed = canonical(email)[:_MAX_TYPED_EMAIL]
        try:
            self.throttle.forgot_password_attempt(address, typed)
        except TooManyAttempts:
            self.audit.log(
                FORGOT_EVENT,
                outcome="denied",
                actor=typed,
                client_address=address,
                reason="throttled",
            )
            raise
        self.audit.log(FORGOT_EVENT, outcome="accepted", actor=typed, client_address=address)
        self._submit(lambda: self._reset_link_job(typed, address), "password_reset")

    def _reset_link_job(self, typed: str, address: str) -> MailMessage | None:
        user = self.users.find_by_login(typed)
        if user is None or canonical(user.email) != typed:
            self.audit.log(
                RESET_LINK_EVENT,
                outcome="skipped",
                actor=typed,
                client_address=address,
                reason="unknown_account",
            )
            return None
        if not user.is_active:
            self.audit.log(
                RESET_LINK_EVENT,
                outcome="skipped",
                actor=user.id,
                client_address=address,
                reason="account_disabled",
            )
            return None
        issued = self.tokens.issue(user, ActionPurpose.RESET_PASSWORD)
        self.audit.log(RESET_LINK_EVENT, outcome="success", actor=user.id, client_address=address)
        return self.composer.password_reset(
            user.email,
            self.config.link(ActionPurpose.RESET_PASSWORD, issued.token),
            valid_for=self._ttl(ActionPurpose.RESET_PASSWORD),
        )

    def reset_password(self, *, token: str, new_password: str, address: str) -> User:
        """Set a new password through a reset link; every session of the account ends.

        The new password is checked against the policy before the link is spent,
        so a weak one (``WeakPassword``) leaves the link usable. ``InvalidToken``
        for an unknown, used or expired link, or one made before the password or
        the email last changed. The account is told by mail.

        Completing a reset proves control of the mailbox the link went to, and the
        link is bound to the email, so an unverified address is verified here
        (only if it is still that email). This is the way back for an account
        whose verification link expired while ``require_verified_email`` refuses
        its sign-in (and so the signed-in request for a new link).
        """
        with self._failure_audited(RESET_EVENT, address):
            record = self.tokens.peek(token, ActionPurpose.RESET_PASSWORD)
            user = self.users.get(record.user_id)
            if user is None or not user.is_active or not self.tokens.matches(record, user):
                raise InvalidToken()
            self.policy.enforce(new_password, username=user.username, email=user.email)
            _, user = self.tokens.redeem_record(token, ActionPurpose.RESET_PASSWORD, self.users.get)
        now = self.clock.now()
        self.users.set_password(user.id, self.hasher.hash(new_password), at=now)
        # The new password hash kills every other reset and email-change link too
        # (their bindings include it); forget them rather than leave dead rows.
        self.tokens.forget(user.id, ActionPurpose.RESET_PASSWORD, ActionPurpose.CHANGE_EMAIL)
        revoked = self.refresh_tokens.revoke_user(user.id)
        # Conditional on the email the link was bound to (checked by redeem_record):
        # an email changed meanwhile is not verified by a link sent to the old one.
        verified = (
            not user.email_verified
            and self.users.mark_email_verified(user.id, email=user.email, at=now) is not None
        )
        self.audit.log(
            RESET_EVENT,
            outcome="success",
            actor=user.id,
            client_address=address,
            revoked=revoked,
            newly_verified=verified,
        )
        to = user.email
        self._submit(lambda: self.composer.password_changed(to), "password_changed")
        refreshed = self.users.get(user.id)
        return refreshed if refreshed is not None else user

    # -- email change ---------------------------------------------------------------

    def request_email_change(
        self, *, user: User, password: str, new_email: str, address: str
    ) -> None:
        """Start moving the account to ``new_email``: confirm there, warn the old address.

        Needs the password (throttled like a sign-in). The email stays as it is
        until the link is followed; ``Conflict`` now if the address is taken, and
        again at confirmation if it was taken since.
        """
        reauthenticate(
            user=user,
            password=password,
            address=address,
            event=CHANGE_REQUEST_EVENT,
            message="The password is incorrect.",
            throttle=self.throttle,
            hasher=self.hasher,
            audit=self.audit,
        )
        _, wanted = normalise_identity(user.username, new_email)
        validate_identity(user.username, wanted)
        # Counted before the uniqueness check: a 409 tells whether an address is
        # registered, so asking must spend the budget whatever the answer (else a
        # signed-in user could test addresses without limit, where registration
        # is throttled per client address).
        try:
            self.throttle.account_mail_attempt(user.id)
        except TooManyAttempts:
            self.audit.log(
                CHANGE_REQUEST_EVENT,
                outcome="denied",
                actor=user.id,
                client_address=address,
                reason="throttled",
            )
            raise
        if canonical(wanted) == canonical(user.email):
            raise Conflict("This is already the account's email.", reason="same_email")
        holder = self.users.find_by_login(wanted)
        if holder is not None and holder.id != user.id:
            self.audit.log(
                CHANGE_REQUEST_EVENT,
                outcome="failure",
                actor=user.id,
                client_address=address,
                reason="conflict",
            )
            raise Conflict("The username or email is already registered.")
        issued = self.tokens.issue(user, ActionPurpose.CHANGE_EMAIL, new_email=wanted)
        link = self.config.link(ActionPurpose.CHANGE_EMAIL, issued.token)
        old = user.email
        valid_for = self._ttl(ActionPurpose.CHANGE_EMAIL)
        self._submit(
            lambda: self.composer.email_change_confirm(wanted, link, valid_for=valid_for),
            "email_change_confirm",
        )
        self._submit(lambda: self.composer.email_change_notice(old, wanted), "email_change_notice")
        self.audit.log(
            CHANGE_REQUEST_EVENT, outcome="success", actor=user.id, client_address=address
        )

    def confirm_email_change(self, *, token: str, address: str) -> User:
        """Redeem an email-change link: the new address replaces the old, verified.

        ``InvalidToken`` for an unknown, used or expired link, or when the email
        changed since it was sent; ``Conflict`` when the new address was taken
        meanwhile (the link is spent then too).
        """
        with self._failure_audited(CHANGE_EVENT, address):
            record, user = self.tokens.redeem_record(
                token, ActionPurpose.CHANGE_EMAIL, self.users.get
            )
            if record.new_email is None or not user.is_active:
                raise InvalidToken()
            changed = self.users.change_email(
                user.id, old_email=user.email, new_email=record.new_email, at=self.clock.now()
            )
            if changed is None:
                raise InvalidToken()
        self.tokens.forget(user.id, ActionPurpose.VERIFY_EMAIL, ActionPurpose.CHANGE_EMAIL)
        self.audit.log(CHANGE_EVENT, outcome="success", actor=user.id, client_address=address)
        return changed

    # -- deletion -------------------------------------------------------------------

    def delete_account(self, *, user: User, password: str, address: str) -> None:
        """Delete the caller's own account after checking the password.

        The last active admin cannot delete itself (``Conflict``, ``last_admin``).
        """
        reauthenticate(
            user=user,
            password=password,
            address=address,
            event=DELETE_EVENT,
            message="The password is incorrect.",
            throttle=self.throttle,
            hasher=self.hasher,
            audit=self.audit,
        )
        try:
            self._erase(user)
        except Conflict as exc:
            self.audit.log(
                DELETE_EVENT,
                outcome="denied",
                actor=user.id,
                client_address=address,
                reason=str(exc.extra.get("reason", exc.code)),
            )
            raise
        self.audit.log(DELETE_EVENT, outcome="success", actor=user.id, client_address=address)

    def admin_delete(self, *, actor: User, user_id: str, address: str) -> None:
        """An administrator deletes an account; the last-admin guard applies."""
        require_admin(actor)
        target = [user_id] if is_user_id(user_id) else []
        try:
            user = self.users.get(user_id) if target else None
            if user is None:
                raise NotFound("No user has this id.")
            self._erase(user)
        except (Conflict, NotFound) as exc:
            self.audit.log(
                ADMIN_DELETE_EVENT,
                outcome="denied" if isinstance(exc, Conflict) else "failure",
                actor=actor.id,
                client_address=address,
                target_ids=target,
                reason=str(exc.extra.get("reason", exc.code)),
            )
            raise
        self.audit.log(
            ADMIN_DELETE_EVENT,
            outcome="success",
            actor=actor.id,
            client_address=address,
            target_ids=target,
        )

    def _erase(self, user: User) -> None:
        """Delete the row (guarded), then whatever a store without cascades still holds."""
        if not self.users.delete(user.id):
            raise NotFound("No user has this id.")
        self.refresh_tokens.delete_user(user.id)
        self.tokens.forget(user.id)
        self.mfa.disable(user.id)
        to = user.email
        self._submit(lambda: self.composer.account_deleted(to), "account_deleted")

    # -- helpers --------------------------------------------------------------------

    def _submit(self, job: Callable[[], MailMessage | None], kind: str) -> None:
        """Hand ``job`` to the dispatcher, in a copy of this context (the trace id)."""
        context = contextvars.copy_context()
        self.mail.submit(lambda: context.run(job), kind=kind)

    def _ttl(self, purpose: ActionPurpose) -> timedelta:
        return timedelta(seconds=self.config.lifetimes[purpose])

    def _failure_audited(self, event: str, address: str) -> _AuditInvalidToken:
        return _AuditInvalidToken(self.audit, event, address)


class _AuditInvalidToken:
    """Audit a refused link (``InvalidToken``) as ``event``/failure, then let it propagate."""

    def __init__(self, audit: AuditSink, event: str, address: str) -> None:
        self._audit = audit
        self._event = event
        self._address = address

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        if isinstance(exc, InvalidToken):
            self._audit.log(
                self._event, outcome="failure", client_address=self._address, reason="invalid_token"
            )
        elif isinstance(exc, Conflict):
            self._audit.log(
                self._event,
                outcome="failure",
                client_address=self._address,
                reason=str(exc.extra.get("reason", exc.code)),
            )


__all__ = [
    "ADMIN_DELETE_EVENT",
    "CHANGE_EVENT",
    "CHANGE_REQUEST_EVENT",
    "DELETE_EVENT",
    "FORGOT_EVENT",
    "RESET_EVENT",
    "RESET_LINK_EVENT",
    "VERIFY_EVENT",
    "VERIFY_REQUEST_EVENT",
    "AccountService",
    "AccountThrottle",
]
