// SPDX-License-Identifier: GPL-2.0

//! The card's privileged DMA manager: one ring shared by every request in flight.
//!
//! A request is a transfer submitted by `VE_DMA_IOC_SUBMIT` (or `VE_DMA_IOC_XFER`). Its submitter
//! pins the VH buffer and hands over [`Piece`]s (one descriptor each) together with the pinned
//! blocks they address; the manager posts pending pieces of all requests in submission order
//! while the ring has room, reaps what the engine finished (trusting only the read pointer and
//! the exception bit, never the number of interrupts), and refills the ring. It runs under
//! `Card::dma` from the threaded interrupt handler, from submitters and from waiters (which also
//! cover lost or coalesced interrupts by looking every wait slice).
//!
//! # The pin-release rule
//!
//! A pinned page is released only after every descriptor that can reach it has completed, or
//! after the engine was proven halted with that descriptor taken out of the ring. If the engine
//! will not halt it is [`EngineState::Dead`], and every page that a posted descriptor can reach
//! stays pinned for good. Pieces do not own pages: a request owns its blocks ([`HeldPins`]),
//! each released by [`Request::release_unreachable`] under [`engine::may_release`] and by nothing
//! else (a block dropped any other way stays pinned, see [`HeldPins`]).
//!
//! Failing one request (an exception on its descriptor, `CANCEL`, a signal, a stall, the close of
//! its file) stops it from posting, halts the engine, takes that request's descriptors out of the
//! ring by packing the others towards the read pointer ([`Ring::retain`]), neutralises the freed
//! slots, writes the read pointer (which clears an exception) and restarts the engine: the other
//! requests go on. What a failed halt means is decided in one place, [`DmaState::halt`].

use kernel::{
    prelude::*,
    time::{
        Instant,
        Monotonic, //
    },
};

use crate::{
    dma::{
        engine::{
            self,
            EngineState,
            HaltOutcome,
            Reach,
            Refusal, //
        },
        poll::PollPolicy,
        ring::{
            self,
            Ring, //
        },
        Engine, MappedBlock, Pinned,
    },
    hw::{
        self,
        desc::{
            AddrSpace,
            Desc, //
        },
    },
    sys::MappedSpace,
    uapi, //
};

/// Ring slots between completion interrupts: the ring is refilled from the interrupt thread well
/// before it runs dry.
const IRQ_EVERY: usize = 32;
/// Pending pieces (or held blocks) consumed from the front of a request's queue before the queue
/// is compacted.
const COMPACT_AFTER: usize = 1024;
/// Device errors that waiters may hit every wait slice are reported at most this often.
const REPORT_EVERY_MS: i64 = 5000;

/// How a request's pieces become descriptors: the address spaces of a piece's two addresses,
/// which of them is the source, and the PCIe ordering attributes of the host side.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Route {
    /// The space of a piece's first address: host memory (VHSAA), or VE memory for a copy
    /// within the VE.
    pub(crate) first: AddrSpace,
    /// The space of its second address, the VE side: VE memory (VEMAA) or registers (VERAA).
    pub(crate) second: AddrSpace,
    /// Whether the first address is the source (else the destination).
    pub(crate) first_is_src: bool,
    /// `hw::desc::ORDER_*` bits.
    pub(crate) order: u8,
}

impl Route {
    /// Between host memory and VE memory.
    pub(crate) const fn host_ve(to_ve: bool) -> Self {
        Self {
            first: AddrSpace::Vhsaa,
            second: AddrSpace::Vemaa,
            first_is_src: to_ve,
            order: 0,
        }
    }

    /// Whether the engine writes host memory (its pages are pinned writable).
    pub(crate) fn writes_host(&self) -> bool {
        self.first == AddrSpace::Vhsaa && !self.first_is_src
    }
}

/// One descriptor's worth of a request, checked: its descriptor encodes (addresses within the
/// engine's 48 bits, length within [`hw::desc::LEN_MAX`], 8-byte aligned).
pub(crate) struct Piece {
    /// The first address ([`Route::first`]): host memory as the card addresses it (VHSAA, from
    /// the DMA API), or VE memory.
    first: u64,
    /// The VE address ([`Route::second`]).
    ve: u64,
    /// Bytes.
    len: u32,
}

impl Piece {
    /// A piece copying `len` bytes between `first` and VE address `ve` as `route` says;
    /// `EINVAL` if the engine could not take it as one descriptor.
    pub(crate) fn new(first: u64, ve: u64, len: u64, route: Route) -> Result<Self> {
        let len32 = u32::try_from(len).map_err(|_| EINVAL)?;
        let p = Self {
            first,
            ve,
            len: len32,
        };
        p.desc(route, 0).validate().map_err(|_| EINVAL)?;
        Ok(p)
    }

    /// Its descriptor, with `control` bits.
    fn desc(&self, route: Route, control: u8) -> Desc {
        let a = (route.first, self.first);
        let b = (route.second, self.ve);
        let ((src_space, src), (dst_space, dst)) = if route.first_is_src { (a, b) } else { (b, a) };
        Desc {
            src_space,
            src,
            dst_space,
            dst,
            len: self.len,
            control,
            order: route.order,
        }
    }

    fn bytes(&self) -> u64 {
        self.len.into()
    }
}

/// A pinned block handed to the manager with its pieces: it may be released once the request's
/// first `until` pieces cannot reach it any more ([`engine::may_release`]).
pub(crate) struct HeldBlock<R: Pinned = MappedBlock> {
    pub(crate) until: u64,
    pub(crate) run: R,
}

/// The pinned blocks of one request, oldest first.
///
/// # Invariants
///
/// `blocks[head..]` are held (`Some`), every entry before `head` is `None`; the `until` values
/// increase. A block is unpinned only by [`HeldPins::release_while`]; whatever is still held
/// when the value is dropped stays pinned for good (a request dropped while the engine may
/// still reach its pages: a dead engine).
struct HeldPins<R: Pinned> {
    blocks: KVVec<(u64, Option<R>)>,
    head: usize,
    /// [`Pinned::window_pages`] of the blocks held.
    window_pages: usize,
}

impl<R: Pinned> HeldPins<R> {
    const fn new() -> Self {
        Self {
            blocks: KVVec::new(),
            head: 0,
            window_pages: 0,
        }
    }

    /// Takes over `b` (its `until` is not below the last block's). The caller reserved room
    /// and queues `b`'s pieces only afterwards: were there no room, `b` would be dropped
    /// (unpinned) before any descriptor could reach it.
    fn push_reserved(&mut self, b: HeldBlock<R>) {
        self.window_pages += b.run.window_pages();
        if let Err(kernel::alloc::kvec::PushError((_, Some(run)))) =
            self.blocks.push_within_capacity((b.until, Some(b.run)))
        {
            // Not reached while callers reserve; were it, the block stays pinned rather than be
            // released behind descriptors that may be cut from it.
            run.keep_pinned_forever();
        }
    }

