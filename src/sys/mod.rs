// SPDX-License-Identifier: GPL-2.0

//! The driver's only `unsafe` code: small abstractions over kernel interfaces that the 7.3 kernel
//! crate does not (yet) wrap, each with a safe API. The rest of the driver is safe Rust. Nothing
//! here names a driver type: the layer depends only on the kernel crate and on the `core` files
//! below it ([`crate::extent`], [`crate::uapi`]).
//!
//! What lives here, and why:
//! - [`irq::MsixIrq`]: MSI-X vectors, the threaded handler on one of them and hard handlers on
//!   others, in one struct.
//! - [`chardev`]: a device class of the driver's own, its char-device region, and char device
//!   nodes parented on their PCI device ([`chardev::CharNode`]), generic over their file type
//!   ([`node::NodeFile`], file operations with `poll` and driver data that `open` reaches: 7.3's
//!   `MiscDevice` has neither, and puts every node in class `misc`);
//! - [`sysfs`]: the nodes' device attributes, shown and stored from the node's data, and
//!   notifications of them on the device's own events.
//! - [`mapping`]: device registers mapped into user space page by page on fault, generic over
//!   what the mapping holds ([`mapping::RegisterHolder`]), and zapped by [`mapping::MappedSpace`].
//! - [`gup`]: pinning and unpinning user pages, pinned-memory accounting.
//! - [`notifier`]: MMU interval notifiers on ranges kept pinned (the registration cache), which
//!   mark them stale on any change to the process's memory.
//! - [`shrinker`]: a memory shrinker asking its owner (the registration cache gives entries back
//!   under memory pressure).
//! - [`workqueue`]: a workqueue of the module's own, drained and destroyed at unload (the
//!   registration cache's sweeps run on it).
//! - [`dma_map`]: streaming DMA mappings of pinned pages (one mapping per run, or runs linked
//!   into one IOVA range behind an IOMMU): the only source of the host addresses the engine gets.
//! - [`pid`]: threads named by their `struct pid`, and pid numbers across pid namespaces.
//! - [`pci_state`]: a function's configuration state saved and restored around a card reset,
//!   and its vendor ID read to tell when it answers again.
//! - Here: [`pci_vendor`] (NEC's 0x1bcf, which the kernel's vendor list lacks),
//!   [`set_dma_mask_48`] (the setter is `unsafe` in 7.3), [`dma_addresses_are_physical`],
//!   [`capable_sys_admin`], [`capable_sys_rawio`], [`check_lockdown`], [`taint_user_dma`],
//!   [`kuid_from_user`] and [`current_kuid`] (`make_kuid`, `current_uid`: static inlines),
//!   [`jiffies_now`] (7.3's `kernel::time` cannot read the counter),
//!   [`clear_master`] (`pci_clear_master`, which 7.3's `pci::Device` lacks), and
//!   `FromBytes`/`AsBytes` for the ioctl argument structs of [`crate::uapi`].
//!
//! C helpers (`src/helpers.c`) wrap static inlines and macros that bindgen cannot reach; only this
//! layer calls them.

use kernel::{
    bindings,
    device::Bound,
    pci,
    prelude::*,
    transmute::{
        AsBytes,
        FromBytes, //
    }, //
};

use crate::uapi;

pub(crate) mod chardev;
pub(crate) mod copy_slots;
pub(crate) mod dma_map;
pub(crate) mod gup;
pub(crate) mod irq;
pub(crate) mod mapping;
pub(crate) mod node;
pub(crate) mod notifier;
pub(crate) mod pci_state;
pub(crate) mod pid;
pub(crate) mod shrinker;
pub(crate) mod sysfs;
pub(crate) mod workqueue;

pub(crate) use chardev::{
    CharClass,
    CharNode,
    ClassRegistration, //
};
pub(crate) use irq::MsixIrq;
pub(crate) use mapping::{
    MappedSpace,
    RegisterFault,
    RegisterHolder,
    RegisterWindow,
    VmFault, //
};
pub(crate) use node::NodeFile;

extern "C" {
    fn ve_locked_down() -> c_int;
    fn ve_kuid_from_user(uid: c_uint, kuid: *mut c_uint) -> c_int;
    fn ve_current_kuid() -> c_uint;
    fn ve_need_resched() -> bool;
}

