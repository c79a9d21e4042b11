// SPDX-License-Identifier: GPL-2.0

//! The user ABI of `/dev/veN`: ioctl numbers and argument layouts.
//!
//! `core` only: the module, the guest tests and the host tests include this file. Its C twin is
//! `include/uapi/ve_drv.h`; the host test `tests/host/src/abi.rs` compiles that header and checks
//! every size, offset and ioctl number against the definitions here.
//!
//! NEC's ioctls keep NEC's magic (0xF5), numbers (0..=31) and layouts. This driver's own ioctls use
//! the same magic with numbers NEC has never used, in two ranges: the in-kernel DMA manager's from
//! [`VE_DMA_NR_BASE`] (0x40..=0x43), the card's from [`VE_DRV_NR_BASE`] (0x80..=0x85).

/// NEC's ioctl magic (`VE_IOC_MAGIC`).
pub const VE_IOC_MAGIC: u32 = 0xF5;
/// First ioctl number of this driver's card commands (`VE_DRV_IOC_*`).
pub const VE_DRV_NR_BASE: u32 = 0x80;
/// Version of this driver's own ABI, reported by [`VE_DRV_IOC_INFO`].
pub const VE_DRV_ABI_VERSION: u32 = 1;

const IOC_NRBITS: u32 = 8;
const IOC_TYPEBITS: u32 = 8;
const IOC_SIZEBITS: u32 = 14;
const IOC_NRSHIFT: u32 = 0;
const IOC_TYPESHIFT: u32 = IOC_NRSHIFT + IOC_NRBITS;
const IOC_SIZESHIFT: u32 = IOC_TYPESHIFT + IOC_TYPEBITS;
const IOC_DIRSHIFT: u32 = IOC_SIZESHIFT + IOC_SIZEBITS;
/// `_IOC_WRITE`: user space writes the argument (the kernel reads it).
pub const IOC_WRITE: u32 = 1;
/// `_IOC_READ`: user space reads the argument (the kernel writes it).
pub const IOC_READ: u32 = 2;

/// `_IOC(dir, type, nr, size)` as in `include/uapi/asm-generic/ioctl.h`.
pub const fn ioc(dir: u32, ty: u32, nr: u32, size: usize) -> u32 {
    (dir << IOC_DIRSHIFT)
        | (ty << IOC_TYPESHIFT)
        | (nr << IOC_NRSHIFT)
        | ((size as u32) << IOC_SIZESHIFT)
}

/// `_IOC_NR(cmd)`.
pub const fn ioc_nr(cmd: u32) -> u32 {
    (cmd >> IOC_NRSHIFT) & ((1 << IOC_NRBITS) - 1)
}

/// `_IOC_TYPE(cmd)`.
pub const fn ioc_type(cmd: u32) -> u32 {
    (cmd >> IOC_TYPESHIFT) & ((1 << IOC_TYPEBITS) - 1)
}

/// `_IOC_SIZE(cmd)`.
pub const fn ioc_size(cmd: u32) -> usize {
    ((cmd >> IOC_SIZESHIFT) & ((1 << IOC_SIZEBITS) - 1)) as usize
}

/// `_IOWR(type, nr, T)`.
pub const fn iowr<T>(nr: u32) -> u32 {
    ioc(
        IOC_READ | IOC_WRITE,
        VE_IOC_MAGIC,
        nr,
        core::mem::size_of::<T>(),
    )
}

/// `_IOW(type, nr, T)`.
pub const fn iow<T>(nr: u32) -> u32 {
    ioc(IOC_WRITE, VE_IOC_MAGIC, nr, core::mem::size_of::<T>())
}

/// `_IO(type, nr)`: no argument.
pub const fn io(nr: u32) -> u32 {
    ioc(0, VE_IOC_MAGIC, nr, 0)
}

/// `_IOR(type, nr, T)`: NEC uses it for commands that pass data *into* the kernel.
pub const fn ior<T>(nr: u32) -> u32 {
    ioc(IOC_READ, VE_IOC_MAGIC, nr, core::mem::size_of::<T>())
}

// ---------------------------------------------------------------------------------------------
// NEC's translation and pinning ABI (upstream ve_drv-kmod v3.5 / vp-kmod v3.6), byte for byte.
// ---------------------------------------------------------------------------------------------

/// NEC's `enum pd_list`: which pin list an entry belongs to.
pub const OS_LIST: u32 = 0;
/// Pins of the MMM / T&D tools.
pub const TD_LIST: u32 = 1;
/// Number of pin lists.
pub const NR_PD_LIST: u32 = 2;
/// Entries per block call (`VP_MAXBULK`).
pub const VP_MAXBULK: u32 = 100;

/// NEC's `struct vp`: one page translation.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Vp {
    /// In: process whose address space `virt` belongs to (caller's pid namespace).
    pub pid: i32,
    /// In: nonzero if the device will write the page.
    pub write: i32,
    /// Out: 1 if the page is in a `VM_PFNMAP` mapping (translated, not pinned).
    pub pfnmap: i32,
    /// Padding (implicit in C).
    pub _pad: u32,
    /// In: virtual address.
    pub virt: u64,
    /// Out: physical address of `virt` (page base + offset).
    pub phys: u64,
}

/// NEC's `struct ve_vp`: argument of `VEDRV_CMD_VHVA_TO_VSAA[_PIN_DOWN]`.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct VeVp {
    /// `enum pd_list` (used by the pinning variant).
    pub list: u32,
    /// Padding (implicit in C).
    pub _pad: u32,
    /// The translation.
    pub vp_info: Vp,
}

/// NEC's `struct vp_blk`: a block translation.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct VpBlk {
    /// In: process (caller's pid namespace).
    pub pid: i32,
    /// In: nonzero if the device will write.
    pub write: i32,
    /// In: start address.
    pub vaddr: u64,
    /// In: bytes wanted; out: bytes covered from `vaddr`.
    pub length: u64,
    /// In: user array of at least `maxpages` u64 (a user pointer).
    pub paddr: u64,
    /// Out: entries written to `paddr`.
    pub npages: u32,
    /// In: capacity of `paddr` (clamped to [`VP_MAXBULK`]).
    pub maxpages: u32,
    /// Out: 1 for a `VM_PFNMAP` range (translated, not pinned).
    pub pfnmap: i32,
    /// Out: size of each entry's page: 4096 or 2 MiB.
    pub pgsz: i32,
}

/// NEC's `struct ve_vp_blk`: argument of `VEDRV_CMD_VHVA_TO_VSAA_BLK[_PIN_DOWN]`.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct VeVpBlk {
    /// `enum pd_list`.
    pub list: u32,
    /// Padding (implicit in C).
    pub _pad: u32,
    /// The block.
    pub vp_info: VpBlk,
}