    /// Unpins the oldest blocks while `may(until)` says so.
    fn release_while(&mut self, mut may: impl FnMut(u64) -> bool) {
        while let Some((until, run)) = self.blocks.get_mut(self.head) {
            if !may(*until) {
                break;
            }
            // Dropping the run unpins it.
            if let Some(run) = run.take() {
                self.window_pages = self.window_pages.saturating_sub(run.window_pages());
                drop(run);
            }
            self.head += 1;
        }
        drop_consumed(&mut self.blocks, &mut self.head);
    }

    /// Pages held.
    fn pages(&self) -> usize {
        self.blocks[self.head..]
            .iter()
            .filter_map(|(_, run)| run.as_ref())
            .map(|r| r.npages())
            .sum()
    }
}

impl<R: Pinned> Drop for HeldPins<R> {
    fn drop(&mut self) {
        // The engine may still reach what is held: those pages are never unpinned.
        for (_, run) in self.blocks.iter_mut() {
            if let Some(run) = run.take() {
                run.keep_pinned_forever();
            }
        }
    }
}

/// What a request did, reported when it is collected.
#[derive(Copy, Clone, Default)]
pub(crate) struct Outcome {
    pub(crate) bytes_done: u64,
    pub(crate) descs: u32,
    pub(crate) exception: u32,
}

/// One request.
struct Request<R: Pinned> {
    id: u64,
    /// The open file that submitted it.
    owner: u64,
    route: Route,
    /// Pieces handed over and not yet posted: `pending[pending_head..]`, oldest first.
    pending: KVVec<Piece>,
    pending_head: usize,
    /// The submitter may still hand over pieces.
    submitting: bool,
    /// Pieces the engine completed: the first `done` of the request (they complete in order).
    done: u64,
    /// Slots of this request in the ring.
    posted: usize,
    /// The pinned blocks its pieces address.
    pins: HeldPins<R>,
    /// Bytes handed over and not completed (pending and posted).
    in_window: u64,
    out: Outcome,
    /// The result, once finished. A finished request posts nothing more.
    result: Option<Result>,
    /// When its first descriptor was posted.
    first_post: Option<Instant<Monotonic>>,
    /// Once it completed: ns from its first post to its completion (the engine's rate).
    took_ns: Option<u64>,
}

impl<R: Pinned> Request<R> {
    fn pending_len(&self) -> usize {
        self.pending.len() - self.pending_head
    }

    /// Marks the request done if nothing of it is left.
    fn settle(&mut self) {
        if self.result.is_none() && !self.submitting && self.pending_len() == 0 && self.posted == 0
        {
            self.result = Some(Ok(()));
            self.took_ns = self
                .first_post
                .map(|t| t.elapsed().as_nanos().try_into().unwrap_or(0));
        }
    }

    /// Forgets the pieces never posted (they reach nothing: their pages are the blocks').
    fn drop_pending(&mut self) {
        for p in &self.pending[self.pending_head..] {
            self.in_window -= p.bytes();
        }
        self.pending.clear();
        self.pending_head = 0;
    }

    /// Unpins what no descriptor can reach any more. The only place a request's pages are
    /// released (the pin-release rule, above).
    fn release_unreachable(&mut self) {
        let (done, stopped, in_ring) = (self.done, self.result.is_some(), self.posted);
        self.pins
            .release_while(|until| engine::may_release(until, done, stopped, in_ring));
    }
}

/// A posted ring slot.
struct Slot {
    /// The request it belongs to.
    id: u64,
    /// The descriptor as posted (to move it when the ring is packed).
    words: [u64; 4],
    len: u64,
}

/// The engine's state, owned by whoever holds `Card::dma`.
///
/// # Invariants
///
/// `slots[i]` is `Some` exactly for the slots `i` in flight in `ring`; every request's `posted`
/// counts its slots there. Descriptors are posted only while `engine.kernel_owns()`.
pub(crate) struct DmaState<R: Pinned = MappedBlock> {
    ring: Ring,
    slots: KVec<Option<Slot>>,
    /// Requests, in submission order.
    reqs: KVec<Request<R>>,
    next_id: u64,
    /// Descriptors completed since probe: waiters watch it for progress.
    completed: u64,
    engine: EngineState,
    /// The user-space manager the engine is lent to (`Some` exactly while it is
    /// [`EngineState::Lent`]).
    borrower: Option<Borrower>,
    next_grant: u64,
    /// When a device error was last reported (rate limit).
    reported: Option<Instant<Monotonic>>,
    /// When waiters poll rather than sleep.
    poll: PollPolicy,
    /// DMACTL word 1 as last read: a polling waiter spins until it changes.
    seen_ctl1: u64,
}

/// The user-space manager the engine is lent to: its register mappings, all of one open file in
/// one process, share one grant.
struct Borrower {
    /// The file and the address space of the first mapping; zapping the file's address space
    /// zaps every mapping sharing the grant, since they all map this file.
    space: MappedSpace,
    /// The mappings sharing the grant (mmap calls, not VMAs: a mapping is never split); the
    /// engine returns to the kernel when the last goes.
    maps: usize,
}

/// A register mapping's share of the engine, from [`DmaState::lend`].
#[derive(Copy, Clone, Debug)]
pub(crate) struct Loan {
    /// The grant's generation.
    pub(crate) grant: u64,
    /// Whether this mapping took the engine from the kernel (the first of its grant), rather
    /// than joined a grant its user already had.
    pub(crate) first: bool,
}

/// A finished request, taken out of the table.
pub(crate) struct Collected {
    pub(crate) id: u64,
    pub(crate) out: Outcome,
    pub(crate) result: Result,
}

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Error {
        match r {
            Refusal::Busy => EBUSY,
            Refusal::Dead => EIO,
        }
    }
}

impl<R: Pinned> DmaState<R> {
    /// An empty manager; [`DmaState::reset`] must run before the first request.
    pub(crate) const fn new() -> Self {
        Self {
            ring: Ring::new(0),
            slots: KVec::new(),
            reqs: KVec::new(),
            next_id: 1,
            completed: 0,
            engine: EngineState::Halted,
            borrower: None,
            next_grant: 1,
            reported: None,
            poll: PollPolicy::off(),
            seen_ctl1: 0,
        }
    }

    /// At probe, with the engine halted and its descriptors cleared: the ring starts at `readptr`.
    pub(crate) fn reset(&mut self, readptr: usize) -> Result {
        self.slots.clear();
        for _ in 0..ring::NUM {
            self.slots.push(None, GFP_KERNEL)?;
        }
        self.reset_ring(readptr);
        self.engine = EngineState::Halted;
        Ok(())
    }

    /// An empty ring from `readptr`. Only with no slot in flight, or with the engine halted and
    /// every slot's request stopped.
    fn reset_ring(&mut self, readptr: usize) {
        self.ring.reset(readptr);
        for s in self.slots.iter_mut() {
            *s = None;
        }
    }

    /// Descriptors completed so far.
    pub(crate) fn progress(&self) -> u64 {
        self.completed
    }

