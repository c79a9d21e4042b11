/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * ve_drv: user ABI of /dev/veN for VEOS, libved and tools.
 *
 * The Rust twin of this header is src/uapi.rs; tests/host checks both agree byte for byte.
 */
#ifndef _UAPI_VE_DRV_H
#define _UAPI_VE_DRV_H

#include <linux/ioctl.h>
#include <linux/types.h>

#include "vp.h"

/**
 * DOC: Overview
 *
 * Each NEC SX-Aurora Vector Engine card bound to ve_drv has a character device /dev/veN. The
 * driver implements NEC's translation and pinning ioctls, NEC's interrupt wait and NEC's register
 * mapping byte for byte (NEC's ve_drv-kmod v3.5 and vp-kmod v3.6, with NEC's names, so that VEOS
 * and libved compile and run unchanged), and adds its own ioctls: an in-kernel privileged DMA
 * manager and card information. Every NEC ioctl it does not implement returns EINVAL, as NEC's
 * driver answers an unknown command.
 *
 * The device node is mode 0666, as NEC's (its pseudo processes open it as ordinary users); every
 * ioctl, known or not, needs CAP_SYS_ADMIN (EPERM), NEC's rule for all but the commands a pseudo
 * process issues, which this driver does not implement yet. Errors common to every ioctl: EPERM
 * without CAP_SYS_ADMIN, EFAULT for a bad argument pointer, EINVAL for an unknown command, ENODEV
 * once the card has been unbound (an open file outlives the card). The 32-bit compat path accepts
 * only this driver's own ioctls (fixed width); NEC's structures hold pointers and unsigned long,
 * so 32-bit callers get ENOTTY for them.
 */

/**
 * DOC: ioctl numbers
 *
 * Every ioctl uses NEC's type VE_IOC_MAGIC (0xF5). The numbers 0 to 31 (0x00-0x1f) are NEC's and
 * keep NEC's meaning and encoding. This driver's own ioctls use numbers NEC has never used, in two
 * ranges: the in-kernel DMA manager's from VE_DMA_NR_BASE (0x40-0x44), the card's from
 * VE_DRV_NR_BASE (0x80-0x85). The numbers between are unused.
 *
 * NEC encodes several commands that pass data into the kernel with _IOR (the opposite of the
 * kernel's convention); the values are kept exactly as NEC's headers produce them.
 */

/**
 * VE_IOC_MAGIC - ioctl type of every /dev/veN command (NEC's).
 */
#define VE_IOC_MAGIC		0xF5

/**
 * DOC: NEC's driver facts in sysfs
 *
 * NEC's driver reports VEDRV_ABI_VERSION in the sysfs attribute abi_version and its variant's
 * name (VE_DRV_ARCH_NAME_VE1 or VE_DRV_ARCH_NAME_VE3, from the variant headers) in ve_arch_class;
 * libved refuses a card whose abi_version differs and reads the class name into a buffer of
 * VEDRV_ARCH_CLASS_NAME_MAX bytes. VEOS writes an &enum os_state value to os_state. The variant
 * headers ve_drv_ve1.h and ve_drv_ve3.h are included by this header when the including file
 * defines _VE_ARCH_VE1_ or _VE_ARCH_VE3_ (never both, and never included directly), as NEC's are.
 */

/**
 * VEDRV_ABI_VERSION - the ABI version of NEC's ve_drv v3 (sysfs abi_version).
 */
#define VEDRV_ABI_VERSION	(101)

/**
 * VEDRV_ARCH_CLASS_NAME_MAX - bytes of the buffer for the variant's name (sysfs ve_arch_class),
 * the terminating NUL included.
 */
#define VEDRV_ARCH_CLASS_NAME_MAX	(8)

/**
 * enum os_state - what VEOS writes to the sysfs attribute os_state.
 * @OS_ST_ONLINE: VEOS serves the card.
 * @OS_ST_OFFLINE: no VEOS serves the card.
 * @OS_ST_INITIALIZING: VEOS is starting on the card.
 * @OS_ST_TERMINATING: VEOS is stopping.
 */
enum os_state {
	OS_ST_ONLINE,
	OS_ST_OFFLINE,
	OS_ST_INITIALIZING,
	OS_ST_TERMINATING,
};

/**
 * DOC: NEC's translation and pinning ioctls
 *
 * VEDRV_CMD_VHVA_TO_VSAA, VEDRV_CMD_VHVA_TO_VSAA_PIN_DOWN, VEDRV_CMD_VHVA_TO_VSAA_BLK,
 * VEDRV_CMD_VHVA_TO_VSAA_BLK_PIN_DOWN, VEDRV_CMD_RELEASE_PD_PAGE, VEDRV_CMD_RELEASE_PD_PAGE_BLK,
 * VEDRV_CMD_RELEASE_PD_PAGE_ALL and VEDRV_CMD_COUNT_PD_PAGE_ALL, as in NEC's ve_drv-kmod v3.5.
 * All need CAP_SYS_ADMIN.
 *
 * Pins are kept per card and per &enum pd_list; they outlive the file and the target process until
 * released by address, by block or all at once (or the card is unbound). A pinned entry is mapped
 * for the card and answered with its DMA address: its physical address without an IOMMU (as NEC's
 * driver answers), an IOVA behind one, a bounce buffer's address under swiotlb (then only 4 KiB
 * entries); see ve_drv_info.dma_mode. The translation-only calls answer physical addresses.
 * A pinned entry is one page of the reported size: 4 KiB, or a 2 MiB unit of a huge page (hugetlb 2 MiB or 1 GiB, THP, any large
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
 * EPERM covers it too. pid 0 means the caller (an extension: NEC needs a real pid).
 *
 * Errors common to all: EPERM (no CAP_SYS_ADMIN), EFAULT (bad argument pointer), EINVAL (bad
 * pd_list type). Translation: ESRCH (no such pid), EPERM (the caller may not ptrace the target pid,
 * above), EINTR (a fatal signal while the target was in an exec), EFAULT (address not mapped, a
 * kernel address, a write to a read-only mapping, or a long-term write pin (the _PIN_DOWN variants)
 * of a shared mapping of a file that needs writeback tracking, such as ext2/4 or xfs: GUP refuses
 * it, where NEC's page references accepted it), EINVAL (length or maxpages 0, address + length
 * overflows), EOPNOTSUPP (a VM_PFNMAP or VM_IO mapping: NEC translates those without pinning; not
 * supported here yet), ENOMEM (RLIMIT_MEMLOCK exceeded without CAP_IPC_LOCK; nothing pinned).
 * Release: EINVAL (npages < 0 or > VP_MAXBULK), ENOENT (an address that is not pinned on that
 * list; the entries before it are released).
 */

/**
 * enum pd_list - NEC's pin lists: who holds a pinned page.
 * @OS_LIST: pins held for VEOS.
 * @TD_LIST: pins held for maintenance and test tools (NEC's MMM, T&D).
 * @NR_PD_LIST: the number of lists; not a list.
 */
enum pd_list {
	OS_LIST = 0,
	TD_LIST,
	NR_PD_LIST,
};

/**
 * struct ve_vp - argument of VEDRV_CMD_VHVA_TO_VSAA and VEDRV_CMD_VHVA_TO_VSAA_PIN_DOWN (40 bytes).
 * @type: in: the list a _PIN_DOWN pin joins (validated for both commands).
 * @vp_info: in and out: the page to translate, see &struct vp.
 */
