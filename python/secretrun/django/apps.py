from django.apps import AppConfig


class SecretrunConfig(AppConfig):
    name = "secretrun.django"
    # Not "django": that label would read as Django's own.
    label = "secretrun"
    verbose_name = "secretrun"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the deploy check)