/// A PCI vendor id the kernel's `pci::Vendor` list does not name. NEC's SX-Aurora vendor id 0x1bcf
/// is not in `include/linux/pci_ids.h` (its `PCI_VENDOR_ID_NEC` is the older 0x1033), and 7.3's
/// `Vendor::from_raw` is private to the kernel crate.
pub(crate) const fn pci_vendor(id: u16) -> pci::Vendor {
    // SAFETY: `pci::Vendor` is `#[repr(transparent)]` over `u16`, and its only invariant is "a PCI
    // vendor id", which callers pass (ids assigned by the PCI-SIG).
    unsafe { core::mem::transmute::<u16, pci::Vendor>(id) }
}

/// Sets the streaming and coherent DMA mask to the privileged DMA engine's address width: its
/// descriptors carry 48-bit host addresses.
pub(crate) fn set_dma_mask_48(pdev: &pci::Device<kernel::device::Core<'_>>) -> Result {
    use kernel::dma::Device as _;
    // SAFETY: called from probe before the driver allocates or maps any DMA memory for this
    // device, so nothing can race with the mask change.
    unsafe { pdev.dma_set_mask_and_coherent(kernel::dma::DmaMask::new::<48>()) }
}

/// Whether the DMA API gives this device physical addresses: maps one vmalloc'ed page for DMA
/// through the device (an own scatter-gather table, `dma_map_sgtable`) and compares the DMA
/// address with the page's physical address. Reported by `VE_DRV_IOC_INFO`: where it holds,
/// NEC's translation ioctls answer physical addresses byte for byte as NEC's driver does.
pub(crate) fn dma_addresses_are_physical(dev: &kernel::device::Device<Bound>) -> Result<bool> {
    use kernel::{
        dma::DataDirection,
        page::PAGE_SIZE,
        scatterlist::SGTable, //
    };
    let buf = VVec::<u8>::with_capacity(PAGE_SIZE, GFP_KERNEL)?;
    // SAFETY: `buf` owns a vmalloc allocation of at least one page starting at this address.
    let pfn = unsafe { bindings::vmalloc_to_pfn(buf.as_ptr().cast()) };
    let phys = (pfn as u64) << kernel::page::PAGE_SHIFT;
    let sgt = KBox::pin_init(
        SGTable::new(dev, buf, DataDirection::Bidirectional, GFP_KERNEL),
        GFP_KERNEL,
    )?;
    let dma = sgt.iter().next().map(|e| e.dma_address());
    Ok(dma == Some(phys))
}

/// The C `struct device` of `dev`, for the calls of this layer that take one.
pub(super) fn device_ptr(dev: &kernel::device::Device) -> *mut bindings::device {
    // `device::Device` is `#[repr(transparent)]` over `Opaque<bindings::device>`.
    core::ptr::from_ref(dev)
        .cast::<bindings::device>()
        .cast_mut()
}

/// Whether the current task has `CAP_SYS_ADMIN` in the initial user namespace.
pub(crate) fn capable_sys_admin() -> bool {
    // SAFETY: `capable()` may be called from any process context with any capability number.
    unsafe { bindings::capable(bindings::CAP_SYS_ADMIN as c_int) }
}

/// Whether the current task has `CAP_SYS_RAWIO` in the initial user namespace (what `/dev/mem`
/// and vfio's no-IOMMU mode ask for).
pub(crate) fn capable_sys_rawio() -> bool {
    // SAFETY: as for `capable_sys_admin`.
    unsafe { bindings::capable(bindings::CAP_SYS_RAWIO as c_int) }
}

/// The kernel uid (`kuid_t`'s value) of user id `uid` in the caller's user namespace
/// (`make_kuid(current_user_ns(), uid)`); `EINVAL` if it names none there.
pub(crate) fn kuid_from_user(uid: u32) -> Result<u32> {
    let mut kuid: c_uint = 0;
    // SAFETY: `make_kuid()` and `current_user_ns()` may be called from any process context;
    // `kuid` is a valid place for the result.
    kernel::error::to_result(unsafe { ve_kuid_from_user(uid, &mut kuid) })?;
    Ok(kuid)
}

/// The current task's real uid as a kernel uid (`current_uid()`, what NEC's fault check of the
/// CR and VE memory windows compares).
pub(crate) fn current_kuid() -> u32 {
    // SAFETY: `current_uid()` reads the current task's credentials, valid in any process context.
    unsafe { ve_current_kuid() }
}

/// `EPERM` when kernel lockdown forbids what a user-space DMA manager does: raw access to memory
/// (`LOCKDOWN_DEV_MEM`, as `/dev/mem`) through a PCI device (`LOCKDOWN_PCI_ACCESS`, as sysfs
/// `resourceN` mmap). Lockdown logs the refusal itself.
pub(crate) fn check_lockdown() -> Result {
    // SAFETY: `security_locked_down()` may be called from any process context.
    kernel::error::to_result(unsafe { ve_locked_down() })
}