struct ve_vp {
	enum pd_list type;
	struct vp vp_info;
};

/**
 * struct ve_vp_blk - argument of VEDRV_CMD_VHVA_TO_VSAA_BLK and _BLK_PIN_DOWN (56 bytes).
 * @type: in: the list a _BLK_PIN_DOWN pin joins (validated for both commands).
 * @vp_info: in and out: the block to translate, see &struct vp_blk.
 */
struct ve_vp_blk {
	enum pd_list type;
	struct vp_blk vp_info;
};

/**
 * struct ve_vp_blk_release - argument of VEDRV_CMD_RELEASE_PD_PAGE_BLK (16 bytes).
 * @type: in: the list the entries are on.
 * @npages: in: number of addresses at @addr, 0 to VP_MAXBULK.
 * @addr: in: user pointer to @npages addresses as &struct vp_blk returned them in its paddr.
 */
struct ve_vp_blk_release {
	enum pd_list type;
	int npages;
	uint64_t *addr;
};

/**
 * struct ve_vp_release - argument of VEDRV_CMD_RELEASE_PD_PAGE, _RELEASE_PD_PAGE_ALL and
 * VEDRV_CMD_COUNT_PD_PAGE_ALL (16 bytes).
 * @type: in: the list.
 * @addr: in, VEDRV_CMD_RELEASE_PD_PAGE only: the address the pin answered with.
 */
struct ve_vp_release {
	enum pd_list type;
	unsigned long addr;
};

/**
 * VEDRV_CMD_VHVA_TO_VSAA - physical address of one page of a process, without keeping it.
 *
 * Argument: &struct ve_vp. Fills vp_info.phys; vp_info.pfnmap comes back 0 (VM_PFNMAP mappings
 * are refused). See "NEC's translation and pinning ioctls" for the errors.
 */
#define VEDRV_CMD_VHVA_TO_VSAA			_IOWR(VE_IOC_MAGIC, 3, struct ve_vp)
/**
 * VEDRV_CMD_VHVA_TO_VSAA_PIN_DOWN - like VEDRV_CMD_VHVA_TO_VSAA, and keeps the page pinned and
 * mapped for the card.
 *
 * Argument: &struct ve_vp. vp_info.phys is the card's DMA address of virt; the pin joins list type
 * until released.
 */
#define VEDRV_CMD_VHVA_TO_VSAA_PIN_DOWN		_IOWR(VE_IOC_MAGIC, 14, struct ve_vp)
/**
 * VEDRV_CMD_RELEASE_PD_PAGE - releases one pinned entry.
 *
 * Argument: &struct ve_vp_release (type, addr).
 */
#define VEDRV_CMD_RELEASE_PD_PAGE		_IOR(VE_IOC_MAGIC, 15, struct ve_vp_release)
/**
 * VEDRV_CMD_RELEASE_PD_PAGE_ALL - releases every entry on a list.
 *
 * Argument: &struct ve_vp_release (type only).
 */
#define VEDRV_CMD_RELEASE_PD_PAGE_ALL		_IOR(VE_IOC_MAGIC, 16, struct ve_vp_release)
/**
 * VEDRV_CMD_VHVA_TO_VSAA_BLK - physical addresses of up to VP_MAXBULK pages, without keeping them.
 *
 * Argument: &struct ve_vp_blk. The answer stops at the end of the mapping that holds vaddr; the
 * caller asks again for the rest.
 */
#define VEDRV_CMD_VHVA_TO_VSAA_BLK		_IOWR(VE_IOC_MAGIC, 22, struct ve_vp_blk)
/**
 * VEDRV_CMD_VHVA_TO_VSAA_BLK_PIN_DOWN - like VEDRV_CMD_VHVA_TO_VSAA_BLK, and keeps the pages pinned
 * and mapped for the card.
 *
 * Argument: &struct ve_vp_blk. paddr[] are the entries' DMA addresses; every entry joins list
 * type, all or nothing, after the addresses were copied to the caller. ENOMEM if the DMA API
 * cannot map them (nothing stays pinned or mapped).
 */
#define VEDRV_CMD_VHVA_TO_VSAA_BLK_PIN_DOWN	_IOWR(VE_IOC_MAGIC, 23, struct ve_vp_blk)
/**
 * VEDRV_CMD_RELEASE_PD_PAGE_BLK - releases up to VP_MAXBULK pinned entries.
 *
 * Argument: &struct ve_vp_blk_release.
 */
#define VEDRV_CMD_RELEASE_PD_PAGE_BLK		_IOR(VE_IOC_MAGIC, 24, struct ve_vp_blk_release)
/**
 * VEDRV_CMD_COUNT_PD_PAGE_ALL - number of entries held on a list.
 *
 * Argument: &struct ve_vp_release (type only).
 *
 * Return: the number of entries, as the ioctl's value.
 */
#define VEDRV_CMD_COUNT_PD_PAGE_ALL		_IOR(VE_IOC_MAGIC, 25, struct ve_vp_release)

/**
 * DOC: NEC's task, exception, register and reset ioctls
 *
 * NEC's ve_drv v3.5 commands for VEOS's task management (one kernel task per open of /dev/veN,
 * bound to the opening thread), the exception wait of the pseudo process, the ownership of CR
 * pages and PCIATB entries, the VE reset and, on VE3, ownership of the card, fault notice, the
 * exception register, memory clearing and clock gating. They are declared with NEC's names,
 * numbers and argument layouts so that libved and VEOS compile unchanged; those marked "Not
 * implemented" below answer EINVAL.
 *
 * Several commands pass a number by value in the ioctl's argument although the encoding names a
 * type (pid_t, int, uint64_t): the type only sets the encoded size. The commands that return data
 * (VEDRV_CMD_WAIT_EXCEPTION, VEDRV_CMD_GET_EXS_REG, VEDRV_CMD_GET_CLOCK_GATING_STATE) are encoded
 * _IOW, those that pass data in _IOR: the values are kept exactly as NEC's header produces them.
 */

/**
 * struct ve_tid_core - argument of VEDRV_CMD_ASSIGN_TASK (8 bytes).
 * @tid: in: the task, by the thread id that opened it, in the caller's pid namespace.
 * @core_id: in: the VE core to run it on.
 */
struct ve_tid_core {
	pid_t tid;
	int core_id;
};

/**
 * struct ve_cr_assign - argument of VEDRV_CMD_ASSIGN_CR and VEDRV_CMD_UNASSIGN_CR (8 bytes).
 * @cr_page_num: in: the CR page (an 8 KiB page of the CR mapping).
 * @owner_uid: in: the user who may map it.
 */
struct ve_cr_assign {
	int cr_page_num;
	uid_t owner_uid;
};

/**
 * struct ve_pcimem_assign - argument of VEDRV_CMD_ASSIGN_VEMEM and VEDRV_CMD_UNASSIGN_VEMEM
 * (8 bytes).
 * @pciatb_entry: in: the PCIATB entry (a page of the BAR0 window onto VE memory).
 * @owner_uid: in: the user who may map it.
 */
struct ve_pcimem_assign {
	int pciatb_entry;
	uid_t owner_uid;
};

/**
 * struct ve_unmap - argument of VEDRV_CMD_UNMAP (16 bytes).
 * @offset: in: the file offset where the range starts (a window's offset plus the offset in it).
 * @size: in: bytes.
 */
