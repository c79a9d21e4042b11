/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libvedma: VEOS 3.5's DMA manager API (the names, signatures, types, status values, option
 * bits and address-type numbers of src/veos/dma/dma.h of veos-sxarr-NEC/veos), implemented over
 * ve_drv's in-kernel DMA manager (VE_DMA_IOC_SUBMIT, VE_DMA_IOC_WAIT, VE_DMA_IOC_CANCEL of
 * include/uapi/ve_drv.h). Written by this project (lib/vedma, Rust with a C ABI); a VEOS build
 * links libvedma.a (or libvedma.so) in place of its own src/veos/dma and ve1/src/veos/dma.
 *
 * DOC: Symbols the library calls back
 *
 * The library resolves these symbols from the program it is linked into (VEOS and libved; the
 * test program tests/guest/c/ve_dma_api_test.c has doubles of them). It calls nothing else of
 * VEOS's, and it never touches the engine's registers (the kernel owns the engine).
 *
 * - int vedl_get_fd(const vedl_handle *handle) (libved): once, in ve_dma_open_p, for the file
 *   of the card VEOS opened. The library submits on that file and nothing else: ve_drv allows one
 *   open file per thread (a second open() by the same thread is EBUSY), kernel requests belong
 *   to the file that submitted them, and any thread may wait on them. The file stays VEOS's:
 *   ve_dma_close_p does not close it. The file's in-kernel DMA requests are the library's while
 *   a handle is open: its completion thread collects any request of the file (VEOS itself makes
 *   none but through this API).
 * - int64_t veos_virt_to_phy(vemva_t vaddr, pid_t pid, bool inc_ref, int *prot) (VEOS AMM,
 *   amm_api.h): for VE_DMA_VEMVA and VE_DMA_VEMVA_WO_PROT_CHECK, once per 2 MiB VE page of the
 *   range, with inc_ref = 1, as VEOS's dma_reqlist.c does: the VE physical page and a reference
 *   on it, so that VEOS cannot free or swap the page while the engine may reach it. prot is
 *   checked as VEOS does (PROT_NONE: EACCES; PROT_READ for a VE_DMA_VEMVA destination: EACCES;
 *   unknown: EINVAL); a negative return fails the post with its errno.
 * - int veos_put_page(vemaa_t paddr) (VEOS AMM): once for every reference taken above, when the
 *   request has ended (every kernel request of it collected: finished, failed or cancelled) or
 *   its post failed. veos_get_page is not called: each page is translated once per post.
 * - int ve_put_ipc_sync(struct ve_ipc_sync *) (VEOS, veos_ipc.h): a non-NULL ipc_sync passed to
 *   ve_dma_post_p_va_with_opt carries a reference that the DMA manager drops (vhve.c: "ipc_sync
 *   will be put in DMA Manager"); the library drops it once, when the post fails or the request
 *   ends, as VEOS's manager does.
 *
 * Symbols the library defines besides the API: ve1_dma_* and ve3_dma_* (17 each: ve1_dma_intr,
 * ve1_dma_pin_blk, ...), the architecture DMA hooks of VEOS's own manager that VEOS's generated
 * architecture tables (arch_ops.c) name. Only VEOS's replaced DMA code calls them; they exist so
 * that VEOS links without its DMA archives, and abort if ever called.
 *
 * struct ve_ipc_sync (swap exclusion): the library uses the struct's fields as VEOS's own
 * manager does (there is no VEOS function for it): at post, under swap_exclusion_lock, it waits
 * on swapping_cond while swapping is nonzero and then counts the request in handling_request;
 * when the request ends it decrements handling_request, signals handling_request_cond when it
 * reaches 0, and calls ve_put_ipc_sync. The layout is that of VEOS 3.5's veos_ipc.h.
 *
 * Semantics: a post returns its handle once the request's kernel requests are submitted (the
 * kernel returns from SUBMIT once the descriptors are handed to the engine); at most
 * VE_DMA_MAX_REQUESTS (64) kernel requests of the file are out at once, a post beyond that waits
 * for a slot rather than fail. VHVA <-> VEMAA, VHSAA <-> VEMAA, VERAA (VE1_DMA_VERAA, 4) <->
 * VHVA/VHSAA and VEMAA -> VEMAA are one kernel request each; VHVA/VHSAA <-> VEMVA are VE extent
 * lists of at most VE_DMA_MAX_EXTENTS, several kernel requests when longer; VHVA -> VHVA is
 * copied in user space (process_vm_readv/process_vm_writev) before the post returns. A request
 * with vh_sock_fd >= 0 is cancelled when that socket hangs up (POLLRDHUP, checked every 50 ms).
 * Errors of a post (NULL, errno): EINVAL (alignment, length, address types or a pair the
 * library does not do), the errnos of veos_virt_to_phy, EACCES, process_vm_readv/writev's, and
 * the kernel's SUBMIT errnos (docs: include/uapi/ve_drv.h).
 */
