#!/usr/bin/env python3
"""The shape of src/, at every level of nesting: import cycles between sibling
modules, files over 600 lines, functions over 80 lines.

../shared/tools/arch.py looks only at the top-level modules; a circle inside
`source/` (store.rs -> azure/ -> gcp/ -> store.rs) passed it. Here every `use` is
resolved to the module it names, and each import is drawn between the two
siblings under the deepest module that holds both ends: `source::azure::credential`
importing `source::store::ParentEnv` is the arrow `azure -> store` inside `source`.
A module importing its own ancestor (a child's `super::`) is no arrow between
siblings and is not counted.

Usage: python3 scripts/arch.py src
"""
import os
import re
import sys
from collections import defaultdict

MAX_FILE, MAX_FN = 600, 80


def module_files(src):
    """Each module's path (a tuple of names) and its file."""
    found = {}
    for root, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs"):
                continue
            path = os.path.join(root, f)
            parts = os.path.relpath(path, src)[:-3].split(os.sep)
            if parts[-1] == "mod":
                parts = parts[:-1]
            if parts in (["main"], ["lib"]):
                parts = []
            found[tuple(parts)] = path
    return found


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def use_paths(text):
    """Every path a file names from the crate: `crate::a::b`, `super::c`, and each
    leaf of a `use` tree (`use crate::{a::{b, c}, d}`)."""
    paths = []
    for m in re.finditer(r"\buse\s+([^;]+);", text):
        paths.extend(expand(re.sub(r"\s+", "", m.group(1))))
    for m in re.finditer(r"(?<![:\w])((?:crate|super|self)(?:::[A-Za-z_]\w*)+)", text):
        paths.append(m.group(1))
    return paths


def expand(tree):
    """`a::{b,c::{d,e}}` -> a::b, a::c::d, a::c::e (`as` renames dropped)."""
    tree = re.sub(r"as\w+(?=[,}]|$)", "", tree.replace(" as ", "as"))
    brace = tree.find("{")
    if brace < 0:
        return [tree]
    prefix, inner = tree[:brace], tree[brace + 1 : tree.rfind("}")]
    out, depth, start = [], 0, 0
    for i, ch in enumerate(inner + ","):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "," and depth == 0:
            part = inner[start:i]
            start = i + 1
            if part:
                out.extend(prefix + p for p in expand(part))
    return out


def resolve(path, here, modules):
    """The deepest module that `path`, named in module `here`, reaches."""
    names = path.split("::")
    if names[0] == "crate":
        base, names = (), names[1:]
    elif names[0] in ("super", "self"):
        base = here
        while names and names[0] in ("super", "self"):
            if names[0] == "super":
                base = base[:-1]
            names = names[1:]
    else:
        return None
    target = base
    for name in names:
        if target + (name,) in modules:
            target = target + (name,)
        else:
            break
    return target


def sibling_edge(a, b):
    """The arrow between siblings that an import from `a` to `b` draws, or None when
    one holds the other."""
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    if n == len(a) or n == len(b):
        return None
    return a[:n], a[n], b[n]


def cycles(edges):
    """Strongly connected sets of more than one node (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in list(edges):
        if v not in index:
            strong(v)
    return found


def long_functions(lines):
    """(length, first line) of each function over MAX_FN lines, by brace matching."""
    out, i = [], 0
    fn = re.compile(r"\s*(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?fn\s+\w+")
    while i < len(lines):
        if fn.match(lines[i]) and not lines[i].rstrip().endswith(";"):
            depth, started, j = 0, False, i
            while j < len(lines):
                depth += lines[j].count("{") - lines[j].count("}")
                started = started or "{" in lines[j]
                if started and depth <= 0:
                    break
                j += 1
            if j - i + 1 > MAX_FN:
                out.append((j - i + 1, i + 1))
            i = j + 1 if started else i + 1
        else:
            i += 1
    return out


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "src"
    modules = module_files(src)
    edges = defaultdict(lambda: defaultdict(set))  # parent -> a -> {b}
    bad = []
    for here, path in sorted(modules.items()):
        text = open(path, encoding="utf-8", errors="replace").read()
        rel = os.path.relpath(path, src)
        lines = text.splitlines()
        if len(lines) > MAX_FILE:
            bad.append(f"{rel}: {len(lines)} lines (> {MAX_FILE})")
        for n, line in long_functions(lines):
            bad.append(f"fn at {rel}:{line}: {n} lines (> {MAX_FN})")
        for used in use_paths(strip_comments(text)):
            target = resolve(used, here, modules)
            edge = target is not None and sibling_edge(here, target)
            if edge:
                parent, a, b = edge
                edges[parent][a].add(b)
    found = 0
    for parent, graph in sorted(edges.items()):
        for circle in cycles(graph):
            found += 1
            where = "::".join(parent) or "crate"
            bad.append(f"import cycle inside {where}: " + " <-> ".join(circle))
    for b in bad:
        print("FAIL:", b)
    print(f"{len(modules)} modules; {found} cycles between siblings at any depth")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
