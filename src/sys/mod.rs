// SPDX-License-Identifier: GPL-2.0

//! The driver's only `unsafe` code: small abstractions over kernel interfaces that the 7.3 kernel
//! crate does not (yet) wrap, each with a safe API. The rest of the driver is safe Rust.
//!
//! What lives here, and why:
//! - [`MsixIrq`]: an MSI-X vector allocation together with the threaded IRQ handler registered on one of its
//!   vectors. 7.3's `pci::IrqVectorRegistration` lends its vectors by reference, so keeping both in
//!   one driver-data struct is a self-reference; this type owns both and orders their drops.
//! - [`MiscNode`]: a misc device with hand-built file operations (`src/helpers.c`, calling the
//!   `ve_fop_*` functions here) and driver data that `open` can reach: 7.3's `MiscDevice` has no
//!   `poll` and its registration no per-registration data field.
//! - [`capable_sys_admin`]: `capable(CAP_SYS_ADMIN)`, which has no Rust wrapper in 7.3.
//! - [`pci_vendor`]: a `pci::Vendor` for NEC's 0x1bcf, which the kernel's vendor list lacks.
//! - [`set_dma_mask_48`]: the DMA mask setter is `unsafe` in 7.3 (it must not race with mappings).
//! - [`map_registers`]: NEC's mmap of the system-common registers for VEOS (no Rust wrapper for
//!   PFN mappings, uncached protections or VMA operations in 7.3), each VMA holding a reference
//!   to the [`ScrGrant`] that lends the engine and mapping pages only on fault
//!   ([`RegisterFault`], when the grant allows it); [`MappedSpace`] zaps such mappings
//!   (`unmap_mapping_range`) when the kernel takes the engine back.
//! - [`capable_sys_rawio`], [`check_lockdown`], [`taint_user_dma`]: the gates of that mapping;
//!   [`clear_master`]: `pci_clear_master`, which 7.3's `pci::Device` lacks.
//! - `FromBytes`/`AsBytes` for the ioctl argument structs of [`crate::uapi`].
//!
//! - [`gup`]: pinning and unpinning user pages, pinned-memory accounting.

use core::ptr::addr_of;

use kernel::{
    bindings,
    device::Bound,
    fs::File,
    irq,
    pci,
    prelude::*,
    sync::{
        aref::ARef,
        poll::PollTable,
        Arc, //
    },
    transmute::{
        AsBytes,
        FromBytes, //
    }, //
    types::Opaque,
};

use crate::{
    card::ScrGrant,
    uapi, //
};

pub(crate) mod gup;

/// MSI-X vectors of a PCI function and one handler registered on one of them.
///
/// # Invariants
///
/// - `registration` was requested on a vector of `vectors` and is freed before `vectors` (field
///   declaration order is drop order), so `free_irq()` always runs before `pci_free_irq_vectors()`.
/// - `vectors` lives at a pinned address for as long as `registration` exists.
#[pin_data]
pub(crate) struct MsixIrq<'bound, T: irq::ThreadedHandler + 'bound> {
    #[pin]
    registration: irq::ThreadedRegistration<'bound, T>,
    vectors: pci::IrqVectorRegistration<'bound>,
}

