"""Account administration: find users, activate or deactivate them, set their roles.

``AdminService`` is what an adapter's admin endpoints call. It holds the rules an
operator relies on whatever the web framework:

* deactivating a user revokes every refresh token of theirs, so reactivating the
  account later does not bring old sessions back; their access tokens stop
  working at once because ``AuthService.authenticate_access_token`` refuses
  inactive users;
* the last active admin cannot be deactivated or demoted (``Conflict``, reason
  ``last_admin``): the store checks and writes in one atomic step, so two admins
  racing to remove each other cannot both win;
* every action is written to the audit log as ``admin.user.update`` or
  ``admin.user.bulk``, actor pseudonymised by the logger, with the target ids and
  what changed (OWASP Logging Cheat Sheet: "administrative privilege usage").
  Denied attempts are logged too, with ``outcome="denied"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from authkit.audit._sink import AuditSink
from authkit.errors import ConfigurationError, Conflict, Forbidden, NotFound, ValidationFailed
from authkit.tokens._refresh import RefreshTokens
from authkit.users._model import User
from authkit.users._query import (
    BULK_ACTIONS,
    BulkAction,
    BulkResult,
    UserPage,
    UserQuery,
    distinct_ids,
    is_user_id,
    normalise_roles,
)
from authkit.users._store import UserStore

UPDATE_EVENT = "admin.user.update"
"""The audit event of an admin's change to one user."""
BULK_EVENT = "admin.user.bulk"
"""The audit event of a bulk activation or deactivation."""
MFA_RESET_EVENT = "admin.user.mfa_reset"
"""The audit event of an admin resetting a user's MFA."""


class MfaReset(Protocol):
    """The part of ``MfaStore`` an administrator's reset needs."""

    def disable(self, user_id: str) -> None: ...


