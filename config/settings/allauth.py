"""django-allauth: email accounts with verification, TOTP MFA, and the headless app API."""

from __future__ import annotations

from config.env import env

# https://docs.allauth.org/en/latest/account/configuration.html
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
# Mandatory everywhere by default; demo users are created already verified.
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
# A short code instead of a link, so programs using the headless API can verify too.
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Agora] "

# https://docs.allauth.org/en/latest/mfa/configuration.html
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Agora"

# https://docs.allauth.org/en/latest/headless/configuration.html
# The app client (X-Session-Token) is what API.md documents for programs; the browser client
# serves a future single-page front end on the same session cookie.
HEADLESS_CLIENTS = ("app", "browser")
HEADLESS_ONLY = False