impl<'bound, T: irq::ThreadedHandler + 'bound> MsixIrq<'bound, T> {
    /// Allocates exactly `count` MSI-X vectors and registers the threaded `handler` on entry
    /// `index`.
    pub(crate) fn new(
        pdev: &'bound pci::Device<Bound>,
        count: u32,
        index: u32,
        name: &'static CStr,
        handler: impl PinInit<T, Error> + 'bound,
    ) -> impl PinInit<Self, Error> + 'bound {
        let msix = pci::IrqTypes::default().with(pci::IrqType::MsiX);
        try_pin_init!(&this in Self {
            // Initialised before `registration`: pin-init runs field initialisers in the order
            // they are written here.
            vectors: pdev.alloc_irq_vectors(count, count, msix)?,
            registration <- {
                // SAFETY: `vectors` is initialised (above) and lives inside `*this`, which is
                // pinned: its address is stable until `Self` is dropped. By the type invariant
                // `registration` is dropped before `vectors`, so the reference handed to the IRQ
                // registration never dangles.
                let vectors: &'bound pci::IrqVectorRegistration<'bound> =
                    unsafe { &*addr_of!((*this.as_ptr()).vectors) };
                let request: irq::IrqRequest<'bound> = vectors.index(index as usize)?.into();
                // SAFETY: the registration is a pinned field of `Self` and is dropped with it;
                // nothing here `mem::forget`s it.
                unsafe {
                    irq::ThreadedRegistration::new(
                        request,
                        irq::Flags::TRIGGER_NONE,
                        name,
                        handler,
                    )
                }
            },
        })
    }
}

/// What the files of a [`MiscNode`] do: the safe side of its hand-built file operations.
pub(crate) trait NodeFile: Sized + Send + Sync {
    /// The node's data, handed to `open`.
    type Data: Send + Sync;
    /// A file is opened on the node.
    fn open(data: &Self::Data) -> Result<KBox<Self>>;
    /// An ioctl (`compat` for a 32-bit caller).
    fn ioctl(&self, cmd: u32, arg: usize, compat: bool) -> Result<isize>;
    /// An mmap; `vma` is being set up.
    fn mmap(&self, vma: &kernel::mm::virt::VmaNew) -> Result;
    /// `poll`: registers on what will signal readiness, returns the `EPOLL*` mask now.
    fn poll(&self, file: &File, table: PollTable<'_>) -> u32;
}

/// The file type of `/dev/veN`, whose file operations `src/helpers.c` builds from the
/// `ve_fop_*` functions below.
type Node = crate::ioctl::VeFile;

/// A misc device (`/dev/<name>`) with hand-built file operations (7.3's `MiscDevice` has no
/// `poll`) and driver data that `open` reaches.
///
/// # Invariants
///
/// `misc` is registered with the `ve_fop_*` file operations from `new` until `drop`; `data` is
/// initialised before and dropped after, so an `open` (which runs while the registration exists)
/// always finds it.
#[pin_data(PinnedDrop)]
pub(crate) struct MiscNode {
    data: <Node as NodeFile>::Data,
    #[pin]
    misc: Opaque<bindings::miscdevice>,
}

// SAFETY: once registered, the `miscdevice` is read only by the misc core (under its own lock) and
// deregistered by `drop`; nothing else touches it. `data` is `Send + Sync` (`NodeFile::Data`).
unsafe impl Send for MiscNode {}
// SAFETY: see `Send`; `&MiscNode` gives access to nothing but `data`.
unsafe impl Sync for MiscNode {}

impl MiscNode {
    /// Registers `/dev/<name>` whose `open` will find `data`.
    pub(crate) fn new(
        name: &'static CStr,
        data: <Node as NodeFile>::Data,
    ) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            data,
            // `slot` is pinned memory for a `miscdevice`, zeroed here (a valid state for
            // registration) and registered; `PinnedDrop` deregisters it before it goes away.
            misc <- Opaque::try_ffi_init(|slot: *mut bindings::miscdevice| {
                // SAFETY: `try_ffi_init` passes the `Opaque`'s memory, valid for writing one
                // `miscdevice`; all zeroes is a valid `miscdevice` (a C struct of pointers and
                // integers).
                unsafe { core::ptr::write_bytes(slot, 0, 1) };
                // SAFETY: `slot` is zeroed and pinned; `name` is static.
                kernel::error::to_result(unsafe {
                    ve_misc_register(slot.cast(), name.as_char_ptr())
                })
            }),
        })
    }
}

#[pinned_drop]
impl PinnedDrop for MiscNode {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: registered by `new` (type invariant); deregistered once, here.
        unsafe { bindings::misc_deregister(self.misc.get()) };
    }
}

