// SPDX-License-Identifier: GPL-2.0

//! NEC's translation semantics (`vp_v2p`, `vp_v2p_blk`) on the pin engine.
//!
//! A block call covers `[vaddr, vaddr + length)`, cut at the end of the mapping and at
//! `maxpages` (at most [`VP_MAXBULK`]) entries. Entries are 2 MiB units when every unit the range
//! touches is backed by one 2 MiB-aligned physically contiguous run (hugetlb 2 MiB or 1 GiB, THP,
//! any large folio), otherwise 4 KiB pages. `paddr[i]` is the physical base of entry `i`; the
//! caller adds `vaddr % pgsz` itself, as with NEC.
//!
//! How the page size is found without wasting pins on 4 KiB memory: the call first pins what a
//! 4 KiB answer needs (at most 100 pages) and checks those pages against 2 MiB geometry. Only if
//! they fit does it pin the (up to 100) units and check each one; the entries end before the
//! first unit that does not fit. Only the pages the range touches are pinned and checked: the
//! part of a unit outside the range is never addressed through the entry.

use kernel::prelude::*;

use crate::{
    pin::extent::{
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
    /// Pinned entries: the `paddr` value (page or unit base) and the pages behind it.
    pub(crate) entries: KVec<(u64, PinnedRun)>,
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
    /// Runs that passed the check.
    good_runs: usize,
}

/// Pins the pages of `[vaddr, vaddr + len)` in runs that never cross a multiple of `split`, and
/// checks them against 2 MiB geometry.
fn pin_scanned(
    target: &TargetMm,
    vaddr: u64,
    len: u64,
    split: u64,
    write: bool,
    longterm: bool,
) -> Result<Pinned> {
    let mut runs = KVec::new();
    let want = pages_spanned(vaddr, len);
    let got = target.pin_runs(page_base(vaddr), want, write, longterm, split, &mut runs)?;
    let mut scan = HugeScan::new();
    let mut va = page_base(vaddr);
    let mut good_runs = 0;
    for r in runs.iter() {
        if !scan.push_run(va, r.pfn(), r.npages() as u64) {
            break;
        }
        va += (r.npages() as u64) << PAGE_SHIFT;
        good_runs += 1;
    }
    Ok(Pinned {
        runs,
        got,
        scan,
        good_runs,
    })
}

/// Translates (and pins: the caller decides whether to keep the pins) a block.
///
/// `longterm` asks for FOLL_LONGTERM, as pins kept on NEC's lists are. Errors: `EINVAL` (zero
/// length or maxpages, overflow), `EFAULT` (not mapped), `EOPNOTSUPP` (a `VM_PFNMAP`/`VM_IO`
/// mapping), and whatever GUP reports; nothing stays pinned on an error.
pub(crate) fn block(
    target: &TargetMm,
    vaddr: u64,
    length: u64,
    maxpages: u32,
    write: bool,
    longterm: bool,
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
    let len = length.min(vma.end - vaddr);

    // What a 4 KiB answer needs; its pages also tell whether 2 MiB units are worth trying.
    let (_, len_small) = plan(vaddr, len, maxpages, PAGE_SIZE);
    let probe = pin_scanned(target, vaddr, len_small, PAGE_SIZE, write, longterm)?;
    if probe.got == pages_spanned(vaddr, len_small) && !probe.scan.failed() {
        drop(probe);
        if let Some(b) = huge_block(target, vaddr, len, maxpages, write, longterm)? {
            return Ok(b);
        }
        // The units beyond the first pages did not fit: answer in 4 KiB pages after all.
        let again = pin_scanned(target, vaddr, len_small, PAGE_SIZE, write, longterm)?;
        return small_entries(vaddr, len_small, again.got, again.runs);
    }
    small_entries(vaddr, len_small, probe.got, probe.runs)
}

/// Turns one-page runs into 4 KiB entries; `got` pages were pinned of those `len` needs.
fn small_entries(vaddr: u64, len: u64, got: usize, runs: KVec<PinnedRun>) -> Result<Block> {
    let covered = if got == pages_spanned(vaddr, len) {
        len
    } else {
        // GUP stopped early: cover what was pinned.
        (page_base(vaddr) + ((got as u64) << PAGE_SHIFT)) - vaddr
    };
    let mut entries = KVec::with_capacity(runs.len(), GFP_KERNEL)?;
    for r in runs {
        // Split at PAGE_SIZE: every run is one page. Capacity is reserved.
        let _ = entries.push((r.phys(), r), GFP_KERNEL);
    }
    Ok(Block {
        length: covered,
        pgsz: PAGE_SIZE,
        entries,
    })
}

/// A 2 MiB answer, or `None` if the first unit does not fit after all.
fn huge_block(
    target: &TargetMm,
    vaddr: u64,
    len: u64,
    maxpages: u32,
    write: bool,
    longterm: bool,
) -> Result<Option<Block>> {
    let (units, len_huge) = plan(vaddr, len, maxpages, HPAGE_SIZE);
    // Runs never cross a unit (split at 2 MiB): a good unit is exactly one run.
    let p = pin_scanned(target, vaddr, len_huge, HPAGE_SIZE, write, longterm)?;
    let good = (p.scan.good_units() as usize)
        .min(p.good_runs)
        .min(units as usize);
    if good == 0 {
        return Ok(None);
    }
    let unit0 = vaddr & !(HPAGE_SIZE - 1);
    let pinned_end = page_base(vaddr) + ((p.got as u64) << PAGE_SHIFT);
    let end = (vaddr + len_huge)
        .min(unit0 + (good as u64) * HPAGE_SIZE)
        .min(pinned_end);

    let mut entries = KVec::with_capacity(good, GFP_KERNEL)?;
    let mut va = page_base(vaddr);
    for r in p.runs.into_iter().take(good) {
        let unit_offset_pages = (va >> PAGE_SHIFT) % PAGES_PER_HPAGE;
        let base = (r.pfn() - unit_offset_pages) << PAGE_SHIFT;
        va += (r.npages() as u64) << PAGE_SHIFT;
        // Capacity for `good` entries is reserved.
        let _ = entries.push((base, r), GFP_KERNEL);
    }
    Ok(Some(Block {
        length: end - vaddr,
        pgsz: HPAGE_SIZE,
        entries,
    }))
}

/// NEC's one-page translation: the page of `virt`, pinned, and `phys` of `virt`.
///
/// GUP first: the mapping is only looked up to explain a failure (`EOPNOTSUPP` for
/// `VM_PFNMAP`/`VM_IO`), which keeps the mmap lock out of NEC's hot one-page path.
pub(crate) fn page(
    target: &TargetMm,
    virt: u64,
    write: bool,
    longterm: bool,
) -> Result<(u64, PinnedRun)> {
    let run = target
        .pin_one(page_base(virt), write, longterm)
        .map_err(|e| match target.vma_at(virt) {
            Ok(vma) if vma.pfnmap => EOPNOTSUPP,
            _ => e,
        })?;
    Ok((run.phys() + (virt & (PAGE_SIZE - 1)), run))
}