/// NEC's `struct ve_vp_blk_release`: argument of `VEDRV_CMD_RELEASE_PD_PAGE_BLK`.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct VeVpBlkRelease {
    /// `enum pd_list`.
    pub list: u32,
    /// Entries in `addr` (0..=[`VP_MAXBULK`]).
    pub npages: i32,
    /// User array of physical addresses, as returned in `vp_blk.paddr`.
    pub addr: u64,
}

/// NEC's `struct ve_vp_release`: argument of `VEDRV_CMD_RELEASE_PD_PAGE`, `_ALL` and `COUNT`.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct VeVpRelease {
    /// `enum pd_list`.
    pub list: u32,
    /// Padding (implicit in C).
    pub _pad: u32,
    /// Physical address (`RELEASE_PD_PAGE` only).
    pub addr: u64,
}

/// Translate one page (no pin).
pub const VEDRV_CMD_VHVA_TO_VSAA: u32 = iowr::<VeVp>(3);
/// Translate and pin one page on a pin list.
pub const VEDRV_CMD_VHVA_TO_VSAA_PIN_DOWN: u32 = iowr::<VeVp>(14);
/// Release one pin by physical address.
pub const VEDRV_CMD_RELEASE_PD_PAGE: u32 = ior::<VeVpRelease>(15);
/// Release every pin of a list.
pub const VEDRV_CMD_RELEASE_PD_PAGE_ALL: u32 = ior::<VeVpRelease>(16);
/// Translate up to 100 pages (no pin).
pub const VEDRV_CMD_VHVA_TO_VSAA_BLK: u32 = iowr::<VeVpBlk>(22);
/// Translate and pin up to 100 pages.
pub const VEDRV_CMD_VHVA_TO_VSAA_BLK_PIN_DOWN: u32 = iowr::<VeVpBlk>(23);
/// Release up to 100 pins by physical address.
pub const VEDRV_CMD_RELEASE_PD_PAGE_BLK: u32 = ior::<VeVpBlkRelease>(24);
/// Number of entries held on a list, as the ioctl's return value.
pub const VEDRV_CMD_COUNT_PD_PAGE_ALL: u32 = ior::<VeVpRelease>(25);

/// NEC's `struct ve_wait_irq`: the head of every variant's typed interrupt mask
/// ([`Ve1WaitIrq`], [`Ve3WaitIrq`]), which [`VeWaitIrqArg::bits`] points at.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct VeWaitIrqHead {
    /// [`VEDRV_IRQ_TYPE_VE1`] or [`VEDRV_IRQ_TYPE_VE3`]: which mask follows.
    pub ve_irq_type: u64,
}

/// NEC's `struct ve1_compat_wait_irq` (VE1, ve_drv v1 and v2): the untyped 128-bit mask.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Ve1CompatWaitIrq {
    /// Bits 127..64.
    pub upper: u64,
    /// Bits 63..0 (VE1's privileged DMA: bit 48).
    pub lower: u64,
}

/// NEC's `struct ve1_wait_irq`: VE1's typed mask for [`VEDRV_CMD_WAIT_INTR`].
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Ve1WaitIrq {
    /// [`VEDRV_IRQ_TYPE_VE1`].
    pub ve_wait_irq_type: u64,
    /// Bits 127..64.
    pub upper: u64,
    /// Bits 63..0, one per MSI-X entry (the privileged DMA engine's: bit 48).
    pub lower: u64,
}

/// NEC's `struct ve3_wait_irq`: VE3's typed mask for [`VEDRV_CMD_WAIT_INTR`].
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Ve3WaitIrq {
    /// [`VEDRV_IRQ_TYPE_VE3`].
    pub ve_wait_irq_type: u64,
    /// The four words of INTVEC: cores; privileged DMA (bit 0) and PCI exceptions; user DMA
    /// engines; core and card faults.
    pub intvec: [u64; 4],
}

/// [`VeWaitIrqHead::ve_irq_type`] of a VE1 mask (`'V' 'E' 0 1` from the lowest byte).
pub const VEDRV_IRQ_TYPE_VE1: u64 = 0x0100_4556;
/// [`VeWaitIrqHead::ve_irq_type`] of a VE3 mask (`'V' 'E' 0 3` from the lowest byte).
pub const VEDRV_IRQ_TYPE_VE3: u64 = 0x0300_4556;

/// NEC's `struct ve_wait_irq_arg`: pointers to a typed mask and to a `struct timespec`.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct VeWaitIrqArg {
    /// In: user pointer to NEC's typed mask ([`Ve1WaitIrq`], [`Ve3WaitIrq`]): the bits to wait
    /// for; out: the bits caught.
    pub bits: u64,
    /// In: user pointer to a `struct timespec` (64-bit).
    pub timeout: u64,
}

/// NEC's `struct ve1_compat_wait_irq_arg`: the VE1 compat form, the mask inline, then the
/// timeout pointer.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Ve1CompatWaitIrqArg {
    /// In: the bits to wait for; out: the bits caught.
    pub bits: Ve1CompatWaitIrq,
    /// In: user pointer to a `struct timespec` (64-bit).
    pub timeout: u64,
}

/// A 64-bit `struct timespec`.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Timespec {
    /// Seconds.
    pub tv_sec: i64,
    /// Nanoseconds.
    pub tv_nsec: i64,
}

/// Waits for VE interrupts (upstream form). This driver reports the privileged DMA interrupt.
pub const VEDRV_CMD_WAIT_INTR: u32 = iowr::<VeWaitIrqArg>(1);
/// The VE1 compat form of [`VEDRV_CMD_WAIT_INTR`].
pub const VEDRV_CMD_COMPAT_VE1_WAIT_INTR: u32 = iowr::<Ve1CompatWaitIrqArg>(1);
/// Emulator: rings the engine's doorbell after a user-space DMA manager wrote DMACTL through the
/// register mapping (real cards see the write itself; there it does nothing). `_IO`, no argument.
pub const VE_DRV_IOC_KICK: u32 = ioc(0, VE_IOC_MAGIC, VE_DRV_NR_BASE + 3, 0);

// ---------------------------------------------------------------------------------------------
// The rest of NEC's ve_drv.h (v3.5): sysfs facts, the task, exception, register-ownership and
// reset commands. Declared for source compatibility; the driver does not implement these
// commands (EINVAL, as NEC answers an unknown one).
// ---------------------------------------------------------------------------------------------

/// NEC's driver ABI version (`VEDRV_ABI_VERSION`), the sysfs `abi_version` libved requires.
pub const VEDRV_ABI_VERSION: u32 = 101;
/// Bytes of libved's buffer for the sysfs `ve_arch_class` name, NUL included.
pub const VEDRV_ARCH_CLASS_NAME_MAX: u32 = 8;

