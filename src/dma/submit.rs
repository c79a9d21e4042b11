// SPDX-License-Identifier: GPL-2.0

//! Submitting a transfer, waiting for it, cancelling it: the ioctls' side of the DMA manager.
//!
//! The submitter's own thread pins the VH buffer in batches of at most 512 pages (GUP-fast for
//! its own memory, `pin_user_pages_remote` for another pid) into blocks, maps each block for the
//! card through the DMA API, cuts it where the VE side jumps (extent lists) into [`Piece`]s of one
//! descriptor each and hands them to the manager ([`DmaState`]), which posts them as ring slots
//! allow; the engine copies batch N while batch N+1 is pinned. The submitter blocks only while
//! the request holds a window of bytes pinned and not completed, and returns once its last piece
//! is handed over: completion is collected by [`wait`]. The first block is small so that the
//! engine starts early; later blocks grow so that long runs take few descriptors.
//!
//! A block is, by the DMA mode ([`Pacing`]):
//! - direct or bounced: one physically contiguous run, mapped with one call when it is closed
//!   (bounced blocks are no longer than swiotlb maps at once, and a request holds fewer of them);
//! - direct, over fragmented memory (the last batch's stretches averaged under
//!   [`FRAGMENTED_STRETCH`] pages) or for a short request: the whole batch, pinned by one GUP call
//!   into a page array, mapped stretch by stretch and released by one unpin call, cut into one
//!   piece per stretch (no run, mapping or block per page);
//! - behind an IOMMU: an IOVA range into which every run is linked as soon as it is pinned,
//!   whatever its physical address, synced when the block is closed: 4 KiB pages scattered over
//!   memory still make one descriptor per 64 MiB.
//!
//! Waits are interruptible and sliced: every [`WAIT_SLICE_MS`] the waiter reaps the ring itself,
//! so a lost or coalesced interrupt costs at most a slice.

use kernel::{
    prelude::*,
    processor::cpu_relax,
    sync::Arc,
    time::{
        msecs_to_jiffies,
        Instant,
        Monotonic, //
    },
};

use crate::{
    dma::{
        cache::{
            self,
            CachedRange,
            Segment, //
        },
        cache_index::CacheKey,
        manager::{
            Collected,
            DmaState,
            HeldBlock,
            Outcome,
            Piece,
            Route, //
        },
        velist::VeCursor,
        Channel, MappedBlock,
    },
    extent::{
        pages_spanned,
        PAGES_PER_HPAGE,
        PAGE_SHIFT,
        PAGE_SIZE, //
    },
    hw,
    sys::{
        copy_slots::DeviceSlot,
        dma_map::{
            Direction,
            DmaDevice,
            DmaMode,
            IovaSpan, //
        },
        gup::{
            yield_between_batches,
            LockedRun,
            PageBatch,
            PinCharge,
            PinnedPageArray,
            PinnedRun,
            TargetMm, //
        },
    },
};

/// Pinned but not yet completed bytes a request may hold (direct mapping): bounds what a 1 GiB
/// transfer of 4 KiB pages keeps pinned, while leaving the engine several descriptors' work in
/// hand.
const WINDOW: u64 = 64 << 20;
/// The window (direct mapping) of a request whose pages so far all belong to folios of at least
/// 2 MiB (hugetlb, THP): such memory is resident and pinned a whole folio at a time anyway, so
/// holding more of it costs reclaim little, and the engine gets four of its longest descriptors'
/// work in hand, enough to ride out the submitter's wake-up latency (with 64 MiB, kernel/raw on
/// hugetlb was 0.92-0.94 at 512 MiB-1 GiB; with this, 0.98-0.99). Over `RLIMIT_MEMLOCK` the
/// request goes on with [`WINDOW`].
const WINDOW_HUGE: u64 = 4 * hw::desc::LEN_MAX;
/// The first block of a request stops growing at this size: the engine starts after little
/// pinning. Each later block may be twice as long as the one before, up to [`MERGE_MAX`].
const MERGE_FIRST: u64 = 2 << 20;
/// Longest block (direct mapping): long enough that contiguous memory takes few descriptors,
/// short enough that several fit the window (the engine copies one while the next is pinned).
const MERGE_MAX: u64 = WINDOW / 4;
/// Window behind an IOMMU: two blocks of the engine's longest descriptor, so that one is copied
/// while the next is pinned and linked.
const WINDOW_IOMMU: u64 = 2 * hw::desc::LEN_MAX;
/// Window when every mapping bounces: the bounce buffers are shared by every device of the
/// machine (64 MiB by default), so a request holds a small part of them.
const WINDOW_BOUNCE: u64 = 4 << 20;

/// How a request's blocks grow and how much of it may be pinned and not completed, by how the
/// DMA API maps for the card ([`DmaMode`]).
#[derive(Copy, Clone)]
struct Pacing {
    window: u64,
    /// The window while every page pinned belongs to a folio of at least 2 MiB.
    window_huge: u64,
    first: u64,
    max: u64,
    /// The second block is already [`Pacing::max`] long (an IOMMU: a request over fragmented
    /// memory takes at most one descriptor more than its length in 64 MiB units).
    jump: bool,
    /// Fragmented batches may be held as page arrays ([`MappedBlock::Pages`]): direct mapping,
    /// as long as the DMA API needs no unmap.
    arrays: bool,
}

