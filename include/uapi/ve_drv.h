/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * ve_drv: user ABI of /dev/veN for VEOS, libved and tools.
 *
 * NEC's ioctls keep NEC's magic, numbers and layouts (upstream ve_drv-kmod v3.5); they are added
 * by the pinning and DMA issues. Every NEC ioctl this driver does not implement returns ENOTTY.
 * This driver's own ioctls use the same magic with numbers from VE_DRV_NR_BASE (0x80) on.
 *
 * The Rust twin of this header is src/uapi.rs; tests/host checks both agree byte for byte.
 */
#ifndef _UAPI_VE_DRV_H
#define _UAPI_VE_DRV_H

#include <linux/ioctl.h>
#include <linux/types.h>

#include "vp.h"

#define VE_IOC_MAGIC		0xF5
/*
 * NEC's translation and pinning ioctls (upstream ve_drv-kmod v3.5), byte for byte. NEC uses _IOR
 * for commands that pass data into the kernel. All need CAP_SYS_ADMIN.
 *
 * Pins are kept per card and per pd_list; they outlive the file and the target process until
 * released by physical address, by block or all at once. A pinned entry is one page of the
 * reported size: 4 KiB, or a 2 MiB unit of a huge page (hugetlb 2 MiB or 1 GiB, THP, any large
 * folio) when every 2 MiB unit of the range is one 2 MiB-aligned physically contiguous run that
 * lies in one folio of at least 2 MiB (so the pins hold the whole unit; a split THP or adjacent
 * small pages give 4 KiB entries). A release by address takes the entry that answered that
 * address: an address on a 2 MiB boundary releases a 2 MiB entry of that unit if one is held,
 * else a 4 KiB entry of that page; any other address a 4 KiB entry of its page.
 *
 * The translation-only calls (VHVA_TO_VSAA, VHVA_TO_VSAA_BLK) hold the pages by plain reference
 * for the call only, never with FOLL_WRITE or a pin, even with write set: they neither break nor
 * unshare copy-on-write and do not dirty the page, and answer with the page mapped now (EFAULT if
 * write is set and the mapping is not writable). The _PIN_DOWN calls with write break COW first,
 * as the device will write.
 *
 * Another process (pid not the caller's) may only be translated or pinned if the caller may
 * ptrace it, as for process_vm_writev(): the caller's real uid and gid equal the target's, or it
 * has CAP_SYS_PTRACE; and the target is dumpable, or the caller has CAP_SYS_PTRACE. Otherwise
 * EPERM (where the kernel's mm_access() says EACCES, this driver, like process_vm_writev(), says
 * EPERM). This also holds for the DMA manager's pid (VE_DMA_IOC_XFER, VE_DMA_IOC_SUBMIT): their
 * EPERM covers it too.
 *
 * Errors common to all: EPERM (no CAP_SYS_ADMIN), EFAULT (bad argument pointer), EINVAL (bad
 * pd_list type). Translation: ESRCH (no such pid), EPERM (the caller may not ptrace the target pid,
 * above), EINTR (a fatal signal while the target was in an exec), EFAULT (address not mapped, a
 * kernel address, a write to a read-only mapping, or a long-term write pin (the _PIN_DOWN variants)
 * of a shared mapping of a file that needs writeback tracking, such as ext2/4 or xfs: GUP refuses
 * it, where NEC's page references accepted it), EINVAL (length or maxpages 0, address + length
 * overflows), EOPNOTSUPP (a VM_PFNMAP or VM_IO mapping: NEC translates those without pinning; not
 * supported here yet), ENOMEM (RLIMIT_MEMLOCK exceeded without CAP_IPC_LOCK; nothing pinned). pid 0
 * means the caller (an extension: NEC needs a real pid).
 * Release: EINVAL (npages < 0 or > VP_MAXBULK), ENOENT (an address that is not pinned on that
 * list; the entries before it are released).
 */
enum pd_list {
	OS_LIST = 0,	/* VEOS */
	TD_LIST,	/* MMM, T&D tools */
	NR_PD_LIST,
};

struct ve_vp {
	enum pd_list type;
	struct vp vp_info;
};

struct ve_vp_blk {
	enum pd_list type;
	struct vp_blk vp_info;
};

