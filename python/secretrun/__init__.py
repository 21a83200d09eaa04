"""secretrun for Python: the launcher's binary, installed with this package, and the
Django app `secretrun.django`. Nothing here handles a secret: it finds the binary and
runs it; the binary fetches, checks and never prints a value."""

import os
import shutil
import sys
import sysconfig

__all__ = ["find_secretrun_bin"]


def find_secretrun_bin() -> str:
    """The path of the `secretrun` binary this package installed.

    The wheel puts it in the scripts directory of the environment it was installed
    into (a virtualenv's `bin/`, or the user scheme's with `pip install --user`);
    failing those, the first `secretrun` on PATH.
    """
    name = "secretrun" + (sysconfig.get_config_var("EXE") or "")
    schemes = [sysconfig.get_default_scheme()]
    user = f"{os.name}_user"
    if user in sysconfig.get_scheme_names():
        schemes.append(user)
    for scheme in schemes:
        path = os.path.join(sysconfig.get_path("scripts", scheme), name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    # Beside the running interpreter (a virtualenv used without activating it).
    beside = os.path.join(os.path.dirname(sys.executable), name)
    if os.path.isfile(beside) and os.access(beside, os.X_OK):
        return beside
    found = shutil.which(name)
    if found:
        return found
    raise FileNotFoundError(
        "the secretrun binary was not found: reinstall the package (pip install secretrun)"
    )
