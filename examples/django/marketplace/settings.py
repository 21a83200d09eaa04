"""Settings read from the environment secretrun builds: no secret lives in this file.

Behind a proxy that terminates TLS (Railway, Heroku, a load balancer), requests carry
X-Forwarded-Proto; the security settings below are those `check --deploy` asks for.
"""
from pathlib import Path
from urllib.parse import urlparse

# Reads the environment secretrun built; a missing variable says to run through
# `secretrun --` (the KeyError of os.environ[...] said nothing of it).
from secretrun.django import env

# Where secretrun.django finds the project's secretrun.toml.
BASE_DIR = Path(__file__).resolve().parent.parent


def database(url):
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        name = parsed.path[1:] if parsed.path.startswith("/") else parsed.path
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": name or ":memory:"}
    if parsed.scheme in {"postgres", "postgresql"}:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": parsed.path.lstrip("/"),
            "USER": parsed.username or "",
            "PASSWORD": parsed.password or "",
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
        }
    raise ValueError(f"unsupported DATABASE_URL scheme: {parsed.scheme}")


SECRET_KEY = env("SECRET_KEY")
DEBUG = env("DEBUG", default=False, cast=bool)
ALLOWED_HOSTS = env("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"], cast=list)

STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="")

DATABASES = {"default": database(env("DATABASE_URL"))}

# secretrun's app (from `pip install secretrun`): `manage.py validate_secrets`, and a
# deploy check that fails on missing secrets or a test key with DEBUG = False.
INSTALLED_APPS = ["marketplace", "secretrun.django"]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "marketplace.urls"
USE_TZ = True

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = not DEBUG
SECURE_HSTS_SECONDS = 0 if DEBUG else 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
X_FRAME_OPTIONS = "DENY"