struct ve_unmap {
	off_t offset;
	size_t size;
};

/**
 * struct ve_get_host_pid - argument of VEDRV_CMD_HOST_PID (8 bytes).
 * @host_pid: in: a process whose pid namespace @namespace_pid is read in.
 * @namespace_pid: in: the pid to convert.
 *
 * The ioctl returns the pid, as seen from the caller's namespace.
 */
struct ve_get_host_pid {
	pid_t host_pid;
	pid_t namespace_pid;
};

/**
 * struct ve_ownership - names the size of VEDRV_CMD_OWNERSHIP's encoding (4 bytes).
 * @cmd: 1 to request the card, 0 to release it; passed by value as the ioctl's argument.
 */
struct ve_ownership {
	int cmd;
};

/**
 * VEDRV_CMD_WAIT_EXCEPTION - waits for an exception of the caller's task.
 *
 * Argument: user pointer to a uint64_t, out: the exception status (the core's EXS). Any user, on
 * the file of its own task (NEC's pseudo process): waits, interruptibly, until the core the task
 * is assigned to raises an exception interrupt, or returns at once an exception saved by
 * VEDRV_CMD_UNASSIGN_TASK. A file that waited cannot be mmapped afterwards (EACCES).
 *
 * Errors: EFAULT; EINVAL (the file was mmapped); ESRCH (the task is neither ready nor assigned);
 * EAGAIN (O_NONBLOCK and nothing to report); EINTR (a signal); ENODEV (the card was unbound).
 */
#define VEDRV_CMD_WAIT_EXCEPTION	_IOW(VE_IOC_MAGIC, 2, uint64_t)
/**
 * VEDRV_CMD_CREATE_TASK - makes a task ready to be assigned.
 *
 * Argument, by value: the task's thread id (pid_t), as the caller sees it. Every open file of the
 * device is a task, keyed by the thread that opened it. A new task becomes ready (a VE program's
 * thread); a task in any other state is left as it is.
 *
 * Errors: ESRCH (no task of that thread).
 */
#define VEDRV_CMD_CREATE_TASK		_IOR(VE_IOC_MAGIC, 4, pid_t)
/**
 * VEDRV_CMD_DELETE_TASK - marks a task deleted.
 *
 * Argument, by value: the task's thread id (pid_t). A ready task becomes deleted; a task whose
 * file was closed while VEOS owned it (released) goes, and that close returns; new and deleted
 * tasks are left as they are.
 *
 * Errors: ESRCH (no task of that thread); EAGAIN (the task is on a core).
 */
#define VEDRV_CMD_DELETE_TASK		_IOR(VE_IOC_MAGIC, 5, pid_t)
/**
 * VEDRV_CMD_ASSIGN_TASK - binds a task to a core.
 *
 * Argument: &struct ve_tid_core. A ready task goes onto an enabled core.
 *
 * Errors: EFAULT; EINVAL (a core that is not enabled or out of range); EBUSY (the core has a
 * task); EAGAIN (the task has an exception not yet collected); ESRCH (no ready task of that
 * thread).
 */
#define VEDRV_CMD_ASSIGN_TASK		_IOR(VE_IOC_MAGIC, 6, struct ve_tid_core)
/**
 * VEDRV_CMD_UNASSIGN_TASK - unbinds a task from its core.
 *
 * Argument, by value: the task's thread id (pid_t). The task leaves its core; an exception the
 * core raised and nobody collected is saved for the task's next VEDRV_CMD_WAIT_EXCEPTION.
 *
 * Errors: ESRCH (no task of that thread); EINVAL (the task is on no core); EBUSY (the core is
 * running); EAGAIN (the core's interrupt is on its way: try again).
 */
#define VEDRV_CMD_UNASSIGN_TASK		_IOR(VE_IOC_MAGIC, 7, pid_t)
/**
 * VEDRV_CMD_ASSIGN_CR - lets a user map a CR page.
 *
 * Argument: &struct ve_cr_assign. Adds @owner_uid (a uid of the caller's user namespace) to the
 * owners of CR page @cr_page_num: from then on a fault of a process whose real uid it is maps
 * that page of the CR window (see mmap below). The owners live as long as the card is bound.
 *
 * Errors: EFAULT; EINVAL (a uid that names nobody in the caller's user namespace, a page outside
 * 0..31, a uid that already owns the page); ENOMEM.
 */
#define VEDRV_CMD_ASSIGN_CR		_IOR(VE_IOC_MAGIC, 8, struct ve_cr_assign)
/**
 * VEDRV_CMD_UNASSIGN_CR - withdraws a CR page from its user.
 *
 * Argument: &struct ve_cr_assign. Removes @owner_uid from the owners of CR page @cr_page_num
 * (success if it was not one). Pages already mapped stay mapped: VEDRV_CMD_UNMAP revokes them.
 *
 * Errors: EFAULT; EINVAL (a uid that names nobody, a page outside 0..31).
 */
#define VEDRV_CMD_UNASSIGN_CR		_IOR(VE_IOC_MAGIC, 9, struct ve_cr_assign)
/**
 * VEDRV_CMD_ASSIGN_VEMEM - lets a user map a PCIATB entry's page of VE memory.
 *
 * Argument: &struct ve_pcimem_assign. Adds @owner_uid to the owners of PCIATB entry
 * @pciatb_entry: a fault of a process whose real uid it is maps the pages of that entry (a PCIATB
 * page: 2 MiB, or 64 MiB when PCIATBA bit 0 is set) of the VE memory window. A uid that already
 * owns the entry: success, nothing changes (unlike VEDRV_CMD_ASSIGN_CR, as NEC's).
 *
 * Errors: EFAULT; EINVAL (a uid that names nobody, an entry outside 0..1023 on VE1, 0..4095 on
 * VE3); ENOMEM.
 */
#define VEDRV_CMD_ASSIGN_VEMEM		_IOR(VE_IOC_MAGIC, 10, struct ve_pcimem_assign)
/**
 * VEDRV_CMD_UNASSIGN_VEMEM - withdraws a PCIATB entry's page from its user.
 *
 * Argument: &struct ve_pcimem_assign. Removes @owner_uid from the owners of the entry (success
 * if it was not one); mapped pages stay until VEDRV_CMD_UNMAP.
 *
 * Errors: EFAULT; EINVAL (a uid that names nobody, an entry out of range).
 */
#define VEDRV_CMD_UNASSIGN_VEMEM	_IOR(VE_IOC_MAGIC, 11, struct ve_pcimem_assign)
/**
 * VEDRV_CMD_UNMAP - removes every user mapping of a range of the device's windows.
 *
 * Argument: &struct ve_unmap. Removes the page table entries of every user mapping of this
 * card's windows that maps a page holding a byte of [@offset, @offset + @size) (file offsets),
 * through any open file of its device node; the next access faults and maps the page again only
 * if it is still permitted. Exactly that range (NEC's driver zaps [@offset, 2 * @offset + @size
 * - 1)). An empty range at offset 0 does nothing.
 *
 * Errors: EFAULT; EINVAL (@offset + @size - 1 < @offset, in unsigned arithmetic: the range wraps,
 * or is empty at a nonzero offset).
 */
