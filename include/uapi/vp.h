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

/* Entries per block call: maxpages is clamped to this. */
#define VP_MAXBULK 100

/* One page: 32 bytes. */
struct vp {
	pid_t pid;	/* in: target process, in the caller's pid namespace; 0: the caller;
			 * another process only if the caller may ptrace it (else EPERM) */
	int write;	/* in: nonzero if the device will write the page */
	int pfnmap;	/* out: 1 for a VM_PFNMAP page (translated, not pinned) */
	uint64_t virt;	/* in: virtual address */
	uint64_t phys;	/* out: physical address of virt */
};

/* A block of up to VP_MAXBULK pages: 48 bytes. */
struct vp_blk {
	pid_t pid;		/* in: target process (as in struct vp) */
	int write;		/* in: nonzero if the device will write */
	uint64_t vaddr;		/* in: start address */
	uint64_t length;	/* in: bytes wanted; out: bytes covered from vaddr */
	uint64_t *paddr;	/* in: array of maxpages entries; out: page-base addresses */
	uint32_t npages;	/* out: entries written */
	uint32_t maxpages;	/* in: capacity of paddr (clamped to VP_MAXBULK) */
	int pfnmap;		/* out: 1 for a VM_PFNMAP range (translated, not pinned) */
	int pgsz;		/* out: bytes per entry, 4096 or 2 MiB */
};

#endif /* _UAPI_VP_H */