/// NEC's `enum os_state` (sysfs `os_state`, written by VEOS): VEOS serves the card.
pub const OS_ST_ONLINE: u32 = 0;
/// No VEOS serves the card.
pub const OS_ST_OFFLINE: u32 = 1;
/// VEOS is starting.
pub const OS_ST_INITIALIZING: u32 = 2;
/// VEOS is stopping.
pub const OS_ST_TERMINATING: u32 = 3;

/// NEC's `struct ve_tid_core`: argument of [`VEDRV_CMD_ASSIGN_TASK`].
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct VeTidCore {
    /// The task's thread id (caller's pid namespace).
    pub tid: i32,
    /// The VE core.
    pub core_id: i32,
}

/// NEC's `struct ve_cr_assign`: argument of [`VEDRV_CMD_ASSIGN_CR`] and
/// [`VEDRV_CMD_UNASSIGN_CR`].
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct VeCrAssign {
    /// The CR page.
    pub cr_page_num: i32,
    /// The user who may map it (`uid_t`).
    pub owner_uid: u32,
}

/// NEC's `struct ve_pcimem_assign`: argument of [`VEDRV_CMD_ASSIGN_VEMEM`] and
/// [`VEDRV_CMD_UNASSIGN_VEMEM`].
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct VePcimemAssign {
    /// The PCIATB entry.
    pub pciatb_entry: i32,
    /// The user who may map it (`uid_t`).
    pub owner_uid: u32,
}

/// NEC's `struct ve_unmap`: argument of [`VEDRV_CMD_UNMAP`].
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct VeUnmap {
    /// File offset where the range starts (`off_t`).
    pub offset: i64,
    /// Bytes (`size_t`).
    pub size: u64,
}

/// NEC's `struct ve_get_host_pid`: argument of [`VEDRV_CMD_HOST_PID`].
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct VeGetHostPid {
    /// A process of the pid namespace `namespace_pid` is read in.
    pub host_pid: i32,
    /// The pid to convert.
    pub namespace_pid: i32,
}

/// NEC's `struct ve_ownership`: sizes [`VEDRV_CMD_OWNERSHIP`]'s encoding (the value is passed
/// by value as the argument).
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct VeOwnership {
    /// 1: request the card; 0: release it.
    pub cmd: i32,
}

/// Waits for an exception of the caller's task; out: a `u64` through the argument pointer.
pub const VEDRV_CMD_WAIT_EXCEPTION: u32 = iow::<u64>(2);
/// Readies a task (argument by value: its tid).
pub const VEDRV_CMD_CREATE_TASK: u32 = ior::<i32>(4);
/// Deletes a task (argument by value: its tid).
pub const VEDRV_CMD_DELETE_TASK: u32 = ior::<i32>(5);
/// Binds a task to a core ([`VeTidCore`]).
pub const VEDRV_CMD_ASSIGN_TASK: u32 = ior::<VeTidCore>(6);
/// Unbinds a task from its core (argument by value: its tid).
pub const VEDRV_CMD_UNASSIGN_TASK: u32 = ior::<i32>(7);
/// Lets a user map a CR page ([`VeCrAssign`]).
pub const VEDRV_CMD_ASSIGN_CR: u32 = ior::<VeCrAssign>(8);
/// Withdraws a CR page from its user ([`VeCrAssign`]).
pub const VEDRV_CMD_UNASSIGN_CR: u32 = ior::<VeCrAssign>(9);
/// Lets a user map a PCIATB entry's page ([`VePcimemAssign`]).
pub const VEDRV_CMD_ASSIGN_VEMEM: u32 = ior::<VePcimemAssign>(10);
/// Withdraws a PCIATB entry's page from its user ([`VePcimemAssign`]).
pub const VEDRV_CMD_UNASSIGN_VEMEM: u32 = ior::<VePcimemAssign>(11);
/// Removes the user mappings of a range of the windows ([`VeUnmap`]).
pub const VEDRV_CMD_UNMAP: u32 = ior::<VeUnmap>(12);
/// Clears a core's saved exception status (argument by value: the core).
pub const VEDRV_CMD_RST_EXSRAR_MEM: u32 = ior::<i32>(13);
/// Deletes every task of the card; no argument.
pub const VEDRV_CMD_DELETE_ALL_TASK: u32 = io(17);
/// Resets a core's interrupt count (argument by value: the core).
pub const VEDRV_CMD_RST_INTR_COUNT: u32 = ior::<u64>(18);
/// Resets the VE (argument by value: the reset level, 0 chip or 1 secondary bus; VEOS offline).
/// Semantics and errnos: `include/uapi/ve_drv.h`.
pub const VEDRV_CMD_VE_VE_RESET: u32 = ior::<u64>(19);
/// Readies a deleted task again (argument by value: its tid).
pub const VEDRV_CMD_REVIVE_TASK: u32 = ior::<i32>(20);
/// Converts a pid of another namespace ([`VeGetHostPid`]); the pid is the return value.
pub const VEDRV_CMD_HOST_PID: u32 = ior::<VeGetHostPid>(21);
/// VE3: requests (1) or releases (0) the card, by value; sized by [`VeOwnership`].
pub const VEDRV_CMD_OWNERSHIP: u32 = ior::<VeOwnership>(26);
/// VE3: VEOS found the card faulty; no argument.
pub const VEDRV_CMD_NOTIFY_FAULT: u32 = io(27);
/// VE3: reads the caller's task's exception status; out: a `u64`.
pub const VEDRV_CMD_GET_EXS_REG: u32 = iow::<u64>(28);
/// VE3: VEOS cleared VE memory; no argument.
pub const VEDRV_CMD_COMPLETE_MEMCLEAR: u32 = io(29);
/// VE3: clock gating on (1) or off (0), by value.
pub const VEDRV_CMD_HANDLE_CLOCK_GATING: u32 = ior::<i32>(30);
/// VE3: reads the clock gating state; out: a `u64`.
pub const VEDRV_CMD_GET_CLOCK_GATING_STATE: u32 = iow::<u64>(31);

// NEC's ve_drv_ve1.h (VE1 only).

