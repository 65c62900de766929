"""``/auth/mfa/totp/*``: TOTP enrolment, confirmation and removal."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from authkit_flask._blueprints.auth import client_address
from authkit_flask._decorators import current_principal, enrolment_allowed
from authkit_flask._schemas import OtpBody, PasswordBody, SecondFactorBody, parse_body
from authkit_flask._state import get_state

mfa_blueprint = Blueprint("authkit_mfa", __name__, url_prefix="/auth/mfa/totp")


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@mfa_blueprint.post("/setup")
@enrolment_allowed
def setup() -> Response:
    body = parse_body(request, PasswordBody)
    enrolment = get_state().kit.mfa.setup(
        user=current_principal().user, password=body.password, address=client_address()
    )
    return _no_store(jsonify({"secret": enrolment.secret, "otpauth_uri": enrolment.otpauth_uri}))


@mfa_blueprint.post("/enable")
@enrolment_allowed
def enable() -> Response:
    body = parse_body(request, OtpBody)
    codes = get_state().kit.mfa.enable(
        user=current_principal().user, otp=body.otp, address=client_address()
    )
    return _no_store(jsonify({"recovery_codes": codes}))


@mfa_blueprint.post("/disable")
@enrolment_allowed
def disable() -> tuple[str, int]:
    body = parse_body(request, SecondFactorBody)
    get_state().kit.mfa.disable(
        user=current_principal().user,
        otp=body.otp,
        recovery_code=body.recovery_code,
        address=client_address(),
    )
    return "", 204


__all__ = ["mfa_blueprint"]
