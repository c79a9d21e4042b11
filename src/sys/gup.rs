// SPDX-License-Identifier: GPL-2.0

//! Pinning user memory: the only code that calls GUP and the only code that unpins.
//!
//! - [`TargetMm`] is the address space being pinned: the caller's own (GUP-fast) or another
//!   process's, found by pid in the caller's pid namespace and only if the caller may ptrace it
//!   (`mm_access(PTRACE_MODE_ATTACH_REALCREDS)`, as process_vm_writev checks), then pinned with
//!   `pin_user_pages_remote` under the mmap read lock, with the mm held by `mmget`.
//! - [`TargetMm::pin_runs`] pins a range in batches of at most [`BATCH`] page pointers and hands
//!   the pages out as [`PinnedRun`]s: physically contiguous runs, each owning its pins.
//! - Dropping a [`PinnedRun`] unpins it with one `unpin_user_page_range_dirty_lock` call, marking
//!   the pages dirty when the device may have written them. There is no other way to unpin, so
//!   nothing can be unpinned twice or leaked on an error path.
//! - A translation that keeps nothing holds its pages by plain reference instead
//!   ([`Hold::Ref`], FOLL_GET, read-only): a read-only FOLL_PIN of an anonymous page shared
//!   copy-on-write would unshare (copy) it (`gup_must_unshare`), and FOLL_WRITE would break COW
//!   and dirty it, just to answer a question. Such runs drop their references the same way.
//!
//! Locking: `pin_user_pages_remote` runs under the target's mmap read lock, taken and released
//! around each batch; nothing else is held while pinning.

use core::ptr::NonNull;

use kernel::{
    alloc::{
        Allocator,
        Vec, //
    },
    bindings,
    error::to_result,
    mm::{
        Mm,
        MmWithUser, //
    },
    prelude::*,
    sync::aref::ARef, //
};

use crate::extent::{
    self,
    Folio,
    PAGE_SHIFT,
    PAGE_SIZE, //
};

// src/helpers.c. Pointers are declared `void *` here: bindgen's `page` and `mm_struct` contain
// zero-sized members that the FFI-safety lint rejects.
extern "C" {
    fn ve_page_to_pfn(page: *mut c_void) -> c_ulong;
    fn ve_cond_resched();
    fn ve_fatal_signal_pending() -> bool;
    fn ve_pinned_vm_charge(mm: *mut c_void, npages: c_ulong) -> c_int;
    fn ve_pinned_vm_uncharge(mm: *mut c_void, npages: c_ulong);
    fn ve_mm_access(task: *mut c_void, mm: *mut *mut c_void) -> c_int;
    fn ve_page_folio_span(page: *mut c_void, first_pfn: *mut c_ulong) -> c_ulong;
    fn ve_put_page_range(page: *mut c_void, npages: c_ulong);
    fn ve_pages_to_pfns(pages: *const *mut c_void, n: c_ulong, pfns: *mut u64);
}

/// How GUP holds the pages it returns.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Hold {
    /// FOLL_PIN: `write` adds FOLL_WRITE (COW broken first, pages dirtied when unpinned),
    /// `longterm` FOLL_LONGTERM.
    Pin { write: bool, longterm: bool },
    /// A plain reference (FOLL_GET), read-only, short-term: for a translation that keeps nothing.
    /// Neither breaks nor unshares COW, dirties nothing, counts in no pin statistics.
    Ref,
}

impl Hold {
    fn gup_flags(self) -> u32 {
        match self {
            Hold::Pin { write, longterm } => {
                (if write { bindings::FOLL_WRITE } else { 0 })
                    | (if longterm { bindings::FOLL_LONGTERM } else { 0 })
            }
            Hold::Ref => 0,
        }
    }

    fn pinned(self) -> bool {
        matches!(self, Hold::Pin { .. })
    }

    fn dirty(self) -> bool {
        matches!(self, Hold::Pin { write: true, .. })
    }
}

/// Page pointers per GUP call: one page of pointers, as RDMA and VFIO batch.
pub(crate) const BATCH: usize = 512;
/// Calls for at most this many pages use a batch on the stack.
const SMALL_BATCH: usize = 16;

