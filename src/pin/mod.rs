// SPDX-License-Identifier: GPL-2.0

//! Pinning VH memory: NEC's translation semantics (`translate`) and NEC's per-card pin lists
//! (`lists`), on the page geometry of [`crate::extent`]. The GUP calls themselves are in
//! `crate::sys::gup`.

pub(crate) mod lists;
pub(crate) mod translate;

use kernel::{
    prelude::*,
    time::{
        Instant,
        Monotonic, //
    }, //
};

use crate::{
    extent,
    sys::gup::{
        PageBatch,
        TargetMm, //
    },
};

/// What the pin engine benchmark measured.
pub(crate) struct BenchResult {
    pub(crate) pin_ns: u64,
    pub(crate) unpin_ns: u64,
    pub(crate) pages: u64,
    pub(crate) runs: u64,
}

/// Pins the caller's `[addr, addr + len)` with the engine (batches of 512, runs coalesced as they
/// come, as the DMA manager pins), then unpins it: each physically contiguous run with one call.
pub(crate) fn bench(addr: u64, len: u64, write: bool, longterm: bool) -> Result<BenchResult> {
    let target = TargetMm::by_pid(0)?;
    let npages = extent::pages_spanned(addr, len) as usize;
    let mut runs = KVVec::new();
    let mut batch = PageBatch::new()?;
    let start = Instant::<Monotonic>::now();
    let got = target.pin_runs(
        &mut batch,
        addr & !(extent::PAGE_SIZE - 1),
        npages,
        write,
        longterm,
        1 << 30,
        &mut runs,
    )?;
    let pin_ns = start.elapsed().as_nanos();
    if got < npages {
        return Err(EFAULT);
    }
    let nruns = runs.len();
    let start = Instant::<Monotonic>::now();
    drop(runs);
    let unpin_ns = start.elapsed().as_nanos();
    Ok(BenchResult {
        pin_ns: pin_ns.try_into().unwrap_or(0),
        unpin_ns: unpin_ns.try_into().unwrap_or(0),
        pages: got as u64,
        runs: nruns as u64,
    })
}
