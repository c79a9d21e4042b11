/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * ve_drv_ve3.h: the VE3 part of the user ABI of /dev/veN, with NEC's names, numbers and layouts
 * (NEC's ve_drv-kmod v3.5 src/ve_drv_ve3.h). ve_drv.h includes it when the including file defines
 * _VE_ARCH_VE3_; it is never included on its own.
 *
 * The Rust twin is src/uapi.rs; tests/host checks both agree byte for byte.
 */
#ifndef _UAPI_VE_DRV_H
#error "ve_drv_ve3.h is part of ve_drv.h: define _VE_ARCH_VE3_ and include ve_drv.h"
#endif

#ifndef _UAPI_VE_DRV_VE3_H
#define _UAPI_VE_DRV_VE3_H

/**
 * VE_DRV_ARCH_NAME_VE3 - the name a VE3 card reports in the sysfs attribute ve_arch_class.
 */
#define VE_DRV_ARCH_NAME_VE3	"ve3"

/**
 * enum ve_state - VE3: the card's state, as the sysfs attribute ve_state reports it.
 * @VE_ST_NOT_DEFINE0: not used.
 * @VE_ST_AVAILABLE: usable.
 * @VE_ST_ONLINE: the same value as @VE_ST_AVAILABLE (VE1's name for it).
 * @VE_ST_NOT_DEFINE1: not used.
 * @VE_ST_MAINTENANCE: in maintenance.
 * @VE_ST_UNAVAILABLE: failed; not usable until reset.
 */
enum ve_state {
	VE_ST_NOT_DEFINE0,
	VE_ST_AVAILABLE,
	VE_ST_ONLINE = VE_ST_AVAILABLE,
	VE_ST_NOT_DEFINE1,
	VE_ST_MAINTENANCE,
	VE_ST_UNAVAILABLE,
};

/**
 * DOC: VE3 mmap windows
 *
 * The file offset of a mapping of /dev/veN picks the BAR: BAR4 (non-prefetchable registers,
 * 8 MiB) from VEDRV_VE3_MAP_BAR4_OFFSET, BAR2 (prefetchable registers, 64 MiB) from
 * VEDRV_VE3_MAP_BAR2_OFFSET (128 MiB), BAR0 (VE memory through the PCIATB) from
 * VEDRV_VE3_MAP_BAR0_OFFSET (2 GiB + 128 MiB), each up to its BAR's size; a mapping lies in one
 * window.
 *
 * In BAR2 core N's user registers are at N * VEDRV_VE3_PCI_BAR2_CREG_SIZE +
 * VEDRV_VE3_PCI_BAR2_UREG_OFFSET, its system registers at N * VEDRV_VE3_PCI_BAR2_CREG_SIZE +
 * VEDRV_VE3_PCI_BAR2_SREG_OFFSET (32 cores, 1 MiB each), the system-common registers at
 * VEDRV_VE3_PCI_BAR2_SCR_OFFSET (32 MiB, 2 MiB long). In BAR4 the same with the
 * VEDRV_VE3_PCI_BAR4_ names: 64 KiB per core, the system-common registers at 2 MiB, 1 MiB long.
 *
 * This driver maps only BAR4's system-common registers, and only for a user-space DMA manager
 * (see "Interrupt wait and register mapping" in ve_drv.h).
 */

/** VEDRV_VE3_MAP_BAR4_OFFSET - file offset of the BAR4 window (registers). */
#define VEDRV_VE3_MAP_BAR4_OFFSET	(0x00000000ULL)
/** VEDRV_VE3_MAP_BAR2_OFFSET - file offset of the BAR2 window (registers). */
#define VEDRV_VE3_MAP_BAR2_OFFSET	(0x08000000ULL)
/** VEDRV_VE3_MAP_BAR0_OFFSET - file offset of the BAR0 window (VE memory), 2 GiB past BAR2's. */
#define VEDRV_VE3_MAP_BAR0_OFFSET	(VEDRV_VE3_MAP_BAR2_OFFSET + 0x80000000ULL)

/** VEDRV_VE3_PCI_BAR2_UREG_OFFSET - a core's user registers, from the start of its BAR2 area. */
#define VEDRV_VE3_PCI_BAR2_UREG_OFFSET	(0x0)
/** VEDRV_VE3_PCI_BAR2_UREG_SIZE - bytes of a core's user registers in BAR2 (512 KiB). */
#define VEDRV_VE3_PCI_BAR2_UREG_SIZE	(0x80000)
/** VEDRV_VE3_PCI_BAR2_SREG_OFFSET - a core's system registers, from the start of its BAR2 area. */
#define VEDRV_VE3_PCI_BAR2_SREG_OFFSET	VEDRV_VE3_PCI_BAR2_UREG_SIZE
/** VEDRV_VE3_PCI_BAR2_SREG_SIZE - bytes of a core's system registers in BAR2 (512 KiB). */
#define VEDRV_VE3_PCI_BAR2_SREG_SIZE	VEDRV_VE3_PCI_BAR2_UREG_SIZE
/** VEDRV_VE3_PCI_BAR2_CREG_SIZE - bytes of one core's area in BAR2 (1 MiB). */
#define VEDRV_VE3_PCI_BAR2_CREG_SIZE	\
	(VEDRV_VE3_PCI_BAR2_UREG_SIZE + VEDRV_VE3_PCI_BAR2_SREG_SIZE)
/** VEDRV_VE3_PCI_BAR2_SCR_OFFSET - the system-common registers' offset in BAR2 (32 MiB). */
#define VEDRV_VE3_PCI_BAR2_SCR_OFFSET	(0x2000000)
/** VEDRV_VE3_PCI_BAR2_SCR_SIZE - bytes of the system-common registers in BAR2 (2 MiB). */
#define VEDRV_VE3_PCI_BAR2_SCR_SIZE	(0x200000)

/** VEDRV_VE3_PCI_BAR4_UREG_OFFSET - a core's user registers, from the start of its BAR4 area. */
#define VEDRV_VE3_PCI_BAR4_UREG_OFFSET	(0x0)
/** VEDRV_VE3_PCI_BAR4_UREG_SIZE - bytes of a core's user registers in BAR4 (4 KiB). */
#define VEDRV_VE3_PCI_BAR4_UREG_SIZE	(0x1000)
/** VEDRV_VE3_PCI_BAR4_SREG_OFFSET - a core's system registers, from the start of its BAR4 area. */
#define VEDRV_VE3_PCI_BAR4_SREG_OFFSET	VEDRV_VE3_PCI_BAR4_UREG_SIZE
/** VEDRV_VE3_PCI_BAR4_SREG_SIZE - bytes of a core's system registers in BAR4 (60 KiB). */
#define VEDRV_VE3_PCI_BAR4_SREG_SIZE	(0xf000)
/** VEDRV_VE3_PCI_BAR4_CREG_SIZE - bytes of one core's area in BAR4 (64 KiB). */
#define VEDRV_VE3_PCI_BAR4_CREG_SIZE	\
	(VEDRV_VE3_PCI_BAR4_UREG_SIZE + VEDRV_VE3_PCI_BAR4_SREG_SIZE)
/** VEDRV_VE3_PCI_BAR4_SCR_OFFSET - the system-common registers' offset in BAR4 (2 MiB). */
#define VEDRV_VE3_PCI_BAR4_SCR_OFFSET	(0x200000)
/** VEDRV_VE3_PCI_BAR4_SCR_SIZE - bytes of the system-common registers in BAR4 (1 MiB). */
#define VEDRV_VE3_PCI_BAR4_SCR_SIZE	(0x100000)

/**
 * VEDRV_IRQ_TYPE_VE3 - &struct ve_wait_irq's ve_irq_type for a VE3 mask ("VE", 0, 3 from the
 * lowest byte up).
 */
#define VEDRV_IRQ_TYPE_VE3	(0x3004556)

/**
 * struct ve3_wait_irq - VE3: the mask VEDRV_CMD_WAIT_INTR's bits points at (40 bytes).
 * @ve_wait_irq_type: VEDRV_IRQ_TYPE_VE3 (the &struct ve_wait_irq head).
 * @intvec: the four 64-bit words of the INTVEC register, one bit per interrupt: word 0 the
 *	cores (bits 31 to 0), word 1 the privileged DMA engine (bit 0) and PCI exceptions (upper
 *	half), word 2 the user DMA engines, word 3 the cores' faults (lower half) and card faults
 *	(upper half).
 */
struct ve3_wait_irq {
	uint64_t ve_wait_irq_type;
	uint64_t intvec[4];
};

#endif /* _UAPI_VE_DRV_VE3_H */