/// Room for one GUP call's page pointers ([`BATCH`] of them, one page), for a caller that pins
/// batch after batch ([`TargetMm::pin_runs`]) to allocate once. Never zeroed: GUP writes
/// the entries it returns, and only those are read.
pub(crate) struct PageBatch(KBox<core::mem::MaybeUninit<[*mut bindings::page; BATCH]>>);

impl PageBatch {
    /// Allocates the room.
    pub(crate) fn new() -> Result<Self> {
        Ok(Self(KBox::new_uninit(GFP_KERNEL)?))
    }

    fn as_mut_ptr(&mut self) -> *mut *mut bindings::page {
        self.0.as_mut_ptr().cast()
    }
}

/// Physically contiguous pinned pages, owning one pin on each (or, for [`Hold::Ref`], one
/// reference).
///
/// # Invariants
///
/// `first` points to the `struct page` of pfn `pfn`; pages `pfn..pfn + npages` are physically
/// contiguous, each pinned once (FOLL_PIN; FOLL_GET if `!pinned`) on behalf of this value and
/// released only by its `Drop`. `dirty` implies `pinned`.
pub(crate) struct PinnedRun {
    first: NonNull<bindings::page>,
    pfn: u64,
    npages: usize,
    dirty: bool,
    pinned: bool,
}

// SAFETY: a `struct page` is a global kernel object; pins may be dropped from any thread.
unsafe impl Send for PinnedRun {}
// SAFETY: `&PinnedRun` only exposes plain numbers.
unsafe impl Sync for PinnedRun {}

impl PinnedRun {
    /// First page frame.
    pub(crate) fn pfn(&self) -> u64 {
        self.pfn
    }

    /// Number of pages.
    pub(crate) fn npages(&self) -> usize {
        self.npages
    }

    /// Physical address of the first byte.
    pub(crate) fn phys(&self) -> u64 {
        self.pfn << PAGE_SHIFT
    }

    /// The folio of the first page. Stable while the run exists: a folio with a pin or a
    /// reference on one of its pages can be neither split nor freed.
    pub(crate) fn folio(&self) -> Folio {
        // SAFETY: `first` is a page this run holds (type invariant).
        unsafe { folio_of(self.first.as_ptr()) }
    }
}

/// The folio of `page`.
///
/// # Safety
///
/// `page` is a page the caller holds (pinned or referenced), so its folio is stable.
unsafe fn folio_of(page: *mut bindings::page) -> Folio {
    let mut pfn: c_ulong = 0;
    // SAFETY: `page` is held (the caller's promise); the helper only reads its folio and writes
    // `pfn`, a valid local.
    let pages = unsafe { ve_page_folio_span(page.cast(), &mut pfn) };
    Folio {
        pfn: pfn as u64,
        pages: pages as u64,
    }
}

impl PinnedRun {
    /// Takes over `other`'s pins if its pages continue this run physically (and are to be
    /// dirtied alike); gives `other` back otherwise.
    pub(crate) fn merge(&mut self, other: PinnedRun) -> Result<(), PinnedRun> {
        if self.first.as_ptr().wrapping_add(self.npages) != other.first.as_ptr()
            || self.dirty != other.dirty
            || self.pinned != other.pinned
        {
            return Err(other);
        }
        // INVARIANT: `other`'s pages follow ours (struct pages, so frames, are consecutive); its
        // pins now belong to `self`, which releases them with its own.
        self.npages += other.npages;
        core::mem::forget(other);
        Ok(())
    }
}

impl Drop for PinnedRun {
    fn drop(&mut self) {
        if !self.pinned {
            // SAFETY: by the type invariant the `npages` physically contiguous pages from
            // `first` hold one reference each that belongs to `self`, released nowhere else.
            unsafe { ve_put_page_range(self.first.as_ptr().cast(), self.npages as c_ulong) };
            return;
        }
        // SAFETY: by the type invariant the `npages` physically contiguous pages from `first`
        // hold one pin each that belongs to `self`, and nothing else releases them.
        unsafe {
            bindings::unpin_user_page_range_dirty_lock(
                self.first.as_ptr(),
                self.npages as c_ulong,
                self.dirty,
            )
        };
    }
}