    /// The engine's state.
    pub(crate) fn engine(&self) -> EngineState {
        self.engine
    }

    fn index(&self, id: u64) -> Option<usize> {
        self.reqs.iter().position(|r| r.id == id)
    }

    /// Reports a device error, at most once per [`REPORT_EVERY_MS`] (waiters may hit the same
    /// one every wait slice).
    fn report(&mut self, eng: &impl Engine, what: core::fmt::Arguments<'_>) {
        if self
            .reported
            .is_some_and(|t| t.elapsed().as_millis() < REPORT_EVERY_MS)
        {
            return;
        }
        self.reported = Some(Instant::now());
        eng.report(what);
    }

    /// Goes on after a register access or restart that failed: reports the failure (rate-limited)
    /// unless the card is gone, whose registers fail with `ENODEV` until unbind has failed every
    /// request. The callers are recovery paths, which have nothing better to do on a failure
    /// than finish recovering.
    fn note(&mut self, eng: &impl Engine, what: &str, r: Result) {
        if let Err(e) = r {
            if e != ENODEV {
                self.report(eng, format_args!("{what} failed: {e:?}"));
            }
        }
    }

    /// Neutralises slots `from` up to (not including) `to`, going round the ring; only while the
    /// engine is halted. Returns the first failure, having tried every slot.
    fn neutralise(&self, eng: &impl Engine, from: usize, to: usize) -> Result {
        let mut res = Ok(());
        let mut slot = from;
        while slot != to {
            res = res.and(eng.neutralise(slot));
            slot = (slot + 1) % ring::NUM;
        }
        res
    }

    /// Opens a request for `owner`. `EAGAIN` when the owner has [`uapi::VE_DMA_MAX_REQUESTS`]
    /// not yet collected, `EBUSY` while user space has the engine, `EIO` once it is dead.
    pub(crate) fn open(&mut self, owner: u64, route: Route) -> Result<u64> {
        self.engine.accept_request()?;
        let mine = self.reqs.iter().filter(|r| r.owner == owner).count();
        if mine >= uapi::VE_DMA_MAX_REQUESTS as usize {
            return Err(EAGAIN);
        }
        let id = self.next_id;
        self.reqs.push(
            Request {
                id,
                owner,
                route,
                pending: KVVec::new(),
                pending_head: 0,
                submitting: true,
                done: 0,
                posted: 0,
                pins: HeldPins::new(),
                in_window: 0,
                out: Outcome::default(),
                result: None,
                first_post: None,
                took_ns: None,
            },
            GFP_KERNEL,
        )?;
        self.next_id += 1;
        Ok(id)
    }

    /// Sets how long waiters may poll (the `dma_poll_us` module parameter; 0: never).
    pub(crate) fn set_poll_us(&mut self, us: u32) {
        self.poll.set_allowance_us(us);
    }

    /// Whether a waiter for request `id` may spin on the engine rather than sleep: its budget in
    /// ns ([`PollPolicy::budget_ns`] of the bytes it has left) and DMACTL word 1 as last read,
    /// if the request is running, fully handed over and short enough, and the kernel drives
    /// the engine.
    pub(crate) fn poll_budget(&self, id: u64) -> Option<(u64, u64)> {
        if !self.engine.kernel_owns() {
            return None;
        }
        let r = &self.reqs[self.index(id)?];
        if r.result.is_some() || r.submitting {
            return None;
        }
        Some((self.poll.budget_ns(r.in_window)?, self.seen_ctl1))
    }

    /// Whether request `id` is still running (`None` if it is unknown: collected already).
    pub(crate) fn running(&self, id: u64) -> Option<bool> {
        self.index(id).map(|i| self.reqs[i].result.is_none())
    }

    /// Bytes request `id` holds pinned and not completed: its pieces not completed, or, if more,
    /// the pages of its blocks not yet released (a block goes only after its last piece).
    pub(crate) fn in_window(&self, id: u64) -> u64 {
        self.index(id).map_or(0, |i| {
            let r = &self.reqs[i];
            let held = (r.pins.window_pages as u64) << crate::extent::PAGE_SHIFT;
            r.in_window.max(held)
        })
    }

    /// The submitter hands over `pieces` and the `blocks` they address (both emptied; a block's
    /// `until` counts the request's pieces from its first); `last` when it has nothing more.
    /// Returns whether the request is still running; if not, nothing was handed over and the
    /// caller's pieces and blocks are dropped (no descriptor ever reached them).
    pub(crate) fn add(
        &mut self,
        id: u64,
        pieces: &mut KVVec<Piece>,
        blocks: &mut KVVec<HeldBlock<R>>,
        last: bool,
    ) -> Result<bool> {
        let Some(i) = self.index(id) else {
            return Ok(false);
        };
        let r = &mut self.reqs[i];
        if r.result.is_some() {
            return Ok(false);
        }
        compact(r);
        r.pending.reserve(pieces.len(), GFP_KERNEL)?;
        r.pins.blocks.reserve(blocks.len(), GFP_KERNEL)?;
        for b in blocks.drain_all() {
            r.pins.push_reserved(b);
        }
        for p in pieces.drain_all() {
            r.in_window += p.bytes();
            // Capacity is reserved: this cannot fail, and a piece lost here would only never
            // be posted (its block is held above).
            if r.pending.push_within_capacity(p).is_err() {
                return Err(ENOMEM);
            }
        }
        if last {
            r.submitting = false;
            r.settle();
            r.release_unreachable();
        }
        Ok(true)
    }

    /// Posts pending pieces while the ring has room, oldest request first, and permits the
    /// engine if anything was posted. Nothing while the kernel does not own the engine.
    pub(crate) fn fill(&mut self, eng: &impl Engine) -> Result {
        if !self.engine.kernel_owns() {
            return Ok(());
        }
        let mut waiting: usize = self
            .reqs
            .iter()
            .filter(|r| r.result.is_none())
            .map(|r| r.pending_len())
            .sum();
        let mut posted = false;
        let mut res = Ok(());
        let mut bad = None;
        for r in self.reqs.iter_mut() {
            while r.result.is_none() && r.pending_len() > 0 && self.ring.room() > 0 {
                let slot = self.ring.head();
                let final_piece = !r.submitting && r.pending_len() == 1;
                let p = &r.pending[r.pending_head];
                waiting -= 1;
                // An interrupt where the driver must hear of progress: every IRQ_EVERY slots,
                // so the ring is refilled before it runs dry, and on the last one posted now.
                let mut control = 0;
                if waiting == 0 || self.ring.room() == 1 || slot % IRQ_EVERY == IRQ_EVERY - 1 {
                    control |= hw::desc::CTL_INTR_COMPLETION;
                }
                if final_piece {
                    control |= hw::desc::CTL_SYNC | hw::desc::CTL_INTR_COMPLETION;
                }
                // `Piece::new` checked that it encodes: control bits cannot change that.
                let Ok(words) = p.desc(r.route, control).encode() else {
                    bad = Some(r.id);
                    break;
                };
                if let Err(e) = eng.post(slot, words) {
                    res = Err(e);
                    break;
                }
                // The ring has room (the loop's condition): this takes `slot`.
                let _ = self.ring.post();
                let len = p.bytes();
                self.slots[slot] = Some(Slot {
                    id: r.id,
                    words,
                    len,
                });
                r.pending_head += 1;
                if r.first_post.is_none() {
                    r.first_post = Some(Instant::now());
                }
                r.posted += 1;
                r.out.descs += 1;
                posted = true;
            }
            compact(r);
        }
        if posted {
            self.start(eng)?;
        }
        if let Some(id) = bad {
            // Only that request fails.
            self.fail(eng, id, EINVAL, 0)?;
        }
        res
    }

