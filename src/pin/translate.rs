// SPDX-License-Identifier: GPL-2.0

//! NEC's translation semantics (`vp_v2p`, `vp_v2p_blk`) on the pin engine.
//!
//! A block call covers `[vaddr, vaddr + length)`, cut at the end of the mapping and at
//! `maxpages` (at most [`VP_MAXBULK`]) entries. Entries are 2 MiB units when every unit the range
//! touches is one 2 MiB-aligned physically contiguous run inside one folio of at least 2 MiB
//! (hugetlb 2 MiB or 1 GiB, THP, any large folio), otherwise 4 KiB pages. `paddr[i]` is the
//! physical base of entry `i`; the caller adds `vaddr % pgsz` itself, as with NEC. A 2 MiB entry
//! pins only the pages the range touches, but those pins hold the folio, so the whole unit stays
//! allocated and in place: a consumer may map it at 2 MiB granularity.
//!
//! How the page size is found without wasting pins on 4 KiB memory: the call first pins what a
//! 4 KiB answer needs (at most 100 pages) and checks those pages against 2 MiB geometry. Only if
//! they fit does it pin the units, one at a time, checking each before pinning the next; the
//! entries end before the first unit that does not fit, so at most one unit is pinned in vain.
//!
//! Pins kept on a list (`keep`) are FOLL_LONGTERM and, for `write`, FOLL_WRITE (which breaks COW
//! first, as the device will write). A translation that keeps nothing holds the pages by plain
//! reference only ([`Hold::Ref`]: no FOLL_WRITE, no FOLL_PIN) even for `write`, after checking
//! that the mapping is writable (else `EFAULT`, as GUP with FOLL_WRITE would say). So it neither
//! breaks COW nor dirties the page just to answer; a read-only FOLL_PIN would not do either,
//! as GUP unshares (copies) a COW-shared anonymous page it pins (`gup_must_unshare`). The
//! answer is the page mapped now, which for a COW-shared or never-written page is the shared one
//! (the zero page for a never-touched anonymous page). Like any translation that keeps no pin it
//! is a snapshot; a caller that will write through it must pin (`_PIN_DOWN`).

use kernel::prelude::*;

use crate::{
    extent::{
        self,
        plan,
        HugeScan,
        HPAGE_SIZE,
        PAGES_PER_HPAGE,
        PAGE_SHIFT,
        PAGE_SIZE,
        VP_MAXBULK, //
    },
    sys::gup::{
        yield_between_batches,
        Hold,
        PinnedPageArray,
        PinnedRun,
        TargetMm, //
    },
};

/// The answer to a block call.
pub(crate) struct Block {
    /// Bytes covered from `vaddr`.
    pub(crate) length: u64,
    /// Entry size: [`PAGE_SIZE`] or [`HPAGE_SIZE`].
    pub(crate) pgsz: u64,
    /// The entries and the pages behind them.
    pub(crate) entries: Entries,
}

/// A block's entries.
pub(crate) enum Entries {
    /// Each entry's `paddr` value (page or unit base) and the pages behind it.
    Runs(KVec<(u64, PinnedRun)>),
    /// 4 KiB entries pinned to be kept: the pages, one per entry, and each page's physical
    /// address.
    Pages {
        pages: PinnedPageArray,
        phys: KVec<u64>,
    },
}

impl Entries {
    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        match self {
            Entries::Runs(r) => r.len(),
            Entries::Pages { phys, .. } => phys.len(),
        }
    }

    /// Pages pinned.
    pub(crate) fn pages(&self) -> usize {
        match self {
            Entries::Runs(r) => r.iter().map(|(_, r)| r.npages()).sum(),
            Entries::Pages { pages, .. } => pages.len(),
        }
    }

    /// Each entry's `paddr` value, in order.
    pub(crate) fn paddrs(&self) -> impl Iterator<Item = u64> + '_ {
        let (runs, phys): (&[(u64, PinnedRun)], &[u64]) = match self {
            Entries::Runs(r) => (r, &[]),
            Entries::Pages { phys, .. } => (&[], phys),
        };
        Iterator::chain(runs.iter().map(|(p, _)| *p), phys.iter().copied())
    }
}

/// How the pages are held: pinned long-term (for writing if `write`) to be kept on a list, or by
/// reference only for the translation.
fn hold(write: bool, keep: bool) -> Hold {
    if keep {
        Hold::Pin {
            write,
            longterm: true,
        }
    } else {
        Hold::Ref
    }
}

fn page_base(va: u64) -> u64 {
    va & !(PAGE_SIZE - 1)
}

/// [`extent::pages_spanned`] as a count for GUP.
fn pages_spanned(va: u64, len: u64) -> usize {
    extent::pages_spanned(va, len) as usize
}

/// Pages of a range, pinned, with their 2 MiB geometry.
struct Pinned {
    /// The runs, in virtual address order.
    runs: KVec<PinnedRun>,
    /// Pages pinned: fewer than the range has if GUP stopped early.
    got: usize,
    /// The 2 MiB geometry check over the runs, up to the first that failed.
    scan: HugeScan,
}