/// Pages pinned one by one into an array, in virtual address order: the 4 KiB entries of one of
/// NEC's block calls, kept as GUP returned them (no run per page) and released with one call.
///
/// # Invariants
///
/// Each pointer of `pages` is a page pinned once (FOLL_PIN, FOLL_LONGTERM; FOLL_WRITE if
/// `dirty`) on behalf of this value, released only by its `Drop` (or handed on by
/// [`PinnedPageArray::into_runs`]).
pub(crate) struct PinnedPageArray {
    pages: KVec<*mut bindings::page>,
    dirty: bool,
}

// SAFETY: `struct page`s are global kernel objects; pins may be dropped from any thread.
unsafe impl Send for PinnedPageArray {}
// SAFETY: `&PinnedPageArray` only exposes plain numbers.
unsafe impl Sync for PinnedPageArray {}

impl PinnedPageArray {
    /// Number of pages.
    pub(crate) fn len(&self) -> usize {
        self.pages.len()
    }

    /// The page frame of each page, in order (one helper call).
    pub(crate) fn pfns(&self) -> Result<KVec<u64>> {
        let n = self.pages.len();
        let mut out = KVec::<u64>::with_capacity(n, GFP_KERNEL)?;
        // SAFETY: `pages` holds `n` pinned pages (type invariant); `out` has room for `n` values,
        // which the helper writes.
        unsafe { ve_pages_to_pfns(self.pages.as_ptr().cast(), n as c_ulong, out.as_mut_ptr()) };
        // SAFETY: the helper initialised the first `n` entries, within the capacity.
        unsafe { out.inc_len(n) };
        Ok(out)
    }

    /// The folio of page `i` (see [`PinnedRun::folio`]), if there is such a page.
    pub(crate) fn folio(&self, i: usize) -> Option<Folio> {
        let page = *self.pages.get(i)?;
        // SAFETY: `page` is pinned by this value (type invariant).
        Some(unsafe { folio_of(page) })
    }

    /// One [`PinnedRun`] per page, each taking over its page's pin, given its frame (`pfns`, as
    /// [`PinnedPageArray::pfns`] returned); the array comes back if memory runs out or `pfns`
    /// does not match.
    pub(crate) fn into_runs(mut self, pfns: &[u64]) -> Result<KVec<PinnedRun>, Self> {
        if pfns.len() != self.pages.len() {
            return Err(self);
        }
        let Ok(mut runs) = KVec::with_capacity(self.pages.len(), GFP_KERNEL) else {
            return Err(self);
        };
        let dirty = self.dirty;
        for (&page, &pfn) in self.pages.iter().zip(pfns) {
            let Some(first) = NonNull::new(page) else {
                continue;
            };
            // INVARIANT: the page's pin moves to the run (the array forgets it below); `pfn` is
            // its frame.
            let _ = runs.push_within_capacity(PinnedRun {
                first,
                pfn,
                npages: 1,
                dirty,
                pinned: true,
            });
        }
        // INVARIANT: every pin now belongs to a run; the array releases none.
        self.pages.clear();
        Ok(runs)
    }

    /// The pages of `runs`, in order, as one array that takes over their pins; `runs` is left
    /// empty. `EINVAL` (nothing moved) unless every run is pinned (FOLL_PIN) and dirtied alike,
    /// `ENOMEM` (nothing moved) if the array cannot be allocated.
    pub(crate) fn from_runs(runs: &mut KVec<PinnedRun>) -> Result<Self> {
        let dirty = runs.first().is_some_and(|r| r.dirty);
        if runs.iter().any(|r| !r.pinned || r.dirty != dirty) {
            return Err(EINVAL);
        }
        let n = runs.iter().map(|r| r.npages).sum();
        let mut pages = KVec::with_capacity(n, GFP_KERNEL)?;
        for run in runs.drain_all() {
            for k in 0..run.npages {
                // Within the capacity reserved for every page of every run. The `struct page`s
                // of a run's contiguous frames are consecutive (src/helpers.c insists on it).
                let _ = pages.push_within_capacity(run.first.as_ptr().wrapping_add(k));
            }
            // INVARIANT: the run's pins now belong to the array, which releases them.
            core::mem::forget(run);
        }
        Ok(Self { pages, dirty })
    }

    /// The device may still reach these pages (an engine that would not halt): they stay
    /// pinned for good.
    pub(crate) fn keep_pinned_forever(self) {
        // INVARIANT: the pins are deliberately never released.
        core::mem::forget(self);
    }
}

