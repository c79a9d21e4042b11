#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The module's layering, checked on its source: which top-level modules of src/ each one uses
(`crate::<module>` paths outside comments), and the two rules of docs/design.md, "Layers":
- `sys` (the only unsafe code) uses nothing of the driver but the `core` files below it;
- the graph of top-level modules has no cycle.
Prints the graph; exits 1 on a broken rule."""

import os
import re
import sys

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
# What `sys` may use: `core` files with no dependency on the rest of the driver.
SYS_MAY_USE = {"extent", "uapi"}


def top_module(path):
    rel = os.path.relpath(path, SRC)
    head = rel.split(os.sep)[0]
    return head[:-3] if head.endswith(".rs") else head


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//.*", "", text)


def uses(text):
    code = strip_comments(text)
    found = set(re.findall(r"\bcrate::(\w+)", code))
    # `use crate::{a, b::{..}, ..}`: the first name of each item at the group's top level.
    for m in re.finditer(r"\buse\s+crate::\{", code):
        depth, item_start = 0, True
        for tok in re.findall(r"\w+|[{},]|::", code[m.end():]):
            if tok == "{":
                depth += 1
            elif tok == "}":
                if depth == 0:
                    break
                depth -= 1
            elif tok == ",":
                item_start = depth == 0
            elif item_start and depth == 0 and tok != "::":
                found.add(tok)
                item_start = False
    return found


def main():
    graph = {}
    for root, _, files in os.walk(SRC):
        for f in files:
            if f.endswith(".rs"):
                path = os.path.join(root, f)
                mod = top_module(path)
                if mod == "ve_drv":
                    continue
                with open(path, encoding="utf-8") as fh:
                    deps = uses(fh.read())
                graph.setdefault(mod, set()).update(d for d in deps if d != mod)
    mods = set(graph)
    for mod in graph:
        # `module_parameters` and the like are the crate root's.
        graph[mod] &= mods
    ok = True
    for mod in sorted(graph):
        print(f"# {mod} -> {', '.join(sorted(graph[mod])) or '-'}")
    bad = graph.get("sys", set()) - SYS_MAY_USE
    if bad:
        print(f"sys uses driver modules: {', '.join(sorted(bad))}")
        ok = False
    # Cycles: depth-first search with colours.
    colour, stack = {}, []

    def visit(m):
        nonlocal ok
        colour[m] = 1
        stack.append(m)
        for d in sorted(graph[m]):
            if colour.get(d) == 1:
                print(f"cycle: {' -> '.join(stack[stack.index(d):] + [d])}")
                ok = False
            elif d not in colour:
                visit(d)
        stack.pop()
        colour[m] = 2

    for m in sorted(graph):
        if m not in colour:
            visit(m)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