// The `ve_fop_*` entries below are called by the VFS through `ve_fops` (src/helpers.c), an
// indirect call. They are typed with the bindings' `inode`, `file`, `vm_area_struct` and
// `poll_table_struct`, as Rust binder types its own file operations: under kCFI
// (`CONFIG_CFI`) the type hash checked at an indirect call is computed from the callee's
// signature, and rustc encodes `*mut bindings::file` as C encodes `struct file *` (a `*mut c_void`
// would hash as `void *`, and the VFS's call would trap).

/// The file's `Node`, stored in its private data by `ve_fop_open`.
///
/// # Safety
///
/// `file` must be a `/dev/veN` file that `ve_fop_open` opened and `ve_fop_release` has not
/// released.
unsafe fn node_of<'a>(file: *mut bindings::file) -> &'a Node {
    // SAFETY: by the caller's guarantee the private data is the `KBox<Node>` `ve_fop_open` leaked,
    // which lives until `ve_fop_release`.
    unsafe { &*(*file).private_data.cast::<Node>() }
}

/// `open` of `/dev/veN`.
///
/// # Safety
///
/// Called by the VFS only (`ve_fops.open`): `inode` and `file` are a `/dev/veN` file being opened
/// by `misc_open`.
#[no_mangle]
unsafe extern "C" fn ve_fop_open(inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
    // SAFETY: a file being opened, with its inode.
    let ret = unsafe { bindings::generic_file_open(inode, file) };
    if ret != 0 {
        return ret;
    }
    // SAFETY: `misc_open` set the private data to the `miscdevice` being opened, which is the
    // `misc` field of a live `MiscNode` (the only registrations with these file operations), and
    // keeps it registered during this call.
    let node = unsafe {
        let misc = (*file).private_data.cast::<Opaque<bindings::miscdevice>>();
        &*kernel::container_of!(misc, MiscNode, misc)
    };
    match Node::open(&node.data) {
        Ok(f) => {
            // SAFETY: the open call owns the private data; from here on it is the `KBox<Node>`,
            // reclaimed by `ve_fop_release`.
            unsafe { (*file).private_data = KBox::into_raw(f).cast() };
            0
        }
        Err(e) => e.to_errno(),
    }
}

/// `release` of `/dev/veN`: the last reference to the file is gone.
///
/// # Safety
///
/// Called by the VFS only (`ve_fops.release`), once, for a file `ve_fop_open` opened.
#[no_mangle]
unsafe extern "C" fn ve_fop_release(
    _inode: *mut bindings::inode,
    file: *mut bindings::file,
) -> c_int {
    // SAFETY: the file was opened by `ve_fop_open` (release follows only a successful open), whose
    // `KBox<Node>` is reclaimed exactly once, here.
    drop(unsafe { KBox::from_raw((*file).private_data.cast::<Node>()) });
    0
}

fn ioctl_ret(r: Result<isize>) -> c_long {
    match r {
        Ok(v) => v as c_long,
        Err(e) => e.to_errno() as c_long,
    }
}

/// `unlocked_ioctl` of `/dev/veN`.
///
/// # Safety
///
/// Called by the VFS only (`ve_fops.unlocked_ioctl`) on an open `/dev/veN` file.
#[no_mangle]
unsafe extern "C" fn ve_fop_ioctl(file: *mut bindings::file, cmd: c_uint, arg: c_ulong) -> c_long {
    // SAFETY: an open `/dev/veN` file (the VFS holds a reference during the call).
    ioctl_ret(unsafe { node_of(file) }.ioctl(cmd, arg, false))
}