#define VEDRV_CMD_UNMAP			_IOR(VE_IOC_MAGIC, 12, struct ve_unmap)
/**
 * VEDRV_CMD_RST_EXSRAR_MEM - clears a core's saved exception status.
 *
 * Argument, by value: the core (int). Zeroes the core's exception-status slot in host memory
 * (which neither NEC's driver since v3.0 nor this one reads).
 *
 * Errors: EINVAL (a core below 0 or beyond the highest enabled one).
 */
#define VEDRV_CMD_RST_EXSRAR_MEM	_IOR(VE_IOC_MAGIC, 13, int)
/**
 * VEDRV_CMD_DELETE_ALL_TASK - deletes every task of the card.
 *
 * No argument. Every ready or assigned task becomes deleted (taken off its core without touching
 * the hardware), every released task goes and its close returns; new tasks (VEOS's own) stay.
 * Always succeeds. VEOS calls it when it starts.
 */
#define VEDRV_CMD_DELETE_ALL_TASK	_IO(VE_IOC_MAGIC, 17)
/**
 * VEDRV_CMD_RST_INTR_COUNT - resets a core's interrupt count.
 *
 * Argument, by value: the core. Does nothing and succeeds for any argument, as NEC's driver (whose
 * counts are reset by VEDRV_CMD_WAIT_EXCEPTION and by ve_state becoming online).
 */
#define VEDRV_CMD_RST_INTR_COUNT	_IOR(VE_IOC_MAGIC, 18, uint64_t)
/**
 * VEDRV_CMD_VE_VE_RESET - resets the VE.
 *
 * Argument, by value: the reset level, 0 (chip reset) or 1 (secondary bus reset). VEOS must be
 * offline (os_state 1). A chip reset stops every core, fails every request of the in-kernel DMA
 * manager with -EIO (its pages unpinned once the engine is halted), takes the engine back from a
 * user-space manager (its register mapping zapped), resets the card, restores its PCI
 * configuration, and programs the cores' EXSRAR and clears INTVEC again. Tasks, their cores and
 * interrupt counts, pinned pages of the translation ioctls and ve_state are left as they are.
 * Errors: EPERM without CAP_SYS_ADMIN; EAGAIN unless os_state is OFFLINE; EINVAL for a level
 * above 1; EOPNOTSUPP for level 1 (it needs a real card's upstream port) and on a card whose
 * reset the driver does not know (VE3); ENODEV once the card is unbound; ETIMEDOUT if the card
 * did not answer within 16 s after the reset; EIO if its DMA engine did not come out of reset
 * halted (it then stays out of service until the driver is rebound).
 */
#define VEDRV_CMD_VE_VE_RESET		_IOR(VE_IOC_MAGIC, 19, uint64_t)
/**
 * VEDRV_CMD_REVIVE_TASK - makes a deleted task ready again.
 *
 * Argument, by value: the task's thread id (pid_t). A deleted task becomes ready (the same thread
 * after execve); a ready one stays ready.
 *
 * Errors: ESRCH (no task of that thread); EINVAL (a new, assigned or released task).
 */
#define VEDRV_CMD_REVIVE_TASK		_IOR(VE_IOC_MAGIC, 20, pid_t)
/**
 * VEDRV_CMD_HOST_PID - converts a pid of another pid namespace into the caller's.
 *
 * Argument: &struct ve_get_host_pid: @namespace_pid is a pid in the pid namespace of the process
 * @host_pid names (a pid the caller sees).
 *
 * Return: the pid the caller sees for it, as the ioctl's value.
 *
 * Errors: EFAULT; ESRCH (either pid not found, or the result not visible to the caller).
 */
#define VEDRV_CMD_HOST_PID		_IOR(VE_IOC_MAGIC, 21, struct ve_get_host_pid)
/**
 * VEDRV_CMD_OWNERSHIP - VE3: requests or releases the card for the caller's VEOS.
 *
 * Argument, by value: 1 to request, 0 to release (see &struct ve_ownership). Not implemented
 * (EINVAL).
 */
#define VEDRV_CMD_OWNERSHIP		_IOR(VE_IOC_MAGIC, 26, struct ve_ownership)
/**
 * VEDRV_CMD_NOTIFY_FAULT - VE3: tells the driver that VEOS found the card faulty.
 *
 * No argument. Not implemented (EINVAL).
 */
#define VEDRV_CMD_NOTIFY_FAULT		_IO(VE_IOC_MAGIC, 27)
/**
 * VEDRV_CMD_GET_EXS_REG - VE3: reads the exception status of the caller's task.
 *
 * Argument: user pointer to a uint64_t, out. Not implemented (EINVAL).
 */
#define VEDRV_CMD_GET_EXS_REG		_IOW(VE_IOC_MAGIC, 28, uint64_t)
/**
 * VEDRV_CMD_COMPLETE_MEMCLEAR - VE3: tells the driver that VEOS cleared VE memory.
 *
 * No argument. Not implemented (EINVAL).
 */
#define VEDRV_CMD_COMPLETE_MEMCLEAR	_IO(VE_IOC_MAGIC, 29)
/**
 * VEDRV_CMD_HANDLE_CLOCK_GATING - VE3: turns the cores' clock gating on or off.
 *
 * Argument, by value: 1 on, 0 off (int). Not implemented (EINVAL).
 */
#define VEDRV_CMD_HANDLE_CLOCK_GATING	_IOR(VE_IOC_MAGIC, 30, int)
/**
 * VEDRV_CMD_GET_CLOCK_GATING_STATE - VE3: reads the cores' clock gating state.
 *
 * Argument: user pointer to a uint64_t, out. Not implemented (EINVAL).
 */
#define VEDRV_CMD_GET_CLOCK_GATING_STATE	_IOW(VE_IOC_MAGIC, 31, uint64_t)

