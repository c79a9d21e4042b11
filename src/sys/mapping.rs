// SPDX-License-Identifier: GPL-2.0

//! Mappings of device registers into user space, mapped page by page on fault while whatever the
//! mapping holds allows it: 7.3's kernel crate has no PFN mappings, no uncached protections and no
//! VMA operations. The VMA operations are a Rust `const` per holder type, as [`super::node`]
//! builds its file operations; each VMA of a mapping owns one reference to the holder, through
//! [`ForeignOwnable`].

use core::marker::PhantomData;

use kernel::{
    bindings,
    device::Bound,
    fs::File,
    mm::{
        virt::VmaNew,
        Mm, //
    },
    pci,
    prelude::*,
    sync::{
        aref::ARef,
        Arc, //
    },
    types::ForeignOwnable, //
};

// src/helpers.c: static inlines and macros (`pgprot_noncached`, `vm_flags_set`, the fault's
// address). The VMA and the fault are declared `void *`: bindgen's `vm_area_struct` and `vm_fault`
// contain zero-sized members that the FFI-safety lint (`improper_ctypes`) rejects in declarations
// of C functions. These are direct calls, which kCFI does not check.
extern "C" {
    fn ve_vma_make_uncached_pfnmap(vma: *mut c_void);
    fn ve_fault_pgoff(vmf: *mut c_void) -> c_ulong;
    fn ve_fault_insert_pfn(vmf: *mut c_void, pfn: c_ulong) -> bindings::vm_fault_t;
}

/// The file offset an mmap of `vma` asks for, in bytes.
pub(crate) fn vma_file_offset(vma: &VmaNew) -> u64 {
    // SAFETY: `vma` is a valid VMA being set up by this mmap call; its page offset is set.
    let pgoff = unsafe { (*vma.as_ptr()).vm_pgoff };
    (pgoff as u64) << kernel::page::PAGE_SHIFT
}

/// A window of a PCI BAR that the driver may hand to user space by mmap.
///
/// # Invariants
///
/// `phys .. phys + len` lies inside a BAR of a device this driver bound, and `phys` and `len` are
/// page aligned.
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

    /// The window's physical (bus) start address, as the BAR's resource gives it.
    pub(crate) fn phys(&self) -> u64 {
        self.phys
    }

    /// The window's size in bytes.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }
}

/// What each VMA of a register mapping holds: it decides, page by page and fault by fault, whether
/// and which page of a window is mapped.
pub(crate) trait RegisterHolder: Send + Sync + Sized + 'static {
    /// A fault in the mapping at file offset [`RegisterFault::file_offset`]: map a page of a
    /// window ([`RegisterFault::insert`]) or refuse ([`VmFault::SIGBUS`]). The decision must stay
    /// valid until `insert` returns (hold the lock a revocation takes), so that a zap which
    /// follows removes what was inserted.
    fn fault(&self, fault: &RegisterFault<'_>) -> VmFault;
}

/// Sets `vma` up as a register mapping held by `holder`, uncached (`VM_IO | VM_PFNMAP`, not
/// copied on fork, not grown, not dumped, not split, never executable, as `io_remap_pfn_range()`
/// would set it and as vfio-pci's fault-driven BAR mappings do). No page table entry is installed
/// here: [`RegisterHolder::fault`] decides when a page is first touched which page of which window
/// it maps, so a zap of the mapping ([`MappedSpace::zap`]) is final once the holder refuses.
/// Checks as [`check_register_vma`]. Every VMA of the mapping holds a reference to `holder` (a
/// move duplicates it, an unmap drops it): the mapping's lifetime is the holder's.
pub(crate) fn map_registers<H: RegisterHolder>(vma: &VmaNew, holder: Arc<H>) -> Result {
    check_register_vma(vma)?;
    let raw = vma.as_ptr();
    // SAFETY: `vma` is being set up by this mmap call (the `VmaNew` invariant): its flags and page
    // protection may be set.
    unsafe { ve_vma_make_uncached_pfnmap(raw.cast()) };
    // SAFETY: as above, its private data may be set. The VMA now owns the reference
    // `into_foreign` gives up: `RegisterVmOps::open` takes one for a duplicate,
    // `RegisterVmOps::close` releases the VMA's own.
    unsafe { (*raw).vm_private_data = holder.into_foreign() };
    // SAFETY: as above, its operations may be set; they expect the private data just set.
    unsafe { (*raw).vm_ops = &RegisterVmOps::<H>::VTABLE };
    Ok(())
}