impl Drop for PinnedPageArray {
    fn drop(&mut self) {
        if self.pages.is_empty() {
            return;
        }
        // SAFETY: by the type invariant each page of the array holds one pin that belongs to
        // `self`, and nothing else releases them.
        unsafe {
            bindings::unpin_user_pages_dirty_lock(
                self.pages.as_mut_ptr(),
                self.pages.len() as c_ulong,
                self.dirty,
            )
        };
    }
}

/// Pages charged to the pinned memory (`mm->pinned_vm`) of an address space: one run's
/// ([`LockedRun`]), or the entries of one address space on one of NEC's pin lists (one charge and
/// one mm reference for all of them, returned page by page as entries go).
///
/// # Invariants
///
/// `npages` pages are charged to `mm->pinned_vm` on behalf of this value; `mm` is held
/// (`mmgrab`) so the charge can be returned even after the process has exited.
pub(crate) struct PinCharge {
    mm: ARef<Mm>,
    npages: usize,
}

impl PinCharge {
    /// Pages charged.
    pub(crate) fn npages(&self) -> usize {
        self.npages
    }

    /// Whether `other` is charged to the same address space.
    pub(crate) fn same_mm(&self, other: &PinCharge) -> bool {
        self.mm.as_raw() == other.mm.as_raw()
    }

    /// Takes over `other`'s charge if it is on the same mm; gives it back otherwise.
    pub(crate) fn absorb(&mut self, other: PinCharge) -> Result<(), PinCharge> {
        if !self.same_mm(&other) {
            return Err(other);
        }
        self.take_over(other);
        Ok(())
    }

    /// Takes over `other`'s charge, which the caller checked is on the same mm.
    fn take_over(&mut self, mut other: PinCharge) {
        // INVARIANT: `other`'s pages were charged to the same mm; they are ours now, and `other`
        // goes with none (dropping it only drops its mm reference).
        self.npages += other.npages;
        other.npages = 0;
    }

    /// Makes `run`, of at most as many pages as this charge still holds, a [`LockedRun`] that
    /// takes over its pages' share of the charge (no new charge: one mm reference more). The run
    /// comes back if the charge holds too few pages.
    pub(crate) fn lock(&mut self, run: PinnedRun) -> Result<LockedRun, PinnedRun> {
        if run.npages > self.npages {
            return Err(run);
        }
        // INVARIANT: `run.npages` of this value's pages move to the new charge, on the same mm.
        self.npages -= run.npages;
        let charge = PinCharge {
            mm: self.mm.clone(),
            npages: run.npages,
        };
        Ok(LockedRun { run, charge })
    }

    /// Splits `n` of its pages off into a charge of their own (on the same mm), or `None` if it
    /// holds fewer.
    pub(crate) fn split(&mut self, n: usize) -> Option<PinCharge> {
        if n > self.npages {
            return None;
        }
        // INVARIANT: `n` of this value's pages move to the new charge, on the same mm.
        self.npages -= n;
        Some(PinCharge {
            mm: self.mm.clone(),
            npages: n,
        })
    }

    /// Returns the charge of `n` of its pages now (at most as many as it holds).
    pub(crate) fn release(&mut self, n: usize) {
        let n = n.min(self.npages);
        // SAFETY: by the type invariant at least `n` pages are charged to the grabbed `mm` on
        // behalf of this value.
        unsafe { ve_pinned_vm_uncharge(self.mm.as_raw().cast(), n as c_ulong) };
        // INVARIANT: the `n` pages are no longer charged.
        self.npages -= n;
    }
}

impl Drop for PinCharge {
    fn drop(&mut self) {
        if self.npages == 0 {
            return;
        }
        // SAFETY: by the type invariant this value's pages are charged to the grabbed `mm`.
        unsafe { ve_pinned_vm_uncharge(self.mm.as_raw().cast(), self.npages as c_ulong) };
    }
}

/// A pinned run charged to the pinned memory of the address space it came from. Dropping it
/// returns the charge and unpins.
pub(crate) struct LockedRun {
    run: PinnedRun,
    charge: PinCharge,
}

impl LockedRun {
    /// Number of pages.
    pub(crate) fn npages(&self) -> usize {
        self.run.npages
    }