/// VE1's name in sysfs `ve_arch_class` (`VE_DRV_ARCH_NAME_VE1`).
pub const VE_DRV_ARCH_NAME_VE1: &str = "ve1";
/// VE1: loads new firmware; no argument. `EAGAIN` unless VEOS is offline, else `EOPNOTSUPP`.
pub const VEDRV_CMD_VE1_UPDATE_FIRMWARE: u32 = io(0);
/// VE1: file offset of the BAR3 window (CR pages).
pub const VEDRV_VE1_MAP_BAR3_OFFSET: u64 = 0;
/// VE1: file offset of the BAR2 window (registers).
pub const VEDRV_VE1_MAP_BAR2_OFFSET: u64 = 0x1000_0000;
/// VE1: file offset of the BAR0 window (VE memory).
pub const VEDRV_VE1_MAP_BAR0_OFFSET: u64 = 0x2000_0000;
/// VE1: a core's user registers, from the start of its BAR2 area.
pub const VEDRV_VE1_PCI_BAR2_UREG_OFFSET: u64 = 0;
/// VE1: bytes of a core's user registers (512 KiB).
pub const VEDRV_VE1_PCI_BAR2_UREG_SIZE: u64 = 0x8_0000;
/// VE1: a core's system registers, from the start of its BAR2 area.
pub const VEDRV_VE1_PCI_BAR2_SREG_OFFSET: u64 = VEDRV_VE1_PCI_BAR2_UREG_SIZE;
/// VE1: bytes of a core's system registers (512 KiB).
pub const VEDRV_VE1_PCI_BAR2_SREG_SIZE: u64 = VEDRV_VE1_PCI_BAR2_UREG_SIZE;
/// VE1: bytes of one core's BAR2 area (1 MiB).
pub const VEDRV_VE1_PCI_BAR2_CREG_SIZE: u64 =
    VEDRV_VE1_PCI_BAR2_UREG_SIZE + VEDRV_VE1_PCI_BAR2_SREG_SIZE;
/// VE1: the system-common registers' offset in BAR2.
pub const VEDRV_VE1_PCI_BAR2_SCR_OFFSET: u64 = 0x100_0000;
/// VE1: bytes of the system-common registers (2 MiB).
pub const VEDRV_VE1_PCI_BAR2_SCR_SIZE: u64 = 0x20_0000;

/// NEC's VE1 `enum ve_state` (sysfs `ve_state`); VE3's differs ([`ve3`]).
pub mod ve1 {
    /// Not yet set up.
    pub const VE_ST_UNINITIALIZED: u32 = 0;
    /// Usable.
    pub const VE_ST_ONLINE: u32 = 1;
    /// Taken out of service.
    pub const VE_ST_OFFLINE: u32 = 2;
    /// In maintenance.
    pub const VE_ST_MAINTENANCE: u32 = 3;
    /// Failed.
    pub const VE_ST_UNAVAILABLE: u32 = 4;
}

// NEC's ve_drv_ve3.h (VE3 only).

/// VE3's name in sysfs `ve_arch_class` (`VE_DRV_ARCH_NAME_VE3`).
pub const VE_DRV_ARCH_NAME_VE3: &str = "ve3";
/// VE3: file offset of the BAR4 window (non-prefetchable registers).
pub const VEDRV_VE3_MAP_BAR4_OFFSET: u64 = 0;
/// VE3: file offset of the BAR2 window (prefetchable registers).
pub const VEDRV_VE3_MAP_BAR2_OFFSET: u64 = 0x0800_0000;
/// VE3: file offset of the BAR0 window (VE memory), 2 GiB past BAR2's.
pub const VEDRV_VE3_MAP_BAR0_OFFSET: u64 = VEDRV_VE3_MAP_BAR2_OFFSET + 0x8000_0000;
/// VE3: a core's user registers, from the start of its BAR2 area.
pub const VEDRV_VE3_PCI_BAR2_UREG_OFFSET: u64 = 0;
/// VE3: bytes of a core's user registers in BAR2 (512 KiB).
pub const VEDRV_VE3_PCI_BAR2_UREG_SIZE: u64 = 0x8_0000;
/// VE3: a core's system registers, from the start of its BAR2 area.
pub const VEDRV_VE3_PCI_BAR2_SREG_OFFSET: u64 = VEDRV_VE3_PCI_BAR2_UREG_SIZE;
/// VE3: bytes of a core's system registers in BAR2 (512 KiB).
pub const VEDRV_VE3_PCI_BAR2_SREG_SIZE: u64 = VEDRV_VE3_PCI_BAR2_UREG_SIZE;
/// VE3: bytes of one core's BAR2 area (1 MiB).
pub const VEDRV_VE3_PCI_BAR2_CREG_SIZE: u64 =
    VEDRV_VE3_PCI_BAR2_UREG_SIZE + VEDRV_VE3_PCI_BAR2_SREG_SIZE;
/// VE3: the system-common registers' offset in BAR2.
pub const VEDRV_VE3_PCI_BAR2_SCR_OFFSET: u64 = 0x200_0000;
/// VE3: bytes of the system-common registers in BAR2 (2 MiB).
pub const VEDRV_VE3_PCI_BAR2_SCR_SIZE: u64 = 0x20_0000;
/// VE3: a core's user registers, from the start of its BAR4 area.
pub const VEDRV_VE3_PCI_BAR4_UREG_OFFSET: u64 = 0;
/// VE3: bytes of a core's user registers in BAR4 (4 KiB).
pub const VEDRV_VE3_PCI_BAR4_UREG_SIZE: u64 = 0x1000;
/// VE3: a core's system registers, from the start of its BAR4 area.
pub const VEDRV_VE3_PCI_BAR4_SREG_OFFSET: u64 = VEDRV_VE3_PCI_BAR4_UREG_SIZE;
/// VE3: bytes of a core's system registers in BAR4 (60 KiB).
pub const VEDRV_VE3_PCI_BAR4_SREG_SIZE: u64 = 0xf000;
/// VE3: bytes of one core's BAR4 area (64 KiB).
pub const VEDRV_VE3_PCI_BAR4_CREG_SIZE: u64 =
    VEDRV_VE3_PCI_BAR4_UREG_SIZE + VEDRV_VE3_PCI_BAR4_SREG_SIZE;
/// VE3: the system-common registers' offset in BAR4.
pub const VEDRV_VE3_PCI_BAR4_SCR_OFFSET: u64 = 0x20_0000;
/// VE3: bytes of the system-common registers in BAR4 (1 MiB).
pub const VEDRV_VE3_PCI_BAR4_SCR_SIZE: u64 = 0x10_0000;

/// NEC's VE3 `enum ve_state` (sysfs `ve_state`); VE1's differs ([`ve1`]).
pub mod ve3 {
    /// Not used.
    pub const VE_ST_NOT_DEFINE0: u32 = 0;
    /// Usable.
    pub const VE_ST_AVAILABLE: u32 = 1;
    /// The same value as [`VE_ST_AVAILABLE`] (VE1's name).
    pub const VE_ST_ONLINE: u32 = VE_ST_AVAILABLE;
    /// Not used.
    pub const VE_ST_NOT_DEFINE1: u32 = 2;
    /// In maintenance.
    pub const VE_ST_MAINTENANCE: u32 = 3;
    /// Failed.
    pub const VE_ST_UNAVAILABLE: u32 = 4;
}

