"""Writes a tree of source-like text files for bench/scan.sh, with a few secrets
planted. Usage: make_tree.py DIR MEGABYTES. Prints the planted places, one a line.
STYLE=words (the default) writes lines of common words; STYLE=ident writes text
dense in runs of base64's alphabet, as minified code and lock files are: identifiers
of mixed case and digits, 3 to 40 characters, between punctuation.

The planted values are made up (none is a real key); the configured ones are also
written to DIR/../bench-scan.env, outside the tree, for secretrun's config."""

import base64
import os
import random
import sys
import urllib.parse

root, megabytes = sys.argv[1], int(sys.argv[2])
random.seed(7)
words = [
    "def", "return", "self", "import", "class", "value", "config", "request", "user",
    "for", "in", "if", "else", "None", "True", "False", "data", "result", "items",
    "print", "logger", "response", "session", "cache", "client", "server", "path",
]
db_password = "pw-Bench-7Hq2xLm9Kz/!"  # "/!" encodes differently in a URL
stripe_live = "sk_live_" + "".join(random.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789") for _ in range(24))
plants = {
    "plain": f"DATABASES = {{'PASSWORD': '{db_password}'}}",
    "base64": "auth: " + base64.b64encode(f"app:{db_password}".encode()).decode(),
    "url": "url = 'postgres://app:" + urllib.parse.quote(db_password, safe="") + "@db/app'",
    "shape": f"stripe.api_key = '{stripe_live}'",
}
files = max(1, megabytes * 1024 // 50)  # about 50 KiB each
chosen = dict(zip(plants, random.sample(range(files), len(plants))))
alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
ident = lambda: "".join(random.choice(alnum) for _ in range(random.randint(3, 40)))
if os.environ.get("STYLE", "words") == "ident":
    line = lambda: "".join(ident() + random.choice(".(),=:;/ _-") for _ in range(random.randint(4, 14)))
else:
    line = lambda: " ".join(random.choice(words) for _ in range(random.randint(4, 14)))
block = "\n".join(line() for _ in range(2000)) + "\n"
for i in range(files):
    d = os.path.join(root, f"pkg{i // 500:03d}")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, f"mod{i:05d}.py")
    with open(path, "w") as f:
        offset = random.randrange(len(block) // 2)
        text = block[offset:] + block[:offset]
        f.write(text[: 50 * 1024])
        for kind, at in chosen.items():
            if at == i:
                f.write("\n" + plants[kind] + "\n")
                print(f"{kind} {path}")
with open(os.path.join(root, "..", "bench-scan.env"), "w") as f:
    f.write(f"DB_PASSWORD={db_password}\nSTRIPE_SECRET_KEY=sk_live_ConfiguredBench0123456789\n")
with open(os.path.join(root, "..", "bench-scan.values"), "w") as f:
    f.write(f"{db_password}\nsk_live_ConfiguredBench0123456789\n")
