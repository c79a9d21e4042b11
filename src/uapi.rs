// SPDX-License-Identifier: GPL-2.0

//! The user ABI of `/dev/veN`: ioctl numbers and argument layouts.
//!
//! `core` only: the module, the guest tests and the host tests include this file. Its C twin is
//! `include/uapi/ve_drv.h`; the host test `tests/host/src/abi.rs` compiles that header and checks
//! every size, offset and ioctl number against the definitions here.
//!
//! NEC's ioctls keep NEC's magic (0xF5), numbers (0..=31) and layouts. This driver's own ioctls use
//! the same magic with numbers from [`VE_DRV_NR_BASE`] on, clear of anything NEC has used.

/// NEC's ioctl magic (`VE_IOC_MAGIC`).
pub const VE_IOC_MAGIC: u32 = 0xF5;
/// First ioctl number of this driver's own commands.
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

/// What kind of card a `/dev/veN` is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Variant {
    /// SX-Aurora VE1 (1bcf:001c).
    Ve1 = 1,
    /// SX-Aurora VE3 (1bcf:0039).
    Ve3 = 3,
    /// The VE1 engine emulator on QEMU ivshmem-doorbell (1af4:1110), bound only on opt-in.
    Emulator = 0x100,
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
    /// In: must be 0. Out: 0.
    pub reserved: [u64; 5],
}

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

impl VeDrvInfo {
    /// Whether the caller's input fields are acceptable.
    pub fn input_valid(&self) -> bool {
        self.flags == 0 && self.reserved.iter().all(|&r| r == 0)
    }
}

impl VeDrvPing {
    /// Whether the caller's input fields are acceptable.
    pub fn input_valid(&self) -> bool {
        self.flags == 0 && self.reserved == 0
    }
}