/**
 * DOC: Interrupt wait and register mapping
 *
 * VEDRV_CMD_WAIT_INTR (both forms): waits until one of the requested interrupt bits is caught or
 * the timeout passes; reports and clears the caught bits, returns 0. This driver reports the
 * privileged DMA interrupt (VE1: bit 48 of lower; VE3: bit 0 of intvec[1], libved's bit 64).
 * CAP_SYS_ADMIN.
 * Errors: EPERM, EFAULT, EINVAL (negative timeout), ETIMEDOUT, EINTR (a signal; the call is
 * restarted, with its whole timeout, after a handler installed with SA_RESTART), ENODEV.
 *
 * The current form's bits point at NEC's typed mask of the card: &struct ve1_wait_irq on a VE1
 * (VEDRV_IRQ_TYPE_VE1), &struct ve3_wait_irq on a VE3 (VEDRV_IRQ_TYPE_VE3); another type word is
 * EINVAL. The caught bits are written back in the same form, as libved's vedl_wait_interrupt()
 * reads them. The VE1 compatibility form carries the untyped mask inline (EINVAL on a VE3).
 *
 * mmap offers NEC's windows (ve_drv_ve1.h: VEDRV_VE1_MAP_BAR3_OFFSET, the CR pages;
 * VEDRV_VE1_MAP_BAR2_OFFSET, every register, with libved's per-core user and system areas and the
 * system-common registers at 0x11000000; VEDRV_VE1_MAP_BAR0_OFFSET, VE memory), uncached, each
 * page mapped when it is first touched. A mapping must lie inside one window, be MAP_SHARED and
 * not executable, and cannot be split. The register window needs CAP_SYS_ADMIN (EACCES, as
 * NEC's), CAP_SYS_RAWIO and no kernel lockdown (EPERM); the CR and VE memory windows map for
 * anyone, but a page is mapped only for CAP_SYS_ADMIN or for a process whose real uid owns its
 * CR page (8 KiB each; VEDRV_CMD_ASSIGN_CR) or its PCIATB entry (VEDRV_CMD_ASSIGN_VEMEM; the
 * entry is the offset in the window divided by the PCIATB page size, which PCIATBA gives at the
 * time of the fault), and an access otherwise faults with SIGBUS. Unbinding the
 * card zaps every mapping (SIGBUS afterwards).
 *
 * Without the module parameter user_pdma=1, the privileged DMA engine's pages of the
 * system-common registers (VE1: 0x11002000 INTVEC, 0x11040000 descriptors, 0x11041000,
 * 0x11042000 DMACTL) are never mapped (SIGBUS): the in-kernel manager keeps the engine while
 * VEOS maps the rest. With user_pdma=1, a mapping at the system-common registers' offset (VE1
 * 0x11000000, up to 2 MiB; VE3 0x200000, up to 1 MiB) is a user-space DMA manager's: it maps
 * those pages too and takes the engine from the in-kernel manager (which answers EBUSY until
 * then) for as long as it exists: unmapping it (or the death of its process) gives the engine
 * back, and VE_DRV_IOC_RECLAIM or unbinding the card takes it back at once, zapping the mapping
 * (a later access through it faults with SIGBUS, for good). One such mapping at a time. It can
 * make the device write any host memory: the first one taints the kernel (TAINT_USER, 'U').
 *
 * Errors: EINVAL (an offset or size outside one window, more than the system-common registers
 * for a user_pdma=1 mapping, MAP_PRIVATE, PROT_EXEC), EACCES (the register window without
 * CAP_SYS_ADMIN), EPERM (the register window without CAP_SYS_RAWIO, or lockdown), EBUSY
 * (user_pdma=1: the in-kernel manager has requests, or another mapping has the engine), ENODEV
 * (the card was unbound).
 */

/**
 * struct ve_wait_irq - the head of every variant's interrupt mask (NEC's layout, 8 bytes).
 * @ve_irq_type: in: which variant's mask follows: VEDRV_IRQ_TYPE_VE1 (the whole argument is a
 *	&struct ve1_wait_irq) or VEDRV_IRQ_TYPE_VE3 (&struct ve3_wait_irq). NEC's driver refuses a
 *	type that is not its card's with EINVAL.
 *
 * VEDRV_CMD_WAIT_INTR points at a variant's mask that starts with this head; the ioctl's encoded
 * size does not depend on it. The masks are in ve_drv_ve1.h and ve_drv_ve3.h.
 */
struct ve_wait_irq {
	uint64_t ve_irq_type;
};

/**
 * struct ve_wait_irq_arg - argument of VEDRV_CMD_WAIT_INTR (16 bytes).
 * @bits: in: user pointer to a variant's mask (&struct ve1_wait_irq or &struct ve3_wait_irq):
 *	the bits to wait for; out, through it: the bits caught.
 * @timeout: in: user pointer to the longest wait; required.
 */
struct ve_wait_irq_arg {
	struct ve_wait_irq *bits;
	struct timespec *timeout;
};

/**
 * VEDRV_CMD_WAIT_INTR - waits for a VE interrupt (NEC's current form).
 *
 * Argument: &struct ve_wait_irq_arg. See "Interrupt wait and register mapping". VE1's older form,
 * VEDRV_CMD_COMPAT_VE1_WAIT_INTR, has the same number and is in ve_drv_ve1.h.
 */
#define VEDRV_CMD_WAIT_INTR		_IOWR(VE_IOC_MAGIC, 1, struct ve_wait_irq_arg)

/**
 * VE_DRV_NR_BASE - first ioctl number of this driver's card ioctls (0x80-0x84).
 */
#define VE_DRV_NR_BASE		0x80
/**
 * VE_DRV_ABI_VERSION - version of this driver's own ABI, reported in &struct ve_drv_info.
 */
#define VE_DRV_ABI_VERSION	1

/* ve_drv_info.variant */
#define VE_DRV_VARIANT_VE1	1
#define VE_DRV_VARIANT_VE3	3
#define VE_DRV_VARIANT_EMULATOR	0x100
#define VE_DRV_VARIANT_EMULATOR_VE3	0x103

/**
 * struct ve_drv_info - argument of VE_DRV_IOC_INFO: what the driver knows about one card.
 * @flags: in: must be 0.
 * @abi_version: out: VE_DRV_ABI_VERSION.
 * @variant: out: VE_DRV_VARIANT_VE1 (1bcf:001c), VE_DRV_VARIANT_VE3 (1bcf:0039),
 *	VE_DRV_VARIANT_EMULATOR (the engine emulator on QEMU ivshmem-doorbell presenting a VE1)
 *	or VE_DRV_VARIANT_EMULATOR_VE3 (the same presenting a VE3).
 * @card_index: out: N of /dev/veN.
 * @vendor_id: out: PCI vendor id.
 * @device_id: out: PCI device id.
 * @pdma_vector: out: MSI-X entry of the privileged DMA engine.
 * @msix_vectors: out: MSI-X vectors allocated.
 * @emu_abi_version: out, emulator only: the version of the emulator's identification block.
 * @scr_bar_size: out: size of the BAR holding the system-common registers.
 * @irq_count: out: privileged DMA interrupts handled.
 * @ve_mem_size: out, emulator only: size of the emulated VE memory.
 * @emu_nonce: out, emulator only: the nonce the emulator was started with.
 * @emu_irqs_raised: out, emulator only: interrupts the emulator says it raised.
 * @dma_is_phys: in: must be 0; out: 1 if the DMA address of a page mapped for this device is its
 *	physical address (NEC's translation ioctls then answer physical addresses, as NEC's driver).
 * @tasks: in: must be 0; out: NEC task objects of the card (one per open file).
 * @dma_mode: in: must be 0; out: how the DMA API maps host memory for the card, VE_DRV_DMA_*.
 * @reserved: in: must be 0; out: 0.
 *
 * Fields that do not apply to the card are 0.
 */
struct ve_drv_info {
	__u32 flags;
	__u32 abi_version;
	__u32 variant;
	__u32 card_index;
	__u16 vendor_id;
	__u16 device_id;
	__u32 pdma_vector;
	__u32 msix_vectors;
	__u32 emu_abi_version;
	__u64 scr_bar_size;
	__u64 irq_count;
	__u64 ve_mem_size;
	__u64 emu_nonce;
	__u64 emu_irqs_raised;
	__u64 dma_is_phys;
	__u64 tasks;
	__u64 dma_mode;
	__u64 reserved[2];
};

/*
 * ve_drv_info.dma_mode. Every host address the engine is given, and every address NEC's
 * translation ioctls answer, is the card's DMA address of the memory: the physical address in
 * direct mode; an IOVA behind a translating IOMMU; a bounce buffer's address under swiotlb.
 */
#define VE_DRV_DMA_DIRECT	1	/* no translation (dma-direct) */
#define VE_DRV_DMA_IOMMU	2	/* a translating IOMMU */
#define VE_DRV_DMA_BOUNCE	3	/* every mapping bounces through swiotlb */