struct ve_vp_blk_release {
	enum pd_list type;
	int npages;		/* 0..VP_MAXBULK */
	uint64_t *addr;		/* addresses as returned in vp_blk.paddr */
};

struct ve_vp_release {
	enum pd_list type;
	unsigned long addr;	/* RELEASE_PD_PAGE only */
};

#define VEDRV_CMD_VHVA_TO_VSAA			_IOWR(VE_IOC_MAGIC, 3, struct ve_vp)
#define VEDRV_CMD_VHVA_TO_VSAA_PIN_DOWN		_IOWR(VE_IOC_MAGIC, 14, struct ve_vp)
#define VEDRV_CMD_RELEASE_PD_PAGE		_IOR(VE_IOC_MAGIC, 15, struct ve_vp_release)
#define VEDRV_CMD_RELEASE_PD_PAGE_ALL		_IOR(VE_IOC_MAGIC, 16, struct ve_vp_release)
#define VEDRV_CMD_VHVA_TO_VSAA_BLK		_IOWR(VE_IOC_MAGIC, 22, struct ve_vp_blk)
#define VEDRV_CMD_VHVA_TO_VSAA_BLK_PIN_DOWN	_IOWR(VE_IOC_MAGIC, 23, struct ve_vp_blk)
#define VEDRV_CMD_RELEASE_PD_PAGE_BLK		_IOR(VE_IOC_MAGIC, 24, struct ve_vp_blk_release)
/* Returns the number of entries held on the list as the ioctl's value. */
#define VEDRV_CMD_COUNT_PD_PAGE_ALL		_IOR(VE_IOC_MAGIC, 25, struct ve_vp_release)

/*
 * VEDRV_CMD_WAIT_INTR (both forms): waits until one of the requested interrupt bits is caught or
 * the timeout passes; reports and clears the caught bits, returns 0. This driver reports the
 * privileged DMA interrupt (VE1: bit 48 of lower; VE3: bit 0 of upper). CAP_SYS_ADMIN.
 * Errors: EPERM, EFAULT, EINVAL (negative timeout), ETIMEDOUT, EINTR (a signal; the call is
 * restarted, with its whole timeout, after a handler installed with SA_RESTART), ENODEV.
 *
 * mmap of the system-common registers (VE1: file offset 0x11000000, up to 2 MiB; VE3: 0x200000,
 * up to 1 MiB), uncached, for a user-space DMA manager (VEOS), only with the module parameter
 * user_pdma=1. The mapping takes the privileged DMA engine from the in-kernel manager (which
 * answers EBUSY until then) for as long as it exists: unmapping it (or the death of its process)
 * gives the engine back, and VE_DRV_IOC_RECLAIM or unbinding the card takes it back at once,
 * zapping the mapping (a later access through it faults with SIGBUS, for good). One mapping at a
 * time; it must be MAP_SHARED, is never executable, and cannot be split. Such a manager can make
 * the device write any host memory: CAP_SYS_ADMIN and CAP_SYS_RAWIO, refused under kernel lockdown,
 * and the first mapping taints the kernel (TAINT_USER, 'U'). Errors: EPERM (a capability missing,
 * or lockdown), EOPNOTSUPP (user_pdma=0), EINVAL (other offsets, too long, MAP_PRIVATE,
 * PROT_EXEC), EBUSY (the in-kernel manager has requests, or another mapping has the engine),
 * ENODEV (the card was unbound).
 */
struct ve_wait_irq {
	uint64_t upper;
	uint64_t lower;
};

struct ve_wait_irq_arg {		/* upstream form */
	struct ve_wait_irq *bits;
	struct timespec *timeout;
};

struct ve_wait_irq_arg_ve1 {		/* VE1 compat form */
	struct ve_wait_irq bits;
	struct timespec *timeout;
};

#define VEDRV_CMD_WAIT_INTR		_IOWR(VE_IOC_MAGIC, 1, struct ve_wait_irq_arg)
#define VEDRV_CMD_COMPAT_VE1_WAIT_INTR	_IOWR(VE_IOC_MAGIC, 1, struct ve_wait_irq_arg_ve1)