    /// Physical address of the first page.
    pub(crate) fn phys(&self) -> u64 {
        self.run.phys()
    }

    /// Takes over `other`'s pins and charge if its pages continue this run physically, are
    /// dirtied alike and charged to the same address space; gives `other` back otherwise.
    pub(crate) fn merge(&mut self, other: LockedRun) -> Result<(), LockedRun> {
        if self.charge.mm.as_raw() != other.charge.mm.as_raw() {
            return Err(other);
        }
        let LockedRun { run, charge } = other;
        match self.run.merge(run) {
            Ok(()) => {
                // Same mm, checked above.
                self.charge.take_over(charge);
                Ok(())
            }
            Err(run) => Err(LockedRun { run, charge }),
        }
    }

    /// The device may still reach these pages (an engine that would not halt): they stay
    /// pinned for good. The charge is returned, so that the address space can go.
    pub(crate) fn keep_pinned_forever(self) {
        let LockedRun { run, charge } = self;
        drop(charge);
        // INVARIANT: the pins are deliberately never released.
        core::mem::forget(run);
    }
}

/// Yields the CPU between batches; fails with `EINTR` if the caller is being killed.
pub(crate) fn yield_between_batches() -> Result {
    // SAFETY: a process-context call with no preconditions.
    unsafe { ve_cond_resched() };
    // SAFETY: as above.
    if unsafe { ve_fatal_signal_pending() } {
        return Err(EINTR);
    }
    Ok(())
}

/// Facts about the mapping at an address.
#[derive(Copy, Clone, Debug)]
pub(crate) struct VmaInfo {
    /// End of the mapping (exclusive).
    pub(crate) end: u64,
    /// `VM_PFNMAP` or `VM_IO`: no `struct page` behind it.
    pub(crate) pfnmap: bool,
    /// `VM_WRITE`: GUP would pin it for writing.
    pub(crate) writable: bool,
}

/// The address space whose pages are pinned.
pub(crate) struct TargetMm {
    mm: ARef<MmWithUser>,
    is_current: bool,
}

impl TargetMm {
    /// The process `pid` in the caller's pid namespace, 0 for the caller itself: `ESRCH` if
    /// there is none or it has no address space left, `EPERM` if the caller may not ptrace it
    /// (`PTRACE_MODE_ATTACH_REALCREDS`: the same real uid and gid as the target's, or
    /// CAP_SYS_PTRACE; and a target that is dumpable, or CAP_SYS_PTRACE), as process_vm_writev
    /// decides. The caller's own process needs no check. VEOS, root with every capability,
    /// passes for the processes it serves.
    pub(crate) fn by_pid(pid: i32) -> Result<Self> {
        if pid < 0 {
            return Err(ESRCH);
        }
        if pid == 0 {
            let current = kernel::current!();
            let mm: ARef<MmWithUser> = ARef::from(current.mm().ok_or(ESRCH)?);
            return Ok(Self {
                mm,
                is_current: true,
            });
        }
        // SAFETY: `find_get_pid` takes a reference on the `struct pid` it returns (or NULL).
        let p = unsafe { bindings::find_get_pid(pid) };
        if p.is_null() {
            return Err(ESRCH);
        }
        // SAFETY: `p` is a valid, referenced `struct pid`; `get_pid_task` returns a referenced
        // task or NULL.
        let task = unsafe { bindings::get_pid_task(p, bindings::pid_type_PIDTYPE_PID) };
        // SAFETY: drops the reference taken by `find_get_pid`.
        unsafe { bindings::put_pid(p) };
        if task.is_null() {
            return Err(ESRCH);
        }
        let mut mm: *mut c_void = core::ptr::null_mut();
        // SAFETY: `task` is a valid referenced task; on success the helper stores its mm with
        // `mm_users` raised in `mm`, a valid local, and stores nothing otherwise.
        let err = unsafe { ve_mm_access(task.cast(), &mut mm) };
        // SAFETY: drops the reference taken by `get_pid_task`.
        unsafe { bindings::put_task_struct(task) };
        // -ESRCH (no mm), -EPERM (no ptrace access), -EINTR (killed while an exec ran).
        to_result(err)?;
        let mm = NonNull::new(mm).ok_or(ESRCH)?;
        // SAFETY: `ve_mm_access` raised `mm_users` for us: that reference now belongs to the
        // ARef, whose drop is `mmput`. `MmWithUser` is a transparent wrapper of `mm_struct`.
        let mm: ARef<MmWithUser> = unsafe { ARef::from_raw(mm.cast()) };
        let is_current = kernel::current!()
            .mm()
            .is_some_and(|m| m.as_raw() == mm.as_raw());
        Ok(Self { mm, is_current })
    }

