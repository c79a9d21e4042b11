# SPDX-License-Identifier: GPL-2.0
# Out-of-tree build of ve_drv.ko against a Rust-enabled kernel build tree.
#   make KDIR=<kernel build dir> [MO=<output dir>] LLVM=-22 RUSTC=... BINDGEN=...
# scripts/build-module.sh passes the same make arguments the kernel was built with, and one MO=
# directory per kernel configuration (the module must be built for each kernel it loads into).
KDIR ?= /lib/modules/$(shell uname -r)/build

all: modules

modules clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(if $(MO),MO=$(MO)) $@

.PHONY: all modules clean