impl Pacing {
    fn of(dev: &DmaDevice) -> Self {
        // One mapping call may not take more than the DMA API maps at once.
        let cap = (dev.max_mapping() & !(PAGE_SIZE - 1)).max(PAGE_SIZE);
        match dev.mode() {
            DmaMode::Direct => Self {
                window: WINDOW,
                window_huge: WINDOW_HUGE,
                first: MERGE_FIRST.min(cap),
                max: MERGE_MAX.min(cap),
                jump: false,
                arrays: true,
            },
            DmaMode::Iommu => Self {
                window: WINDOW_IOMMU,
                window_huge: WINDOW_IOMMU,
                first: MERGE_FIRST,
                max: hw::desc::LEN_MAX,
                jump: true,
                arrays: false,
            },
            DmaMode::Bounce => Self {
                window: WINDOW_BOUNCE,
                window_huge: WINDOW_BOUNCE,
                first: MERGE_FIRST.min(cap),
                max: MERGE_MAX.min(cap).min(WINDOW_BOUNCE / 4),
                jump: false,
                arrays: false,
            },
        }
    }

    /// The longest block after one of at most `len`.
    fn next(&self, len: u64) -> u64 {
        if self.jump {
            self.max
        } else {
            (len * 2).min(self.max)
        }
    }
}

/// Pages pinned per GUP batch.
const BATCH_PAGES: u64 = 512;
/// A batch whose physically contiguous stretches average fewer pages than this is fragmented:
/// the next batch is pinned as one page array, one block, rather than as runs. Requests of at
/// most this many pages start that way.
const FRAGMENTED_STRETCH: usize = 16;
/// No progress for this long while a request waits for the engine: it is abandoned with
/// `ETIMEDOUT` (`VE_DMA_IOC_XFER`, and a `VE_DMA_IOC_SUBMIT` waiting for its window).
///
/// TIMEOUT: one 64 MiB descriptor takes the emulator about 30 ms at the host's copy rate and a
/// real VE less; interrupts under TCG arrive within milliseconds. Two seconds without a single
/// descriptor completing means the engine is stuck.
const STALL_TIMEOUT_MS: u32 = 2000;
/// Slice of a wait: the read pointer is re-read at least this often.
pub(crate) const WAIT_SLICE_MS: u32 = 20;

/// Watches the manager's progress counter: stuck once it has not moved for
/// [`STALL_TIMEOUT_MS`] of wall time (wake-ups do not count: an interrupt storm wakes waiters
/// often without anything completing).
struct Stall {
    seen: u64,
    since: Instant<Monotonic>,
}

impl Stall {
    fn new(progress: u64) -> Self {
        Self {
            seen: progress,
            since: Instant::now(),
        }
    }

    /// Whether nothing completed for the stall timeout, given the counter now.
    fn stuck(&mut self, progress: u64) -> bool {
        if progress != self.seen {
            *self = Self::new(progress);
            return false;
        }
        self.since.elapsed().as_millis() >= i64::from(STALL_TIMEOUT_MS)
    }
}

/// A transfer to submit (validated by the caller).
pub(crate) struct Submission {
    pub(crate) route: Route,
    /// The first side's address ([`Route::first`]).
    pub(crate) first: u64,
    /// `Some(pid)`: `first` is VH virtual memory of process `pid` (0: the caller), pinned in
    /// batches. `None`: the engine uses `first` as it is (a VH bus address, or VE memory), and
    /// nothing is pinned.
    pub(crate) pin: Option<i32>,
    pub(crate) len: u64,
    /// The VE side, `(addr, len)` in order; the lengths add up to `len`.
    pub(crate) extents: KVec<(u64, u64)>,
    /// The VH side may be served from or kept in the registration cache (with `pin`).
    pub(crate) cache: bool,
}

/// The block being grown.
enum Block {
    /// Physically contiguous runs merged into one, mapped when the block is closed.
    Run {
        run: LockedRun,
        /// VH address of the first byte transferred.
        va: u64,
        /// Physical address of the first byte transferred.
        phys: u64,
        /// Bytes transferred from it.
        len: u64,
    },
    /// Runs linked into one IOVA range as they are pinned.
    Span {
        span: IovaSpan<LockedRun>,
        /// VH address of the first byte transferred.
        va: u64,
        /// Offset in the range of the first byte transferred.
        start: u64,
        /// Bytes transferred from it.
        len: u64,
    },
}

impl Block {
    fn len(&self) -> u64 {
        match self {
            Block::Run { len, .. } | Block::Span { len, .. } => *len,
        }
    }
}