/// What kind of card a `/dev/veN` is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Variant {
    /// SX-Aurora VE1 (1bcf:001c).
    Ve1 = 1,
    /// SX-Aurora VE3 (1bcf:0039).
    Ve3 = 3,
    /// The engine emulator on QEMU ivshmem-doorbell (1af4:1110) presenting a VE1, bound only on
    /// opt-in.
    Emulator = 0x100,
    /// The engine emulator presenting a VE3 (`ve-emu --variant ve3`), bound only on opt-in.
    EmulatorVe3 = 0x103,
}

/// Argument of [`VE_DRV_IOC_INFO`]: what the driver knows about one card.
///
/// In: `flags` and `reserved` must be zero (`EINVAL` otherwise). Out: everything else; `reserved`
/// comes back zero. Fields that do not apply to a variant are zero.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct VeDrvInfo {
    /// In: must be 0.
    pub flags: u32,
    /// [`VE_DRV_ABI_VERSION`].
    pub abi_version: u32,
    /// A [`Variant`] value.
    pub variant: u32,
    /// N of `/dev/veN`.
    pub card_index: u32,
    /// PCI vendor id.
    pub vendor_id: u16,
    /// PCI device id.
    pub device_id: u16,
    /// MSI-X entry of the privileged DMA engine.
    pub pdma_vector: u32,
    /// MSI-X vectors allocated.
    pub msix_vectors: u32,
    /// Emulator only: the emulator's identification-block ABI version.
    pub emu_abi_version: u32,
    /// Size of the BAR that holds the system-common registers.
    pub scr_bar_size: u64,
    /// Privileged DMA interrupts the driver has handled.
    pub irq_count: u64,
    /// Emulator only: size of the emulated VE memory.
    pub ve_mem_size: u64,
    /// Emulator only: the nonce the emulator was started with.
    pub emu_nonce: u64,
    /// Emulator only: interrupts the emulator says it raised.
    pub emu_irqs_raised: u64,
    /// 1: probe mapped a page for DMA through this device and its DMA address was its physical
    /// address (NEC's translation ioctls then answer physical addresses, as NEC's driver does).
    /// In: must be 0.
    pub dma_is_phys: u64,
    /// NEC task objects of the card (one per open file). In: must be 0.
    pub tasks: u64,
    /// How the DMA API maps host memory for the card: [`VE_DRV_DMA_DIRECT`],
    /// [`VE_DRV_DMA_IOMMU`] or [`VE_DRV_DMA_BOUNCE`]. In: must be 0.
    pub dma_mode: u64,
    /// In: must be 0. Out: 0.
    pub reserved: [u64; 2],
}

/// [`VeDrvInfo::dma_mode`]: no translation, the card is given physical addresses (dma-direct).
pub const VE_DRV_DMA_DIRECT: u64 = 1;
/// [`VeDrvInfo::dma_mode`]: a translating IOMMU; host addresses are IOVAs.
pub const VE_DRV_DMA_IOMMU: u64 = 2;
/// [`VeDrvInfo::dma_mode`]: every mapping bounces through swiotlb.
pub const VE_DRV_DMA_BOUNCE: u64 = 3;

/// Argument of [`VE_DRV_IOC_PING`]: one round trip through the emulator's ping mailbox.
///
/// In: `value`; `flags` and `reserved` must be zero. Out: `response` (the emulator's transform of
/// `value`, checked by the driver before it returns) and `rtt_ns` (doorbell to interrupt).
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct VeDrvPing {
    /// In: value the emulator transforms.
    pub value: u64,
    /// Out: the emulator's answer.
    pub response: u64,
    /// Out: nanoseconds from the doorbell to the interrupt that answered it.
    pub rtt_ns: u64,
    /// In: must be 0.
    pub flags: u32,
    /// In: must be 0.
    pub reserved: u32,
}

/// Reports what the driver knows about the card. Any user with the device open may ask.
/// Errors: `EFAULT` (bad pointer), `EINVAL` (nonzero `flags`/`reserved`), `ENODEV` (card removed).
pub const VE_DRV_IOC_INFO: u32 = iowr::<VeDrvInfo>(VE_DRV_NR_BASE);
/// Emulator only: a transport round trip through the ping mailbox and the privileged DMA vector.
/// Needs `CAP_SYS_ADMIN`. Errors: `EPERM`, `EFAULT`, `EINVAL` (nonzero `flags`/`reserved`),
/// `EOPNOTSUPP` (real hardware), `ETIMEDOUT` (no answer within 2 s), `EIO` (wrong answer, or the
/// emulator rejected the check word), `EINTR` (signal), `ENODEV` (card removed).
pub const VE_DRV_IOC_PING: u32 = iowr::<VeDrvPing>(VE_DRV_NR_BASE + 1);

/// Argument of [`VE_DRV_IOC_PIN_BENCH`]: pin the caller's `[addr, addr + len)` with the pin engine,
/// unpin it, and report the time each took.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct VeDrvPinBench {
    /// In: start (rounded down to a page).
    pub addr: u64,
    /// In: bytes, nonzero.
    pub len: u64,
    /// In: `VE_DRV_PIN_BENCH_*` bits.
    pub flags: u32,
    /// In: must be 0.
    pub reserved: u32,
    /// Out: nanoseconds spent pinning and coalescing.
    pub pin_ns: u64,
    /// Out: nanoseconds spent unpinning.
    pub unpin_ns: u64,
    /// Out: pages pinned.
    pub pages: u64,
    /// Out: physically contiguous runs they formed.
    pub runs: u64,
}

/// [`VeDrvPinBench::flags`]: pin for writing (FOLL_WRITE, pages dirtied on unpin).
pub const VE_DRV_PIN_BENCH_WRITE: u32 = 1;
/// [`VeDrvPinBench::flags`]: long-term pins (FOLL_LONGTERM), as NEC's pin lists hold.
pub const VE_DRV_PIN_BENCH_LONGTERM: u32 = 2;

/// Test only, and only with the module parameter `test_ioctls=1` (`EINVAL` otherwise): the pin
/// engine's own speed, for the pinning micro-benchmark. Needs `CAP_SYS_ADMIN`. Errors: `EPERM`,
/// `EFAULT`, `EINVAL` (zero length, overflow, unknown flags, nonzero `reserved`), GUP's errors.
pub const VE_DRV_IOC_PIN_BENCH: u32 = iowr::<VeDrvPinBench>(VE_DRV_NR_BASE + 2);