/// Pins the pages of `[vaddr, vaddr + len)` in runs that never cross a multiple of `split`, and
/// checks them against 2 MiB geometry.
fn pin_scanned(target: &TargetMm, vaddr: u64, len: u64, split: u64, how: Hold) -> Result<Pinned> {
    let mut runs = KVec::new();
    let want = pages_spanned(vaddr, len);
    let got = target.hold_runs(page_base(vaddr), want, how, split, &mut runs)?;
    let mut scan = HugeScan::new();
    let mut va = page_base(vaddr);
    for r in runs.iter() {
        if !scan.push_run(va, r.pfn(), r.npages() as u64, r.folio()) {
            break;
        }
        va += (r.npages() as u64) << PAGE_SHIFT;
    }
    Ok(Pinned { runs, got, scan })
}

/// Translates (and pins: the caller decides whether to keep the pins) a block.
///
/// `keep` asks for pins fit to be kept on NEC's lists (FOLL_LONGTERM, FOLL_WRITE for `write`);
/// without it the pages are only referenced for the translation (see the module documentation).
/// `huge` allows 2 MiB entries (not where the card's mappings bounce: swiotlb maps far less at
/// once).
/// Errors:
/// `EINVAL` (zero length or maxpages, overflow), `EFAULT` (not mapped, or `write` to a read-only
/// mapping), `EOPNOTSUPP` (a `VM_PFNMAP`/`VM_IO` mapping), and whatever GUP reports; nothing
/// stays pinned on an error.
pub(crate) fn block(
    target: &TargetMm,
    vaddr: u64,
    length: u64,
    maxpages: u32,
    write: bool,
    keep: bool,
    huge: bool,
) -> Result<Block> {
    if length == 0 || maxpages == 0 {
        return Err(EINVAL);
    }
    vaddr.checked_add(length).ok_or(EINVAL)?;
    let maxpages = maxpages.min(VP_MAXBULK);
    let vma = target.vma_at(vaddr)?;
    if vma.pfnmap {
        return Err(EOPNOTSUPP);
    }
    if write && !vma.writable {
        return Err(EFAULT);
    }
    let how = hold(write, keep);
    let len = length.min(vma.end - vaddr);

    // What a 4 KiB answer needs; its pages also tell whether 2 MiB units are worth trying.
    let (_, len_small) = plan(vaddr, len, maxpages, PAGE_SIZE);
    if keep {
        return kept_block(target, vaddr, len, len_small, maxpages, write, huge);
    }
    let probe = pin_scanned(target, vaddr, len_small, PAGE_SIZE, how)?;
    if huge && probe.got == pages_spanned(vaddr, len_small) && !probe.scan.failed() {
        drop(probe);
        if let Some(b) = huge_block(target, vaddr, len, maxpages, how)? {
            return Ok(b);
        }
        // The first unit did not fit after all: answer in 4 KiB pages.
        let again = pin_scanned(target, vaddr, len_small, PAGE_SIZE, how)?;
        return small_entries(vaddr, len_small, again.got, again.runs);
    }
    small_entries(vaddr, len_small, probe.got, probe.runs)
}

/// [`block`] with pins to be kept: the pages a 4 KiB answer needs are pinned into one array
/// (one GUP call, no run per page) and, unless they fit 2 MiB units, are the answer.
fn kept_block(
    target: &TargetMm,
    vaddr: u64,
    len: u64,
    len_small: u64,
    maxpages: u32,
    write: bool,
    huge: bool,
) -> Result<Block> {
    let want = pages_spanned(vaddr, len_small);
    let pages = target.pin_array(page_base(vaddr), want, write)?;
    let pfns = pages.pfns()?;
    if huge && pages.len() == want && fits_units(vaddr, &pages, &pfns) {
        drop(pages);
        let how = hold(write, true);
        if let Some(b) = huge_block(target, vaddr, len, maxpages, how)? {
            return Ok(b);
        }
        // The first unit did not fit after all: answer in 4 KiB pages.
        return kept_block(target, vaddr, len, len_small, maxpages, write, false);
    }
    let covered = covered(vaddr, len_small, pages.len());
    let mut phys = pfns;
    for p in phys.iter_mut() {
        *p <<= PAGE_SHIFT;
    }
    Ok(Block {
        length: covered,
        pgsz: PAGE_SIZE,
        entries: Entries::Pages { pages, phys },
    })
}

/// Whether pages from `vaddr`'s page, of frames `pfns`, pass the 2 MiB geometry check
/// ([`HugeScan`]): fed as physically contiguous stretches within a unit, one folio look-up each.
fn fits_units(vaddr: u64, pages: &PinnedPageArray, pfns: &[u64]) -> bool {
    let mut scan = HugeScan::new();
    let mut i = 0;
    let mut va = page_base(vaddr);
    while i < pfns.len() {
        let window = extent::pages_to_boundary(va, HPAGE_SIZE) as usize;
        let n = extent::contiguous_prefix(&pfns[i..], |p, k| p + k as u64, window);
        let Some(folio) = pages.folio(i) else {
            return false;
        };
        if !scan.push_run(va, pfns[i], n as u64, folio) {
            return false;
        }
        i += n;
        va += (n as u64) << PAGE_SHIFT;
    }
    !scan.failed()
}