/**
 * struct ve_drv_ping - argument of VE_DRV_IOC_PING: one round trip through the emulator.
 * @value: in: the value the emulator transforms.
 * @response: out: the emulator's answer, checked by the driver before it returns.
 * @rtt_ns: out: nanoseconds from the doorbell to the interrupt.
 * @flags: in: must be 0.
 * @reserved: in: must be 0.
 */
struct ve_drv_ping {
	__u64 value;
	__u64 response;
	__u64 rtt_ns;
	__u32 flags;
	__u32 reserved;
};

/* ve_drv_pin_bench.flags */
#define VE_DRV_PIN_BENCH_WRITE		1	/* FOLL_WRITE; pages dirtied on unpin */
#define VE_DRV_PIN_BENCH_LONGTERM	2	/* FOLL_LONGTERM, as NEC's pin lists hold */

/**
 * struct ve_drv_pin_bench - argument of VE_DRV_IOC_PIN_BENCH (test only).
 * @addr: in: start of the caller's buffer.
 * @len: in: bytes, nonzero.
 * @flags: in: VE_DRV_PIN_BENCH_WRITE (pin for writing, pages dirtied on unpin) and
 *	VE_DRV_PIN_BENCH_LONGTERM (FOLL_LONGTERM, as NEC's pin lists hold), or 0.
 * @reserved: in: must be 0.
 * @pin_ns: out: nanoseconds spent pinning and coalescing.
 * @unpin_ns: out: nanoseconds spent unpinning.
 * @pages: out: pages pinned.
 * @runs: out: physically contiguous runs found.
 */
struct ve_drv_pin_bench {
	__u64 addr;
	__u64 len;
	__u32 flags;
	__u32 reserved;
	__u64 pin_ns;
	__u64 unpin_ns;
	__u64 pages;
	__u64 runs;
};

/**
 * VE_DMA_NR_BASE - first ioctl number of the in-kernel DMA manager's ioctls (0x40-0x44).
 */
#define VE_DMA_NR_BASE		0x40
/* ve_dma_xfer.flags, ve_dma_submit.flags: the direction */
#define VE_DMA_VH_TO_VE		1
#define VE_DMA_VE_TO_VH		2
/*
 * ve_dma_xfer.flags, ve_dma_wait.flags: the waiter sleeps until the completion interrupt and
 * never spins on the engine (module parameter dma_poll_us), leaving the CPU to other work at the
 * price of latency.
 */
#define VE_DMA_NO_POLL		32
/*
 * ve_dma_xfer.flags: the VH buffer is pinned whatever the length: no copy through the card's
 * DMA buffer (module parameter dma_copy_max).
 */
#define VE_DMA_NO_COPY		64
/*
 * ve_dma_xfer.flags, ve_dma_submit.flags: the VH buffer is neither looked up in nor kept in the
 * registration cache (module parameter dma_cache_mib): it is pinned for this transfer only.
 */
#define VE_DMA_NO_CACHE		128

/**
 * struct ve_dma_xfer - argument of VE_DMA_IOC_XFER: one transfer by the in-kernel DMA manager.
 * @vh_addr: in: VH virtual address in process @pid, 8-byte aligned.
 * @ve_addr: in: VE physical address (VEMAA), 8-byte aligned.
 * @len: in: bytes, nonzero, a multiple of 8.
 * @pid: in: the process owning @vh_addr, in the caller's pid namespace; 0: the caller.
 * @flags: in: VE_DMA_VH_TO_VE or VE_DMA_VE_TO_VH, optionally with VE_DMA_NO_POLL,
 *	VE_DMA_NO_COPY and VE_DMA_NO_CACHE.
 * @bytes_done: out: bytes transferred (all of @len on success).
 * @exception: out: the engine's exception code when the transfer failed with EIO, else 0.
 * @descs: out: descriptors the transfer used.
 * @reserved: in: must be 0.
 */
struct ve_dma_xfer {
	__u64 vh_addr;
	__u64 ve_addr;
	__u64 len;
	__s32 pid;
	__u32 flags;
	__u64 bytes_done;
	__u32 exception;
	__u32 descs;
	__u64 reserved[2];
};

/**
 * VE_DMA_IOC_XFER - one transfer between a process's memory and VE memory, start to end.
 *
 * Argument: &struct ve_dma_xfer. Done by the kernel: it pins the VH buffer in batches while the
 * engine copies, and unpins as descriptors complete (the same as VE_DMA_IOC_SUBMIT followed by
 * VE_DMA_IOC_WAIT). The pins are long-term (FOLL_LONGTERM) and charged to the pinned process's
 * locked memory (VmPin, pinned_vm) while they are held, against the caller's RLIMIT_MEMLOCK
 * unless the caller has CAP_IPC_LOCK. Needs CAP_SYS_ADMIN.
 *
 * Return: 0, or -1 with errno: EPERM; EFAULT; EINVAL (flags, alignment to 8 bytes, zero length,
 * overflow, nonzero reserved, a VE range beyond the card's VE memory or the engine's 48-bit
 * reach); ESRCH; ENOMEM (also: over RLIMIT_MEMLOCK without CAP_IPC_LOCK); EIO (the engine raised
 * an exception: code in exception; or the engine is out of service because it once did not halt,
 * until the card is unbound); ETIMEDOUT (no progress for 2 s: the engine was halted and the
 * transfer abandoned); EINTR (a signal: stopped the same way, not restarted); ENODEV (card
 * removed); EBUSY (a user-space manager's register mapping has the engine). bytes_done tells how
 * far it got.
 */
#define VE_DMA_IOC_XFER		_IOWR(VE_IOC_MAGIC, VE_DMA_NR_BASE + 0, struct ve_dma_xfer)

/**
 * DOC: Asynchronous transfers
 *
 * Several requests may be in flight on a card at once (from one file or many); they share the
 * engine's ring in submission order. A request belongs to the file that submitted it: only that
 * file can wait for it or cancel it, and closing the file (or the death of its process) cancels
 * what is still running.
 *
 * poll()/select()/epoll on the file: readable (POLLIN) while a request of this file has finished
 * and waits to be collected by VE_DMA_IOC_WAIT; POLLHUP | POLLERR once the card is gone.
 */

/*
 * ve_dma_submit.flags: the direction, one of VE_DMA_VH_TO_VE, VE_DMA_VE_TO_VH or VE_DMA_VE_TO_VE
 * (VE memory to VE memory: from @ve_addr to @ve_dst_addr, no VH side), and the address types of
 * its sides: by default the VH side is VH virtual memory of @pid (pinned while the engine may
 * reach it) and the VE side VE memory (VEMAA), one range.
 */
#define VE_DMA_VE_TO_VE		3
/* The bits of ve_dma_submit.flags that give the direction */
#define VE_DMA_DIRECTION	3
/* The VE side is a list of extents (not with VE_DMA_VE_TO_VE or VE_DMA_VE_REGS) */
#define VE_DMA_VE_LIST		4
/*
 * The VH side is a VH bus address (VHSAA) that the engine uses as it is: nothing is pinned or
 * translated; @pid must be 0. Needs CAP_SYS_RAWIO and no kernel lockdown (EPERM).
 */
#define VE_DMA_VH_BUS		8
/* The VE side is VE register space (VERAA) rather than VE memory: one range, no list */
#define VE_DMA_VE_REGS		16