/// Takes the privileged DMA engine back from a user-space manager (NEC's register mapping):
/// every such mapping is zapped (a later access faults with SIGBUS), the engine is halted and its
/// ring cleared, and the in-kernel manager owns it again. Returns 1 if the engine was lent, 0 if
/// the kernel had it. Needs `CAP_SYS_ADMIN`. Errors: `EPERM`.
pub const VE_DRV_IOC_RECLAIM: u32 = ioc(0, VE_IOC_MAGIC, VE_DRV_NR_BASE + 4, 0);

/// Argument of [`VE_DRV_IOC_CORE_STATE`]: one VE core as the driver sees it.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct VeDrvCoreState {
    /// In: the physical core.
    pub core: u32,
    /// In: must be 0.
    pub flags: u32,
    /// Out: core interrupts counted since the count was last reset.
    pub count: u64,
    /// Out: the core's wake-up generation (interrupts while a task was assigned).
    pub wake: u64,
    /// Out: the core's EXS, read as NEC's driver reads it.
    pub exs: u64,
    /// Out: the core's EXSRAR report slot in host memory, as the card last wrote it.
    pub exsrar_slot: u64,
    /// Out: the INTVEC register.
    pub intvec: u64,
    /// In: must be 0. Out: 0.
    pub reserved: [u64; 2],
}

/// Test only, and only with the module parameter `test_ioctls=1` (`EINVAL` otherwise): a core's
/// interrupt count, wake-up generation, EXS, EXSRAR slot and the INTVEC register. Needs
/// `CAP_SYS_ADMIN`. Errors: `EPERM`, `EFAULT`, `EINVAL` (a core outside the driver's table,
/// nonzero `flags`/`reserved`), `ENODEV` (card removed).
pub const VE_DRV_IOC_CORE_STATE: u32 = iowr::<VeDrvCoreState>(VE_DRV_NR_BASE + 5);

/// [`VeDmaXfer::flags`]: copy from the VH buffer to VE memory.
pub const VE_DMA_VH_TO_VE: u32 = 1;
/// [`VeDmaXfer::flags`]: copy from VE memory to the VH buffer.
pub const VE_DMA_VE_TO_VH: u32 = 2;
/// [`VeDmaXfer::flags`], [`VeDmaWait::flags`]: the waiter sleeps until the completion interrupt
/// and never spins on the engine (the `dma_poll_us` module parameter), leaving the CPU to other
/// work at the price of latency.
pub const VE_DMA_NO_POLL: u32 = 32;
/// [`VeDmaXfer::flags`]: the VH buffer is pinned whatever the length: no copy through the card's
/// DMA buffer (the `dma_copy_max` module parameter).
pub const VE_DMA_NO_COPY: u32 = 64;
/// [`VeDmaXfer::flags`], [`VeDmaSubmit::flags`]: the VH buffer is neither looked up in nor kept
/// in the registration cache (the `dma_cache_mib` module parameter): pinned for this transfer
/// only.
pub const VE_DMA_NO_CACHE: u32 = 128;
/// First ioctl number of the in-kernel DMA manager's commands (`VE_DMA_IOC_*`).
pub const VE_DMA_NR_BASE: u32 = 0x40;

/// Argument of [`VE_DMA_IOC_XFER`]: one privileged DMA transfer between a process's memory and VE
/// memory, done by the in-kernel DMA manager.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct VeDmaXfer {
    /// In: VH virtual address in process `pid`; 8-byte aligned.
    pub vh_addr: u64,
    /// In: VE physical address (VEMAA); 8-byte aligned.
    pub ve_addr: u64,
    /// In: bytes; nonzero, a multiple of 8.
    pub len: u64,
    /// In: process owning `vh_addr` (caller's pid namespace); 0 for the caller.
    pub pid: i32,
    /// In: exactly one of [`VE_DMA_VH_TO_VE`], [`VE_DMA_VE_TO_VH`], and optionally
    /// [`VE_DMA_NO_POLL`], [`VE_DMA_NO_COPY`], [`VE_DMA_NO_CACHE`].
    pub flags: u32,
    /// Out: bytes transferred (all of `len` on success).
    pub bytes_done: u64,
    /// Out: the engine's exception code when the transfer failed with `EIO`, else 0.
    pub exception: u32,
    /// Out: descriptors the transfer used.
    pub descs: u32,
    /// In: must be 0.
    pub reserved: [u64; 2],
}

impl VeDmaXfer {
    /// The flags without [`VE_DMA_NO_POLL`], [`VE_DMA_NO_COPY`] and [`VE_DMA_NO_CACHE`]: the
    /// direction.
    pub const fn direction(&self) -> u32 {
        self.flags & !(VE_DMA_NO_POLL | VE_DMA_NO_COPY | VE_DMA_NO_CACHE)
    }

    /// Whether the caller's input fields are acceptable (alignment and ranges are checked with
    /// the card's facts).
    pub fn input_valid(&self) -> bool {
        (self.direction() == VE_DMA_VH_TO_VE || self.direction() == VE_DMA_VE_TO_VH)
            && self.reserved == [0; 2]
            && self.len != 0
            && self.len % 8 == 0
            && self.vh_addr % 8 == 0
            && self.ve_addr % 8 == 0
            && self.vh_addr.checked_add(self.len).is_some()
            && self.ve_addr.checked_add(self.len).is_some()
    }
}

/// One transfer between VH and VE memory through the privileged DMA engine, pinning the VH
/// buffer in batches while the engine copies, unpinning as descriptors complete. Needs
/// `CAP_SYS_ADMIN`. Errors: `EPERM`; `EFAULT`; `EINVAL` (flags, alignment to 8 bytes, zero length,
/// overflow, nonzero `reserved`, a VE range beyond the card's VE memory); `ESRCH`; `ENOMEM`;
/// `EIO` (the engine raised an exception: code in `exception`); `ETIMEDOUT` (no progress for 2 s:
/// the engine was halted and the transfer abandoned); `EINTR` (a signal: the transfer was stopped
/// the same way); `ENODEV` (card removed); `EBUSY` (a user-space manager's register mapping has
/// the engine). `bytes_done` tells how far it got.
pub const VE_DMA_IOC_XFER: u32 = iowr::<VeDmaXfer>(VE_DMA_NR_BASE);

