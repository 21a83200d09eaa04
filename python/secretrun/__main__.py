"""`python -m secretrun …`: runs the binary in this process's place."""

import os
import sys

from secretrun import find_secretrun_bin


def main() -> None:
    binary = find_secretrun_bin()
    os.execv(binary, [binary, *sys.argv[1:]])


if __name__ == "__main__":
    main()