    /// Permits the engine to run what is posted.
    fn start(&mut self, eng: &impl Engine) -> Result {
        self.engine.permitted();
        eng.start()
    }

    /// Halts the engine: the one place that decides what a failed halt means. If the engine
    /// does not report HALT (or reads as gone), it is dead: every request fails with `EIO` and
    /// every page its ring can reach stays pinned for good.
    fn halt(&mut self, eng: &impl Engine) -> Reach {
        if !self.engine.halt_requested() {
            return Reach::MayRun;
        }
        let outcome = eng.halt();
        let reach = self.engine.halt_done(outcome);
        if reach == Reach::MayRun {
            self.die(eng, outcome);
        }
        reach
    }

    /// The engine is dead: fails every request, releases what no descriptor can reach, keeps
    /// the rest pinned.
    fn die(&mut self, eng: &impl Engine, outcome: HaltOutcome) {
        let mut kept = 0;
        for r in self.reqs.iter_mut() {
            if r.result.is_none() {
                r.result = Some(Err(EIO));
            }
            r.drop_pending();
            r.release_unreachable();
            kept += r.pins.pages();
        }
        if !eng.removed() {
            eng.report(format_args!(
                "engine did not halt ({outcome:?}): it is out of service until the card is \
                 unbound; keeping {kept} pages pinned that it may still write"
            ));
        }
    }

    /// Takes the slots the engine finished, up to its read pointer: counts them to their
    /// requests and releases what they no longer reach. Returns DMACTL word 1 as read.
    fn take_completed(&mut self, eng: &impl Engine) -> Result<u64> {
        let ctl1 = eng.ctl1()?;
        if ctl1 == u64::MAX {
            // All ones: the device is gone; nothing it reports can be trusted.
            return Err(ENODEV);
        }
        self.seen_ctl1 = ctl1;
        let readptr = (ctl1 & hw::dmactl::READPTR_MASK) as usize;
        let tail = self.ring.tail();
        let n = self.ring.complete_to(readptr).ok_or(EIO)?;
        for k in 0..n {
            if let Some(s) = self.slots[(tail + k) % ring::NUM].take() {
                self.retire(s, true);
            }
        }
        self.completed += n as u64;
        if n > 0 {
            self.release_all_unreachable();
        }
        Ok(ctl1)
    }

    /// A slot leaves the ring: `done` if the engine completed it.
    fn retire(&mut self, s: Slot, done: bool) {
        if let Some(i) = self.index(s.id) {
            let r = &mut self.reqs[i];
            r.posted -= 1;
            r.in_window -= s.len;
            if done {
                r.out.bytes_done += s.len;
                r.done += 1;
            }
            r.settle();
        }
    }

    fn release_all_unreachable(&mut self) {
        for r in self.reqs.iter_mut() {
            r.release_unreachable();
        }
    }

    /// [`Self::service`] for callers that go on whatever it finds (the interrupt thread, waiters
    /// between sleeps): a failure is reported through the card's device, unless the card is
    /// gone.
    pub(crate) fn service_and_report(&mut self, eng: &impl Engine) {
        let r = self.service(eng);
        self.note(eng, "servicing the ring", r);
    }

    /// Reaps completions, fails the request whose descriptor raised an exception, and refills
    /// the ring. Nothing while the kernel does not own the engine.
    pub(crate) fn service(&mut self, eng: &impl Engine) -> Result {
        if !self.engine.kernel_owns() {
            // User space owns the engine (its interrupts are for WAIT_INTR), or it is dead.
            return Ok(());
        }
        let ctl1 = match self.take_completed(eng) {
            Ok(c) => c,
            Err(e) if e == EIO => {
                self.report(eng, format_args!("read pointer outside the posted slots"));
                self.fail_all(eng, EIO);
                return Err(EIO);
            }
            Err(e) => return Err(e),
        };
        if ctl1 & hw::dmactl::EXCEPTION != 0 {
            let at = (ctl1 & hw::dmactl::READPTR_MASK) as usize;
            let code = eng.word0(at).map_or(0, hw::desc::exception);
            match self.slots[at].as_ref().map(|s| s.id) {
                // Also when that request already finished: its slots go, which clears the
                // exception.
                Some(id) => {
                    // `EIO` only if the engine would not halt, which `die` reported.
                    let _ = self.fail(eng, id, EIO, code.into());
                }
                None => self.fail_all(eng, EIO),
            }
        }
        self.fill(eng)
    }

    /// Stops request `id` with `err` (and the engine's exception code) unless it already
    /// finished: its unposted pieces are forgotten, its descriptors taken out of the ring while
    /// the engine is halted, and the engine restarted for the others. `EIO` if the engine would
    /// not halt (it is dead: the pages stay pinned for good).
    pub(crate) fn fail(
        &mut self,
        eng: &impl Engine,
        id: u64,
        err: Error,
        exception: u32,
    ) -> Result {
        let posted = match self.index(id) {
            Some(i) => {
                let r = &mut self.reqs[i];
                if r.result.is_none() {
                    r.result = Some(Err(err));
                    r.out.exception = exception;
                }
                r.drop_pending();
                r.release_unreachable();
                r.posted
            }
            // Collected or forgotten: only its slots may be left (a dead engine's).
            None => self.slots.iter().flatten().filter(|s| s.id == id).count(),
        };
        if posted == 0 {
            return Ok(());
        }
        self.evict(eng, id)
    }

