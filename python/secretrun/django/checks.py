"""The deploy check: `python manage.py check --deploy` fails when the secrets the
project's secretrun.toml asks for are missing or invalid, or when a test key is used
with DEBUG = False (a production deploy must use live keys). With SECRETRUN_PROFILE
set, the profile's `expect` says which keys (secretrun reads the variable itself)."""

import os

from django.conf import settings
from django.core import checks

from .report import SecretrunFailed, check


@checks.register(checks.Tags.security, deploy=True)
def secrets_check(app_configs=None, **kwargs):
    expect = None if settings.DEBUG or os.environ.get("SECRETRUN_PROFILE") else "live"
    try:
        report = check(expect=expect)
    except (SecretrunFailed, FileNotFoundError) as e:
        return [checks.Error(f"secretrun could not check the secrets: {e}", id="secretrun.E002")]
    found = [checks.Error(message, id="secretrun.E001") for message in report.errors]
    found += [checks.Warning(message, id="secretrun.W001") for message in report.warnings]
    return found
