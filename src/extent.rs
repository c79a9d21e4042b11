// SPDX-License-Identifier: GPL-2.0

//! Page geometry of pinned VH memory: coalescing pages into physically contiguous runs, and NEC's
//! page-size rule for the block translation ioctls.
//!
//! `core` only: compiled into the module and unit-tested on the host (`tests/host`). Pages are
//! named by page frame number (pfn); physical address = pfn << [`PAGE_SHIFT`].

/// Base page size of the VH (x86-64).
pub const PAGE_SHIFT: u32 = 12;
/// Base page size in bytes.
pub const PAGE_SIZE: u64 = 1 << PAGE_SHIFT;
/// NEC's huge page size (`HPAGE_SIZE` on x86-64): 2 MiB. 1 GiB pages are reported as 2 MiB units.
pub const HPAGE_SHIFT: u32 = 21;
/// Huge page size in bytes.
pub const HPAGE_SIZE: u64 = 1 << HPAGE_SHIFT;
/// Base pages per 2 MiB unit.
pub const PAGES_PER_HPAGE: u64 = HPAGE_SIZE / PAGE_SIZE;
/// NEC's limit on entries per block call (`VP_MAXBULK`), from the ABI.
pub use crate::uapi::VP_MAXBULK;

/// Pages from the page of `va` to the page of `va + len - 1` (`len > 0`, no overflow).
pub const fn pages_spanned(va: u64, len: u64) -> u64 {
    ((va + len - 1) >> PAGE_SHIFT) - (va >> PAGE_SHIFT) + 1
}

/// Pages from `va` (page aligned) up to the next multiple of `split` (a power of two, at least a
/// page): how far a run starting at `va` may grow before it would cross a split boundary.
pub const fn pages_to_boundary(va: u64, split: u64) -> u64 {
    (split - (va & (split - 1))) >> PAGE_SHIFT
}

/// Length of the physically contiguous run at the start of `items`: how many leading entries
/// continue the first, entry `k` being `nth(first, k)` (the frame plus `k` for page frame
/// numbers; the pointer `k` `struct page`s on for the kernel's page pointers, which are
/// contiguous for contiguous frames). At most `limit`; at least 1 unless `items` is empty.
///
/// It runs once per pinned page (512 times for a 2 MiB page), so it compares
/// [`PREFIX_CHUNK`] entries at a time without a branch per entry, then entry by entry where a
/// chunk breaks the run: under an emulator (TCG) every conditional branch ends a translated
/// block, and the entry-by-entry loop cost about 5 ns per page.
pub fn contiguous_prefix<T: Copy + PartialEq>(
    items: &[T],
    nth: impl Fn(T, usize) -> T,
    limit: usize,
) -> usize {
    let Some(&first) = items.first() else {
        return 0;
    };
    let items = &items[..items.len().min(limit).max(1)];
    let mut k = 1;
    while let Some(chunk) = items.get(k..k + PREFIX_CHUNK) {
        let mut same = true;
        for (j, &x) in chunk.iter().enumerate() {
            same &= x == nth(first, k + j);
        }
        if !same {
            break;
        }
        k += PREFIX_CHUNK;
    }
    while k < items.len() && items[k] == nth(first, k) {
        k += 1;
    }
    k
}

/// Entries [`contiguous_prefix`] compares at once.
pub const PREFIX_CHUNK: usize = 8;

/// How many entries of `pgsz` bytes a block call covers and how many bytes that is, following
/// NEC's `vp_v2p_blk`: the range `[vaddr, vaddr + length)` spans
/// `last_unit - first_unit + 1` units; over `maxpages` it is cut to `maxpages` units and the
/// length to `pgsz - vaddr % pgsz + pgsz * (maxpages - 1)`.
///
/// `length` must be nonzero and `vaddr + length` must not overflow; `pgsz` is a power of two.
pub const fn plan(vaddr: u64, length: u64, maxpages: u32, pgsz: u64) -> (u32, u64) {
    let first = vaddr / pgsz;
    let last = (vaddr + length - 1) / pgsz;
    let units = last - first + 1;
    if units <= maxpages as u64 {
        (units as u32, length)
    } else {
        (maxpages, pgsz - vaddr % pgsz + pgsz * (maxpages as u64 - 1))
    }
}