/* ve_dma_submit.opt: accepted; the last descriptor of every request carries SYNC */
#define VE_DMA_SUBMIT_SYNC	1
/* ve_dma_submit.opt: PCIe relaxed ordering on the VH side's transactions */
#define VE_DMA_SUBMIT_RO	2
/* ve_dma_submit.opt: PCIe ID-based ordering on the VH side's transactions */
#define VE_DMA_SUBMIT_IDO	4
/* Most extents one request may list */
#define VE_DMA_MAX_EXTENTS	1024
/* Most requests one file may have submitted and not yet collected */
#define VE_DMA_MAX_REQUESTS	64

/**
 * struct ve_dma_extent - one piece of VE memory in a VE_DMA_VE_LIST request.
 * @addr: VE physical address (VEMAA), 8-byte aligned.
 * @len: bytes, nonzero, a multiple of 8.
 */
struct ve_dma_extent {
	__u64 addr;
	__u64 len;
};

/**
 * struct ve_dma_submit - argument of VE_DMA_IOC_SUBMIT.
 * @vh_addr: in: the VH side, 8-byte aligned: a virtual address in process @pid, or with
 *	VE_DMA_VH_BUS a bus address; 0 with VE_DMA_VE_TO_VE.
 * @ve_addr: in: the VE side (with VE_DMA_VE_TO_VE the source), 8-byte aligned: a VE memory
 *	address (VEMAA), with VE_DMA_VE_REGS a VE register address (VERAA), or with VE_DMA_VE_LIST
 *	the user address of @num_extents &struct ve_dma_extent, walked in order, whose lengths add
 *	up to @len.
 * @len: in: bytes, nonzero, a multiple of 8.
 * @pid: in: the process owning @vh_addr, in the caller's pid namespace; 0: the caller (and 0 with
 *	VE_DMA_VH_BUS or VE_DMA_VE_TO_VE).
 * @flags: in: the direction (VE_DMA_VH_TO_VE, VE_DMA_VE_TO_VH or VE_DMA_VE_TO_VE), optionally |
 *	VE_DMA_VE_LIST, VE_DMA_VH_BUS, VE_DMA_VE_REGS as each says, and VE_DMA_NO_CACHE.
 * @num_extents: in: with VE_DMA_VE_LIST 1 to VE_DMA_MAX_EXTENTS, else 0.
 * @opt: in: VE_DMA_SUBMIT_SYNC, VE_DMA_SUBMIT_RO, VE_DMA_SUBMIT_IDO, or 0.
 * @id: in: must be 0; out: the request's id (never 0), for VE_DMA_IOC_WAIT and VE_DMA_IOC_CANCEL.
 * @ve_dst_addr: in: with VE_DMA_VE_TO_VE the destination VE memory address (8-byte aligned),
 *	else 0.
 * @reserved: in: must be 0.
 *
 * Callers from before the address types and @opt (which were reserved and had to be 0) keep
 * their meaning: a VH virtual range and VE memory.
 */
struct ve_dma_submit {
	__u64 vh_addr;
	__u64 ve_addr;
	__u64 len;
	__s32 pid;
	__u32 flags;
	__u32 num_extents;
	__u32 opt;
	__u64 id;
	__u64 ve_dst_addr;
	__u64 reserved;
};

/**
 * struct ve_dma_wait - argument of VE_DMA_IOC_WAIT.
 * @id: in: the request to wait for, or 0 for any of this file's; out: the request reported.
 * @timeout_ms: in: longest wait in milliseconds; 0: do not block.
 * @flags: in: 0 or VE_DMA_NO_POLL.
 * @bytes_done: out: bytes transferred.
 * @status: out: 0, or the negative errno the request failed with: -EIO (engine exception, code
 *	in @exception), -ECANCELED, -ENODEV (card removed).
 * @exception: out: the engine's exception code with -EIO, else 0.
 * @descs: out: descriptors the request used.
 * @reserved0: in: must be 0.
 * @reserved: in: must be 0.
 */
struct ve_dma_wait {
	__u64 id;
	__u32 timeout_ms;
	__u32 flags;
	__u64 bytes_done;
	__s32 status;
	__u32 exception;
	__u32 descs;
	__u32 reserved0;
	__u64 reserved[2];
};

/**
 * struct ve_dma_cancel - argument of VE_DMA_IOC_CANCEL.
 * @id: in: the request to stop.
 * @flags: in: must be 0.
 * @reserved: in: must be 0.
 */
struct ve_dma_cancel {
	__u64 id;
	__u32 flags;
	__u32 reserved;
};

/**
 * VE_DMA_IOC_SUBMIT - starts a transfer and returns its request id.
 *
 * Argument: &struct ve_dma_submit. Returns once the request's last descriptor is handed to the
 * engine (a long transfer of small pages blocks while 64 MiB are pinned and not yet copied). The
 * pins are as for VE_DMA_IOC_XFER. Needs CAP_SYS_ADMIN.
 *
 * Return: 0, or -1 with errno: EPERM (also: VE_DMA_VH_BUS without CAP_SYS_RAWIO or under kernel
 * lockdown); EFAULT; EINVAL (unknown flags or opt bits, a combination the flags above rule out,
 * alignment to 8 bytes, zero length, overflow, nonzero reserved fields or id, an empty,
 * misaligned or too long extent list or one whose lengths do not add up to len, a VE range beyond
 * the card's VE memory or register space or the engine's 48-bit reach); ESRCH; ENOMEM (as for VE_DMA_IOC_XFER); EAGAIN (VE_DMA_MAX_REQUESTS submitted
 * and not yet collected by this file); EIO (the engine is out of service: it once did not
 * halt); ETIMEDOUT (no engine progress for 2 s while the window was full); EINTR; ENODEV; EBUSY
 * (a register mapping has the engine). On an error nothing of the request remains.
 */
#define VE_DMA_IOC_SUBMIT	_IOWR(VE_IOC_MAGIC, VE_DMA_NR_BASE + 1, struct ve_dma_submit)
/**
 * VE_DMA_IOC_WAIT - waits for a request to finish, reports it and forgets it.
 *
 * Argument: &struct ve_dma_wait. Waits up to timeout_ms until request id (0: any of this file's)
 * finishes. Needs CAP_SYS_ADMIN.
 *
 * Return: 0 (the request's own result is in status), or -1 with errno: EPERM; EFAULT; EINVAL
 * (nonzero flags or reserved fields); ENOENT (no such request on this file: never submitted,
 * already collected, or another file's); ETIMEDOUT (still running; it stays); EINTR (a signal;
 * restarted, with the whole timeout, after a handler installed with SA_RESTART).
 */
#define VE_DMA_IOC_WAIT		_IOWR(VE_IOC_MAGIC, VE_DMA_NR_BASE + 2, struct ve_dma_wait)
/**
 * VE_DMA_IOC_CANCEL - stops a request that is still running.
 *
 * Argument: &struct ve_dma_cancel. The engine is halted, the request's descriptors taken out of
 * the ring (the other requests' stay), its pages unpinned and the engine restarted. The request
 * is still collected by VE_DMA_IOC_WAIT, with status -ECANCELED if this stopped it. Needs
 * CAP_SYS_ADMIN.
 *
 * Return: 0, or -1 with errno: EPERM; EFAULT; EINVAL; ENOENT; EIO (the engine did not halt: every
 * page its ring can reach stays pinned for good, every request fails with EIO and the card takes
 * no new one until it is unbound).
 */