    /// The address space (held with `mm_users`).
    pub(crate) fn mm(&self) -> &MmWithUser {
        &self.mm
    }

    /// The mapping that contains `addr`, or `EFAULT`.
    pub(crate) fn vma_at(&self, addr: u64) -> Result<VmaInfo> {
        let addr = usize::try_from(addr).map_err(|_| EFAULT)?;
        let guard = self.mm.mmap_read_lock();
        let vma = guard.vma_lookup(addr).ok_or(EFAULT)?;
        let flags = vma.flags();
        Ok(VmaInfo {
            end: vma.end() as u64,
            pfnmap: flags & (kernel::mm::virt::flags::PFNMAP | kernel::mm::virt::flags::IO) != 0,
            writable: flags & kernel::mm::virt::flags::WRITE != 0,
        })
    }

    /// Charges `npages` pages to the target's pinned memory (`mm->pinned_vm`, as RDMA and
    /// io_uring account pins), returned when the [`PinCharge`] goes (or page by page,
    /// [`PinCharge::release`]). The limit is the caller's RLIMIT_MEMLOCK, waived with
    /// CAP_IPC_LOCK (VEOS runs as root and has it): `ENOMEM` over it, nothing charged.
    pub(crate) fn charge_pages(&self, npages: usize) -> Result<PinCharge> {
        // SAFETY: `self.mm` is a live mm: we hold `mm_users` on it.
        to_result(unsafe { ve_pinned_vm_charge(self.mm.as_raw().cast(), npages as c_ulong) })?;
        let mm: &Mm = &self.mm;
        // INVARIANT: the pages were just charged to `mm`, which the ARef grabs.
        Ok(PinCharge {
            mm: ARef::from(mm),
            npages,
        })
    }

    /// Holds the one page at `va` (page aligned) as `hold` says, without allocating.
    pub(crate) fn hold_one(&self, va: u64, hold: Hold) -> Result<PinnedRun> {
        let mut page: *mut bindings::page = core::ptr::null_mut();
        self.gup(va, 1, hold, &mut page)?;
        let first = NonNull::new(page).ok_or(EFAULT)?;
        // SAFETY: `page` was returned pinned by GUP above.
        let pfn = unsafe { ve_page_to_pfn(page.cast()) } as u64;
        // INVARIANT: GUP pinned this one page once (as `hold` says); the run is its only owner.
        Ok(PinnedRun {
            first,
            pfn,
            npages: 1,
            dirty: hold.dirty(),
            pinned: hold.pinned(),
        })
    }

    /// Pins the `npages` pages from `va` (page aligned; at most [`BATCH`]) long-term, for writing
    /// if `write`, into one array with one GUP call: fewer pages if GUP stopped early (an unmapped
    /// page after the first), `EINVAL` for more than a batch, else what GUP reports.
    pub(crate) fn pin_array(&self, va: u64, npages: usize, write: bool) -> Result<PinnedPageArray> {
        if npages == 0 || npages > BATCH {
            return Err(EINVAL);
        }
        let mut pages = KVec::<*mut bindings::page>::with_capacity(npages, GFP_KERNEL)?;
        let hold = Hold::Pin {
            write,
            longterm: true,
        };
        let got = self.gup(va, npages, hold, pages.as_mut_ptr())?;
        // SAFETY: GUP initialised the first `got <= npages` entries, within the capacity.
        unsafe { pages.inc_len(got) };
        // INVARIANT: GUP pinned these pages once each, as `hold` says; the array owns the pins.
        Ok(PinnedPageArray {
            pages,
            dirty: write,
        })
    }

