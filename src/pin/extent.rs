// SPDX-License-Identifier: GPL-2.0

//! Page geometry of pinned VH memory: coalescing pages into physically contiguous extents, and
//! NEC's page-size rule for the block translation ioctls.
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
/// NEC's limit on entries per block call (`VP_MAXBULK`).
pub const VP_MAXBULK: u32 = 100;

/// Pages from the page of `va` to the page of `va + len - 1` (`len > 0`, no overflow).
pub const fn pages_spanned(va: u64, len: u64) -> u64 {
    ((va + len - 1) >> PAGE_SHIFT) - (va >> PAGE_SHIFT) + 1
}

/// A run of physically contiguous pages.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Extent {
    /// First page frame.
    pub pfn: u64,
    /// Number of pages.
    pub npages: u64,
}

impl Extent {
    /// Physical address of the first byte.
    pub const fn phys(&self) -> u64 {
        self.pfn << PAGE_SHIFT
    }

    /// Length in bytes.
    pub const fn bytes(&self) -> u64 {
        self.npages << PAGE_SHIFT
    }
}

/// Merges a stream of pfns, in virtual address order, into maximal physically contiguous runs.
///
/// # Invariants
///
/// `cur`, when set, has `npages >= 1`.
#[derive(Debug, Default)]
pub struct Coalescer {
    cur: Option<Extent>,
}

impl Coalescer {
    /// An empty coalescer.
    pub const fn new() -> Self {
        Self { cur: None }
    }

    /// Adds the next page. Returns the run it ended, if it did not continue it.
    pub fn push(&mut self, pfn: u64) -> Option<Extent> {
        match &mut self.cur {
            Some(e) if e.pfn + e.npages == pfn => {
                e.npages += 1;
                None
            }
            cur => cur.replace(Extent { pfn, npages: 1 }),
        }
    }

    /// Ends the stream: returns the last run, if any.
    pub fn finish(&mut self) -> Option<Extent> {
        self.cur.take()
    }
}

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

/// Checks, page by page, that pinned pages are laid out as 2 MiB pages: within each 2 MiB unit of
/// virtual addresses, the pages are physically contiguous and the unit starts on a 2 MiB physical
/// boundary (a page's pfn is congruent to its virtual page index modulo 512, and it continues the
/// previous page of its unit).
///
/// Only pages actually pinned are checked: the part of the first unit before the start address
/// and of the last unit after the end is never touched by a transfer, so it does not matter what
/// backs it.
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

    /// Feeds the page at virtual address `va` (page aligned), in increasing order. Returns
    /// `false` once a unit has failed (nothing after it counts).
    pub fn push(&mut self, va: u64, pfn: u64) -> bool {
        if self.failed {
            return false;
        }
        let unit = va >> HPAGE_SHIFT;
        let aligned = pfn % PAGES_PER_HPAGE == (va >> PAGE_SHIFT) % PAGES_PER_HPAGE;
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
        if !aligned {
            self.failed = true;
            return false;
        }
        self.cur = Some((unit, pfn + 1));
        true
    }

    /// Feeds `npages` physically contiguous pages from `va` (page aligned) that lie within one
    /// 2 MiB unit: the same as feeding them one by one.
    pub fn push_run(&mut self, va: u64, pfn: u64, npages: u64) -> bool {
        if npages == 0 || !self.push(va, pfn) {
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