    /// Takes request `id`'s slots out of the ring (the request is stopped): halts the engine,
    /// reaps what completed before the halt, packs the other slots towards the read pointer,
    /// neutralises the freed slots, writes the read pointer (clearing an exception) and
    /// restarts the engine if anything is left. `EIO` if the engine would not halt.
    fn evict(&mut self, eng: &impl Engine, id: u64) -> Result {
        if self.halt(eng) == Reach::MayRun {
            return Err(EIO);
        }
        // Whatever finished before the halt counts.
        let ctl1 = match self.take_completed(eng) {
            Ok(c) => c,
            Err(_) => {
                self.fail_all(eng, EIO);
                return Ok(());
            }
        };
        let readptr = (ctl1 & hw::dmactl::READPTR_MASK) as usize;
        let slots = &mut self.slots;
        let reqs = &mut self.reqs;
        let mut moved = Ok(());
        let old_head = self.ring.retain(|from, to| {
            let keep = slots[from].as_ref().is_some_and(|s| s.id != id);
            if !keep {
                if let Some(s) = slots[from].take() {
                    if let Some(r) = reqs.iter_mut().find(|r| r.id == s.id) {
                        // The engine is halted and this descriptor is about to be overwritten
                        // or neutralised.
                        r.posted -= 1;
                        r.in_window -= s.len;
                    }
                }
            } else if from != to {
                let s = slots[from].take();
                if let Some(s) = &s {
                    moved = moved.and(eng.post(to, s.words));
                }
                slots[to] = s;
            }
            keep
        });
        self.note(eng, "moving descriptors towards the read pointer", moved);
        let freed = self.neutralise(eng, self.ring.head(), old_head);
        self.note(eng, "neutralising freed descriptors", freed);
        // Clears the exception, if that is why the engine stopped.
        let r = eng.set_readptr(readptr);
        self.note(eng, "writing the read pointer", r);
        self.release_all_unreachable();
        if self.ring.inflight() > 0 {
            let r = self.start(eng);
            self.note(eng, "restarting the engine", r);
        }
        Ok(())
    }

    /// Fails every running request with `err`: halts the engine, takes every slot out of the
    /// ring and releases the pages (or keeps them for good if the engine will not halt).
    pub(crate) fn fail_all(&mut self, eng: &impl Engine, err: Error) {
        for r in self.reqs.iter_mut() {
            if r.result.is_none() {
                r.result = Some(Err(err));
            }
            r.drop_pending();
        }
        if self.ring.inflight() > 0 {
            if self.halt(eng) == Reach::MayRun {
                return;
            }
            // What completed before the halt counts; the rest is taken out.
            let r = self.take_completed(eng).map(|_| ());
            self.note(eng, "reading what completed before the halt", r);
            let head = self.ring.head();
            let mut slot = self.ring.tail();
            while slot != head {
                if let Some(s) = self.slots[slot].take() {
                    self.retire(s, false);
                }
                slot = (slot + 1) % ring::NUM;
            }
            let r = self.neutralise(eng, self.ring.tail(), head);
            self.note(eng, "neutralising the ring", r);
            self.reset_ring(head);
            let r = eng.set_readptr(head);
            self.note(eng, "writing the read pointer", r);
        }
        self.release_all_unreachable();
    }

    /// The card is being unbound: takes the engine back from user space (zapping the mapping),
    /// fails every request with `ENODEV` and leaves the engine halted (or dead).
    pub(crate) fn shut_down(&mut self, eng: &impl Engine) {
        self.take_back(eng, None);
        self.fail_all(eng, ENODEV);
        if self.engine.kernel_owns() {
            // Either outcome is final here: halted, or dead (which `die` reported).
            let _: Reach = self.halt(eng);
        }
    }

    /// A card reset (`VE_VE_RESET`) begins: the engine is taken back from user space (its
    /// mapping zapped), every request fails with `EIO` (its pages released once the engine is
    /// halted with its descriptors out of the ring), and the engine is the reset's: no request
    /// opens, nothing is posted and nobody borrows it until [`Self::end_reset`]. `EIO` if the
    /// engine is dead (or will not halt now): it takes no part and stays dead.
    pub(crate) fn begin_reset(&mut self, eng: &impl Engine) -> Result {
        self.take_back(eng, None);
        self.fail_all(eng, EIO);
        if self.engine == EngineState::Running {
            // Either outcome: halted, or dead (which `die` reported).
            let _: Reach = self.halt(eng);
        }
        Ok(self.engine.begin_reset()?)
    }

    /// The card reset ended. The engine is the kernel's again only if DMACTL word 0 reads HALT,
    /// as it must out of reset: then its descriptors are cleared and the ring starts from the
    /// read pointer it reports. Otherwise it is dead (`EIO`). Nothing unless a reset began.
    pub(crate) fn end_reset(&mut self, eng: &impl Engine) -> Result {
        if self.engine != EngineState::Resetting {
            return Ok(());
        }
        let status = eng
            .ctl0()
            .map_or(engine::Status::Gone, engine::classify_status);
        if self.engine.reset_done(status) == Reach::MayRun {
            let outcome = if status == engine::Status::Gone {
                HaltOutcome::Gone
            } else {
                HaltOutcome::TimedOut
            };
            self.die(eng, outcome);
            return Err(EIO);
        }
        eng.clear_descriptors()?;
        let readptr = (eng.ctl1()? & hw::dmactl::READPTR_MASK) as usize;
        self.reset_ring(readptr);
        eng.set_readptr(readptr)
    }

    /// Takes out a finished request of `owner`: `id`, or any (the oldest) if `id == 0`.
    /// `Ok(None)` if it is still running; `ENOENT` if there is no such request.
    pub(crate) fn collect(&mut self, owner: u64, id: u64) -> Result<Option<Collected>> {
        let mine = |r: &Request<R>| r.owner == owner && (id == 0 || r.id == id);
        if !self.reqs.iter().any(mine) {
            return Err(ENOENT);
        }
        let Some(i) = self.reqs.iter().position(|r| mine(r) && r.result.is_some()) else {
            return Ok(None);
        };
        // A finished request holds no pages unless the engine died with its descriptors in the
        // ring: those stay pinned when it goes (`HeldPins`).
        let r = self.reqs.remove(i).map_err(|_| EINVAL)?;
        if let (Some(Ok(())), Some(ns)) = (&r.result, r.took_ns) {
            self.poll.observe(r.out.bytes_done, ns);
        }
        Ok(Some(Collected {
            id: r.id,
            out: r.out,
            result: r.result.unwrap_or(Ok(())),
        }))
    }

    /// Whether a request of `owner` has finished and waits to be collected.
    pub(crate) fn has_finished(&self, owner: u64) -> bool {
        self.reqs
            .iter()
            .any(|r| r.owner == owner && r.result.is_some())
    }

    /// Whether `owner` has request `id`.
    pub(crate) fn owns(&self, owner: u64, id: u64) -> bool {
        self.reqs.iter().any(|r| r.owner == owner && r.id == id)
    }

    /// The file `owner` is closed: its running requests are cancelled (bounded waits only: the
    /// closing process may be dying), then all of them forgotten.
    pub(crate) fn release_owner(&mut self, eng: &impl Engine, owner: u64) {
        let mut i = 0;
        while let Some(r) = self.reqs.get(i) {
            if r.owner == owner {
                let id = r.id;
                // `EIO` only if the engine would not halt, which `die` reported; the request
                // goes either way (a dead engine's pages stay pinned: `HeldPins`).
                let _ = self.fail(eng, id, ECANCELED, 0);
                drop(self.reqs.remove(i));
            } else {
                i += 1;
            }
        }
    }
}

