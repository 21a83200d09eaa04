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
