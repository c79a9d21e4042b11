/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * ve_drv_ve1.h: the VE1 part of the user ABI of /dev/veN, with NEC's names, numbers and layouts
 * (NEC's ve_drv-kmod v3.5 src/ve_drv_ve1.h). ve_drv.h includes it when the including file defines
 * _VE_ARCH_VE1_; it is never included on its own.
 *
 * The Rust twin is src/uapi.rs; tests/host checks both agree byte for byte.
 */
#ifndef _UAPI_VE_DRV_H
#error "ve_drv_ve1.h is part of ve_drv.h: define _VE_ARCH_VE1_ and include ve_drv.h"
#endif

#ifndef _UAPI_VE_DRV_VE1_H
#define _UAPI_VE_DRV_VE1_H

/**
 * VE_DRV_ARCH_NAME_VE1 - the name a VE1 card reports in the sysfs attribute ve_arch_class.
 */
#define VE_DRV_ARCH_NAME_VE1	"ve1"

/**
 * enum ve_state - VE1: the card's state, as the sysfs attribute ve_state reports it.
 * @VE_ST_UNINITIALIZED: not yet set up.
 * @VE_ST_ONLINE: usable.
 * @VE_ST_OFFLINE: taken out of service.
 * @VE_ST_MAINTENANCE: in maintenance.
 * @VE_ST_UNAVAILABLE: failed; not usable until reset.
 */
enum ve_state {
	VE_ST_UNINITIALIZED,
	VE_ST_ONLINE,
	VE_ST_OFFLINE,
	VE_ST_MAINTENANCE,
	VE_ST_UNAVAILABLE,
};

/**
 * DOC: VE1 mmap windows
 *
 * The file offset of a mapping of /dev/veN picks the BAR: BAR3 (the CR pages) from
 * VEDRV_VE1_MAP_BAR3_OFFSET, BAR2 (every register) from VEDRV_VE1_MAP_BAR2_OFFSET (256 MiB),
 * BAR0 (VE memory through the PCIATB) from VEDRV_VE1_MAP_BAR0_OFFSET (512 MiB), each up to its
 * BAR's size; a mapping lies in one window. In BAR2, core N's user registers are at
 * N * VEDRV_VE1_PCI_BAR2_CREG_SIZE + VEDRV_VE1_PCI_BAR2_UREG_OFFSET and its system registers at
 * N * VEDRV_VE1_PCI_BAR2_CREG_SIZE + VEDRV_VE1_PCI_BAR2_SREG_OFFSET (16 cores, 1 MiB each); the
 * system-common registers at VEDRV_VE1_PCI_BAR2_SCR_OFFSET (16 MiB, 2 MiB long).
 *
 * This driver maps only the system-common registers, and only for a user-space DMA manager (see
 * "Interrupt wait and register mapping" in ve_drv.h).
 */

/** VEDRV_VE1_MAP_BAR3_OFFSET - file offset of the BAR3 window (CR pages). */
#define VEDRV_VE1_MAP_BAR3_OFFSET	(0x00000000ULL)
/** VEDRV_VE1_MAP_BAR2_OFFSET - file offset of the BAR2 window (registers). */
#define VEDRV_VE1_MAP_BAR2_OFFSET	(0x10000000ULL)
/** VEDRV_VE1_MAP_BAR0_OFFSET - file offset of the BAR0 window (VE memory). */
#define VEDRV_VE1_MAP_BAR0_OFFSET	(0x20000000ULL)

/** VEDRV_VE1_PCI_BAR2_UREG_OFFSET - a core's user registers, from the start of its area. */
#define VEDRV_VE1_PCI_BAR2_UREG_OFFSET	(0x0)
/** VEDRV_VE1_PCI_BAR2_UREG_SIZE - bytes of a core's user registers (512 KiB). */
#define VEDRV_VE1_PCI_BAR2_UREG_SIZE	(0x80000)
/** VEDRV_VE1_PCI_BAR2_SREG_OFFSET - a core's system registers, from the start of its area. */
#define VEDRV_VE1_PCI_BAR2_SREG_OFFSET	VEDRV_VE1_PCI_BAR2_UREG_SIZE
/** VEDRV_VE1_PCI_BAR2_SREG_SIZE - bytes of a core's system registers (512 KiB). */
#define VEDRV_VE1_PCI_BAR2_SREG_SIZE	VEDRV_VE1_PCI_BAR2_UREG_SIZE
/** VEDRV_VE1_PCI_BAR2_CREG_SIZE - bytes of one core's area in BAR2 (1 MiB). */
#define VEDRV_VE1_PCI_BAR2_CREG_SIZE	\
	(VEDRV_VE1_PCI_BAR2_UREG_SIZE + VEDRV_VE1_PCI_BAR2_SREG_SIZE)
/** VEDRV_VE1_PCI_BAR2_SCR_OFFSET - the system-common registers' offset in BAR2 (16 MiB). */
#define VEDRV_VE1_PCI_BAR2_SCR_OFFSET	(0x1000000)
/** VEDRV_VE1_PCI_BAR2_SCR_SIZE - bytes of the system-common registers (2 MiB). */
#define VEDRV_VE1_PCI_BAR2_SCR_SIZE	(0x200000)

/**
 * VEDRV_IRQ_TYPE_VE1 - &struct ve_wait_irq's ve_irq_type for a VE1 mask ("VE", 0, 1 from the
 * lowest byte up).
 */
#define VEDRV_IRQ_TYPE_VE1	(0x1004556)

/**
 * struct ve1_wait_irq - VE1: the mask VEDRV_CMD_WAIT_INTR's bits points at (24 bytes).
 * @ve_wait_irq_type: VEDRV_IRQ_TYPE_VE1 (the &struct ve_wait_irq head).
 * @upper: interrupts 127 to 64, one bit each.
 * @lower: interrupts 63 to 0, one bit each (the MSI-X entry's number; the privileged DMA
 *	engine's is 48).
 */
struct ve1_wait_irq {
	uint64_t ve_wait_irq_type;
	uint64_t upper;
	uint64_t lower;
};

/**
 * struct ve1_compat_wait_irq - VE1: the untyped 128-bit mask of ve_drv v1 and v2 (16 bytes).
 * @upper: interrupts 127 to 64.
 * @lower: interrupts 63 to 0 (the privileged DMA engine's: bit 48).
 */
struct ve1_compat_wait_irq {
	uint64_t upper;
	uint64_t lower;
};

/**
 * struct ve1_compat_wait_irq_arg - argument of VEDRV_CMD_COMPAT_VE1_WAIT_INTR (24 bytes).
 * @bits: in: the bits to wait for; out: the bits caught.
 * @timeout: in: user pointer to the longest wait; required.
 */
struct ve1_compat_wait_irq_arg {
	struct ve1_compat_wait_irq bits;
	struct timespec *timeout;
};

/**
 * VEDRV_CMD_VE1_UPDATE_FIRMWARE - VE1: loads new firmware into the card.
 *
 * No argument. Errors: EPERM without CAP_SYS_ADMIN; EAGAIN unless os_state is OFFLINE (as NEC's);
 * otherwise EOPNOTSUPP: programming the PCIe SerDes firmware needs a real VE1 and NEC's firmware
 * files (NEC's driver ships with the update skipped).
 */
#define VEDRV_CMD_VE1_UPDATE_FIRMWARE	_IO(VE_IOC_MAGIC, 0)
/**
 * VEDRV_CMD_COMPAT_VE1_WAIT_INTR - waits for a VE interrupt (the form of ve_drv v1 and v2).
 *
 * Argument: &struct ve1_compat_wait_irq_arg. Same number as VEDRV_CMD_WAIT_INTR, told apart by
 * the argument size encoded in the command. See "Interrupt wait and register mapping" in
 * ve_drv.h.
 */
#define VEDRV_CMD_COMPAT_VE1_WAIT_INTR	\
	_IOWR(VE_IOC_MAGIC, 1, struct ve1_compat_wait_irq_arg)

#endif /* _UAPI_VE_DRV_VE1_H */
