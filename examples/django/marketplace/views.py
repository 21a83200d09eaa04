"""One page: which settings are configured, and in which Stripe mode. Never a value."""
from django.conf import settings
from django.http import HttpResponse

SETTINGS = ["SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"]


def stripe_mode(key):
    for mode in ("live", "test"):
        if key.startswith((f"sk_{mode}_", f"pk_{mode}_", f"rk_{mode}_")):
            return f" ({mode} mode)"
    return ""


def configuration(request):
    lines = []
    for name in SETTINGS:
        value = getattr(settings, name, "")
        state = "configured" + stripe_mode(value) if value else "missing"
        lines.append(f"{name}: {state}")
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    lines.append(f"DATABASE_URL: configured ({engine})")
    lines.append(f"DEBUG: {settings.DEBUG}")
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain")