/// `compat_ioctl` of `/dev/veN`.
///
/// # Safety
///
/// As for `ve_fop_ioctl` (`ve_fops.compat_ioctl`).
#[no_mangle]
unsafe extern "C" fn ve_fop_compat_ioctl(
    file: *mut bindings::file,
    cmd: c_uint,
    arg: c_ulong,
) -> c_long {
    // A 32-bit caller's pointer is the low 32 bits (`compat_ptr()`, which is not reachable from
    // Rust: on x86-64 it zero-extends `compat_uptr_t`).
    let arg = arg as u32 as usize;
    // SAFETY: as for `ve_fop_ioctl`.
    ioctl_ret(unsafe { node_of(file) }.ioctl(cmd, arg, true))
}

/// `mmap` of `/dev/veN`.
///
/// # Safety
///
/// Called by the VFS only (`ve_fops.mmap`) on an open `/dev/veN` file, with a VMA being set up by
/// this mmap call.
#[no_mangle]
unsafe extern "C" fn ve_fop_mmap(
    file: *mut bindings::file,
    vma: *mut bindings::vm_area_struct,
) -> c_int {
    // SAFETY: an open `/dev/veN` file, and a VMA being set up by this mmap call.
    let r = unsafe { node_of(file).mmap(kernel::mm::virt::VmaNew::from_raw(vma)) };
    match r {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `poll` of `/dev/veN`.
///
/// # Safety
///
/// Called by the VFS only (`ve_fops.poll`) on an open `/dev/veN` file, with a poll table (or null)
/// valid for the call.
#[no_mangle]
unsafe extern "C" fn ve_fop_poll(
    file: *mut bindings::file,
    table: *mut bindings::poll_table_struct,
) -> bindings::__poll_t {
    // SAFETY: an open `/dev/veN` file with a reference held by the VFS for the call, and a poll
    // table (or null) valid for the call.
    unsafe {
        let f = File::from_raw_file(file);
        node_of(file).poll(f, PollTable::from_raw(table))
    }
}

/// A PCI vendor id the kernel's `pci::Vendor` list does not name. NEC's SX-Aurora vendor id 0x1bcf
/// is not in `include/linux/pci_ids.h` (its `PCI_VENDOR_ID_NEC` is the older 0x1033), and 7.3's
/// `Vendor::from_raw` is private to the kernel crate.
pub(crate) const fn pci_vendor(id: u16) -> pci::Vendor {
    // SAFETY: `pci::Vendor` is `#[repr(transparent)]` over `u16`, and its only invariant is "a PCI
    // vendor id", which callers pass (ids assigned by the PCI-SIG, from `crate::hw::pci_id`).
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
/// address with the page's physical address. The engine is given physical addresses, as NEC's
/// driver does; with a translating IOMMU they would be wrong, and probe refuses the card.
pub(crate) fn dma_addresses_are_physical(dev: &kernel::device::Device<Bound>) -> Result<bool> {
    use kernel::{
        dma::DataDirection,
        page::PAGE_SIZE,
        scatterlist::SGTable, //
    };
    let buf = VVec::<u8>::with_capacity(PAGE_SIZE, GFP_KERNEL)?;
    // SAFETY: `buf` owns a vmalloc allocation of at least one page starting at this address.
    let pfn = unsafe { kernel::bindings::vmalloc_to_pfn(buf.as_ptr().cast()) };
    let phys = (pfn as u64) << kernel::page::PAGE_SHIFT;
    let sgt = KBox::pin_init(
        SGTable::new(dev, buf, DataDirection::Bidirectional, GFP_KERNEL),
        GFP_KERNEL,
    )?;
    let dma = sgt.iter().next().map(|e| e.dma_address());
    Ok(dma == Some(phys))
}

// src/helpers.c. VMAs and faults are declared `void *` here: bindgen's `vm_area_struct` and
// `vm_fault` contain zero-sized members that the FFI-safety lint (`improper_ctypes`) rejects in
// declarations of C functions. These are direct calls from Rust into C, which kCFI does not
// check; the entries C calls indirectly are typed (above).
extern "C" {
    fn ve_vma_file_offset(vma: *mut c_void) -> c_ulong;
    fn ve_scr_mmap(vma: *mut c_void, grant: *mut c_void);
    fn ve_scr_fault_page(vmf: *mut c_void) -> c_ulong;
    fn ve_scr_fault_insert(vmf: *mut c_void, pfn: c_ulong) -> bindings::vm_fault_t;
    fn ve_misc_register(misc: *mut c_void, name: *const c_char) -> c_int;
    fn ve_vma_file(vma: *mut c_void) -> *mut c_void;
    fn ve_zap_file_mappings(file: *mut c_void);
    fn ve_locked_down() -> c_int;
}

/// The file offset an mmap of `vma` asks for, in bytes.
pub(crate) fn vma_file_offset(vma: &kernel::mm::virt::VmaNew) -> u64 {
    // SAFETY: `vma` is a valid vma being set up by this mmap call; reading its page offset has no
    // side effects.
    unsafe { ve_vma_file_offset(vma.as_ptr().cast()) as u64 }
}

/// A window of a PCI BAR that the driver may hand to user space by mmap.
///
/// # Invariants
///
/// `phys .. phys + len` lies inside BAR `bar` of a device this driver bound, and `phys` and `len`
/// are page aligned.
#[derive(Copy, Clone, Debug)]
pub(crate) struct RegisterWindow {
    phys: u64,
    len: u64,
}

impl RegisterWindow {
    /// `len` bytes at `offset` into BAR `bar` of `pdev`; `EINVAL` unless page aligned and inside.
    pub(crate) fn of_bar(
        pdev: &pci::Device<Bound>,
        bar: u32,
        offset: u64,
        len: u64,
    ) -> Result<Self> {
        let start = pdev.resource_start(bar)?;
        let size = pdev.resource_len(bar)?;
        let page = kernel::page::PAGE_SIZE as u64;
        if offset % page != 0
            || len % page != 0
            || len == 0
            || offset.checked_add(len).is_none_or(|e| e > size)
        {
            return Err(EINVAL);
        }
        // INVARIANT: checked just above against the BAR's resource.
        Ok(Self {
            phys: start + offset,
            len,
        })
    }
}

/// Sets `vma` up as a mapping of `window` (or its start, if `vma` is shorter), uncached
/// (`VM_IO | VM_PFNMAP`, not copied on fork, not grown, not dumped, not split, never executable).
/// No page table entry is installed here: the VMA's fault handler maps a page when it is first
/// touched, and only if [`ScrGrant::fault`] allows it (the grant is still the card's current one
/// and the card is bound), so a zap of the mapping is final. `EINVAL` if `vma` is longer than the
/// window, is not a shared mapping (`MAP_PRIVATE`: a private PFN mapping would be a COW mapping of
/// device memory), or asks for `PROT_EXEC`. Every VMA of the mapping holds a reference to `grant`
/// (a move duplicates it, an unmap drops it): the mapping's lifetime is the grant's.
pub(crate) fn map_registers(
    vma: &kernel::mm::virt::VmaNew,
    window: &RegisterWindow,
    grant: Arc<ScrGrant>,
) -> Result {
    check_register_vma(vma, window)?;
    let raw = grant.into_raw();
    // SAFETY: `vma` is being set up by this mmap call (the `VmaNew` invariant), so its flags,
    // page protection, operations and private data may be set. The VMA now owns the reference
    // `raw` (duplicated by `ve_scr_vma_open`, released by `ve_scr_vma_close`); the fault handler
    // maps only pages of `window` (`RegisterFault::insert`).
    unsafe { ve_scr_mmap(vma.as_ptr().cast(), raw.cast_mut().cast()) };
    Ok(())
}

/// The checks of [`map_registers`] that come before the engine is lent: `EINVAL` for a VMA longer
/// than `window`, a private mapping or `PROT_EXEC`. Clears `VM_MAYEXEC` (no later `mprotect`
/// to executable).
pub(crate) fn check_register_vma(
    vma: &kernel::mm::virt::VmaNew,
    window: &RegisterWindow,
) -> Result {
    use kernel::mm::virt::flags;
    if (vma.end() - vma.start()) as u64 > window.len {
        return Err(EINVAL);
    }
    if vma.flags() & flags::SHARED == 0 {
        return Err(EINVAL);
    }
    vma.try_clear_mayexec()
}

/// What a fault handler returns (`vm_fault_t`).
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub(crate) struct VmFault(bindings::vm_fault_t);

impl VmFault {
    /// The access fails: the process gets SIGBUS.
    pub(crate) const SIGBUS: Self = Self(bindings::vm_fault_reason_VM_FAULT_SIGBUS);
}

/// A page fault in a register mapping set up by [`map_registers`], being handled.
///
/// # Invariants
///
/// `vmf` is the `struct vm_fault` of a fault being handled on such a VMA, valid for `'a`.
pub(crate) struct RegisterFault<'a> {
    vmf: *mut bindings::vm_fault,
    _fault: core::marker::PhantomData<&'a mut bindings::vm_fault>,
}

impl RegisterFault<'_> {
    /// Maps the page of `window` at the faulting page's offset into the mapping, uncached (the
    /// VMA's protections). `SIGBUS` for a page beyond the window. The caller decides whether the
    /// page may be mapped at all, and must keep that decision valid until this returns (the
    /// grant's lock), so that a zap that follows removes what this installed.
    pub(crate) fn insert(&self, window: &RegisterWindow) -> VmFault {
        // SAFETY: by the type invariant `vmf` is a fault being handled on a register mapping.
        let page = unsafe { ve_scr_fault_page(self.vmf.cast()) } as u64;
        let page_size = kernel::page::PAGE_SIZE as u64;
        if page >= window.len / page_size {
            return VmFault::SIGBUS;
        }
        let pfn = (window.phys / page_size + page) as c_ulong;
        // SAFETY: as above; `pfn` is a page of `window`, inside a BAR of a device this driver
        // has bound (the `RegisterWindow` invariant), and the VMA is `VM_PFNMAP` and shared.
        VmFault(unsafe { ve_scr_fault_insert(self.vmf.cast(), pfn) })
    }
}

/// A VMA of a register mapping was duplicated (moved): the new one takes a reference. Called
/// directly from C (`ve_scr_open` in `src/helpers.c`), not through a pointer.
///
/// # Safety
///
/// `grant` is the private data of a register mapping's VMA, set by [`map_registers`].
#[no_mangle]
unsafe extern "C" fn ve_scr_vma_open(grant: *mut c_void) {
    // SAFETY: `grant` is the private data of a register mapping's VMA, which owns one reference
    // (from `map_registers` or an earlier open): the `ScrGrant` is alive.
    let this = core::mem::ManuallyDrop::new(unsafe { Arc::<ScrGrant>::from_raw(grant.cast()) });
    // The duplicate's own reference, stored in its (copied) private data by the kernel.
    let _ = Arc::clone(&this).into_raw();
}

/// A VMA of a register mapping is going away: its reference goes with it. Called directly from C
/// (`ve_scr_close`).
///
/// # Safety
///
/// As for `ve_scr_vma_open`; called once per VMA.
#[no_mangle]
unsafe extern "C" fn ve_scr_vma_close(grant: *mut c_void) {
    // SAFETY: as for `ve_scr_vma_open`; this VMA's reference is released exactly once, here.
    drop(unsafe { Arc::<ScrGrant>::from_raw(grant.cast()) });
}

/// A page fault in a register mapping (`ve_scr_fault` in `src/helpers.c`, called directly).
///
/// # Safety
///
/// `grant` is the private data of the faulting register mapping's VMA, and `vmf` the fault being
/// handled on it.
#[no_mangle]
unsafe extern "C" fn ve_scr_vma_fault(
    grant: *mut c_void,
    vmf: *mut bindings::vm_fault,
) -> bindings::vm_fault_t {
    // SAFETY: the faulting VMA owns a reference (see `ve_scr_vma_open`) and cannot go away during
    // its fault: the `ScrGrant` is alive. Borrowed, not released.
    let grant = core::mem::ManuallyDrop::new(unsafe { Arc::<ScrGrant>::from_raw(grant.cast()) });
    // INVARIANT: the caller passes a fault being handled on a register mapping.
    let fault = RegisterFault {
        vmf,
        _fault: core::marker::PhantomData,
    };
    grant.fault(&fault).0
}

/// The file a register mapping maps, held so that its mappings can be zapped when the engine is
/// taken back.
pub(crate) struct MappedSpace(ARef<File>);

impl MappedSpace {
    /// The file `vma` (being set up by mmap) maps; takes a reference to it.
    pub(crate) fn of(vma: &kernel::mm::virt::VmaNew) -> Result<Self> {
        // SAFETY: `vma` is being set up by mmap of a file: `vm_file` is set and referenced by the
        // mmap call for its duration.
        let f = unsafe { ve_vma_file(vma.as_ptr().cast()) };
        if f.is_null() {
            return Err(EINVAL);
        }
        // SAFETY: `f` is a live file (above); the new `ARef` takes a reference of its own.
        Ok(Self(ARef::from(unsafe { File::from_raw_file(f.cast()) })))
    }

    /// Removes every page table entry of every mapping of the file's address space: a later
    /// access through one of them faults (SIGBUS) instead of reaching the registers.
    pub(crate) fn zap(&self) {
        // SAFETY: the file (and so its address space) is alive: we hold a reference.
        unsafe { ve_zap_file_mappings(self.0.as_ptr().cast()) }
    }
}

/// Whether the current task has `CAP_SYS_ADMIN` in the initial user namespace.
pub(crate) fn capable_sys_admin() -> bool {
    // SAFETY: `capable()` may be called from any process context with any capability number.
    unsafe { kernel::bindings::capable(kernel::bindings::CAP_SYS_ADMIN as c_int) }
}

/// Whether the current task has `CAP_SYS_RAWIO` in the initial user namespace (what `/dev/mem`
/// and vfio's no-IOMMU mode ask for).
pub(crate) fn capable_sys_rawio() -> bool {
    // SAFETY: as for `capable_sys_admin`.
    unsafe { kernel::bindings::capable(kernel::bindings::CAP_SYS_RAWIO as c_int) }
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
pub(crate) fn taint_user_dma(card_index: u32) {
    use kernel::sync::atomic::{
        Atomic,
        Relaxed, //
    };
    static TAINTED: Atomic<bool> = Atomic::new(false);
    if TAINTED.xchg(true, Relaxed) {
        return;
    }
    pr_warn!(
        "ve{}: user-space DMA manager mapped the engine registers (user_pdma=1): it can write \
         any host memory; adding kernel taint\n",
        card_index
    );
    // SAFETY: `add_taint()` may be called from any context; the taint does not affect lockdep.
    unsafe {
        kernel::bindings::add_taint(
            kernel::bindings::TAINT_USER,
            kernel::bindings::lockdep_ok_LOCKDEP_STILL_OK,
        )
    };
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
    uapi::VeWaitIrq,
    uapi::VeWaitIrqArg,
    uapi::VeWaitIrqArgVe1,
    uapi::VeDmaXfer,
    uapi::VeDmaExtent,
    uapi::VeDmaSubmit,
    uapi::VeDmaWait,
    uapi::VeDmaCancel,
    uapi::VeDrvPing,
    uapi::VeDrvPinBench,
    uapi::VeVp,
    uapi::VeVpBlk,
    uapi::VeVpBlkRelease,
    uapi::VeVpRelease
);