/// Bytes from `vaddr` that a 4 KiB answer covers when `got` pages were pinned of those `len`
/// needs: `len`, or up to the end of the last page pinned if GUP stopped early.
fn covered(vaddr: u64, len: u64, got: usize) -> u64 {
    if got == pages_spanned(vaddr, len) {
        len
    } else {
        (page_base(vaddr) + ((got as u64) << PAGE_SHIFT)) - vaddr
    }
}

/// Turns one-page runs into 4 KiB entries; `got` pages were pinned of those `len` needs.
fn small_entries(vaddr: u64, len: u64, got: usize, runs: KVec<PinnedRun>) -> Result<Block> {
    let covered = covered(vaddr, len, got);
    let mut entries = KVec::with_capacity(runs.len(), GFP_KERNEL)?;
    for r in runs {
        // Split at PAGE_SIZE: every run is one page. Capacity is reserved.
        entries.push((r.phys(), r), GFP_KERNEL)?;
    }
    Ok(Block {
        length: covered,
        pgsz: PAGE_SIZE,
        entries: Entries::Runs(entries),
    })
}

/// A 2 MiB answer, or `None` if the first unit does not fit after all.
///
/// Unit by unit: each unit's pages in the range are pinned (one GUP call: at most 512 pages) and
/// checked before the next is pinned; the first unit that does not fit is unpinned at once and
/// ends the answer. So a translation never holds more than one unfit unit, and never pins (or,
/// long-term, migrates) hundreds of megabytes before it knows the answer.
fn huge_block(
    target: &TargetMm,
    vaddr: u64,
    len: u64,
    maxpages: u32,
    how: Hold,
) -> Result<Option<Block>> {
    let (units, len_huge) = plan(vaddr, len, maxpages, HPAGE_SIZE);
    let range_end = vaddr + len_huge;
    let mut entries = KVec::with_capacity(units as usize, GFP_KERNEL)?;
    let mut va = page_base(vaddr);
    let mut end = vaddr;
    while entries.len() < units as usize && va < range_end {
        if !entries.is_empty() {
            yield_between_batches()?;
        }
        let unit_end = (va | (HPAGE_SIZE - 1)) + 1;
        let chunk_end = unit_end.min(range_end);
        // Runs never cross a unit (split at 2 MiB): a good unit is exactly one run.
        let mut p = pin_scanned(target, va, chunk_end - va, HPAGE_SIZE, how)?;
        if p.scan.failed() || p.runs.len() != 1 {
            // `p` drops here: the unfit unit is unpinned before anything else is pinned.
            break;
        }
        let Some(r) = p.runs.pop() else { break };
        let unit_offset_pages = (va >> PAGE_SHIFT) % PAGES_PER_HPAGE;
        let base = (r.pfn() - unit_offset_pages) << PAGE_SHIFT;
        // Capacity for `units` entries is reserved.
        entries.push((base, r), GFP_KERNEL)?;
        let pinned_end = va + ((p.got as u64) << PAGE_SHIFT);
        end = chunk_end.min(pinned_end);
        if pinned_end < chunk_end {
            // GUP stopped early: the answer ends with what was pinned.
            break;
        }
        va = unit_end;
    }
    if entries.is_empty() {
        return Ok(None);
    }
    Ok(Some(Block {
        length: end - vaddr,
        pgsz: HPAGE_SIZE,
        entries: Entries::Runs(entries),
    }))
}

/// NEC's one-page translation: the page of `virt`, pinned, and `phys` of `virt`.
///
/// `keep` and `write` as for [`block`]. For a pin that is kept, GUP comes first: the mapping is
/// only looked up to explain a failure (`EOPNOTSUPP` for `VM_PFNMAP`/`VM_IO`), which keeps the
/// mmap lock out of NEC's hot one-page path. A translation for writing that keeps nothing looks
/// the mapping up first, as it does not ask GUP for FOLL_WRITE: `EFAULT` if it is not writable.
pub(crate) fn page(
    target: &TargetMm,
    virt: u64,
    write: bool,
    keep: bool,
) -> Result<(u64, PinnedRun)> {
    let how = hold(write, keep);
    if write && !keep {
        let vma = target.vma_at(virt)?;
        if vma.pfnmap {
            return Err(EOPNOTSUPP);
        }
        if !vma.writable {
            return Err(EFAULT);
        }
    }
    let run = target
        .hold_one(page_base(virt), how)
        .map_err(|e| match target.vma_at(virt) {
            Ok(vma) if vma.pfnmap => EOPNOTSUPP,
            _ => e,
        })?;
    Ok((run.phys() + (virt & (PAGE_SIZE - 1)), run))
}
