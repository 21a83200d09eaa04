"""The Django app: add "secretrun.django" to INSTALLED_APPS.

- `python manage.py validate_secrets` runs `secretrun check` on the environment Django
  runs with, and reports in Django's style (exit 1 on errors).
- A deploy check (`python manage.py check --deploy`) fails when required secrets are
  missing or invalid, or when a test key is used with DEBUG = False.

Both read the project's secretrun.toml: settings.SECRETRUN_CONFIG, else
BASE_DIR/secretrun.toml, else secretrun's own lookup (./secretrun.toml). They talk to the
binary, never to the secrets: every message comes from secretrun, which never prints a
value.
"""

_MISSING = object()

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env(name, default=_MISSING, cast=None):
    """The variable `name` of the environment secretrun built, for settings.py.

    `SECRET_KEY = env("SECRET_KEY")`, `DEBUG = env("DEBUG", default=False, cast=bool)`,
    `ALLOWED_HOSTS = env("ALLOWED_HOSTS", default=["localhost"], cast=list)` (comma
    separated). Missing without a default, it raises ImproperlyConfigured saying to run
    Django through `secretrun --`, instead of the KeyError of `os.environ[...]`. A value
    that does not cast is named, never shown.
    """
    import os

    from django.core.exceptions import ImproperlyConfigured

    value = os.environ.get(name)
    if value is None:
        if default is _MISSING:
            raise ImproperlyConfigured(
                f"{name} is not set. Run Django through secretrun, which puts the project's "
                "secrets in its environment: `secretrun -- python manage.py runserver` "
                "(`secretrun list` shows what it would set, `secretrun check` what is wrong)."
            )
        return default
    if cast is None:
        return value
    if cast is bool:
        word = value.strip().lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
        raise ImproperlyConfigured(f"{name} is not a boolean (true or false, yes or no, on or off, 1 or 0)")
    if cast is list:
        return [part.strip() for part in value.split(",") if part.strip()]
    try:
        return cast(value)
    except (TypeError, ValueError):
        # Not chained: the cast's own message would quote the value.
        kind = getattr(cast, "__name__", "value")
        raise ImproperlyConfigured(f"{name} is not a valid {kind}") from None