/// Taints the kernel (`TAINT_USER`, 'U', as vfio's no-IOMMU mode does) the first time a
/// user-space DMA manager is given the engine after the module was loaded, with a warning naming
/// the card: from then on user space can make a device write any host memory.
pub(crate) fn taint_user_dma(dev: &kernel::device::Device) {
    use kernel::sync::atomic::{
        Atomic,
        Relaxed, //
    };
    static TAINTED: Atomic<bool> = Atomic::new(false);
    if TAINTED.xchg(true, Relaxed) {
        return;
    }
    dev_warn!(
        dev,
        "user-space DMA manager mapped the engine registers (user_pdma=1): it can write any \
         host memory; adding kernel taint\n"
    );
    // SAFETY: `add_taint()` may be called from any context; the taint does not affect lockdep.
    unsafe { bindings::add_taint(bindings::TAINT_USER, bindings::lockdep_ok_LOCKDEP_STILL_OK) };
}

/// The kernel's jiffies counter now, as `get_jiffies_64()` reads it on a 64-bit kernel (one
/// load of `jiffies`); 7.3's `kernel::time` has the [`Jiffies`](kernel::time::Jiffies) type but
/// no reader.
pub(crate) fn jiffies_now() -> kernel::time::Jiffies {
    // SAFETY: `jiffies` is a kernel global that lives as long as the kernel; the timer tick
    // updates it with single aligned stores, and a volatile aligned load of the whole word is
    // what `READ_ONCE(jiffies)` does.
    unsafe { core::ptr::read_volatile(&raw const bindings::jiffies) }
}

/// Whether the scheduler wants this CPU for another task: a spinning waiter stops spinning.
pub(crate) fn need_resched() -> bool {
    // SAFETY: reads the current task's flag; no preconditions.
    unsafe { ve_need_resched() }
}

/// Turns bus mastering of `pdev` off: after unbind the device must not reach host memory, and a
/// user-space manager might have left descriptors behind (NEC's remove does the same). 7.3's
/// `pci::Device` has `set_master` but no `clear_master`.
pub(crate) fn clear_master(pdev: &pci::Device<Bound>) {
    let raw = core::ptr::from_ref(pdev)
        .cast::<bindings::pci_dev>()
        .cast_mut();
    // SAFETY: `pci::Device` is `#[repr(transparent)]` over `Opaque<bindings::pci_dev>`, so `raw`
    // is the bound device's `struct pci_dev`, valid for the call; `pci_clear_master()` only
    // writes its command register and flag.
    unsafe { bindings::pci_clear_master(raw) };
}

// SAFETY: `VeDrvInfo` is `repr(C)` with only integer fields laid out without padding (24 bytes of
// u32/u16 fields, then u64 fields at 8-byte aligned offsets; checked by the host ABI test), so
// every byte pattern is a valid value and every byte of a value is initialised.
unsafe impl FromBytes for uapi::VeDrvInfo {}
// SAFETY: see `FromBytes` above.
unsafe impl AsBytes for uapi::VeDrvInfo {}

/// `FromBytes` + `AsBytes` for the other ioctl structs: `repr(C)`, integer fields only, any
/// padding C leaves implicit written out as named fields (the host ABI test checks every
/// offset), so every byte pattern is a valid value and no byte is uninitialised.
macro_rules! plain_abi_struct {
    ($($t:ty),*) => {$(
        // SAFETY: see the macro's documentation.
        unsafe impl FromBytes for $t {}
        // SAFETY: see the macro's documentation.
        unsafe impl AsBytes for $t {}
    )*};
}
plain_abi_struct!(
    uapi::Timespec,
    uapi::Ve1CompatWaitIrq,
    uapi::VeWaitIrqArg,
    uapi::Ve1CompatWaitIrqArg,
    uapi::VeDmaXfer,
    uapi::VeDmaExtent,
    uapi::VeDmaSubmit,
    uapi::VeDmaWait,
    uapi::VeDmaCancel,
    uapi::VeDmaCache,
    uapi::VeDrvPing,
    uapi::VeDrvPinBench,
    uapi::VeDrvCoreState,
    uapi::VeVp,
    uapi::VeVpBlk,
    uapi::VeVpBlkRelease,
    uapi::VeVpRelease,
    uapi::VeWaitIrqHead,
    uapi::Ve1WaitIrq,
    uapi::Ve3WaitIrq,
    uapi::VeTidCore,
    uapi::VeCrAssign,
    uapi::VePcimemAssign,
    uapi::VeUnmap,
    uapi::VeGetHostPid,
    uapi::VeOwnership
);