    /// Pins the `npages` pages from `va` (page aligned) and appends them to `out` as runs that are
    /// physically contiguous and never cross a multiple of `split` in virtual address
    /// (`split` a power of two, at least [`PAGE_SIZE`]; `EINVAL` otherwise). `longterm` adds
    /// FOLL_LONGTERM, `write` FOLL_WRITE (and dirties the pages when they are unpinned). GUP
    /// fills `batch`, [`BATCH`] pointers at a time: nothing is allocated but room in `out`, none
    /// if it has enough.
    ///
    /// Returns how many pages were pinned: fewer than asked if GUP stopped early (an unmapped
    /// page after the first). Errors come back as GUP reports them; everything pinned so far is in
    /// `out` and is released when `out` drops.
    #[expect(clippy::too_many_arguments)]
    pub(crate) fn pin_runs<A: Allocator>(
        &self,
        batch: &mut PageBatch,
        va: u64,
        npages: usize,
        write: bool,
        longterm: bool,
        split: u64,
        out: &mut Vec<PinnedRun, A>,
    ) -> Result<usize> {
        let buf = batch.as_mut_ptr();
        let hold = Hold::Pin { write, longterm };
        // SAFETY: `buf` has room for `BATCH` pointers and is borrowed (through `batch`) for the
        // whole call.
        unsafe { self.hold_runs_in(buf, BATCH, va, npages, hold, split, out) }
    }

    /// [`TargetMm::pin_runs`] with the pages held as `hold` says.
    pub(crate) fn hold_runs<A: Allocator>(
        &self,
        va: u64,
        npages: usize,
        hold: Hold,
        split: u64,
        out: &mut Vec<PinnedRun, A>,
    ) -> Result<usize> {
        // Page pointers for GUP to fill: on the stack for short calls (NEC's one-page ioctls),
        // else one page of them.
        let mut small = [core::mem::MaybeUninit::<*mut bindings::page>::uninit(); SMALL_BATCH];
        let mut big = if npages > SMALL_BATCH {
            Some(PageBatch::new()?)
        } else {
            None
        };
        let (buf, cap): (*mut *mut bindings::page, usize) = match &mut big {
            Some(b) => (b.as_mut_ptr(), BATCH),
            None => (small.as_mut_ptr().cast(), SMALL_BATCH),
        };
        // SAFETY: `buf` has room for `cap` pointers (above) and lives until the end of this
        // function.
        unsafe { self.hold_runs_in(buf, cap, va, npages, hold, split, out) }
    }

    /// [`TargetMm::hold_runs`] with GUP filling `buf`, `cap` pointers at a time.
    ///
    /// # Safety
    ///
    /// `buf` is valid for writes and reads of `cap` page pointers for the whole call, and used by
    /// nothing else meanwhile.
    #[expect(clippy::too_many_arguments)]
    unsafe fn hold_runs_in<A: Allocator>(
        &self,
        buf: *mut *mut bindings::page,
        cap: usize,
        va: u64,
        npages: usize,
        hold: Hold,
        split: u64,
        out: &mut Vec<PinnedRun, A>,
    ) -> Result<usize> {
        if !split.is_power_of_two() || split < PAGE_SIZE {
            return Err(EINVAL);
        }
        let mask = split - 1;
        let mut done = 0usize;
        // Runs before this index belong to earlier calls and are never extended.
        let own_from = out.len();
        while done < npages {
            if done > 0 {
                yield_between_batches()?;
            }
            let want = (npages - done).min(cap);
            let start = va + (done as u64) * PAGE_SIZE;
            let got = self.gup(start, want, hold, buf)?;
            // SAFETY: GUP initialised the first `got <= cap` entries of `buf`.
            let pages: &[*mut bindings::page] = unsafe { core::slice::from_raw_parts(buf, got) };
            // Reserve first, so that wrapping the pages into runs cannot fail half way.
            if out.reserve(got, GFP_KERNEL).is_err() {
                Self::unpin_raw(pages, hold);
                return Err(ENOMEM);
            }
            let mut i = 0;
            while i < got {
                let va_i = start + (i as u64) * PAGE_SIZE;
                let page = pages[i];
                // A run may not leave the split window of the page it starts at.
                let window = (extent::pages_to_boundary(va_i, split) as usize).min(got - i);
                // Physical contiguity is read off the `struct page` pointers: with the vmemmap
                // (or flat) memory model, which src/helpers.c insists on, consecutive page frames
                // have consecutive `struct page`s (the pointers are only compared, never followed).
                // The frame number is looked up once per run.
                let n = extent::contiguous_prefix(&pages[i..], |p, k| p.wrapping_add(k), window);
                // A run may continue across a batch boundary: extend the last run of this call
                // when page `i` follows it and is not on a split boundary.
                if va_i & mask != 0 {
                    if let Some(last) = out.get_mut(own_from..).and_then(|r| r.last_mut()) {
                        if last.first.as_ptr().wrapping_add(last.npages) == page {
                            // INVARIANT: pages `i..i + n` are pinned, continue `last` physically
                            // and stay in its split window; `last` now owns their pins.
                            last.npages += n;
                            i += n;
                            continue;
                        }
                    }
                }
                let Some(first) = NonNull::new(page) else {
                    Self::unpin_raw(&pages[i + 1..], hold);
                    return Err(EFAULT);
                };
                // SAFETY: `page` was returned pinned by GUP above.
                let pfn = unsafe { ve_page_to_pfn(page.cast()) } as u64;
                // INVARIANT: GUP pinned pages `i..i + n` once each; they are physically
                // contiguous (above) and this run is their only owner from here on.
                let run = PinnedRun {
                    first,
                    pfn,
                    npages: n,
                    dirty: hold.dirty(),
                    pinned: hold.pinned(),
                };
                if out.push(run, GFP_KERNEL).is_err() {
                    // Cannot happen after the reserve above. `push` dropped the run, which
                    // unpinned its pages; the rest are unpinned here.
                    Self::unpin_raw(&pages[i + n..], hold);
                    return Err(ENOMEM);
                }
                i += n;
            }
            done += got;
            if got < want {
                break;
            }
        }
        Ok(done)
    }