/* This driver's own ioctls. */
#define VE_DRV_NR_BASE		0x80
#define VE_DRV_ABI_VERSION	1

/* ve_drv_info.variant */
#define VE_DRV_VARIANT_VE1	1
#define VE_DRV_VARIANT_VE3	3
#define VE_DRV_VARIANT_EMULATOR	0x100

/*
 * VE_DRV_IOC_INFO: what the driver knows about one card. Any user with the device open may ask.
 * In: flags and reserved must be 0. Out: the rest; fields that do not apply are 0.
 * Errors: EFAULT, EINVAL (nonzero flags/reserved), ENODEV (card removed).
 */
struct ve_drv_info {
	__u32 flags;
	__u32 abi_version;	/* VE_DRV_ABI_VERSION */
	__u32 variant;		/* VE_DRV_VARIANT_* */
	__u32 card_index;	/* N of /dev/veN */
	__u16 vendor_id;
	__u16 device_id;
	__u32 pdma_vector;	/* MSI-X entry of the privileged DMA engine */
	__u32 msix_vectors;	/* MSI-X vectors allocated */
	__u32 emu_abi_version;	/* emulator only */
	__u64 scr_bar_size;	/* size of the BAR holding the system-common registers */
	__u64 irq_count;	/* privileged DMA interrupts handled */
	__u64 ve_mem_size;	/* emulator only: emulated VE memory */
	__u64 emu_nonce;	/* emulator only: the emulator's start-up nonce */
	__u64 emu_irqs_raised;	/* emulator only: interrupts the emulator raised */
	__u64 dma_is_phys;	/* 1: DMA address of a page mapped for this device == its physical address */
	__u64 reserved[4];
};

/*
 * VE_DRV_IOC_PING: emulator only; a transport round trip through the emulator's ping mailbox and
 * the privileged DMA interrupt. Needs CAP_SYS_ADMIN.
 * In: value; flags and reserved must be 0. Out: response, rtt_ns (doorbell to interrupt).
 * Errors: EPERM, EFAULT, EINVAL, EOPNOTSUPP (real hardware), ETIMEDOUT (no answer in 2 s),
 * EIO (wrong answer or check word rejected), EINTR, ENODEV (card removed).
 */
struct ve_drv_ping {
	__u64 value;
	__u64 response;
	__u64 rtt_ns;
	__u32 flags;
	__u32 reserved;
};

/*
 * VE_DRV_IOC_PIN_BENCH: test only, and only with the module parameter test_ioctls=1 (ENOTTY
 * otherwise). Pins the caller's [addr, addr + len) with the driver's pin engine, unpins it, and
 * reports the time each took, for the pinning micro-benchmark. Needs CAP_SYS_ADMIN.
 * Errors: EPERM, EFAULT, EINVAL (zero length, overflow, unknown flags, nonzero reserved), and
 * GUP's errors; nothing stays pinned.
 */
#define VE_DRV_PIN_BENCH_WRITE		1	/* FOLL_WRITE; pages dirtied on unpin */
#define VE_DRV_PIN_BENCH_LONGTERM	2	/* FOLL_LONGTERM, as NEC's pin lists hold */

struct ve_drv_pin_bench {
	__u64 addr;
	__u64 len;
	__u32 flags;		/* VE_DRV_PIN_BENCH_* */
	__u32 reserved;
	__u64 pin_ns;		/* out: pinning and coalescing */
	__u64 unpin_ns;		/* out: unpinning */
	__u64 pages;		/* out: pages pinned */
	__u64 runs;		/* out: physically contiguous runs */
};