class AdminService:
    """User administration for admins: list, read, update, bulk changes, MFA reset; audited.

    The last active admin can be neither deactivated nor demoted.
    """

    def __init__(
        self,
        *,
        users: UserStore,
        refresh_tokens: RefreshTokens,
        audit: AuditSink,
        mfa: MfaReset | None = None,
    ) -> None:
        self.users = users
        self.refresh_tokens = refresh_tokens
        self.audit = audit
        self.mfa = mfa

    def list_users(self, query: UserQuery) -> UserPage:
        return self.users.list_users(query)

    def get_user(self, user_id: str) -> User:
        """The user, or ``NotFound``; an id that is not a user id is simply not found."""
        user = self.users.get(user_id) if is_user_id(user_id) else None
        if user is None:
            raise NotFound("No user has this id.")
        return user

    def update_user(
        self,
        *,
        actor: User,
        user_id: str,
        is_active: bool | None = None,
        roles: Sequence[str] | None = None,
        address: str,
    ) -> User:
        """Apply the given changes (``None`` leaves a field as it is) and return the user.

        The change that may remove an admin goes first, so a refusal leaves the
        account untouched: a deactivation before the roles (an inactive user's
        roles are never guarded), a demotion before an activation.
        """
        require_admin(actor)
        wanted = normalise_roles(roles) if roles is not None else None
        target = [user_id] if is_user_id(user_id) else []
        try:
            before = self.get_user(user_id)
            after = before
            if is_active is False:
                after = self._set_active(user_id, active=False)
            if wanted is not None:
                after = self._set_roles(user_id, wanted)
            if is_active is True:
                after = self._set_active(user_id, active=True)
        except (Conflict, NotFound) as exc:
            self.audit.log(
                UPDATE_EVENT,
                outcome="denied" if isinstance(exc, Conflict) else "failure",
                actor=actor.id,
                client_address=address,
                target_ids=target,
                reason=str(exc.extra.get("reason", exc.code)),
            )
            raise
        revoked = self.refresh_tokens.revoke_user(user_id) if is_active is False else 0
        self.audit.log(
            UPDATE_EVENT,
            outcome="success",
            actor=actor.id,
            client_address=address,
            target_ids=target,
            changed=[
                name
                for name, old, new in (
                    ("is_active", before.is_active, after.is_active),
                    ("roles", before.roles, after.roles),
                )
                if old != new
            ],
            is_active=after.is_active,
            roles=list(after.roles),
            revoked=revoked,
        )
        return after

    def bulk(
        self, *, actor: User, action: BulkAction, ids: Sequence[str], address: str
    ) -> BulkResult:
        """Activate or deactivate 1-1000 users in one transaction.

        Duplicates collapse (each id is reported once, in order of first
        appearance) and an id that is not a user id lands in ``not_found`` with
        the unknown ones: one typo must not sink the other 999 changes. If the
        batch would deactivate every active admin, nothing changes (``Conflict``).
        Deactivation revokes the refresh tokens of every listed user now inactive,
        ``unchanged`` ones included, so a retried request also finishes a
        revocation an earlier attempt could not.
        """
        require_admin(actor)
        if action not in BULK_ACTIONS:
            raise ValidationFailed(
                [{"loc": ["action"], "msg": "action must be 'activate' or 'deactivate'."}]
            )
        distinct = distinct_ids(ids)
        valid = [i for i in distinct if is_user_id(i)]
        active = action == "activate"
        try:
            stored = self.users.bulk_set_active(valid, active) if valid else BulkResult()
        except Conflict as exc:
            self.audit.log(
                BULK_EVENT,
                outcome="denied",
                actor=actor.id,
                client_address=address,
                action=action,
                requested=len(distinct),
                reason=str(exc.extra.get("reason", exc.code)),
            )
            raise
        missing = set(stored.not_found) | (set(distinct) - set(valid))
        result = BulkResult(
            updated=stored.updated,
            unchanged=stored.unchanged,
            not_found=tuple(i for i in distinct if i in missing),
        )
        revoked = 0
        if not active:
            revoked = self.refresh_tokens.revoke_users([*result.updated, *result.unchanged])
        self.audit.log(
            BULK_EVENT,
            outcome="success",
            actor=actor.id,
            client_address=address,
            action=action,
            requested=result.requested,
            target_ids=list(result.updated),
            unchanged=len(result.unchanged),
            not_found=len(result.not_found),
            revoked=revoked,
        )
        return result

    def reset_mfa(self, *, actor: User, user_id: str, address: str) -> User:
        """Switch another account's TOTP off (a lost phone and no recovery code left).

        The account's secret, replay step and recovery codes are forgotten and
        every session of it is revoked, so whoever held a session made with the old
        factor signs in again; an account whose role requires MFA must enrol anew
        before its tokens open anything else. Audited as ``admin.user.mfa_reset``.
        An account without MFA is ``Conflict``. An admin's own account is
        ``Forbidden``: its second factor is switched off with a code
        (``POST /auth/mfa/totp/disable``), so a stolen admin session cannot strip it.
        """
        require_admin(actor)
        if self.mfa is None:
            raise ConfigurationError("AdminService.reset_mfa needs an MFA store.")
        target = [user_id] if is_user_id(user_id) else []
        try:
            if user_id == actor.id:
                raise Forbidden(
                    "Switch your own two-factor authentication off with a code instead.",
                    reason="own_account",
                )
            user = self.get_user(user_id)
            if not user.mfa_enabled:
                raise Conflict("Two-factor authentication is not enabled.", reason="mfa_disabled")
        except (Conflict, Forbidden, NotFound) as exc:
            self.audit.log(
                MFA_RESET_EVENT,
                outcome="denied" if isinstance(exc, Forbidden) else "failure",
                actor=actor.id,
                client_address=address,
                target_ids=target,
                reason=str(exc.extra.get("reason", exc.code)),
            )
            raise
        self.mfa.disable(user.id)
        revoked = self.refresh_tokens.revoke_user(user.id)
        self.audit.log(
            MFA_RESET_EVENT,
            outcome="success",
            actor=actor.id,
            client_address=address,
            target_ids=target,
            revoked=revoked,
        )
        return self.get_user(user.id)

    def _set_active(self, user_id: str, *, active: bool) -> User:
        user = self.users.set_active(user_id, active)
        if user is None:
            raise NotFound("No user has this id.")
        return user

    def _set_roles(self, user_id: str, roles: tuple[str, ...]) -> User:
        user = self.users.set_roles(user_id, roles)
        if user is None:
            raise NotFound("No user has this id.")
        return user


def require_admin(actor: User) -> None:
    """Adapters guard their routes; the core refuses anyway (defence in depth)."""
    if not (actor.is_active and actor.is_admin):
        raise Forbidden()


__all__ = ["BULK_EVENT", "MFA_RESET_EVENT", "UPDATE_EVENT", "AdminService", "MfaReset"]
