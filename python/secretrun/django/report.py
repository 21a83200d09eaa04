"""Running `secretrun check --environment --format json` and reading its report."""

import json
import os
import subprocess
from dataclasses import dataclass, field
from typing import List, Optional

from django.conf import settings

from secretrun import find_secretrun_bin


class SecretrunFailed(Exception):
    """secretrun could not check (no binary, a bad config, an unreachable probe)."""


@dataclass
class Report:
    status: int
    ok: bool
    errors: List[str] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)
    keys: List[str] = field(default_factory=list)
    unprobed: int = 0


def config_path() -> Optional[str]:
    """settings.SECRETRUN_CONFIG, else BASE_DIR/secretrun.toml when it exists."""
    configured = getattr(settings, "SECRETRUN_CONFIG", None)
    if configured:
        return os.fspath(configured)
    base = getattr(settings, "BASE_DIR", None)
    if base is not None:
        candidate = os.path.join(os.fspath(base), "secretrun.toml")
        if os.path.isfile(candidate):
            return candidate
    return None


def check(
    probe: bool = False, expect: Optional[str] = None, profile: Optional[str] = None
) -> Report:
    """Checks the environment this process runs with, as the app sees it."""
    args = [find_secretrun_bin(), "check", "--environment", "--format", "json"]
    config = config_path()
    if config:
        args += ["--config", config]
    if probe:
        args.append("--probe")
    if expect:
        args += ["--expect", expect]
    if profile:
        args += ["--profile", profile]
    # The environment is inherited as it is: it is what is checked. The values stay
    # in the child's environment, never in argv.
    done = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        doc = json.loads(done.stdout)
    except ValueError:
        raise SecretrunFailed(done.stderr.strip() or f"secretrun exited {done.returncode}")
    return Report(
        status=done.returncode,
        ok=bool(doc.get("ok")),
        errors=[f["message"] for f in doc.get("errors", [])],
        warnings=[f["message"] for f in doc.get("warnings", [])],
        keys=[
            f'{v["name"]}: {v["provider"]} {v["kind"]}' + (f' ({v["mode"]})' if v.get("mode") else "")
            for v in doc.get("variables", [])
            if v.get("provider")
        ],
        unprobed=int(doc.get("unprobed", 0)),
    )

