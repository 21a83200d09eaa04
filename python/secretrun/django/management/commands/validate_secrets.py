"""`python manage.py validate_secrets`: every secret present, every key well formed,
live keys warned of, and with `--test-stripe` each Stripe key proven against Stripe.
What runs is `secretrun check` on the environment Django runs with."""

import json

from django.core.management.base import BaseCommand, CommandError

from secretrun.django.report import SecretrunFailed, check


class Command(BaseCommand):
    help = (
        "Check the secrets this app runs with against secretrun.toml: present, well "
        "formed, live or test as expected; --test-stripe also asks Stripe."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--test-stripe",
            action="store_true",
            help="Prove each Stripe secret key works (GET /v1/balance).",
        )
        parser.add_argument(
            "--expect",
            choices=["live", "test"],
            help="Which kind of keys this deployment must use; the other kind is an error.",
        )
        parser.add_argument(
            "--profile",
            help="The profile of secretrun.toml to check against (default: SECRETRUN_PROFILE).",
        )
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args, **options):
        try:
            report = check(
                probe=options["test_stripe"],
                expect=options["expect"],
                profile=options["profile"],
            )
        except (SecretrunFailed, FileNotFoundError) as e:
            raise CommandError(f"secretrun could not check the secrets: {e}")
        if options["format"] == "json":
            doc = {
                "ok": report.ok,
                "errors": report.errors,
                "warnings": report.warnings,
                "keys": report.keys,
                "unprobed": report.unprobed,
            }
            self.stdout.write(json.dumps(doc, indent=2))
        else:
            self._text(report)
        if report.errors:
            raise CommandError(
                f"{len(report.errors)} secret{'s' if len(report.errors) != 1 else ''} "
                "failed validation"
            )
        if report.unprobed:
            raise CommandError(f"{report.unprobed} key(s) could not be verified")

    def _text(self, report):
        for key in report.keys:
            self.stdout.write(f"  {key}")
        for message in report.errors:
            self.stderr.write(self.style.ERROR(f"ERROR: {message}"))
        for message in report.warnings:
            self.stderr.write(self.style.WARNING(f"WARNING: {message}"))
        if not report.errors and not report.unprobed:
            self.stdout.write(self.style.SUCCESS("Secrets OK."))
