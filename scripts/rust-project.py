#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Adds the ve_drv crate to the rust-project.json the kernel writes for an external module.

The kernel's scripts/generate_rust_analyzer.py takes as crate roots only the .rs files whose
own directory holds a Kbuild or Makefile naming them; ve_drv's root, src/ve_drv.rs, is named by
the Kbuild one level up, so the kernel's file describes the kernel's crates only. This appends
ve_drv as the script does for an in-tree driver: the kernel's cfgs, and core, kernel, pin_init,
zerocopy and zerocopy_derive as dependencies.

Usage: scripts/rust-project.py KERNEL_RUST_PROJECT_JSON KDIR REPO > rust-project.json
"""
import json
import pathlib
import sys


def main() -> None:
    project_json, kdir, repo = (pathlib.Path(a) for a in sys.argv[1:4])
    project = json.loads(project_json.read_text())
    crates = project["crates"]
    if any(c["display_name"] == "ve_drv" for c in crates):
        json.dump(project, sys.stdout, sort_keys=True, indent=4)
        return
    index = {c["display_name"]: i for i, c in enumerate(crates)}
    deps = [
        {"crate": index[name], "name": name}
        for name in ("core", "kernel", "pin_init", "zerocopy", "zerocopy_derive")
        if name in index
    ]
    cfg = [
        line.strip().removeprefix("--cfg=")
        for line in (kdir / "include" / "generated" / "rustc_cfg").read_text().splitlines()
        if line.strip()
    ]
    crates.append({
        "display_name": "ve_drv",
        "root_module": str(repo / "src" / "ve_drv.rs"),
        "is_workspace_member": True,
        "deps": deps,
        "cfg": cfg,
        "edition": "2021",
        "env": {"RUST_MODFILE": "This is only for rust-analyzer"},
    })
    json.dump(project, sys.stdout, sort_keys=True, indent=4)


if __name__ == "__main__":
    main()