#ifndef VE_VEOS_DMA_H
#define VE_VEOS_DMA_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* libved's handle (libved.h declares it the same way) */
struct vedl_handle_struct;
typedef struct vedl_handle_struct vedl_handle;

struct ve_ipc_sync;
struct ve_dma_hdl_struct;
typedef struct ve_dma_hdl_struct ve_dma_hdl;

struct ve_dma_req_hdl_struct;
typedef struct ve_dma_req_hdl_struct ve_dma_req_hdl;

typedef unsigned int ve_dma_addrtype_t;
#define VE_DMA_VEMVA (0)               /* VE virtual address, translated through VEOS AMM */
#define VE_DMA_VEMVA_WO_PROT_CHECK (1) /* VEMVA without the write-protection check */
#define VE_DMA_VHVA (2)                /* VH virtual address of a pid */
#define VE_DMA_VEMAA (3)               /* VE memory (physical) */
/* VE1's VE register space (VEOS's ve1/src/veos/dma/dma_ve1.h defines it the same way) */
#ifndef VE1_DMA_VERAA
#define VE1_DMA_VERAA (4)
#endif
#define VE_DMA_VHSAA (5)               /* VH bus (PCI) address */

typedef enum ve_dma_status {
	VE_DMA_STATUS_OK = 0,
	VE_DMA_STATUS_NOT_FINISHED,
	VE_DMA_STATUS_TIMEDOUT,
	VE_DMA_STATUS_CANCELED,
	VE_DMA_STATUS_ERROR,
} ve_dma_status_t;

#define VE_DMA_OPT_SYNC 0x0000000000000001     /* descriptor SYNC bit */
#define VE_DMA_OPT_RO 0x0000000000000002       /* PCIe relaxed ordering */
#define VE_DMA_OPT_IDO 0x0000000000000004      /* PCIe ID-based ordering */
#define VE_DMA_OPT_SYNC_API 0x0000000000000008 /* posted from a synchronous API */

ve_dma_hdl *ve_dma_open_p(vedl_handle *);
int ve_dma_close_p(ve_dma_hdl *);

ve_dma_req_hdl *ve_dma_post_p_va_with_opt(ve_dma_hdl *, ve_dma_addrtype_t, pid_t, uint64_t,
					  ve_dma_addrtype_t, pid_t, uint64_t, uint64_t, uint64_t,
					  int, struct ve_ipc_sync *);
ve_dma_req_hdl *ve_dma_post_p_va(ve_dma_hdl *, ve_dma_addrtype_t, pid_t, uint64_t,
				 ve_dma_addrtype_t, pid_t, uint64_t, uint64_t);
ve_dma_status_t ve_dma_xfer_p_va(ve_dma_hdl *, ve_dma_addrtype_t, pid_t, uint64_t,
				 ve_dma_addrtype_t, pid_t, uint64_t, uint64_t);

ve_dma_status_t ve_dma_test(ve_dma_req_hdl *);
ve_dma_status_t ve_dma_wait(ve_dma_req_hdl *);
ve_dma_status_t ve_dma_timedwait(ve_dma_req_hdl *, const struct timespec *);
int ve_dma_req_free(ve_dma_req_hdl *);
void ve_dma_terminate_all(ve_dma_hdl *);
int ve_dma_is_busy(const ve_dma_hdl *);

#ifdef __cplusplus
}
#endif

#endif /* VE_VEOS_DMA_H */