/// Starts `sub` on `card` for the open file `owner`; returns the request id once its last
/// piece is handed over. On an error nothing of the request remains, and what it did is returned.
pub(crate) fn submit<C: Channel>(
    card: &C,
    owner: u64,
    sub: &Submission,
) -> Result<u64, (Error, Outcome)> {
    submit_holding(card, owner, sub, None)
}

/// [`submit`]; a request whose first side is used as it is ([`Submission::pin`] `None`) holds
/// `block` (what that side addresses) until its descriptors cannot reach it.
fn submit_holding<C: Channel>(
    card: &C,
    owner: u64,
    sub: &Submission,
    block: Option<MappedBlock>,
) -> Result<u64, (Error, Outcome)> {
    let fail = |e| (e, Outcome::default());
    let target = sub.pin.map(TargetMm::by_pid).transpose().map_err(fail)?;
    let id = {
        let mut dma = card.dma().lock();
        if card.removed() {
            return Err(fail(ENODEV));
        }
        dma.open(owner, sub.route).map_err(fail)?
    };
    let r = match &target {
        Some(target) => match plan(card, owner, sub, target) {
            Plan::Hit(range) => hand_over_cached(card, id, sub, range),
            Plan::Build(b) => build(card, target, id, sub, Some(b)),
            Plan::Pin => build(card, target, id, sub, None),
        },
        None => hand_over_fixed(card, id, sub, block),
    };
    match r {
        Ok(()) => Ok(id),
        Err(e) => {
            // A signal stopped it: the call is not restarted (it would be another request).
            let e = if e == ERESTARTSYS { EINTR } else { e };
            let mut dma = card.dma().lock();
            // `EIO` only if the engine would not halt, which the manager reported.
            let _ = dma.fail(card, id, e, 0);
            let out = match dma.collect(owner, id) {
                Ok(Some(c)) => c.out,
                _ => Outcome::default(),
            };
            drop(dma);
            card.notify_dma();
            Err((e, out))
        }
    }
}

/// How a request's VH side is pinned, by the registration cache.
enum Plan {
    /// An entry covers it: nothing to pin.
    Hit(Arc<CachedRange>),
    /// Pinned in full into a new entry.
    Build(Building),
    /// Pinned in batches and released as descriptors complete.
    Pin,
}

/// An entry being built by a request's submitter.
struct Building {
    range: Arc<CachedRange>,
    /// How its bytes map so far, in address order.
    segs: KVVec<Segment>,
    /// Its pages' charge, paid up front and shared out to the blocks as they are pinned.
    charge: PinCharge,
    /// Bytes of pages it pins.
    bytes: u64,
}

/// What the registration cache does for `sub` of the open file `owner`: a hit, an entry to
/// build (its range watched and its pages charged already), or nothing.
fn plan<C: Channel>(card: &C, owner: u64, sub: &Submission, target: &TargetMm) -> Plan {
    let cache = card.cache();
    if !sub.cache || !cache.enabled() {
        return Plan::Pin;
    }
    let key = CacheKey {
        owner,
        mm: target.mm().as_raw() as usize,
        write: sub.route.writes_host(),
    };
    let end = sub.first + sub.len;
    if let Some(range) = cache.lookup(key, sub.first, end) {
        return Plan::Hit(range);
    }
    let page_start = sub.first & !(PAGE_SIZE - 1);
    let npages = pages_spanned(sub.first, sub.len);
    let bytes = npages << PAGE_SHIFT;
    if !cache.admits(bytes) {
        cache.bypass();
        return Plan::Pin;
    }
    // The whole range is charged now: over the pinned-memory limit, this address space's least
    // recently used entries go first, then the request goes uncached.
    let charge = loop {
        match target.charge_pages(npages as usize) {
            Ok(c) => break c,
            Err(_) if cache.evict_lru_of(key.mm) => {}
            Err(_) => {
                cache.bypass();
                return Plan::Pin;
            }
        }
    };
    match cache.begin(key, sub.first, end, target.mm(), page_start, bytes) {
        Ok(range) => Plan::Build(Building {
            range,
            segs: KVVec::new(),
            charge,
            bytes,
        }),
        Err(_) => {
            cache.bypass();
            Plan::Pin
        }
    }
}

/// Pins `sub`'s VH side in batches and hands its pieces over as they are cut; with `build`,
/// into a registration cache entry, published once all of it is pinned.
fn build<C: Channel>(
    card: &C,
    target: &TargetMm,
    id: u64,
    sub: &Submission,
    build: Option<Building>,
) -> Result {
    let pacing = Pacing::of(card.dma_device());
    let mut blocks = KVVec::new();
    if let Some(b) = &build {
        // The request holds the entry until it is done: every block pinned goes into the
        // entry before any of its pieces is cut.
        blocks.push(
            HeldBlock {
                until: u64::MAX,
                run: MappedBlock::Cached(b.range.clone()),
            },
            GFP_KERNEL,
        )?;
    }
    let mut s = Submitter {
        card,
        target,
        id,
        route: sub.route,
        dir: if sub.route.writes_host() {
            Direction::FromDevice
        } else {
            Direction::ToDevice
        },
        next_va: sub.first,
        end_va: sub.first + sub.len,
        ve: VeCursor::new(&sub.extents),
        open: None,
        pacing,
        merge_max: pacing.first,
        array: pacing.arrays && pages_spanned(sub.first, sub.len) <= FRAGMENTED_STRETCH as u64,
        pieces: KVVec::new(),
        blocks,
        cut: 0,
        build,
        huge: true,
        batch: None,
        runs: KVec::new(),
    };
    // What was pinned but never handed over goes with `s`, before the request is failed by the
    // caller (nothing can reach it).
    let r = s.run();
    if let Some(b) = s.build.take() {
        // Published only if every byte was pinned (not if the request failed or stopped early);
        // else unwatched here, in process context, not wherever the request lets go of it.
        if r.is_ok() && s.next_va >= s.end_va {
            card.cache().publish(b.range, b.segs, b.bytes);
        } else {
            b.range.unregister();
        }
    }
    r
}

