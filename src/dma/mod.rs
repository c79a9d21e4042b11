// SPDX-License-Identifier: GPL-2.0

//! The in-kernel privileged DMA manager: the engine's state machine and the pin-release rule
//! (`engine`, `core` only), the registration cache (`cache`, its index `cache_index`, `core`
//! only), ring bookkeeping (`ring`, `core` only), when waiters poll rather
//! than sleep (`poll`, `core` only), the VE side of a request (`velist`, `core` only), the
//! card-wide manager of requests in flight (`manager`), and the ioctls' side: submit, wait,
//! cancel (`submit`).

// Shared with the host tests (`core` only).
pub(crate) mod cache;
#[expect(
    unreachable_pub,
    reason = "`pub` for the host tests, which include this file"
)]
pub(crate) mod engine;
// Shared with the host tests (`core` only).
#[expect(
    unreachable_pub,
    reason = "`pub` for the host tests, which include this file"
)]
pub(crate) mod cache_index;
pub(crate) mod manager;
// Shared with the host tests (`core` only).
#[expect(
    dead_code,
    unreachable_pub,
    reason = "`pub` for the host tests, which include this file; they read the measured rate"
)]
pub(crate) mod poll;
// Shared with the host tests (`core` only).
#[expect(
    unreachable_pub,
    reason = "`pub` for the host tests, which include this file"
)]
pub(crate) mod ring;
pub(crate) mod submit;
// Shared with the host tests (`core` only).
#[expect(
    dead_code,
    unreachable_pub,
    reason = "`pub` for the host tests, which include this file; part of it is theirs only"
)]
pub(crate) mod velist;

pub(crate) use manager::DmaState;

use kernel::{
    prelude::*,
    sync::{
        Mutex,
        MutexGuard, //
    },
    time::Jiffies, //
};

use kernel::sync::Arc;

use crate::sys::{
    copy_slots::DeviceSlot,
    dma_map::{
        DmaDevice,
        IovaSpan,
        Mapped,
        MappedPages, //
    },
    gup::{
        LockedRun,
        PinCharge, //
    },
};

/// The privileged DMA engine as the manager drives it: its descriptor ring and control registers,
/// the start and the halt, and where to report. The manager sees nothing else of the card
/// ([`crate::card::Card`] implements it; the manager's KUnit tests use a fake).
pub(crate) trait Engine {
    /// Posts descriptor `slot`: words 1, 2, 3, then word 0 (PREPARED) last.
    fn post(&self, slot: usize, words: [u64; 4]) -> Result;
    /// Neutralises descriptor `slot` (no status: the engine never runs it).
    fn neutralise(&self, slot: usize) -> Result;
    /// Clears every descriptor (only while the engine is halted).
    fn clear_descriptors(&self) -> Result;
    /// DMACTL word 0: permit and status bits (all ones if the device is gone).
    fn ctl0(&self) -> Result<u64>;
    /// DMACTL word 1: exception bit and read pointer.
    fn ctl1(&self) -> Result<u64>;
    /// Word 0 of descriptor `slot` (status, exception code).
    fn word0(&self, slot: usize) -> Result<u64>;
    /// Writes the read pointer, which clears an exception (only while halted).
    fn set_readptr(&self, slot: usize) -> Result;
    /// Permits the engine to run what is posted.
    fn start(&self) -> Result;
    /// Clears the permit bit and waits for HALT.
    fn halt(&self) -> engine::HaltOutcome;
    /// Whether the card has been unbound.
    fn removed(&self) -> bool;
    /// Reports a device error (the card's device names it).
    fn report(&self, what: core::fmt::Arguments<'_>);
}

/// The card as the ioctls' side of the manager ([`submit`]) sees it: the engine, the lock that
/// serialises the manager's state, and the wait queue that the interrupt thread and every state
/// change notify. ([`crate::card::Card`] implements it.)
pub(crate) trait Channel: Engine {
    /// The manager, under the card's DMA lock.
    fn dma(&self) -> &Mutex<DmaState>;
    /// Releases `dma` and sleeps until the manager is notified, at most `jiffies`; `ERESTARTSYS`
    /// if a signal is pending. Waiters re-read the state whatever woke them.
    fn wait_dma(&self, dma: &mut MutexGuard<'_, DmaState>, jiffies: Jiffies) -> Result;
    /// Wakes everyone waiting on the manager.
    fn notify_dma(&self);
    /// The card's device as the DMA API sees it: every host address a descriptor names is
    /// mapped through it.
    fn dma_device(&self) -> &DmaDevice;
    /// The registration cache.
    fn cache(&self) -> &Arc<cache::RegCache>;
}

/// Pinned pages the manager holds for a request's descriptors: unpinned when dropped, unless
/// kept for good.
pub(crate) trait Pinned {
    /// Pages held.
    fn npages(&self) -> usize;
    /// Pages that count against the request's window of pinned, not completed memory: those it
    /// pinned for itself.
    fn window_pages(&self) -> usize {
        self.npages()
    }
    /// The device may still reach these pages: they stay pinned for good.
    fn keep_pinned_forever(self);
}

impl Pinned for LockedRun {
    fn npages(&self) -> usize {
        LockedRun::npages(self)
    }