impl<R: Pinned> DmaState<R> {
    /// Lends the engine to a user-space manager whose register mapping is in `space`: only while
    /// no request exists (`EBUSY`), never once the engine is dead (`EIO`) or the card unbound
    /// (`ENODEV`). The engine is halted first. While it is lent, a mapping through the same open
    /// file in the same process (VEOS maps the system-common registers twice) joins the grant;
    /// any other gets `EBUSY`.
    pub(crate) fn lend(&mut self, eng: &impl Engine, space: MappedSpace) -> Result<Loan> {
        if eng.removed() {
            return Err(ENODEV);
        }
        if let (EngineState::Lent(grant), Some(b)) = (self.engine, self.borrower.as_mut()) {
            if !b.space.same_user(&space) {
                return Err(EBUSY);
            }
            // At most one per VMA of the process: cannot overflow.
            b.maps += 1;
            return Ok(Loan {
                grant,
                first: false,
            });
        }
        self.engine.accept_request()?;
        if !self.reqs.is_empty() || self.ring.inflight() > 0 {
            return Err(EBUSY);
        }
        if self.halt(eng) == Reach::MayRun {
            return Err(EIO);
        }
        let grant = self.next_grant;
        self.engine.lend(grant)?;
        self.next_grant += 1;
        self.borrower = Some(Borrower { space, maps: 1 });
        Ok(Loan { grant, first: true })
    }

    /// A register mapping of grant `grant` went away (or its mmap failed): when it was the
    /// grant's last, the engine returns to the kernel ([`DmaState::take_back`]). Nothing if the
    /// kernel took the engine back already: a stale mapping's end does not end a newer grant.
    pub(crate) fn unmapped(&mut self, eng: &impl Engine, grant: u64) {
        if !self.engine.lent_to(Some(grant)) {
            return;
        }
        if let Some(b) = self.borrower.as_mut() {
            b.maps = b.maps.saturating_sub(1);
            if b.maps > 0 {
                return;
            }
        }
        self.take_back(eng, Some(grant));
    }

    /// Takes the engine back from user space: from grant `grant` only (its last mapping went
    /// away), or from whoever holds it (`None`), then zapping every mapping sharing the grant so
    /// that a stale one faults instead of writing descriptors. The engine is halted, its
    /// descriptors cleared and the ring restarted from the read pointer user space left; if it
    /// will not halt it is dead and the kernel never uses it. Returns whether the engine was
    /// lent.
    pub(crate) fn take_back(&mut self, eng: &impl Engine, grant: Option<u64>) -> bool {
        if !self.engine.lent_to(grant) {
            return false;
        }
        if let Some(b) = self.borrower.take() {
            if grant.is_none() {
                // One address space for all of them: they map the same file.
                b.space.zap();
            }
        }
        // No request exists while user space owns the engine: no slot is in use.
        if self.halt(eng) == Reach::Stopped {
            let r = eng.clear_descriptors();
            self.note(eng, "clearing the descriptors user space left", r);
            let readptr = eng
                .ctl1()
                .map_or(0, |c| (c & hw::dmactl::READPTR_MASK) as usize);
            self.reset_ring(readptr);
            let r = eng.set_readptr(readptr);
            self.note(eng, "writing the read pointer", r);
        }
        true
    }
}

/// Drops the consumed front of a request's pending queue once it is long, so that a long
/// transfer keeps memory for its window, not for everything it has posted.
fn compact<R: Pinned>(r: &mut Request<R>) {
    drop_consumed(&mut r.pending, &mut r.pending_head);
}

/// A queue consumed from the front: `v[*head..]` is live. Empties it when all is consumed, and
/// drops the consumed front once it is long and at least half the queue.
fn drop_consumed<T>(v: &mut KVVec<T>, head: &mut usize) {
    if *head == v.len() {
        v.clear();
        *head = 0;
    } else if *head >= COMPACT_AFTER && *head * 2 >= v.len() {
        let mut seen = 0;
        let consumed = *head;
        v.retain(|_| {
            seen += 1;
            seen > consumed
        });
        *head = 0;
    }
}

#[kunit_tests(ve_drv_dma_manager)]
mod tests {
    //! The manager against a fake engine: what it posts, halts and releases, in which order.

    use super::*;
    use core::cell::{
        Cell,
        Ref,
        RefCell,
        RefMut, //
    };

    /// What the fake saw, in order.
    #[derive(Copy, Clone, Debug, PartialEq, Eq)]
    enum Event {
        /// A halt was asked for.
        Halt,
        /// The engine reported HALT.
        Halted,
        /// Block `.0` was unpinned.
        Released(u32),
        /// Block `.0` is kept pinned for good.
        Kept(u32),
        /// The manager reported a device error.
        Reported,
    }

    /// An engine that runs nothing by itself: the test moves its read pointer.
    struct Fake {
        words: RefCell<[[u64; 4]; ring::NUM]>,
        ctl1: Cell<u64>,
        permit: Cell<bool>,
        /// Whether a halt succeeds.
        halts: Cell<bool>,
        /// Whether neutralising a slot and writing the read pointer fail (`EIO`).
        writes_fail: Cell<bool>,
        log: RefCell<KVec<Event>>,
    }

    impl Fake {
        fn new() -> Self {
            Self {
                words: RefCell::new([[0; 4]; ring::NUM]),
                ctl1: Cell::new(0),
                permit: Cell::new(false),
                halts: Cell::new(true),
                writes_fail: Cell::new(false),
                log: RefCell::new(KVec::new()),
            }
        }

        // The fake's cells are borrowed through `try_borrow*` and `expect` (never across a
        // call, so it cannot fail): objtool knows `unwrap_failed` as a function that does not
        // return, not RefCell's own panic helpers, and warned of every function that inlined
        // a `borrow` ("falls through to next function").

        /// The ring's words.
        fn words(&self) -> Ref<'_, [[u64; 4]; ring::NUM]> {
            self.words
                .try_borrow()
                .expect("the fake's ring is borrowed mutably")
        }