/// Hands over a request served by the cached `range`: its pieces follow the range's segments
/// and the VE side's extents, all at once (nothing is pinned); the request holds the range
/// until they are done.
fn hand_over_cached<C: Channel>(
    card: &C,
    id: u64,
    sub: &Submission,
    range: Arc<CachedRange>,
) -> Result {
    let (start, end) = (sub.first, sub.first + sub.len);
    let mut ve = VeCursor::new(&sub.extents);
    let mut pieces = KVVec::new();
    let mut covered = 0;
    range.with_segments(start, |segs| -> Result {
        for seg in segs {
            let from = seg.va.max(start);
            let to = (seg.va + seg.len).min(end);
            if from >= to {
                break;
            }
            let mut bus = seg.bus + (from - seg.va);
            let mut left = to - from;
            covered += left;
            while left > 0 {
                let (addr, len) = ve.take(left).ok_or(EINVAL)?;
                pieces.push(Piece::new(bus, addr, len, sub.route)?, GFP_KERNEL)?;
                bus += len;
                left -= len;
            }
        }
        Ok(())
    })?;
    // The index only finds entries that cover the request.
    if covered != sub.len {
        return Err(EINVAL);
    }
    let mut blocks = KVVec::new();
    blocks.push(
        HeldBlock {
            until: pieces.len() as u64,
            run: MappedBlock::Cached(range),
        },
        GFP_KERNEL,
    )?;
    let mut dma = card.dma().lock();
    dma.add(id, &mut pieces, &mut blocks, true)?;
    dma.fill(card)
}

/// Cuts a request whose first side is used as it is ([`Submission::pin`] `None`) into pieces of
/// at most [`hw::desc::LEN_MAX`] that follow the VE side's extents, and hands them all over at
/// once, with `block` if that side has one: nothing is pinned, so nothing bounds how much may
/// wait for the ring.
fn hand_over_fixed<C: Channel>(
    card: &C,
    id: u64,
    sub: &Submission,
    block: Option<MappedBlock>,
) -> Result {
    let mut ve = VeCursor::new(&sub.extents);
    let mut pieces = KVVec::new();
    let mut at = sub.first;
    let mut left = sub.len;
    while left > 0 {
        let (addr, len) = ve.take(left.min(hw::desc::LEN_MAX)).ok_or(EINVAL)?;
        pieces.push(Piece::new(at, addr, len, sub.route)?, GFP_KERNEL)?;
        at += len;
        left -= len;
    }
    let mut blocks = KVVec::new();
    if let Some(run) = block {
        blocks.push(
            HeldBlock {
                until: pieces.len() as u64,
                run,
            },
            GFP_KERNEL,
        )?;
    }
    let mut dma = card.dma().lock();
    dma.add(id, &mut pieces, &mut blocks, true)?;
    dma.fill(card)
}

struct Submitter<'a, C: Channel> {
    card: &'a C,
    target: &'a TargetMm,
    id: u64,
    route: Route,
    /// How the card uses the VH pages.
    dir: Direction,
    /// Next VH address to pin, and the end.
    next_va: u64,
    end_va: u64,
    ve: VeCursor<'a>,
    /// The tail block, still open to the runs of the next batch.
    open: Option<Block>,
    pacing: Pacing,
    /// The longest the open block may grow.
    merge_max: u64,
    /// Pin the next batch as one page array ([`Submitter::pin_pages`]): the last batch was
    /// fragmented, or the request is short.
    array: bool,
    /// Pieces cut and not yet handed over.
    pieces: KVVec<Piece>,
    /// Blocks cut into `pieces` and not yet handed over.
    blocks: KVVec<HeldBlock>,
    /// Pieces cut so far.
    cut: u64,
    /// The registration cache entry that takes the blocks (instead of the request).
    build: Option<Building>,
    /// Every page pinned so far belongs to a folio of at least 2 MiB: the window is
    /// [`Pacing::window_huge`].
    huge: bool,
    /// Room for GUP's page pointers, allocated with the first batch pinned as runs.
    batch: Option<PageBatch>,
    /// The runs of the batch being taken (empty between batches: kept for its capacity).
    runs: KVec<PinnedRun>,
}

