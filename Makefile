# SPDX-License-Identifier: GPL-2.0
# Out-of-tree build of ve_drv.ko against a Rust-enabled kernel build tree.
#   make KDIR=<kernel build dir> [MO=<output dir>] LLVM=-22 RUSTC=... BINDGEN=...
# scripts/build-module.sh passes the same make arguments the kernel was built with, and one MO=
# directory per kernel configuration (the module must be built for each kernel it loads into).
#
# Checks (scripts/test.sh runs each of them; all must pass):
#   make rustfmtcheck           the module's sources against the kernel's .rustfmt.toml
#                               (make rustfmt reformats them)
#   make KDIR=... clippy ...    the module built with clippy and the kernel's lint set
#                               (rust_common_flags: undocumented_unsafe_blocks, ...), warnings
#                               as errors; same make arguments as for modules
#   make shellcheck             the shell scripts
# and for editors:
#   make KDIR=... rust-analyzer ...   rust-project.json for the module (and the kernel's crates)
KDIR ?= /lib/modules/$(shell uname -r)/build

# Debian's rustfmt-web and rust-web-clippy (scripts/setup.sh), built from the same Rust 1.96 as
# the rustc-web that builds the kernel and the module.
RUSTFMT ?= /usr/bin/rustfmt
CLIPPY_DRIVER ?= /usr/bin/clippy-driver
SHELLCHECK ?= shellcheck

# rustfmt follows the `mod` declarations from the crate root.
rustfmt_flags = --edition 2021 --config-path $(CURDIR)/.rustfmt.toml
# Every shell script of the project; -x follows `source lib.sh` (.shellcheckrc).
SHELL_SCRIPTS = scripts/*.sh tests/guest/suites/*.sh tests/guest/init.sh .ci/run

all: modules

modules clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(if $(MO),MO=$(MO)) $@

rustfmt:
	$(RUSTFMT) $(rustfmt_flags) $(CURDIR)/src/ve_drv.rs

rustfmtcheck:
	$(RUSTFMT) $(rustfmt_flags) --check $(CURDIR)/src/ve_drv.rs

# Objects already built with the same command line passed before (with -Dwarnings), so an
# up-to-date build is a clean one; Kbuild rebuilds when the command changes (CLIPPY toggled).
clippy:
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(if $(MO),MO=$(MO)) CLIPPY=1 CLIPPY_DRIVER=$(CLIPPY_DRIVER) \
		KRUSTFLAGS=-Dwarnings modules

shellcheck:
	cd $(CURDIR) && $(SHELLCHECK) -x $(SHELL_SCRIPTS)

# The kernel writes rust-project.json for its own crates into the module's output directory;
# scripts/rust-project.py adds ve_drv (see there why) and writes ./rust-project.json.
rust-analyzer:
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(if $(MO),MO=$(MO)) $@
	$(CURDIR)/scripts/rust-project.py $(if $(MO),$(MO),$(CURDIR))/rust-project.json $(KDIR) \
		$(CURDIR) >$(CURDIR)/rust-project.json.tmp
	mv $(CURDIR)/rust-project.json.tmp $(CURDIR)/rust-project.json

.PHONY: all modules clean rustfmt rustfmtcheck clippy shellcheck rust-analyzer