/// The folio a page belongs to: its first page frame and its size in pages.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Folio {
    /// First page frame.
    pub pfn: u64,
    /// Pages (a power of two).
    pub pages: u64,
}

impl Folio {
    /// Whether the whole 2 MiB unit of frames `unit_pfn..unit_pfn + 512` belongs to this folio:
    /// then a pin on any page of the folio keeps the whole unit allocated and in place.
    pub const fn holds_unit(&self, unit_pfn: u64) -> bool {
        self.pages >= PAGES_PER_HPAGE
            && self.pfn <= unit_pfn
            && unit_pfn - self.pfn <= self.pages - PAGES_PER_HPAGE
    }
}

/// Checks, page by page, that pinned pages are laid out as 2 MiB pages: within each 2 MiB unit of
/// virtual addresses, the pages are physically contiguous, the unit starts on a 2 MiB physical
/// boundary (a page's pfn is congruent to its virtual page index modulo 512, and it continues the
/// previous page of its unit), and the whole physical unit is one folio of at least 2 MiB
/// (hugetlb 2 MiB or 1 GiB, a THP, a large folio). Physically contiguous memory that is not one
/// folio (a split THP, order-0 pages that happen to be adjacent) fails: the rest of its unit is
/// other memory that the pins do not hold.
///
/// Only pages actually pinned are checked against the mapping: the part of the first unit before
/// the start address and of the last unit after the end is never touched by a transfer. The folio
/// check covers it anyway: it is the same folio, held by the pins on the others.
#[derive(Debug, Default)]
pub struct HugeScan {
    /// Virtual unit index and the pfn its pages must continue from.
    cur: Option<(u64, u64)>,
    /// Units completed so far that passed.
    good_units: u64,
    /// The current unit has failed; later pages cannot make it pass.
    failed: bool,
}

impl HugeScan {
    /// An empty scan.
    pub const fn new() -> Self {
        Self {
            cur: None,
            good_units: 0,
            failed: false,
        }
    }

    /// Feeds the page at virtual address `va` (page aligned), frame `pfn`, part of `folio`, in
    /// increasing order. Returns `false` once a unit has failed (nothing after it counts).
    pub fn push(&mut self, va: u64, pfn: u64, folio: Folio) -> bool {
        if self.failed {
            return false;
        }
        let unit = va >> HPAGE_SHIFT;
        let offset = (va >> PAGE_SHIFT) % PAGES_PER_HPAGE;
        let aligned = pfn % PAGES_PER_HPAGE == offset;
        match self.cur {
            Some((u, next)) if u == unit => {
                if pfn != next {
                    self.failed = true;
                    return false;
                }
            }
            Some(_) => self.good_units += 1,
            None => {}
        }
        if !aligned || !folio.holds_unit(pfn - offset) {
            self.failed = true;
            return false;
        }
        self.cur = Some((unit, pfn + 1));
        true
    }

    /// Feeds `npages` physically contiguous pages from `va` (page aligned) that lie within one
    /// 2 MiB unit, the first of them part of `folio`: the same as feeding them one by one.
    pub fn push_run(&mut self, va: u64, pfn: u64, npages: u64, folio: Folio) -> bool {
        if npages == 0 || !self.push(va, pfn, folio) {
            return npages == 0 && !self.failed;
        }
        if let Some((unit, _)) = self.cur {
            self.cur = Some((unit, pfn + npages));
        }
        true
    }

    /// Whether a unit has failed.
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// Units that passed, counting the current one if it has not failed.
    pub fn good_units(&self) -> u64 {
        self.good_units + u64::from(self.cur.is_some() && !self.failed)
    }
}