    fn keep_pinned_forever(self) {
        LockedRun::keep_pinned_forever(self)
    }
}

/// A block of a request as the engine reaches it: one physically contiguous run mapped for the
/// card, (behind an IOMMU) runs linked into one IOVA range, or a batch of scattered 4 KiB pages.
/// Dropping it unmaps, then unpins.
pub(crate) enum MappedBlock {
    /// One run, one mapping (direct or bounced).
    Run(Mapped<LockedRun>),
    /// Runs linked into one IOVA range.
    Span(IovaSpan<LockedRun>),
    /// A batch of 4 KiB pages pinned by one GUP call and mapped stretch by stretch (direct
    /// mapping that needs no unmap), with their charge: released with one unpin call.
    Pages {
        pages: MappedPages,
        charge: PinCharge,
    },
    /// A copy slot a short transfer goes through (nothing pinned).
    Copy(DeviceSlot),
    /// A range of the registration cache, whose blocks are the ones above.
    Cached(Arc<cache::CachedRange>),
}

impl Pinned for MappedBlock {
    fn npages(&self) -> usize {
        match self {
            MappedBlock::Run(m) => m.pins().npages(),
            MappedBlock::Span(s) => s.npages(),
            MappedBlock::Pages { pages, .. } => pages.len(),
            MappedBlock::Copy(_) => 0,
            MappedBlock::Cached(range) => range.npages(),
        }
    }

    fn window_pages(&self) -> usize {
        match self {
            // The registration cache bounds its own pages (`dma_cache_mib`); a request only
            // holds the range while it uses it.
            MappedBlock::Cached(_) => 0,
            b => b.npages(),
        }
    }

    fn keep_pinned_forever(self) {
        // The mapping stays too: the engine may still use it.
        match self {
            MappedBlock::Run(m) => m.keep_forever().keep_pinned_forever(),
            MappedBlock::Span(s) => {
                for run in s.keep_forever() {
                    run.keep_pinned_forever();
                }
            }
            // The charge is returned, so that the address space can go (as a run's).
            MappedBlock::Pages { pages, charge } => {
                pages.keep_forever();
                drop(charge);
            }
            MappedBlock::Copy(slot) => slot.keep_forever(),
            // The range (blocks, mappings, charges) lives for good. The cache may still let go
            // of its own reference; this one is never dropped. Its notifier is unregistered now:
            // nothing may call into the module after it is unloaded.
            MappedBlock::Cached(range) => {
                range.unregister();
                core::mem::forget(range);
            }
        }
    }
}
