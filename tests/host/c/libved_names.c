// SPDX-License-Identifier: GPL-2.0
/*
 * Every name NEC's libved 3.4.1 and VEOS 3.5.0 take from NEC's ve_drv.h and its variant headers,
 * used once, so that a name missing from include/uapi/ fails the host tests (tests/host/src/abi.rs
 * compiles this file three times: as libved.c includes ve_drv.h, with _VE_ARCH_VE1_ as
 * libved_ve1.c and register_ve1.c do, and with _VE_ARCH_VE3_ as libved_ve3.c and register_ve3.c
 * do). Written for this project; the list of names was taken by reading libved's and VEOS's
 * sources. Compiled, never run.
 */
#include <stdint.h>
#include <sys/types.h>
#include <sys/ioctl.h>
#include <time.h>
#include <ve_drv.h>

/* The commands libved issues (libved.c, libved_ve1.c, libved_ve3.c). */
static const unsigned long commands[] = {
	VEDRV_CMD_WAIT_INTR,
	VEDRV_CMD_WAIT_EXCEPTION,
	VEDRV_CMD_VHVA_TO_VSAA,
	VEDRV_CMD_CREATE_TASK,
	VEDRV_CMD_DELETE_TASK,
	VEDRV_CMD_ASSIGN_TASK,
	VEDRV_CMD_UNASSIGN_TASK,
	VEDRV_CMD_ASSIGN_CR,
	VEDRV_CMD_UNASSIGN_CR,
	VEDRV_CMD_ASSIGN_VEMEM,
	VEDRV_CMD_UNASSIGN_VEMEM,
	VEDRV_CMD_UNMAP,
	VEDRV_CMD_RST_EXSRAR_MEM,
	VEDRV_CMD_VHVA_TO_VSAA_PIN_DOWN,
	VEDRV_CMD_RELEASE_PD_PAGE,
	VEDRV_CMD_RELEASE_PD_PAGE_ALL,
	VEDRV_CMD_DELETE_ALL_TASK,
	VEDRV_CMD_RST_INTR_COUNT,
	VEDRV_CMD_VE_VE_RESET,
	VEDRV_CMD_REVIVE_TASK,
	VEDRV_CMD_HOST_PID,
	VEDRV_CMD_VHVA_TO_VSAA_BLK,
	VEDRV_CMD_VHVA_TO_VSAA_BLK_PIN_DOWN,
	VEDRV_CMD_RELEASE_PD_PAGE_BLK,
	VEDRV_CMD_COUNT_PD_PAGE_ALL,
	VEDRV_CMD_OWNERSHIP,
	VEDRV_CMD_NOTIFY_FAULT,
	VEDRV_CMD_GET_EXS_REG,
	VEDRV_CMD_COMPLETE_MEMCLEAR,
	VEDRV_CMD_HANDLE_CLOCK_GATING,
	VEDRV_CMD_GET_CLOCK_GATING_STATE,
#if defined(_VE_ARCH_VE1_)
	VEDRV_CMD_VE1_UPDATE_FIRMWARE,
	VEDRV_CMD_COMPAT_VE1_WAIT_INTR,
#endif
};

/* libved.c: the ABI check against sysfs and the class name buffer. */
static const int abi_version = VEDRV_ABI_VERSION;
static char arch_class[VEDRV_ARCH_CLASS_NAME_MAX];

/* VEOS (src/veos/main/veos_init.c, veos_main.c): the states it writes to os_state. */
static const enum os_state os_states[] = {
	OS_ST_ONLINE, OS_ST_OFFLINE, OS_ST_INITIALIZING, OS_ST_TERMINATING,
};