        /// The ring's words, to change.
        fn words_mut(&self) -> RefMut<'_, [[u64; 4]; ring::NUM]> {
            self.words
                .try_borrow_mut()
                .expect("the fake's ring is borrowed")
        }

        fn log(&self, e: Event) {
            let _ = self
                .log
                .try_borrow_mut()
                .expect("the fake's log is borrowed")
                .push(e, GFP_KERNEL);
        }

        fn events(&self) -> KVec<Event> {
            let mut v = KVec::new();
            for e in self
                .log
                .try_borrow()
                .expect("the fake's log is borrowed mutably")
                .iter()
            {
                let _ = v.push(*e, GFP_KERNEL);
            }
            v
        }

        /// The engine completes the next `n` descriptors.
        fn complete(&self, n: usize) {
            let rp = (self.ctl1.get() & hw::dmactl::READPTR_MASK) as usize;
            for k in 0..n {
                self.words_mut()[(rp + k) % ring::NUM][0] = hw::desc::STATUS_COMPLETED;
            }
            self.ctl1.set(((rp + n) % ring::NUM) as u64);
        }

        /// Descriptors the engine would still run (PREPARED).
        fn live(&self) -> usize {
            self.words()
                .iter()
                .filter(|w| hw::desc::status(w[0]) == hw::desc::STATUS_PREPARED)
                .count()
        }
    }

    impl Engine for Fake {
        fn post(&self, slot: usize, words: [u64; 4]) -> Result {
            self.words_mut()[slot] = words;
            Ok(())
        }

        fn neutralise(&self, slot: usize) -> Result {
            if self.writes_fail.get() {
                return Err(EIO);
            }
            self.words_mut()[slot][0] = 0;
            Ok(())
        }

        fn clear_descriptors(&self) -> Result {
            *self.words_mut() = [[0; 4]; ring::NUM];
            Ok(())
        }

        fn ctl0(&self) -> Result<u64> {
            Ok(if self.permit.get() {
                hw::dmactl::PERMIT
            } else {
                hw::dmactl::STATUS_HALT
            })
        }

        fn ctl1(&self) -> Result<u64> {
            Ok(self.ctl1.get())
        }

        fn word0(&self, slot: usize) -> Result<u64> {
            Ok(self.words()[slot][0])
        }

        fn set_readptr(&self, slot: usize) -> Result {
            if self.writes_fail.get() {
                return Err(EIO);
            }
            self.ctl1.set(slot as u64);
            Ok(())
        }

        fn start(&self) -> Result {
            self.permit.set(true);
            Ok(())
        }

        fn halt(&self) -> HaltOutcome {
            self.log(Event::Halt);
            if !self.halts.get() {
                return HaltOutcome::TimedOut;
            }
            self.permit.set(false);
            self.log(Event::Halted);
            HaltOutcome::Halted
        }

        fn removed(&self) -> bool {
            false
        }

        fn report(&self, _what: core::fmt::Arguments<'_>) {
            self.log(Event::Reported);
        }
    }

    /// A pinned block that logs what becomes of it.
    struct Run<'a> {
        id: u32,
        fake: &'a Fake,
        /// Pages it holds.
        pages: usize,
    }

    impl Drop for Run<'_> {
        fn drop(&mut self) {
            self.fake.log(Event::Released(self.id));
        }
    }

    impl Pinned for Run<'_> {
        fn npages(&self) -> usize {
            self.pages
        }

        fn keep_pinned_forever(self) {
            self.fake.log(Event::Kept(self.id));
            core::mem::forget(self);
        }
    }

    /// Hands over `pieces` one-page pieces (VE -> VH, VE side a page apart so none joins) and
    /// `blocks` (`(until, id)`) of one page each, then fills the ring.
    fn hand_over<'a>(
        dma: &mut DmaState<Run<'a>>,
        fake: &'a Fake,
        id: u64,
        first: u64,
        pieces: u64,
        blocks: &[(u64, u32)],
    ) -> Result {
        let mut sized = KVec::new();
        for &(until, bid) in blocks {
            sized.push((until, bid, 1), GFP_KERNEL)?;
        }
        hand_over_sized(dma, fake, id, first, pieces, &sized)
    }

    /// [`hand_over`] with blocks of `(until, id, pages)`.
    fn hand_over_sized<'a>(
        dma: &mut DmaState<Run<'a>>,
        fake: &'a Fake,
        id: u64,
        first: u64,
        pieces: u64,
        blocks: &[(u64, u32, usize)],
    ) -> Result {
        let mut p = KVVec::new();
        for k in first..first + pieces {
            p.push(
                Piece::new(
                    0x1000_0000 + k * 4096,
                    0x2000_0000 + k * 8192,
                    4096,
                    Route::host_ve(false),
                )?,
                GFP_KERNEL,
            )?;
        }
        let mut b = KVVec::new();
        for &(until, bid, pages) in blocks {
            b.push(
                HeldBlock {
                    until,
                    run: Run {
                        id: bid,
                        fake,
                        pages,
                    },
                },
                GFP_KERNEL,
            )?;
        }
        if !dma.add(id, &mut p, &mut b, true)? {
            return Err(EINVAL);
        }
        dma.fill(fake)
    }

    /// Whether the fake saw exactly `want` (asserted by the tests: KUnit's assertions work in
    /// test functions only).
    fn saw(fake: &Fake, want: &[Event]) -> bool {
        &fake.events()[..] == want
    }

    /// The review's scenario: one block cut into 200 pieces, 127 in the ring, the rest pending;
    /// the request is cancelled. The block goes only after the engine reported HALT.
    #[test]
    fn block_across_the_ring_boundary_goes_after_the_halt() -> Result {
        let fake = Fake::new();
        let mut dma = DmaState::new();
        dma.reset(0)?;
        let id = dma.open(1, Route::host_ve(false))?;
        hand_over(&mut dma, &fake, id, 0, 200, &[(200, 1)])?;
        assert_eq!(fake.live(), ring::MAX_IN_FLIGHT);
        assert!(fake.permit.get());
        assert!(saw(&fake, &[]));
        dma.fail(&fake, id, ECANCELED, 0)?;
        assert!(saw(
            &fake,
            &[Event::Halt, Event::Halted, Event::Released(1)]
        ));
        // Every slot of the request neutralised.
        assert_eq!(fake.live(), 0);
        let c = dma.collect(1, id)?.ok_or(EINVAL)?;
        assert_eq!(c.result, Err(ECANCELED));
        assert_eq!(c.out.descs, ring::MAX_IN_FLIGHT as u32);
        Ok(())
    }

    /// An engine that will not halt is dead: nothing its ring can reach is released, ever, and
    /// no request opens.
    #[test]
    fn a_failed_halt_keeps_the_pages_and_kills_the_engine() -> Result {
        let fake = Fake::new();
        fake.halts.set(false);
        let mut dma = DmaState::new();
        dma.reset(0)?;
        let id = dma.open(1, Route::host_ve(false))?;
        hand_over(&mut dma, &fake, id, 0, 200, &[(100, 1), (200, 2)])?;
        assert_eq!(dma.fail(&fake, id, ECANCELED, 0), Err(EIO));
        assert!(saw(&fake, &[Event::Halt, Event::Reported]));
        assert!(dma.engine().is_dead());
        assert_eq!(dma.open(2, Route::host_ve(false)), Err(EIO));
        // Collected or not, the request's blocks are never unpinned.
        assert!(dma.collect(1, id)?.is_some());
        assert!(saw(
            &fake,
            &[Event::Halt, Event::Reported, Event::Kept(1), Event::Kept(2)]
        ));
        Ok(())
    }

    /// A register write of the recovery path that fails is reported through the device, once
    /// (rate-limited), and the recovery goes on.
    #[test]
    fn a_failed_write_while_evicting_is_reported_once() -> Result {
        let fake = Fake::new();
        let mut dma = DmaState::new();
        dma.reset(0)?;
        let id = dma.open(1, Route::host_ve(false))?;
        hand_over(&mut dma, &fake, id, 0, 4, &[(4, 1)])?;
        fake.writes_fail.set(true);
        dma.fail(&fake, id, ECANCELED, 0)?;
        assert!(saw(
            &fake,
            &[
                Event::Halt,
                Event::Halted,
                Event::Reported,
                Event::Released(1)
            ]
        ));
        Ok(())
    }

    /// Blocks go as their last piece completes, in order, and not before.
    #[test]
    fn completion_releases_each_block_after_its_last_piece() -> Result {
        let fake = Fake::new();
        let mut dma = DmaState::new();
        dma.reset(0)?;
        let id = dma.open(1, Route::host_ve(false))?;
        hand_over(&mut dma, &fake, id, 0, 4, &[(2, 1), (4, 2)])?;
        fake.complete(1);
        dma.service(&fake)?;
        assert!(saw(&fake, &[]));
        fake.complete(1);
        dma.service(&fake)?;
        assert!(saw(&fake, &[Event::Released(1)]));
        fake.complete(2);
        dma.service(&fake)?;
        assert!(saw(&fake, &[Event::Released(1), Event::Released(2)]));
        let c = dma.collect(1, id)?.ok_or(EINVAL)?;
        assert_eq!(c.result, Ok(()));
        assert_eq!(c.out.bytes_done, 4 * 4096);
        Ok(())
    }

    /// The window counts a block's pages until the block is released, not only its pieces in
    /// flight: a block of 8 pages cut into two one-page pieces still counts 8 pages after its
    /// first piece completed, and nothing once its last did.
    #[test]
    fn the_window_counts_a_block_until_it_is_released() -> Result {
        let fake = Fake::new();
        let mut dma = DmaState::new();
        dma.reset(0)?;
        let id = dma.open(1, Route::host_ve(false))?;
        hand_over_sized(&mut dma, &fake, id, 0, 2, &[(2, 1, 8)])?;
        assert_eq!(dma.in_window(id), 8 * 4096);
        fake.complete(1);
        dma.service(&fake)?;
        assert!(saw(&fake, &[]));
        assert_eq!(dma.in_window(id), 8 * 4096);
        fake.complete(1);
        dma.service(&fake)?;
        assert!(saw(&fake, &[Event::Released(1)]));
        assert_eq!(dma.in_window(id), 0);
        Ok(())
    }

    /// An exception on one request's descriptor fails it alone: after the halt its slots leave
    /// the ring, the other request's descriptors move up to the read pointer, the exception is
    /// cleared and the engine restarted; the other request completes.
    #[test]
    fn an_exception_fails_only_its_request() -> Result {
        let fake = Fake::new();
        let mut dma = DmaState::new();
        dma.reset(0)?;
        let a = dma.open(1, Route::host_ve(false))?;
        hand_over(&mut dma, &fake, a, 0, 3, &[(3, 1)])?;
        let b = dma.open(1, Route::host_ve(false))?;
        hand_over(&mut dma, &fake, b, 3, 3, &[(3, 2)])?;
        let b_first = fake.words()[3];
        // A's first descriptor completes, its second raises an exception.
        fake.complete(1);
        fake.ctl1.set(fake.ctl1.get() | hw::dmactl::EXCEPTION);
        dma.service(&fake)?;
        assert!(saw(
            &fake,
            &[Event::Halt, Event::Halted, Event::Released(1)]
        ));
        // Read pointer written, exception cleared.
        assert_eq!(fake.ctl1.get(), 1);
        // B's first descriptor moved up.
        assert_eq!(fake.words()[1], b_first);
        // B's three descriptors, nothing else.
        assert_eq!(fake.live(), 3);
        // Restarted for B.
        assert!(fake.permit.get());
        let c = dma.collect(1, a)?.ok_or(EINVAL)?;
        assert_eq!(c.result, Err(EIO));
        assert_eq!(c.out.bytes_done, 4096);
        fake.complete(3);
        dma.service(&fake)?;
        assert!(saw(
            &fake,
            &[
                Event::Halt,
                Event::Halted,
                Event::Released(1),
                Event::Released(2)
            ]
        ));
        assert_eq!(dma.collect(1, b)?.ok_or(EINVAL)?.result, Ok(()));
        Ok(())
    }

    /// A request that never reached the ring is stopped without a halt: nothing can reach its
    /// pages.
    #[test]
    fn a_request_never_posted_goes_without_a_halt() -> Result {
        let fake = Fake::new();
        let mut dma = DmaState::new();
        dma.reset(0)?;
        let a = dma.open(1, Route::host_ve(false))?;
        hand_over(&mut dma, &fake, a, 0, 200, &[(200, 1)])?;
        let b = dma.open(1, Route::host_ve(false))?;
        hand_over(&mut dma, &fake, b, 200, 4, &[(4, 2)])?;
        dma.fail(&fake, b, ECANCELED, 0)?;
        assert!(saw(&fake, &[Event::Released(2)]));
        dma.fail(&fake, a, ECANCELED, 0)?;
        assert!(saw(
            &fake,
            &[
                Event::Released(2),
                Event::Halt,
                Event::Halted,
                Event::Released(1)
            ]
        ));
        Ok(())
    }

    /// A card reset fails every request (its pages released after the halt), refuses new ones
    /// while it runs, and hands back an empty ring at the engine's read pointer; the engine then
    /// works again. An engine that does not read HALT out of reset is dead.
    #[test]
    fn a_card_reset_fails_requests_and_hands_back_an_empty_ring() -> Result {
        let fake = Fake::new();
        let mut dma = DmaState::new();
        dma.reset(0)?;
        let a = dma.open(1, Route::host_ve(false))?;
        hand_over(&mut dma, &fake, a, 0, 200, &[(100, 1), (200, 2)])?;
        fake.complete(5);
        dma.begin_reset(&fake)?;
        assert!(saw(
            &fake,
            &[
                Event::Halt,
                Event::Halted,
                Event::Released(1),
                Event::Released(2)
            ]
        ));
        assert_eq!(fake.live(), 0);
        assert_eq!(dma.engine(), EngineState::Resetting);
        assert_eq!(dma.open(1, Route::host_ve(false)), Err(EBUSY));
        let c = dma.collect(1, a)?.ok_or(EINVAL)?;
        assert_eq!(c.result, Err(EIO));
        assert_eq!(c.out.bytes_done, 5 * 4096);
        // Out of reset: halted, read pointer 0.
        fake.ctl1.set(0);
        dma.end_reset(&fake)?;
        assert_eq!(dma.engine(), EngineState::Halted);
        let b = dma.open(1, Route::host_ve(false))?;
        hand_over(&mut dma, &fake, b, 0, 2, &[(2, 3)])?;
        fake.complete(2);
        dma.service(&fake)?;
        assert_eq!(dma.collect(1, b)?.ok_or(EINVAL)?.result, Ok(()));
        // A second reset whose engine comes out running: dead, nothing opens.
        dma.begin_reset(&fake)?;
        fake.permit.set(true);
        assert_eq!(dma.end_reset(&fake), Err(EIO));
        assert!(dma.engine().is_dead());
        assert_eq!(dma.open(1, Route::host_ve(false)), Err(EIO));
        assert_eq!(dma.begin_reset(&fake), Err(EIO));
        Ok(())
    }
}
