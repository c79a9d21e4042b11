// SPDX-License-Identifier: GPL-2.0

//! Submitting a transfer, waiting for it, cancelling it: the ioctls' side of the DMA manager.
//!
//! The submitter's own thread pins the VH buffer in batches of at most 512 pages (GUP-fast for
//! its own memory, `pin_user_pages_remote` for another pid) into physically contiguous blocks,
//! cuts each block where the VE side jumps (extent lists) into [`Piece`]s of one descriptor each
//! and hands them to the manager ([`DmaState`]), which posts them as ring slots allow; the engine
//! copies batch N while batch N+1 is pinned. The submitter blocks only while the request holds
//! [`WINDOW`] bytes pinned and not completed, and returns once its last piece is handed over:
//! completion is collected by [`wait`]. The first block is small so that the engine starts early;
//! later blocks grow up to [`MERGE_MAX`] so that long contiguous runs take few descriptors.
//!
//! Waits are interruptible and sliced: every [`WAIT_SLICE_MS`] the waiter reaps the ring itself,
//! so a lost or coalesced interrupt costs at most a slice.

use kernel::{
    prelude::*,
    time::{
        msecs_to_jiffies,
        Instant,
        Monotonic, //
    },
};

use crate::{
    dma::{
        manager::{
            Collected,
            DmaState,
            HeldBlock,
            Outcome,
            Piece,
            Route, //
        },
        velist::VeCursor,
        Channel,
    },
    extent::{
        pages_spanned,
        PAGE_SHIFT,
        PAGE_SIZE, //
    },
    hw,
    sys::gup::{
        yield_between_batches,
        LockedRun,
        TargetMm, //
    },
};

/// Pinned but not yet completed bytes a request may hold: bounds what a 1 GiB transfer of
/// 4 KiB pages keeps pinned, while leaving the engine several descriptors' work in hand.
pub(crate) const WINDOW: u64 = 64 << 20;
/// The first block of a request stops growing at this size: the engine starts after little
/// pinning. Each later block may be twice as long as the one before, up to [`MERGE_MAX`].
const MERGE_FIRST: u64 = 2 << 20;
/// Longest block: long enough that contiguous memory takes few descriptors, short enough that
/// several fit the window (the engine copies one while the next is pinned).
const MERGE_MAX: u64 = WINDOW / 4;
/// Pages pinned per GUP batch.
const BATCH_PAGES: u64 = 512;
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
}

/// The block being grown from physically contiguous runs.
struct Block {
    run: LockedRun,
    /// Physical address of the first byte transferred.
    phys: u64,
    /// Bytes transferred from it.
    len: u64,
}