    /// One GUP call. Returns the number of pages pinned (at least 1), or the error.
    fn gup(
        &self,
        start: u64,
        n: usize,
        hold: Hold,
        pages: *mut *mut bindings::page,
    ) -> Result<usize> {
        let flags = hold.gup_flags();
        let got: isize = if self.is_current {
            let (start, n) = (start as c_ulong, n as c_int);
            // SAFETY (both): `pages` has room for `n <= BATCH` pointers (the caller's batch);
            // GUP-fast works on the current mm, which is `self.mm`.
            let got = if hold.pinned() {
                // SAFETY: see above.
                unsafe { bindings::pin_user_pages_fast(start, n, flags, pages) }
            } else {
                // SAFETY: see above.
                unsafe { bindings::get_user_pages_fast(start, n, flags, pages) }
            };
            got as isize
        } else {
            let _lock = self.mm.mmap_read_lock();
            let (mm, start, n) = (self.mm.as_raw(), start as c_ulong, n as c_ulong);
            let locked = core::ptr::null_mut();
            // SAFETY (both): we hold `mm_users` on `self.mm` and its mmap read lock (`locked ==
            // NULL` means GUP keeps it held); `pages` has room for `n` pointers.
            let got = if hold.pinned() {
                // SAFETY: see above.
                unsafe { bindings::pin_user_pages_remote(mm, start, n, flags, pages, locked) }
            } else {
                // SAFETY: see above.
                unsafe { bindings::get_user_pages_remote(mm, start, n, flags, pages, locked) }
            };
            got as isize
        };
        match got {
            // A range that wraps around the end of the address space is not mapped.
            g if g == -(bindings::EOVERFLOW as isize) => Err(EFAULT),
            g if g < 0 => Err(Error::from_errno(g as i32)),
            0 => Err(EFAULT),
            // GUP never returns more than asked; clamp anyway rather than trust it blindly.
            g => Ok((g as usize).min(n)),
        }
    }

    /// Releases raw GUP results that never became runs (allocation failure).
    fn unpin_raw(pages: &[*mut bindings::page], hold: Hold) {
        for &p in pages {
            if hold.pinned() {
                // SAFETY: each pointer was returned pinned by GUP and is owned by nobody else.
                unsafe { bindings::unpin_user_page_range_dirty_lock(p, 1, hold.dirty()) };
            } else {
                // SAFETY: each pointer was returned referenced by GUP and is owned by nobody
                // else.
                unsafe { ve_put_page_range(p.cast(), 1) };
            }
        }
    }
}
