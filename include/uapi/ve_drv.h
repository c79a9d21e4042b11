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

#define VE_IOC_MAGIC		0xF5
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
	__u64 reserved[5];
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

#define VE_DRV_IOC_INFO		_IOWR(VE_IOC_MAGIC, VE_DRV_NR_BASE + 0, struct ve_drv_info)
#define VE_DRV_IOC_PING		_IOWR(VE_IOC_MAGIC, VE_DRV_NR_BASE + 1, struct ve_drv_ping)

#endif /* _UAPI_VE_DRV_H */