/*
 * The in-kernel DMA manager: ioctl numbers from VE_DMA_NR_BASE (0x40) on.
 *
 * VE_DMA_IOC_XFER: one transfer between a process's memory and VE memory (VEMAA), done by the
 * kernel: it pins the VH buffer in batches while the engine copies, and unpins as descriptors
 * complete. The pins are long-term (FOLL_LONGTERM) and charged to the pinned process's locked
 * memory (VmPin, pinned_vm) while they are held, against the caller's RLIMIT_MEMLOCK unless the
 * caller has CAP_IPC_LOCK. Needs CAP_SYS_ADMIN. Errors: EPERM; EFAULT; EINVAL (flags, alignment
 * to 8 bytes, zero length, overflow, nonzero reserved, a VE range beyond the card's VE memory or
 * the engine's 48-bit reach); ESRCH; ENOMEM (also: over RLIMIT_MEMLOCK without CAP_IPC_LOCK);
 * EIO (the engine raised an exception: code in exception; or the engine is out of service
 * because it once did not halt, until the card is unbound); ETIMEDOUT (no progress for 2 s: the
 * engine was halted and the transfer abandoned); EINTR (a signal: stopped the same way, not
 * restarted); ENODEV (card removed), EBUSY (a user-space manager's register mapping has the
 * engine). bytes_done tells how far it got.
 */
#define VE_DMA_NR_BASE		0x40
#define VE_DMA_VH_TO_VE		1
#define VE_DMA_VE_TO_VH		2

struct ve_dma_xfer {
	__u64 vh_addr;		/* VH virtual address in process pid, 8-byte aligned */
	__u64 ve_addr;		/* VE physical address (VEMAA), 8-byte aligned */
	__u64 len;		/* bytes, nonzero, a multiple of 8 */
	__s32 pid;		/* 0: the caller */
	__u32 flags;		/* VE_DMA_VH_TO_VE or VE_DMA_VE_TO_VH */
	__u64 bytes_done;	/* out */
	__u32 exception;	/* out: engine exception code with EIO */
	__u32 descs;		/* out: descriptors used */
	__u64 reserved[2];
};

#define VE_DMA_IOC_XFER		_IOWR(VE_IOC_MAGIC, VE_DMA_NR_BASE + 0, struct ve_dma_xfer)

/*
 * Asynchronous transfers. Several requests may be in flight on a card at once (from one file or
 * many); they share the engine's ring in submission order. A request belongs to the file that
 * submitted it: only that file can wait for it or cancel it, and closing the file (or the death
 * of its process) cancels what is still running.
 *
 * VE_DMA_IOC_SUBMIT: starts a transfer; returns once its last descriptor is handed to the
 * engine (a long transfer of small pages blocks while 64 MiB are pinned and not yet copied), with
 * the request id in id. The VE side is ve_addr (one range) or, with VE_DMA_VE_LIST, num_extents
 * struct ve_dma_extent at user address ve_addr, walked in order, whose lengths add up to len.
 * Needs CAP_SYS_ADMIN. Errors: EPERM; EFAULT; EINVAL (flags, alignment to 8 bytes, zero length,
 * overflow, nonzero reserved fields or id, an empty, misaligned or too long extent list or one
 * whose lengths do not add up to len, a VE range beyond the card's VE memory or the engine's
 * 48-bit reach); ESRCH; ENOMEM (as for VE_DMA_IOC_XFER); EAGAIN (VE_DMA_MAX_REQUESTS submitted
 * and not yet collected by this file); EIO (the engine is out of service: it once did not
 * halt); ETIMEDOUT (no engine progress for 2 s while the window was full); EINTR; ENODEV; EBUSY
 * (a register mapping has the engine). On an error nothing of the request remains.
 *
 * VE_DMA_IOC_WAIT: waits up to timeout_ms (0: does not block) until request id (0: any of this
 * file's) finishes, reports it and forgets it. status is 0 or the negative errno the request
 * failed with: -EIO (engine exception, code in exception), -ECANCELED, -ENODEV (card removed).
 * Needs CAP_SYS_ADMIN. Errors: EPERM; EFAULT; EINVAL (nonzero flags or reserved fields); ENOENT
 * (no such request on this file: never submitted, already collected, or another file's);
 * ETIMEDOUT (still running; it stays); EINTR (a signal; restarted, with the whole timeout,
 * after a handler installed with SA_RESTART).
 *
 * poll()/select()/epoll on the file: readable (POLLIN) while a request of this file has finished
 * and waits to be collected by VE_DMA_IOC_WAIT; POLLHUP | POLLERR once the card is gone.
 *
 * VE_DMA_IOC_CANCEL: stops request id if it is still running: the engine is halted, the
 * request's descriptors taken out of the ring (the other requests' stay), its pages unpinned and
 * the engine restarted. It is still collected by VE_DMA_IOC_WAIT, with status -ECANCELED if this
 * stopped it. Needs CAP_SYS_ADMIN. Errors: EPERM; EFAULT; EINVAL; ENOENT; EIO (the engine did
 * not halt: every page its ring can reach stays pinned for good, every request fails with EIO
 * and the card takes no new one until it is unbound).
 */