/// The checks of [`map_registers`], also for callers that must check before they commit to the
/// mapping: `EINVAL` for a private mapping (a private PFN mapping would be a copy-on-write
/// mapping of device memory) or `PROT_EXEC`. Clears `VM_MAYEXEC` (no later `mprotect` to
/// executable).
pub(crate) fn check_register_vma(vma: &VmaNew) -> Result {
    use kernel::mm::virt::flags;
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
    _fault: PhantomData<&'a mut bindings::vm_fault>,
}

impl RegisterFault<'_> {
    /// The file offset of the faulting page (page aligned): the mapping's file offset plus the
    /// page's place in it.
    pub(crate) fn file_offset(&self) -> u64 {
        // SAFETY: by the type invariant `vmf` is a fault being handled on a register mapping.
        let pgoff = unsafe { ve_fault_pgoff(self.vmf.cast()) } as u64;
        pgoff << kernel::page::PAGE_SHIFT
    }

    /// Maps the page at `offset` bytes into `window` (page aligned) at the faulting address,
    /// uncached (the VMA's protections). `SIGBUS` for a page beyond the window.
    pub(crate) fn insert(&self, window: &RegisterWindow, offset: u64) -> VmFault {
        let page_size = kernel::page::PAGE_SIZE as u64;
        if offset % page_size != 0 || offset >= window.len {
            return VmFault::SIGBUS;
        }
        let pfn = ((window.phys + offset) / page_size) as c_ulong;
        // SAFETY: by the type invariant `vmf` is a fault being handled on a register mapping;
        // `pfn` is a page of `window`, inside a BAR of a device this driver has bound (the
        // `RegisterWindow` invariant), and the VMA is `VM_PFNMAP` and shared.
        VmFault(unsafe { ve_fault_insert_pfn(self.vmf.cast(), pfn) })
    }
}

/// The VMA operations of a register mapping held by `H`.
struct RegisterVmOps<H: RegisterHolder>(PhantomData<H>);

impl<H: RegisterHolder> RegisterVmOps<H> {
    const VTABLE: bindings::vm_operations_struct = bindings::vm_operations_struct {
        open: Some(Self::open),
        close: Some(Self::close),
        may_split: Some(Self::may_split),
        fault: Some(Self::fault),
        ..pin_init::zeroed()
    };

    /// A VMA of the mapping was duplicated (moved by `mremap`; `VM_DONTCOPY` keeps fork out): the
    /// copy takes a reference of its own.
    ///
    /// # Safety
    ///
    /// Called by the MM on a VMA with these operations, whose private data (copied from the
    /// original) is a reference [`map_registers`] or an earlier `open` gave up.
    unsafe extern "C" fn open(vma: *mut bindings::vm_area_struct) {
        // SAFETY: the VMA is valid for the call; its private data may be read.
        let private = unsafe { (*vma).vm_private_data };
        // SAFETY: the original VMA still owns its reference, so the holder is alive.
        let holder = unsafe { <Arc<H> as ForeignOwnable>::borrow(private) };
        let copy: Arc<H> = holder.into();
        // SAFETY: the new VMA's private data is its own; it now owns the reference `copy` gives
        // up (the same pointer), released by its `close`.
        unsafe { (*vma).vm_private_data = copy.into_foreign() };
    }

    /// A VMA of the mapping is going away: its reference goes with it.
    ///
    /// # Safety
    ///
    /// Called by the MM once per VMA with these operations.
    unsafe extern "C" fn close(vma: *mut bindings::vm_area_struct) {
        // SAFETY: the VMA is valid for the call; its private data may be read.
        let private = unsafe { (*vma).vm_private_data };
        // SAFETY: the VMA owns one reference (from `map_registers` or `open`), released exactly
        // once, here.
        drop(unsafe { <Arc<H> as ForeignOwnable>::from_foreign(private) });
    }

    /// A register mapping is one piece: its VMA count is the holder's reference count.
    ///
    /// # Safety
    ///
    /// None needed: nothing is dereferenced.
    unsafe extern "C" fn may_split(_vma: *mut bindings::vm_area_struct, _addr: c_ulong) -> c_int {
        EINVAL.to_errno()
    }