/// [`VeDmaSubmit::flags`]: from VE memory to VE memory, [`VeDmaSubmit::ve_addr`] to
/// [`VeDmaSubmit::ve_dst_addr`]; no VH side.
pub const VE_DMA_VE_TO_VE: u32 = 3;
/// The bits of [`VeDmaSubmit::flags`] that give the direction.
pub const VE_DMA_DIRECTION: u32 = 3;
/// [`VeDmaSubmit::flags`]: the VE side is [`VeDmaSubmit::num_extents`] extents
/// ([`VeDmaExtent`]) at user address [`VeDmaSubmit::ve_addr`], walked in order.
pub const VE_DMA_VE_LIST: u32 = 4;
/// [`VeDmaSubmit::flags`]: the VH side is a bus address (VHSAA) the engine uses as it is; nothing
/// is pinned; `pid` 0; needs `CAP_SYS_RAWIO` and no kernel lockdown.
pub const VE_DMA_VH_BUS: u32 = 8;
/// [`VeDmaSubmit::flags`]: the VE side is VE register space (VERAA), one range.
pub const VE_DMA_VE_REGS: u32 = 16;
/// Every bit [`VeDmaSubmit::flags`] may have.
pub const VE_DMA_SUBMIT_FLAGS: u32 =
    VE_DMA_DIRECTION | VE_DMA_VE_LIST | VE_DMA_VH_BUS | VE_DMA_VE_REGS | VE_DMA_NO_CACHE;
/// [`VeDmaSubmit::opt`]: accepted; every request's last descriptor carries SYNC.
pub const VE_DMA_SUBMIT_SYNC: u32 = 1;
/// [`VeDmaSubmit::opt`]: PCIe relaxed ordering on the VH side's transactions.
pub const VE_DMA_SUBMIT_RO: u32 = 2;
/// [`VeDmaSubmit::opt`]: PCIe ID-based ordering on the VH side's transactions.
pub const VE_DMA_SUBMIT_IDO: u32 = 4;
/// Every bit [`VeDmaSubmit::opt`] may have.
pub const VE_DMA_SUBMIT_OPTS: u32 = VE_DMA_SUBMIT_SYNC | VE_DMA_SUBMIT_RO | VE_DMA_SUBMIT_IDO;
/// Most extents one request may list.
pub const VE_DMA_MAX_EXTENTS: u32 = 1024;
/// Requests one open file may have submitted and not yet collected with [`VE_DMA_IOC_WAIT`].
pub const VE_DMA_MAX_REQUESTS: u32 = 64;

/// One range of VE memory (VEMAA) in a [`VE_DMA_VE_LIST`] request.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct VeDmaExtent {
    /// VE physical address; 8-byte aligned.
    pub addr: u64,
    /// Bytes; nonzero, a multiple of 8.
    pub len: u64,
}

/// Argument of [`VE_DMA_IOC_SUBMIT`]. The address types of the fields `opt` and `ve_dst_addr`
/// came later, in fields that were reserved (and had to be 0): an older caller's request keeps its
/// meaning, a VH virtual range and VE memory.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct VeDmaSubmit {
    /// In: the VH side, 8-byte aligned: a virtual address in process `pid`, or with
    /// [`VE_DMA_VH_BUS`] a bus address; 0 with [`VE_DMA_VE_TO_VE`].
    pub vh_addr: u64,
    /// In: the VE side (the source with [`VE_DMA_VE_TO_VE`]), 8-byte aligned: VE memory (VEMAA),
    /// with [`VE_DMA_VE_REGS`] VE register space (VERAA), or with [`VE_DMA_VE_LIST`] the user
    /// address of `num_extents` [`VeDmaExtent`]s whose lengths add up to `len`.
    pub ve_addr: u64,
    /// In: bytes; nonzero, a multiple of 8.
    pub len: u64,
    /// In: process owning `vh_addr` (caller's pid namespace); 0 for the caller, and 0 without a
    /// VH virtual side.
    pub pid: i32,
    /// In: the direction ([`VE_DMA_VH_TO_VE`], [`VE_DMA_VE_TO_VH`], [`VE_DMA_VE_TO_VE`]), with
    /// [`VE_DMA_VE_LIST`], [`VE_DMA_VH_BUS`], [`VE_DMA_VE_REGS`] as each allows, and
    /// [`VE_DMA_NO_CACHE`].
    pub flags: u32,
    /// In: extents at `ve_addr` with [`VE_DMA_VE_LIST`] (1..=[`VE_DMA_MAX_EXTENTS`]), else 0.
    pub num_extents: u32,
    /// In: [`VE_DMA_SUBMIT_SYNC`], [`VE_DMA_SUBMIT_RO`], [`VE_DMA_SUBMIT_IDO`], or 0.
    pub opt: u32,
    /// Out: the request's id, for [`VE_DMA_IOC_WAIT`] and [`VE_DMA_IOC_CANCEL`]; never 0.
    pub id: u64,
    /// In: with [`VE_DMA_VE_TO_VE`] the destination in VE memory, 8-byte aligned; else 0.
    pub ve_dst_addr: u64,
    /// In: must be 0.
    pub reserved: u64,
}

impl VeDmaSubmit {
    /// The direction bits.
    pub const fn direction(&self) -> u32 {
        self.flags & VE_DMA_DIRECTION
    }

    /// Whether it has flag `f`.
    pub const fn has(&self, f: u32) -> bool {
        self.flags & f != 0
    }

    /// Whether the caller's input fields are acceptable (the VE side is checked with the card's
    /// facts): known flags and options only, a direction, the combinations the flags allow,
    /// 8-byte alignment, no wrap-around, reserved fields and `id` zero.
    pub fn input_valid(&self) -> bool {
        let list = self.has(VE_DMA_VE_LIST);
        let bus = self.has(VE_DMA_VH_BUS);
        let regs = self.has(VE_DMA_VE_REGS);
        let aligned_range = |addr: u64| addr % 8 == 0 && addr.checked_add(self.len).is_some();
        let sides = if self.direction() == VE_DMA_VE_TO_VE {
            !list
                && !bus
                && !regs
                && self.vh_addr == 0
                && self.pid == 0
                && aligned_range(self.ve_dst_addr)
        } else {
            self.ve_dst_addr == 0 && aligned_range(self.vh_addr) && !(bus && self.pid != 0)
        };
        let ve_side = if list {
            !regs && (1..=VE_DMA_MAX_EXTENTS).contains(&self.num_extents)
        } else {
            self.num_extents == 0 && aligned_range(self.ve_addr)
        };
        self.direction() != 0
            && self.flags & !VE_DMA_SUBMIT_FLAGS == 0
            && self.opt & !VE_DMA_SUBMIT_OPTS == 0
            && self.reserved == 0
            && self.id == 0
            && self.len != 0
            && self.len % 8 == 0
            && sides
            && ve_side
    }
}