#define VE_DMA_IOC_CANCEL	_IOW(VE_IOC_MAGIC, VE_DMA_NR_BASE + 3, struct ve_dma_cancel)

/* ve_dma_cache.flags: first take out every entry of the caller's open file */
#define VE_DMA_CACHE_DROP	1

/**
 * struct ve_dma_cache - argument of VE_DMA_IOC_CACHE: the card's registration cache.
 * @flags: in: 0 or VE_DMA_CACHE_DROP.
 * @entries: out: entries held.
 * @hits: out: transfers served from an entry (nothing pinned).
 * @misses: out: transfers that pinned their buffer into a new entry.
 * @bypasses: out: transfers that could have been cached and were not (longer than the cache,
 *	the pinned-memory limit reached, or their memory changed while it was pinned).
 * @invalidations: out: entries taken out because their memory changed (munmap, mremap,
 *	MADV_DONTNEED, fork, migration, exit...).
 * @evictions: out: entries taken out to make room or replaced by an overlapping one.
 * @bytes: out: bytes of pages the entries hold pinned.
 * @cap: out: bytes the cache may hold (module parameter dma_cache_mib; 0: off).
 * @reserved: in: must be 0; out: 0.
 *
 * Every output field must be 0 on input. Counters are the card's, since it was bound.
 */
struct ve_dma_cache {
	__u32 flags;
	__u32 entries;
	__u64 hits;
	__u64 misses;
	__u64 bypasses;
	__u64 invalidations;
	__u64 evictions;
	__u64 bytes;
	__u64 cap;
	__u64 reserved[2];
};

/**
 * VE_DMA_IOC_CACHE - the registration cache's counters.
 *
 * Argument: &struct ve_dma_cache. With dma_cache_mib set, a transfer by VE_DMA_IOC_XFER or
 * VE_DMA_IOC_SUBMIT keeps its VH buffer pinned and mapped for the card after it completes, charged
 * to the process's pinned memory (RLIMIT_MEMLOCK), so that a later transfer of the same bytes by
 * the same open file pins nothing. Entries follow every change to the process's memory (MMU
 * notifiers), are taken out least recently used first when the cache is full, and go when the
 * file is closed; VE_DMA_CACHE_DROP takes out the caller's at once. Needs CAP_SYS_ADMIN.
 *
 * Return: 0, or -1 with errno: EPERM; EFAULT; EINVAL (unknown flags, nonzero output or reserved
 * fields).
 */
#define VE_DMA_IOC_CACHE	_IOWR(VE_IOC_MAGIC, VE_DMA_NR_BASE + 4, struct ve_dma_cache)

/**
 * VE_DRV_IOC_INFO - what the driver knows about one card.
 *
 * Argument: &struct ve_drv_info. Any user with the device open may ask.
 *
 * Return: 0, or -1 with errno: EFAULT, EINVAL (nonzero flags or reserved), ENODEV (card removed).
 */
#define VE_DRV_IOC_INFO		_IOWR(VE_IOC_MAGIC, VE_DRV_NR_BASE + 0, struct ve_drv_info)
/**
 * VE_DRV_IOC_PING - emulator only: one transport round trip.
 *
 * Argument: &struct ve_drv_ping. Goes through the emulator's ping mailbox and back by the
 * privileged DMA interrupt. Needs CAP_SYS_ADMIN.
 *
 * Return: 0, or -1 with errno: EPERM, EFAULT, EINVAL, EOPNOTSUPP (real hardware), ETIMEDOUT (no
 * answer in 2 s), EIO (wrong answer or check word rejected), EINTR, ENODEV (card removed).
 */
#define VE_DRV_IOC_PING		_IOWR(VE_IOC_MAGIC, VE_DRV_NR_BASE + 1, struct ve_drv_ping)
/**
 * VE_DRV_IOC_PIN_BENCH - test only: times the driver's pin engine on the caller's buffer.
 *
 * Argument: &struct ve_drv_pin_bench. Only with the module parameter test_ioctls=1 (EINVAL
 * otherwise). Pins the caller's [addr, addr + len) with the driver's pin engine, unpins it, and
 * reports the time each took, for the pinning micro-benchmark. Needs CAP_SYS_ADMIN.
 *
 * Return: 0, or -1 with errno: EPERM, EFAULT, EINVAL (zero length, overflow, unknown flags,
 * nonzero reserved), and GUP's errors; nothing stays pinned.
 */
#define VE_DRV_IOC_PIN_BENCH	_IOWR(VE_IOC_MAGIC, VE_DRV_NR_BASE + 2, struct ve_drv_pin_bench)
/**
 * VE_DRV_IOC_KICK - the emulator's doorbell, for a user-space DMA manager.
 *
 * No argument. After a user-space DMA manager wrote DMACTL through the register mapping: the
 * emulator traps nothing, so it needs the doorbell; real cards see the write itself, and there
 * this does nothing. Needs CAP_SYS_ADMIN.
 *
 * Return: 0, or -1 with errno: EPERM, ENODEV.
 */
#define VE_DRV_IOC_KICK		_IO(VE_IOC_MAGIC, VE_DRV_NR_BASE + 3)
/**
 * VE_DRV_IOC_RECLAIM - takes the privileged DMA engine back from a user-space manager.
 *
 * No argument. The register mapping is zapped (a later access faults with SIGBUS), the engine
 * halted and its ring cleared, and the in-kernel manager owns it again. Needs CAP_SYS_ADMIN.
 *
 * Return: 1 if the engine was lent, 0 if the kernel had it; or -1 with errno EPERM.
 */
#define VE_DRV_IOC_RECLAIM	_IO(VE_IOC_MAGIC, VE_DRV_NR_BASE + 4)

/**
 * struct ve_drv_core_state - argument of VE_DRV_IOC_CORE_STATE (test only).
 * @core: in: the physical core.
 * @flags: in: must be 0.
 * @count: out: core interrupts counted since the count was last reset.
 * @wake: out: the core's wake-up generation (interrupts while a task was assigned).
 * @exs: out: the core's EXS, read as NEC's driver reads it.
 * @exsrar_slot: out: the core's EXSRAR report slot in host memory, as the card last wrote it.
 * @intvec: out: the INTVEC register.
 * @reserved: in: must be 0; out: 0.
 */
struct ve_drv_core_state {
	__u32 core;
	__u32 flags;
	__u64 count;
	__u64 wake;
	__u64 exs;
	__u64 exsrar_slot;
	__u64 intvec;
	__u64 reserved[2];
};

/**
 * VE_DRV_IOC_CORE_STATE - test only: one VE core as the driver sees it.
 *
 * Argument: &struct ve_drv_core_state. Only with the module parameter test_ioctls=1 (EINVAL
 * otherwise). Needs CAP_SYS_ADMIN.
 *
 * Return: 0, or -1 with errno: EPERM, EFAULT, EINVAL (core outside the driver's table, nonzero
 * flags or reserved), ENODEV (card removed).
 */
#define VE_DRV_IOC_CORE_STATE	_IOWR(VE_IOC_MAGIC, VE_DRV_NR_BASE + 5, struct ve_drv_core_state)

/* NEC's per-variant part, chosen by the including file as with NEC's header. */
#if defined(_VE_ARCH_VE3_)
#include "ve_drv_ve3.h"
#elif defined(_VE_ARCH_VE1_)
#include "ve_drv_ve1.h"
#endif

#endif /* _UAPI_VE_DRV_H */