    /// A page fault in the mapping.
    ///
    /// # Safety
    ///
    /// Called by the MM for a fault being handled on a VMA with these operations.
    unsafe extern "C" fn fault(vmf: *mut bindings::vm_fault) -> bindings::vm_fault_t {
        // SAFETY: the fault and its VMA are valid for the call.
        let private = unsafe { (*(*vmf).__bindgen_anon_1.vma).vm_private_data };
        // SAFETY: the faulting VMA owns a reference and cannot go away during its fault: the
        // holder is alive for the call. Borrowed, not released.
        let holder = unsafe { <Arc<H> as ForeignOwnable>::borrow(private) };
        // INVARIANT: a fault being handled on a register mapping, valid for the call.
        let fault = RegisterFault {
            vmf,
            _fault: PhantomData,
        };
        holder.fault(&fault).0
    }
}

/// The open file a register mapping maps and the address space it is mapped into, held so that
/// its mappings can be zapped when the holder revokes them, and so that a later mapping can be
/// told to come from the same user (the same open file in the same process).
pub(crate) struct MappedSpace {
    file: ARef<File>,
    /// An `mmgrab` reference: the `mm_struct` cannot be freed and its address reused while this
    /// is held, so comparing it identifies the process.
    mm: ARef<Mm>,
}

impl MappedSpace {
    /// The file `vma` (being set up by mmap) maps and the address space it is in; takes a
    /// reference to each.
    pub(crate) fn of(vma: &VmaNew) -> Result<Self> {
        // SAFETY: `vma` is being set up by this mmap call; its file may be read.
        let f = unsafe { (*vma.as_ptr()).vm_file };
        if f.is_null() {
            return Err(EINVAL);
        }
        // SAFETY: `f` is a live file, referenced by the mmap call for its duration; the new
        // `ARef` takes a reference of its own.
        let file = ARef::from(unsafe { File::from_raw_file(f) });
        let mm: &Mm = vma.mm();
        Ok(Self {
            file,
            mm: ARef::from(mm),
        })
    }

    /// Whether `other` maps the same open file (a `dup` of a descriptor is the same open file,
    /// another `open` is not) into the same address space (the same process, or tasks sharing
    /// its `mm`).
    pub(crate) fn same_user(&self, other: &Self) -> bool {
        core::ptr::eq(self.file.as_ptr(), other.file.as_ptr())
            && core::ptr::eq(self.mm.as_raw(), other.mm.as_raw())
    }

    /// Whether `other` maps through the same address space (the same device node's inode):
    /// zapping one zaps the other's mappings too.
    pub(crate) fn same_address_space(&self, other: &Self) -> bool {
        // SAFETY: we hold references to both files: they are alive, their mapping fields set.
        unsafe {
            core::ptr::eq(
                (*self.file.as_ptr()).f_mapping,
                (*other.file.as_ptr()).f_mapping,
            )
        }
    }

    /// Removes the page table entries of `pages` pages from file page `first` on, in every
    /// mapping of the file's address space (every VMA mapping those file pages, whoever holds
    /// it): a later access there faults (and the holder decides again).
    pub(crate) fn zap_pages(&self, first: u64, pages: u64) {
        let file = self.file.as_ptr();
        // SAFETY: we hold a reference to the file: it and its address space are alive.
        let mapping = unsafe { (*file).f_mapping };
        // SAFETY: `mapping` is a live address space; any page range is valid (pages past the
        // mappings are skipped); `even_cows` removes private copies too (there are none).
        unsafe { bindings::unmap_mapping_pages(mapping, first as c_ulong, pages as c_ulong, true) };
    }

    /// Removes every page table entry of every mapping of the file's address space: a later
    /// access through one of them faults (and the holder decides again).
    pub(crate) fn zap(&self) {
        let file = self.file.as_ptr();
        // SAFETY: we hold a reference to the file: it and its address space are alive.
        let mapping = unsafe { (*file).f_mapping };
        // SAFETY: `mapping` is a live address space; a zero length means "to the end", and
        // `even_cows = 1` removes private copies too (there are none: the mapping is shared).
        unsafe { bindings::unmap_mapping_range(mapping, 0, 0, 1) };
    }
}