/// Starts a transfer and returns once its last descriptor is posted (or, for a long transfer of
/// small pages, once what is left fits the pinned window), with the request's id; completion is
/// collected with [`VE_DMA_IOC_WAIT`]. Needs `CAP_SYS_ADMIN`. Errors: `EPERM`; `EFAULT`; `EINVAL`
/// (flags or options unknown or not allowed together, alignment to 8 bytes, zero length, overflow,
/// nonzero reserved fields or `id`, a bad extent list or one whose lengths do not add up to `len`,
/// a VE range beyond the card's VE memory or register space); `ESRCH`; `ENOMEM`; `EAGAIN` ([`VE_DMA_MAX_REQUESTS`] not yet collected);
/// `ETIMEDOUT` (no progress for 2 s while the window was full); `EINTR`; `ENODEV`; `EBUSY` (a
/// user-space manager's register mapping has the engine). On an error nothing of the request
/// remains.
pub const VE_DMA_IOC_SUBMIT: u32 = iowr::<VeDmaSubmit>(VE_DMA_NR_BASE + 1);

/// Argument of [`VE_DMA_IOC_WAIT`].
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct VeDmaWait {
    /// In: the request to wait for, or 0 for any of this file's; out: the request reported.
    pub id: u64,
    /// In: milliseconds to wait at most; 0 does not block.
    pub timeout_ms: u32,
    /// In: 0 or [`VE_DMA_NO_POLL`].
    pub flags: u32,
    /// Out: bytes transferred.
    pub bytes_done: u64,
    /// Out: 0, or the negative errno the request failed with: `-EIO` (engine exception, code in
    /// `exception`), `-ECANCELED`, `-ENODEV` (card removed).
    pub status: i32,
    /// Out: the engine's exception code with `-EIO`, else 0.
    pub exception: u32,
    /// Out: descriptors the request used.
    pub descs: u32,
    /// In: must be 0.
    pub reserved0: u32,
    /// In: must be 0.
    pub reserved: [u64; 2],
}

impl VeDmaWait {
    /// Whether the caller's input fields are acceptable.
    pub fn input_valid(&self) -> bool {
        self.flags & !VE_DMA_NO_POLL == 0 && self.reserved0 == 0 && self.reserved == [0; 2]
    }
}

/// Waits until a request of this file finishes, reports it and forgets it (its id is then
/// unknown). Needs `CAP_SYS_ADMIN`. Errors: `EPERM`; `EFAULT`; `EINVAL` (nonzero flags or reserved
/// fields); `ENOENT` (no such request on this file: never submitted, already collected, or another
/// file's); `ETIMEDOUT` (still running when `timeout_ms` ran out; it stays); `EINTR`.
pub const VE_DMA_IOC_WAIT: u32 = iowr::<VeDmaWait>(VE_DMA_NR_BASE + 2);

/// Argument of [`VE_DMA_IOC_CANCEL`].
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct VeDmaCancel {
    /// In: the request.
    pub id: u64,
    /// In: must be 0.
    pub flags: u32,
    /// In: must be 0.
    pub reserved: u32,
}

impl VeDmaCancel {
    /// Whether the caller's input fields are acceptable.
    pub fn input_valid(&self) -> bool {
        self.flags == 0 && self.reserved == 0
    }
}

/// Stops a request of this file: the engine is halted, the request's descriptors are taken out
/// of the ring, its pages unpinned, and the engine restarted for the other requests. A request
/// that already finished is left as it is. Either way it is still collected with
/// [`VE_DMA_IOC_WAIT`] (status `-ECANCELED` if this stopped it). Needs `CAP_SYS_ADMIN`. Errors:
/// `EPERM`; `EFAULT`; `EINVAL`; `ENOENT`; `EIO` (the engine did not halt: the request's pages stay
/// pinned).
pub const VE_DMA_IOC_CANCEL: u32 = iow::<VeDmaCancel>(VE_DMA_NR_BASE + 3);

/// [`VeDmaCache::flags`]: first take out every entry of the caller's open file (their pages are
/// unpinned once no request uses them).
pub const VE_DMA_CACHE_DROP: u32 = 1;

/// Argument of [`VE_DMA_IOC_CACHE`]: the card's registration cache. Counters are the card's,
/// since it was bound.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct VeDmaCache {
    /// In: 0 or [`VE_DMA_CACHE_DROP`].
    pub flags: u32,
    /// Out: entries held.
    pub entries: u32,
    /// Out: transfers served from an entry (nothing pinned).
    pub hits: u64,
    /// Out: transfers that pinned their buffer into a new entry.
    pub misses: u64,
    /// Out: transfers that could have been cached and were not (longer than the cache, the
    /// pinned-memory limit reached, or their memory changed while it was pinned).
    pub bypasses: u64,
    /// Out: entries taken out because their memory changed (munmap, mremap, `MADV_DONTNEED`,
    /// fork, migration, exit...).
    pub invalidations: u64,
    /// Out: entries taken out to make room or replaced by an overlapping one.
    pub evictions: u64,
    /// Out: bytes of pages the entries hold pinned.
    pub bytes: u64,
    /// Out: bytes the cache may hold (`dma_cache_mib`; 0: off).
    pub cap: u64,
    /// In: must be 0. Out: 0.
    pub reserved: [u64; 2],
}

impl VeDmaCache {
    /// Whether the caller's input fields are acceptable.
    pub fn input_valid(&self) -> bool {
        self.flags & !VE_DMA_CACHE_DROP == 0
            && self.entries == 0
            && self.hits == 0
            && self.misses == 0
            && self.bypasses == 0
            && self.invalidations == 0
            && self.evictions == 0
            && self.bytes == 0
            && self.cap == 0
            && self.reserved == [0; 2]
    }
}

/// Reports the registration cache's counters and, with [`VE_DMA_CACHE_DROP`], first drops the
/// caller's entries. Needs `CAP_SYS_ADMIN`. Errors: `EPERM`; `EFAULT`; `EINVAL` (unknown flags,
/// nonzero output or reserved fields).
pub const VE_DMA_IOC_CACHE: u32 = iowr::<VeDmaCache>(VE_DMA_NR_BASE + 4);

impl VeDrvPinBench {
    /// Whether the caller's input fields are acceptable.
    pub fn input_valid(&self) -> bool {
        self.reserved == 0
            && self.flags & !(VE_DRV_PIN_BENCH_WRITE | VE_DRV_PIN_BENCH_LONGTERM) == 0
            && self.len != 0
            && self.addr.checked_add(self.len).is_some()
    }
}

impl VeDrvInfo {
    /// Whether the caller's input fields are acceptable.
    pub fn input_valid(&self) -> bool {
        self.flags == 0
            && self.dma_is_phys == 0
            && self.tasks == 0
            && self.dma_mode == 0
            && self.reserved.iter().all(|&r| r == 0)
    }
}

impl VeDrvCoreState {
    /// Whether the caller's input fields are acceptable.
    pub fn input_valid(&self) -> bool {
        self.flags == 0 && self.reserved == [0; 2]
    }
}

impl VeDrvPing {
    /// Whether the caller's input fields are acceptable.
    pub fn input_valid(&self) -> bool {
        self.flags == 0 && self.reserved == 0
    }
}