impl<C: Channel> Submitter<'_, C> {
    fn run(&mut self) -> Result {
        let mut first = true;
        while self.next_va < self.end_va {
            if !self.wait_for_window()? {
                // Failed or cancelled meanwhile: WAIT reports it.
                return Ok(());
            }
            if !first {
                yield_between_batches()?;
            }
            first = false;
            match self.pin_batch() {
                // Over RLIMIT_MEMLOCK (or short of memory) with the larger window: go on with
                // the smaller one, which frees as the engine completes.
                Err(e) if e == ENOMEM && self.huge => {
                    self.huge = false;
                    continue;
                }
                r => r?,
            }
            let last = self.next_va >= self.end_va;
            if last
                || self
                    .open
                    .as_ref()
                    .is_some_and(|b| b.len() >= self.merge_max)
            {
                self.close()?;
            }
            if !self.hand_over(last)? {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Hands the cut pieces to the manager and lets it post them. Returns whether the request
    /// is still running.
    fn hand_over(&mut self, last: bool) -> Result<bool> {
        if self.pieces.is_empty() && !last {
            return Ok(true);
        }
        let mut dma = self.card.dma().lock();
        let running = dma.add(self.id, &mut self.pieces, &mut self.blocks, last)?;
        dma.fill(self.card)?;
        Ok(running)
    }

    /// Blocks until the request's pinned window has room for another batch. Returns `false` if
    /// the request finished meanwhile (an exception, a cancel, the card's removal).
    fn wait_for_window(&mut self) -> Result<bool> {
        let open_len = self.open.as_ref().map_or(0, Block::len);
        let window = if self.huge {
            self.pacing.window_huge
        } else {
            self.pacing.window
        };
        {
            let dma = self.card.dma().lock();
            if dma.in_window(self.id) + open_len < window {
                return Ok(dma.running(self.id) == Some(true));
            }
        }
        // Full: the open block must go to the engine, or nothing would free the window.
        self.close()?;
        if !self.hand_over(false)? {
            return Ok(false);
        }
        let mut dma = self.card.dma().lock();
        let mut stall = Stall::new(dma.progress());
        loop {
            if dma.running(self.id) != Some(true) {
                return Ok(false);
            }
            if dma.in_window(self.id) < window {
                return Ok(true);
            }
            slice(self.card, &mut dma, WAIT_SLICE_MS)?;
            if stall.stuck(dma.progress()) {
                return Err(ETIMEDOUT);
            }
        }
    }

    /// Pins the next batch of pages, growing the open block or starting new ones, or (when
    /// memory is fragmented) as one block of its own. The pins are long-term (FOLL_LONGTERM: a
    /// request may outlive the call) and charged to the target's pinned memory against the
    /// caller's RLIMIT_MEMLOCK (`ENOMEM` over it).
    fn pin_batch(&mut self) -> Result {
        let first = self.next_va & !(PAGE_SIZE - 1);
        let pages = pages_spanned(self.next_va, self.end_va - self.next_va).min(BATCH_PAGES);
        let got = if self.array {
            // Fragmented memory: not huge pages.
            self.huge = false;
            self.pin_pages(first, pages as usize)?
        } else {
            // The page pointers' room and the runs' vector are the request's, allocated once.
            let batch = match &mut self.batch {
                Some(b) => b,
                None => self.batch.insert(PageBatch::new()?),
            };
            let mut runs = core::mem::take(&mut self.runs);
            // The device writes the VH pages when copying VE -> VH. Runs are cut at the block
            // size so that the first blocks stay short.
            let got = self.target.pin_runs(
                batch,
                first,
                pages as usize,
                self.route.writes_host(),
                true,
                self.merge_max,
                &mut runs,
            )?;
            self.huge = self.huge && runs.iter().all(|r| r.folio().pages >= PAGES_PER_HPAGE);
            if self.pacing.arrays && runs.len() * FRAGMENTED_STRETCH > got {
                // Fragmented: one block of its pages rather than a block per run, and the next
                // batch pinned as an array at once.
                let pins = PinnedPageArray::from_runs(&mut runs)?;
                self.runs = runs;
                self.take_pages(first, pins)?;
            } else {
                // On an error the runs not taken are unpinned here.
                self.take_runs(first, &mut runs)?;
                self.runs = runs;
            }
            got
        };
        if got < pages as usize && self.next_va < self.end_va {
            // GUP stopped early: the rest of the buffer is not mapped.
            return Err(EFAULT);
        }
        Ok(())
    }

    /// Charges the pinned `runs` of the batch from `first` (one charge for the batch, shared out)
    /// and adds each to the open block, or links it (behind an IOMMU).
    fn take_runs(&mut self, first: u64, runs: &mut KVec<PinnedRun>) -> Result {
        let pinned = runs.iter().map(|r| r.npages()).sum();
        let mut charge = self.charge(pinned)?;
        let mut va = first;
        for run in runs.drain_all() {
            let run_end = va + ((run.npages() as u64) << PAGE_SHIFT);
            let start = va.max(self.next_va);
            let stop = run_end.min(self.end_va);
            let skip = start - va;
            let len = stop - start;
            va = run_end;
            self.next_va = stop;
            // The batch's charge covers every run (the rest of `runs` is unpinned when it drops,
            // on this error too).
            let run = charge.lock(run).map_err(|_| EINVAL)?;
            if self.card.dma_device().mode() == DmaMode::Iommu {
                self.link(run, start, skip, len)?;
            } else {
                self.merge(run, start, skip, len)?;
            }
        }
        Ok(())
    }

    /// Pins the `pages` pages from `first` with one GUP call into one array, maps them stretch
    /// by stretch, charges them once and makes them one block, cut into pieces where the pages
    /// or the VE side jump: scattered 4 KiB pages cost no run, mapping or unpin call each. The
    /// open block goes to the manager first (pieces follow the buffer's order). If the DMA API
    /// needs an unmap per mapping after all, the pages go on as runs, and so do later batches.
    /// Returns how many pages were pinned.
    fn pin_pages(&mut self, first: u64, pages: usize) -> Result<usize> {
        let pins = self
            .target
            .pin_array(first, pages, self.route.writes_host())?;
        let got = pins.len();
        if got > 0 {
            self.take_pages(first, pins)?;
        }
        Ok(got)
    }

    /// Maps the pinned pages `pins` (a batch from `first`) stretch by stretch, charges them once
    /// and makes them one block, as [`Submitter::pin_pages`] describes.
    fn take_pages(&mut self, first: u64, pins: PinnedPageArray) -> Result {
        let got = pins.len();
        // The frames, turned into physical addresses in place.
        let mut phys = pins.pfns()?;
        for p in phys.iter_mut() {
            *p <<= PAGE_SHIFT;
        }
        let (mapped, bus) = match self.card.dma_device().map_pages(pins, &phys, self.dir)? {
            Ok(m) => m,
            Err(pins) => {
                self.pacing.arrays = false;
                self.array = false;
                for p in phys.iter_mut() {
                    *p >>= PAGE_SHIFT;
                }
                let mut runs = pins.into_runs(&phys).map_err(|_| ENOMEM)?;
                return self.take_runs(first, &mut runs);
            }
        };
        // If the charge fails, `mapped` drops: no descriptor has its addresses yet.
        let charge = self.charge(got)?;
        self.close()?;
        let kept = self.keep(MappedBlock::Pages {
            pages: mapped,
            charge,
        })?;
        let stop_va = (first + ((got as u64) << PAGE_SHIFT)).min(self.end_va);
        let mut stretches = 0;
        let mut i = 0;
        while i < got {
            let mut n = 1;
            while i + n < got && bus[i + n] == bus[i] + ((n as u64) << PAGE_SHIFT) {
                n += 1;
            }
            stretches += 1;
            let va = first + ((i as u64) << PAGE_SHIFT);
            let from = va.max(self.next_va);
            let to = (va + ((n as u64) << PAGE_SHIFT)).min(stop_va);
            self.cut_pieces(from, bus[i] + (from - va), to.saturating_sub(from))?;
            i += n;
        }
        self.next_va = stop_va;
        self.hold(kept);
        self.array = stretches * FRAGMENTED_STRETCH > got;
        Ok(())
    }

    /// Appends `run` (`len` bytes transferred from VH address `va`, `skip` bytes into it) to the
    /// open block if it continues it physically, else closes that block and opens one with `run`.
    fn merge(&mut self, run: LockedRun, va: u64, skip: u64, len: u64) -> Result {
        let phys = run.phys() + skip;
        let run = match self.open.as_mut() {
            Some(Block::Run {
                run: b,
                phys: b_phys,
                len: b_len,
                ..
            }) if *b_phys + *b_len == phys && *b_len + len <= self.merge_max => {
                match b.merge(run) {
                    Ok(()) => {
                        *b_len += len;
                        return Ok(());
                    }
                    Err(back) => back,
                }
            }
            _ => run,
        };
        self.close()?;
        self.open = Some(Block::Run { run, va, phys, len });
        Ok(())
    }

    /// Links `run` (`len` bytes transferred from VH address `va`, `skip` bytes into it) after the
    /// open block's pages if the block may grow by `len`, else closes that block and opens a new
    /// IOVA range for `run`. A run that continues a block starts at its first byte (`skip` is 0):
    /// runs follow each other in virtual address order, and only the last one stops short.
    fn link(&mut self, run: LockedRun, va: u64, skip: u64, len: u64) -> Result {
        let run = match self.open.as_mut() {
            Some(Block::Span {
                span, len: b_len, ..
            }) if skip == 0 && *b_len + len <= self.merge_max => match span.link(run) {
                Ok(_) => {
                    *b_len += len;
                    return Ok(());
                }
                Err((e, back)) if e == ENOSPC => back,
                Err((e, _)) => return Err(e),
            },
            _ => run,
        };
        self.close()?;
        // Room for the block's longest length and the offset of its first byte in its page.
        let mut span = self
            .card
            .dma_device()
            .span(self.merge_max + PAGE_SIZE, self.dir)?;
        let at = span.link(run).map_err(|(e, _)| e)?;
        self.open = Some(Block::Span {
            span,
            va,
            start: at + skip,
            len,
        });
        Ok(())
    }

    /// Closes the open block: maps it for the card (or makes its linked range visible to the
    /// card), then cuts it where the VE side jumps into pieces, each checked to be one
    /// descriptor the engine takes (`EINVAL` otherwise). The block is held by the manager until
    /// every piece is done (the pin-release rule), and unmapped only then. The next block may be
    /// longer.
    fn close(&mut self) -> Result {
        let Some(b) = self.open.take() else {
            return Ok(());
        };
        self.merge_max = self.pacing.next(self.merge_max);
        let left = b.len();
        let (block, va, bus) = match b {
            Block::Run {
                run, va, phys, len, ..
            } => {
                let m = self
                    .card
                    .dma_device()
                    .map(run, phys, len, self.dir)
                    .map_err(|(e, _)| e)?;
                let bus = m.bus();
                (MappedBlock::Run(m), va, bus)
            }
            Block::Span {
                mut span,
                va,
                start,
                ..
            } => {
                span.sync()?;
                let bus = span.bus() + start;
                (MappedBlock::Span(span), va, bus)
            }
        };
        let kept = self.keep(block)?;
        // If cutting fails below, a block the request would hold drops before any descriptor
        // was given its addresses: unmapped and unpinned at once (an entry's goes with it).
        self.cut_pieces(va, bus, left)?;
        self.hold(kept);
        Ok(())
    }

    /// Takes `block` before its pieces are cut: into the cache entry being built (for good), or
    /// returned to be held by the request with its pieces ([`Self::hold`]), room made for it.
    fn keep(&mut self, block: MappedBlock) -> Result<Option<MappedBlock>> {
        match &self.build {
            Some(b) => {
                b.range.push_block(block)?;
                Ok(None)
            }
            None => {
                // Room first: a block goes with all of its pieces or not at all.
                self.blocks.reserve(1, GFP_KERNEL)?;
                Ok(Some(block))
            }
        }
    }

    /// Hands `kept` ([`Self::keep`]) to the request, to be released once the pieces cut so far
    /// are done.
    fn hold(&mut self, kept: Option<MappedBlock>) {
        if let Some(run) = kept {
            // Room was made by `keep`.
            let _ = self.blocks.push_within_capacity(HeldBlock {
                until: self.cut,
                run,
            });
        }
    }

    /// Charges `n` pinned pages: from the cache entry's advance charge while it lasts, else to
    /// the target's pinned memory.
    fn charge(&mut self, n: usize) -> Result<PinCharge> {
        if let Some(c) = self.build.as_mut().and_then(|b| b.charge.split(n)) {
            return Ok(c);
        }
        self.target.charge_pages(n)
    }

    /// Cuts `len` bytes at card address `bus` (VH address `va`) into pieces where the VE side
    /// jumps, each checked to be one descriptor the engine takes (`EINVAL` otherwise), and queues
    /// them; a cache entry being built records how they map.
    fn cut_pieces(&mut self, va: u64, mut bus: u64, mut len: u64) -> Result {
        if len == 0 {
            return Ok(());
        }
        if let Some(b) = self.build.as_mut() {
            cache::add_segment(&mut b.segs, va, bus, len)?;
        }
        while len > 0 {
            // The extent lengths add up to the VH length (checked at submit).
            let (ve, n) = self.ve.take(len).ok_or(EINVAL)?;
            self.pieces
                .push(Piece::new(bus, ve, n, self.route)?, GFP_KERNEL)?;
            self.cut += 1;
            len -= n;
            bus += n;
        }
        Ok(())
    }
}

/// Waits up to `ms` on the card's DMA wait queue, then services the ring (reaps what the engine
/// finished, in case the interrupt was lost or coalesced). `ERESTARTSYS` on a signal.
fn slice<C: Channel>(
    card: &C,
    dma: &mut kernel::sync::MutexGuard<'_, DmaState>,
    ms: u32,
) -> Result {
    let r = card.wait_dma(dma, msecs_to_jiffies(ms));
    dma.service_and_report(card);
    r
}

/// How [`wait`] treats a request that is still running when the wait ends.
pub(crate) enum WaitEnd {
    /// Leave it; `ETIMEDOUT` after this many ms (`VE_DMA_IOC_WAIT`); a signal restarts the
    /// call (`ERESTARTSYS`) with the same arguments, so the timeout starts again.
    After(u32),
    /// Stop it when the engine makes no progress for [`STALL_TIMEOUT_MS`] (`ETIMEDOUT`) or on a
    /// signal (`EINTR`: the request is gone, so the call is not restarted), and report it
    /// (`VE_DMA_IOC_XFER`).
    Stall,
}

/// Spins until DMACTL word 1 differs from `seen` (a descriptor completed, or one raised an
/// exception) or cannot be read, `deadline_ns` after `start` passes, or the scheduler wants the
/// CPU. Returns whether the engine moved (or must be looked at).
fn spin<C: Channel>(card: &C, seen: u64, start: Instant<Monotonic>, deadline_ns: u64) -> bool {
    loop {
        let spun = u64::try_from(start.elapsed().as_nanos()).unwrap_or(0);
        if spun >= deadline_ns || crate::sys::need_resched() {
            return false;
        }
        match card.ctl1() {
            Ok(v) if v == seen => cpu_relax(),
            _ => return true,
        }
    }
}

/// Waits for request `id` (0: any) of `owner` to finish and collects it.
///
/// With `poll`, a short request is polled first (its waiter spins on the engine's read pointer
/// without the manager's lock, for at most the budget [`crate::dma::poll`] gives it) and slept
/// on after; the interrupt path is the same either way.
pub(crate) fn wait<C: Channel>(
    card: &C,
    owner: u64,
    id: u64,
    end: WaitEnd,
    poll: bool,
) -> Result<Collected> {
    let mut dma = card.dma().lock();
    let start = Instant::<Monotonic>::now();
    let mut stall = Stall::new(dma.progress());
    // How long after `start` the waiter may still spin.
    let mut poll_ns = match end {
        _ if id == 0 || !poll => None,
        WaitEnd::After(ms) => dma
            .poll_budget(id)
            .map(|(b, _)| b.min(u64::from(ms) * 1_000_000)),
        WaitEnd::Stall => dma.poll_budget(id).map(|(b, _)| b),
    };
    loop {
        dma.service_and_report(card);
        if let Some(c) = dma.collect(owner, id)? {
            drop(dma);
            card.notify_dma();
            return Ok(c);
        }
        if let Some(deadline) = poll_ns {
            if let Some((_, seen)) = dma.poll_budget(id) {
                drop(dma);
                let moved = spin(card, seen, start, deadline);
                dma = card.dma().lock();
                if moved {
                    continue;
                }
            }
            // Over budget, or no longer a request to poll: sleep from now on.
            poll_ns = None;
        }
        let stop = match end {
            WaitEnd::After(ms) => {
                let waited = start.elapsed().as_millis().clamp(0, ms.into()) as u32;
                if waited >= ms {
                    return Err(ETIMEDOUT);
                }
                slice(card, &mut dma, WAIT_SLICE_MS.min(ms - waited)).err()
            }
            WaitEnd::Stall => match slice(card, &mut dma, WAIT_SLICE_MS) {
                // The request is stopped: restarting the call would start another.
                Err(e) if e == ERESTARTSYS => Some(EINTR),
                Err(e) => Some(e),
                Ok(()) => stall.stuck(dma.progress()).then_some(ETIMEDOUT),
            },
        };
        if let Some(e) = stop {
            if let WaitEnd::After(_) = end {
                return Err(e);
            }
            // XFER: stop the request and report it (with this error, unless it finished or
            // failed otherwise just before). `fail` says `EIO` only if the engine would not halt,
            // which the manager reported; the request is stopped either way.
            let _ = dma.fail(card, id, e, 0);
            let c = dma.collect(owner, id)?;
            drop(dma);
            card.notify_dma();
            return c.ok_or(e);
        }
    }
}

/// `VE_DMA_IOC_XFER`: submit and wait (polling first if `poll`), stopping the request on a stall
/// or a signal.
pub(crate) fn transfer<C: Channel>(
    card: &C,
    owner: u64,
    sub: &Submission,
    poll: bool,
) -> (Outcome, Result) {
    transfer_holding(card, owner, sub, None, poll)
}

/// `VE_DMA_IOC_XFER` through a copy slot: `sub`'s first side is the slot's card address, and
/// the request holds `slot` until its descriptor cannot reach it.
pub(crate) fn transfer_through<C: Channel>(
    card: &C,
    owner: u64,
    sub: &Submission,
    slot: DeviceSlot,
    poll: bool,
) -> (Outcome, Result) {
    transfer_holding(card, owner, sub, Some(MappedBlock::Copy(slot)), poll)
}

fn transfer_holding<C: Channel>(
    card: &C,
    owner: u64,
    sub: &Submission,
    block: Option<MappedBlock>,
    poll: bool,
) -> (Outcome, Result) {
    let id = match submit_holding(card, owner, sub, block) {
        Ok(id) => id,
        Err((e, out)) => return (out, Err(e)),
    };
    match wait(card, owner, id, WaitEnd::Stall, poll) {
        Ok(c) => (c.out, c.result),
        Err(e) => (Outcome::default(), Err(e)),
    }
}

/// `VE_DMA_IOC_CANCEL`: stops request `id` of `owner` if it is still running.
pub(crate) fn cancel<C: Channel>(card: &C, owner: u64, id: u64) -> Result {
    let mut dma = card.dma().lock();
    if !dma.owns(owner, id) {
        return Err(ENOENT);
    }
    let r = dma.fail(card, id, ECANCELED, 0);
    drop(dma);
    card.notify_dma();
    r
}