#define VE_DMA_VE_LIST		4	/* ve_addr points to num_extents struct ve_dma_extent */
#define VE_DMA_MAX_EXTENTS	1024
#define VE_DMA_MAX_REQUESTS	64

struct ve_dma_extent {
	__u64 addr;		/* VE physical address (VEMAA), 8-byte aligned */
	__u64 len;		/* bytes, nonzero, a multiple of 8 */
};

struct ve_dma_submit {
	__u64 vh_addr;		/* VH virtual address in process pid, 8-byte aligned */
	__u64 ve_addr;		/* VEMAA, or with VE_DMA_VE_LIST the user address of the extents */
	__u64 len;		/* bytes, nonzero, a multiple of 8 */
	__s32 pid;		/* 0: the caller */
	__u32 flags;		/* VE_DMA_VH_TO_VE or VE_DMA_VE_TO_VH, | VE_DMA_VE_LIST */
	__u32 num_extents;	/* with VE_DMA_VE_LIST: 1..VE_DMA_MAX_EXTENTS, else 0 */
	__u32 reserved0;
	__u64 id;		/* out: the request id (never 0); in: must be 0 */
	__u64 reserved[2];
};

struct ve_dma_wait {
	__u64 id;		/* in: request id or 0 (any of this file's); out: the one reported */
	__u32 timeout_ms;	/* 0: do not block */
	__u32 flags;		/* 0 */
	__u64 bytes_done;	/* out */
	__s32 status;		/* out: 0 or -errno */
	__u32 exception;	/* out: engine exception code with -EIO */
	__u32 descs;		/* out: descriptors used */
	__u32 reserved0;
	__u64 reserved[2];
};

struct ve_dma_cancel {
	__u64 id;
	__u32 flags;		/* 0 */
	__u32 reserved;
};

#define VE_DMA_IOC_SUBMIT	_IOWR(VE_IOC_MAGIC, VE_DMA_NR_BASE + 1, struct ve_dma_submit)
#define VE_DMA_IOC_WAIT		_IOWR(VE_IOC_MAGIC, VE_DMA_NR_BASE + 2, struct ve_dma_wait)
#define VE_DMA_IOC_CANCEL	_IOW(VE_IOC_MAGIC, VE_DMA_NR_BASE + 3, struct ve_dma_cancel)

#define VE_DRV_IOC_INFO		_IOWR(VE_IOC_MAGIC, VE_DRV_NR_BASE + 0, struct ve_drv_info)
#define VE_DRV_IOC_PING		_IOWR(VE_IOC_MAGIC, VE_DRV_NR_BASE + 1, struct ve_drv_ping)
#define VE_DRV_IOC_PIN_BENCH	_IOWR(VE_IOC_MAGIC, VE_DRV_NR_BASE + 2, struct ve_drv_pin_bench)
/*
 * VE_DRV_IOC_KICK: the emulator's doorbell, for a user-space DMA manager after it wrote DMACTL
 * through the register mapping (the emulator traps nothing; real cards need no kick, and there
 * it does nothing). CAP_SYS_ADMIN. Errors: EPERM, ENODEV.
 */
#define VE_DRV_IOC_KICK		_IO(VE_IOC_MAGIC, VE_DRV_NR_BASE + 3)
/*
 * VE_DRV_IOC_RECLAIM: takes the privileged DMA engine back from a user-space manager: its register
 * mapping is zapped (a later access faults with SIGBUS), the engine halted and its ring cleared,
 * and the in-kernel manager owns it again. Returns 1 if the engine was lent, 0 if the kernel had
 * it. CAP_SYS_ADMIN. Errors: EPERM.
 */
#define VE_DRV_IOC_RECLAIM	_IO(VE_IOC_MAGIC, VE_DRV_NR_BASE + 4)

#endif /* _UAPI_VE_DRV_H */
