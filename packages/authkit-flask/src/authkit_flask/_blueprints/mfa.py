"""``/auth/mfa/totp/*``: TOTP enrolment, confirmation and removal."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from authkit_flask._api_models import RecoveryCodesOut, TotpSetupOut
from authkit_flask._blueprints.auth import client_address
from authkit_flask._decorators import current_principal, enrolment_allowed
from authkit_flask._openapi import api_operation
from authkit_flask._schemas import OtpBody, PasswordBody, SecondFactorBody, parse_body
from authkit_flask._state import get_state

mfa_blueprint = Blueprint("authkit_mfa", __name__, url_prefix="/auth/mfa/totp")


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


_TAGS = ("mfa",)


@mfa_blueprint.post("/setup")
@api_operation(
    "POST",
    summary="Start TOTP enrolment (re-authenticates with the password)",
    description="401 `invalid_credentials` for a wrong password; 409 when TOTP is already on.",
    tags=_TAGS,
    auth="enrolment",
    body=PasswordBody,
    responses={200: TotpSetupOut},
    errors=(409, 429),
    operation_id="totp_setup",
)
@enrolment_allowed
def setup() -> Response:
    body = parse_body(request, PasswordBody)
    enrolment = get_state().kit.mfa.setup(
        user=current_principal().user, password=body.password, address=client_address()
    )
    return _no_store(jsonify({"secret": enrolment.secret, "otpauth_uri": enrolment.otpauth_uri}))


@mfa_blueprint.post("/enable")
@api_operation(
    "POST",
    summary="Confirm TOTP enrolment with a first code; answers the recovery codes",
    tags=_TAGS,
    auth="enrolment",
    body=OtpBody,
    responses={200: RecoveryCodesOut},
    errors=(409, 429),
    operation_id="totp_enable",
)
@enrolment_allowed
def enable() -> Response:
    body = parse_body(request, OtpBody)
    codes = get_state().kit.mfa.enable(
        user=current_principal().user, otp=body.otp, address=client_address()
    )
    return _no_store(jsonify({"recovery_codes": codes}))


@mfa_blueprint.post("/disable")
@api_operation(
    "POST",
    summary="Switch TOTP off with a code or a recovery code",
    tags=_TAGS,
    auth="enrolment",
    body=SecondFactorBody,
    responses={204: "TOTP is off."},
    errors=(409, 429),
    operation_id="totp_disable",
)
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