/* Every argument structure, every field libved sets or reads. */
unsigned long libved_names_use(struct timespec *ts);
unsigned long libved_names_use(struct timespec *ts)
{
	unsigned long sum = 0;
	size_t i;
	uint64_t pa[VP_MAXBULK];
	struct ve_tid_core tc = { .tid = 1, .core_id = 0 };
	struct ve_vp vp = { .type = OS_LIST };
	struct ve_vp_blk vb = { .type = TD_LIST };
	struct ve_vp_release rel = { .type = OS_LIST, .addr = 0 };
	struct ve_vp_blk_release brel = { .type = OS_LIST, .npages = 1, .addr = pa };
	struct ve_cr_assign cr = { .cr_page_num = 0, .owner_uid = 0 };
	struct ve_pcimem_assign pm = { .pciatb_entry = 0, .owner_uid = 0 };
	struct ve_unmap um = { .offset = 0, .size = 0 };
	struct ve_get_host_pid hp = { .host_pid = 1, .namespace_pid = 1 };
	struct ve_ownership own = { .cmd = 1 };
	struct ve_wait_irq_arg wa;
	enum pd_list list = NR_PD_LIST;

	vp.vp_info.pid = 0;
	vp.vp_info.write = 0;
	vp.vp_info.virt = 0;
	sum += vp.vp_info.phys + (unsigned long)vp.vp_info.pfnmap;
	vb.vp_info.pid = 0;
	vb.vp_info.write = 1;
	vb.vp_info.vaddr = 0;
	vb.vp_info.length = 0;
	vb.vp_info.paddr = pa;
	vb.vp_info.maxpages = VP_MAXBULK;
	sum += vb.vp_info.npages + (unsigned long)vb.vp_info.pfnmap + (unsigned long)vb.vp_info.pgsz;
	sum += rel.addr + (unsigned long)brel.npages + (unsigned long)(uintptr_t)brel.addr;
	sum += (unsigned long)tc.tid + (unsigned long)tc.core_id;
	sum += (unsigned long)cr.cr_page_num + cr.owner_uid;
	sum += (unsigned long)pm.pciatb_entry + pm.owner_uid;
	sum += (unsigned long)um.offset + um.size;
	sum += (unsigned long)hp.host_pid + (unsigned long)hp.namespace_pid + (unsigned long)own.cmd;
	sum += (unsigned long)list + VE_IOC_MAGIC;
	wa.timeout = ts;

#if defined(_VE_ARCH_VE1_)
	{
		/* libved_ve1.c, register_ve1.c; VEOS ve1/src/veos/{amm,psm,main}. */
		static const char name[] = VE_DRV_ARCH_NAME_VE1;
		struct ve1_wait_irq cond = { .ve_wait_irq_type = VEDRV_IRQ_TYPE_VE1 };
		struct ve1_compat_wait_irq_arg compat = { .timeout = ts };
		enum ve_state st = VE_ST_UNAVAILABLE;

		cond.upper = 0;
		cond.lower = 1ULL << 48;
		compat.bits.upper = cond.upper;
		compat.bits.lower = cond.lower;
		wa.bits = (struct ve_wait_irq *)&cond;
		sum += wa.bits->ve_irq_type + compat.bits.lower + (unsigned long)st + sizeof(name);
		sum += VEDRV_VE1_MAP_BAR0_OFFSET + VEDRV_VE1_MAP_BAR2_OFFSET +
		       VEDRV_VE1_MAP_BAR3_OFFSET;
		sum += VEDRV_VE1_PCI_BAR2_UREG_OFFSET + VEDRV_VE1_PCI_BAR2_UREG_SIZE +
		       VEDRV_VE1_PCI_BAR2_SREG_OFFSET + VEDRV_VE1_PCI_BAR2_SREG_SIZE +
		       VEDRV_VE1_PCI_BAR2_CREG_SIZE + VEDRV_VE1_PCI_BAR2_SCR_OFFSET +
		       VEDRV_VE1_PCI_BAR2_SCR_SIZE;
		sum += VE_ST_UNINITIALIZED + VE_ST_ONLINE + VE_ST_OFFLINE + VE_ST_MAINTENANCE;
	}
#elif defined(_VE_ARCH_VE3_)
	{
		/* libved_ve3.c, register_ve3.c; VEOS ve3/src/veos/{amm,psm,main}. */
		static const char name[] = VE_DRV_ARCH_NAME_VE3;
		struct ve3_wait_irq cond = { .ve_wait_irq_type = VEDRV_IRQ_TYPE_VE3 };
		enum ve_state st = VE_ST_UNAVAILABLE;

		cond.intvec[1] = 1;
		wa.bits = (struct ve_wait_irq *)&cond;
		sum += wa.bits->ve_irq_type + cond.intvec[1] + (unsigned long)st + sizeof(name);
		sum += VEDRV_VE3_MAP_BAR0_OFFSET + VEDRV_VE3_MAP_BAR2_OFFSET +
		       VEDRV_VE3_MAP_BAR4_OFFSET;
		sum += VEDRV_VE3_PCI_BAR2_UREG_OFFSET + VEDRV_VE3_PCI_BAR2_UREG_SIZE +
		       VEDRV_VE3_PCI_BAR2_SREG_OFFSET + VEDRV_VE3_PCI_BAR2_SREG_SIZE +
		       VEDRV_VE3_PCI_BAR2_CREG_SIZE + VEDRV_VE3_PCI_BAR2_SCR_OFFSET +
		       VEDRV_VE3_PCI_BAR2_SCR_SIZE;
		sum += VEDRV_VE3_PCI_BAR4_UREG_OFFSET + VEDRV_VE3_PCI_BAR4_UREG_SIZE +
		       VEDRV_VE3_PCI_BAR4_SREG_OFFSET + VEDRV_VE3_PCI_BAR4_SREG_SIZE +
		       VEDRV_VE3_PCI_BAR4_CREG_SIZE + VEDRV_VE3_PCI_BAR4_SCR_OFFSET +
		       VEDRV_VE3_PCI_BAR4_SCR_SIZE;
		sum += VE_ST_NOT_DEFINE0 + VE_ST_AVAILABLE + VE_ST_ONLINE + VE_ST_NOT_DEFINE1 +
		       VE_ST_MAINTENANCE;
	}
#else
	wa.bits = 0;
#endif
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		sum += commands[i];
	for (i = 0; i < sizeof(os_states) / sizeof(os_states[0]); i++)
		sum += os_states[i];
	arch_class[0] = 0;
	return sum + (unsigned long)abi_version + (unsigned long)(uintptr_t)wa.bits + arch_class[0];
}