/// Starts `sub` on `card` for the open file `owner`; returns the request id once its last
/// piece is handed over. On an error nothing of the request remains, and what it did is returned.
pub(crate) fn submit<C: Channel>(
    card: &C,
    owner: u64,
    sub: &Submission,
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
        Some(target) => {
            let mut s = Submitter {
                card,
                target,
                id,
                route: sub.route,
                next_va: sub.first,
                end_va: sub.first + sub.len,
                ve: VeCursor::new(&sub.extents),
                open: None,
                merge_max: MERGE_FIRST,
                pieces: KVVec::new(),
                blocks: KVVec::new(),
                cut: 0,
            };
            // What was pinned but never handed over goes with `s`, before the request is
            // failed below (nothing can reach it).
            s.run()
        }
        None => hand_over_fixed(card, id, sub),
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

/// Cuts a request whose first side is used as it is ([`Submission::pin`] `None`) into pieces of
/// at most [`hw::desc::LEN_MAX`] that follow the VE side's extents, and hands them all over at
/// once: nothing is pinned, so nothing bounds how much may wait for the ring.
fn hand_over_fixed<C: Channel>(card: &C, id: u64, sub: &Submission) -> Result {
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
    let mut dma = card.dma().lock();
    dma.add(id, &mut pieces, &mut KVVec::new(), true)?;
    dma.fill(card)
}

struct Submitter<'a, C: Channel> {
    card: &'a C,
    target: &'a TargetMm,
    id: u64,
    route: Route,
    /// Next VH address to pin, and the end.
    next_va: u64,
    end_va: u64,
    ve: VeCursor<'a>,
    /// The tail block, still open to physically contiguous runs of the next batch.
    open: Option<Block>,
    merge_max: u64,
    /// Pieces cut and not yet handed over.
    pieces: KVVec<Piece>,
    /// Blocks cut into `pieces` and not yet handed over.
    blocks: KVVec<HeldBlock>,
    /// Pieces cut so far.
    cut: u64,
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
            self.pin_batch()?;
            let last = self.next_va >= self.end_va;
            if last || self.open.as_ref().is_some_and(|b| b.len >= self.merge_max) {
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
        let open_len = self.open.as_ref().map_or(0, |b| b.len);
        {
            let dma = self.card.dma().lock();
            if dma.in_window(self.id) + open_len < WINDOW {
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
            if dma.in_window(self.id) < WINDOW {
                return Ok(true);
            }
            slice(self.card, &mut dma, WAIT_SLICE_MS)?;
            if stall.stuck(dma.progress()) {
                return Err(ETIMEDOUT);
            }
        }
    }

    /// Pins the next batch of pages, growing the open block or starting new ones. The pins are
    /// long-term (FOLL_LONGTERM: a request may outlive the call) and charged to the target's
    /// pinned memory against the caller's RLIMIT_MEMLOCK (`ENOMEM` over it).
    fn pin_batch(&mut self) -> Result {
        let first = self.next_va & !(PAGE_SIZE - 1);
        let pages = pages_spanned(self.next_va, self.end_va - self.next_va).min(BATCH_PAGES);
        let mut runs = KVec::new();
        // The device writes the VH pages when copying VE -> VH. Runs are cut at the block size
        // so that the first blocks stay short.
        let got = self.target.pin_runs(
            first,
            pages as usize,
            self.route.writes_host(),
            true,
            self.merge_max,
            &mut runs,
        )?;
        let mut va = first;
        for run in runs.drain_all() {
            let run_end = va + ((run.npages() as u64) << PAGE_SHIFT);
            let start = va.max(self.next_va);
            let stop = run_end.min(self.end_va);
            let phys = run.phys() + (start - va);
            let len = stop - start;
            va = run_end;
            self.next_va = stop;
            // The rest of `runs` is unpinned when it drops, on this error too.
            let run = self.target.charge_one(run)?;
            let run = match self.open.as_mut() {
                Some(b) if b.phys + b.len == phys && b.len + len <= self.merge_max => {
                    match b.run.merge(run) {
                        Ok(()) => {
                            b.len += len;
                            continue;
                        }
                        Err(back) => back,
                    }
                }
                _ => run,
            };
            self.close()?;
            self.open = Some(Block { run, phys, len });
        }
        if got < pages as usize && self.next_va < self.end_va {
            // GUP stopped early: the rest of the buffer is not mapped.
            return Err(EFAULT);
        }
        Ok(())
    }

    /// Closes the open block: cuts it where the VE side jumps into pieces, each checked to be one
    /// descriptor the engine takes (`EINVAL` otherwise). The block is held by the manager until
    /// every piece is done (the pin-release rule). The next block may be longer.
    fn close(&mut self) -> Result {
        let Some(b) = self.open.take() else {
            return Ok(());
        };
        self.merge_max = (self.merge_max * 2).min(MERGE_MAX);
        let mut phys = b.phys;
        let mut left = b.len;
        // Room first: a block goes with all of its pieces or not at all.
        self.blocks.reserve(1, GFP_KERNEL)?;
        while left > 0 {
            // The extent lengths add up to the VH length (checked at submit).
            let (ve, len) = self.ve.take(left).ok_or(EINVAL)?;
            self.pieces
                .push(Piece::new(phys, ve, len, self.route)?, GFP_KERNEL)?;
            self.cut += 1;
            left -= len;
            phys += len;
        }
        // Reserved above.
        let _ = self.blocks.push_within_capacity(HeldBlock {
            until: self.cut,
            run: b.run,
        });
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

/// Waits for request `id` (0: any) of `owner` to finish and collects it.
pub(crate) fn wait<C: Channel>(card: &C, owner: u64, id: u64, end: WaitEnd) -> Result<Collected> {
    let mut dma = card.dma().lock();
    let start = Instant::<Monotonic>::now();
    let mut stall = Stall::new(dma.progress());
    loop {
        dma.service_and_report(card);
        if let Some(c) = dma.collect(owner, id)? {
            drop(dma);
            card.notify_dma();
            return Ok(c);
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

/// `VE_DMA_IOC_XFER`: submit and wait, stopping the request on a stall or a signal.
pub(crate) fn transfer<C: Channel>(card: &C, owner: u64, sub: &Submission) -> (Outcome, Result) {
    let id = match submit(card, owner, sub) {
        Ok(id) => id,
        Err((e, out)) => return (out, Err(e)),
    };
    match wait(card, owner, id, WaitEnd::Stall) {
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
