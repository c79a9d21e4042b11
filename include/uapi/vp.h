/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vp.h: NEC's VH page translation structures (vp-kmod v3.6), byte for byte, so that libved and
 * VEOS compile unchanged against this driver. Used by the ioctls in ve_drv.h.
 */
#ifndef _UAPI_VP_H
#define _UAPI_VP_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#endif

/**
 * VP_MAXBULK - most entries one block call answers or releases: &struct vp_blk's maxpages is
 * clamped to it, and &struct ve_vp_blk_release's npages may not exceed it.
 */
#define VP_MAXBULK 100

/**
 * struct vp - one page to translate (32 bytes).
 * @pid: in: the target process, in the caller's pid namespace; 0: the caller. Another process
 *	only if the caller may ptrace it (else EPERM).
 * @write: in: nonzero if the device will write the page.
 * @pfnmap: out: 1 for a VM_PFNMAP page (translated, not pinned; this driver refuses such
 *	mappings, so 0).
 * @virt: in: the virtual address.
 * @phys: out: the physical address of @virt (its page's address plus the offset in the page).
 */
struct vp {
	pid_t pid;
	int write;
	int pfnmap;
	uint64_t virt;
	uint64_t phys;
};

/**
 * struct vp_blk - a block of up to VP_MAXBULK pages to translate (48 bytes).
 * @pid: in: the target process, as in &struct vp.
 * @write: in: nonzero if the device will write the pages.
 * @vaddr: in: start address.
 * @length: in: bytes wanted from @vaddr; out: bytes covered from @vaddr (the answer stops at the
 *	end of the mapping and after @npages entries).
 * @paddr: in: user pointer to an array of @maxpages entries; out, through it: the physical
 *	address of each entry's page base (add @vaddr modulo @pgsz to the first).
 * @npages: out: entries written to @paddr.
 * @maxpages: in: capacity of @paddr (clamped to VP_MAXBULK).
 * @pfnmap: out: 1 for a VM_PFNMAP range (translated, not pinned; this driver refuses such
 *	mappings, so 0).
 * @pgsz: out: bytes per entry, 4096 or 2 MiB.
 */
struct vp_blk {
	pid_t pid;
	int write;
	uint64_t vaddr;
	uint64_t length;
	uint64_t *paddr;
	uint32_t npages;
	uint32_t maxpages;
	int pfnmap;
	int pgsz;
};

#endif /* _UAPI_VP_H */
