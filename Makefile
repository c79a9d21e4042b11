# SPDX-License-Identifier: GPL-2.0
# Out-of-tree build of ve_drv.ko against a Rust-enabled kernel build tree.
#   make KDIR=<kernel build dir> LLVM=-22 RUSTC=... BINDGEN=...
# scripts/build-module.sh passes the same make arguments the kernel was built with.
KDIR ?= /lib/modules/$(shell uname -r)/build

all: modules

modules clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) $@

.PHONY: all modules clean
