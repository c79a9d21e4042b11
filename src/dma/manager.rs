// SPDX-License-Identifier: GPL-2.0

//! The card's privileged DMA manager: one ring shared by every request in flight.
//!
//! A request is a transfer submitted by `VE_DMA_IOC_SUBMIT` (or `VE_DMA_IOC_XFER`). Its submitter
//! pins the VH buffer and hands [`Piece`]s (one descriptor each) to the manager; the manager posts
//! pending pieces of all requests in submission order while the ring has room, reaps what the
//! engine finished (trusting only the read pointer and the exception bit, never the number of
//! interrupts), unpins each run as soon as the descriptor that ends it completes, and refills the
//! ring. It runs under `Card::dma` from the threaded interrupt handler, from submitters and from
//! waiters (which also cover lost or coalesced interrupts by looking every wait slice).
//!
//! Failing one request (an exception on its descriptor, `CANCEL`, a signal, a stall, the close of
//! its file) halts the engine, takes that request's descriptors out of the ring by packing the
//! others towards the read pointer ([`Ring::retain`]), neutralises the freed slots, writes the
//! read pointer (which clears an exception) and restarts the engine: the other requests go on.
//! Pages are unpinned only once the engine is halted or past them; if it will not halt, they
//! stay pinned for good rather than be reused under a running DMA.

use kernel::prelude::*;

use crate::{
    card::Card,
    dma::ring::{
        self,
        Ring, //
    },
    hw::{
        self,
        desc::{
            AddrSpace,
            Desc, //
        },
    },
    sys::{
        gup::PinnedRun,
        MappedSpace, //
    },
    uapi, //
};

/// Ring slots between completion interrupts: the ring is refilled from the interrupt thread well
/// before it runs dry.
const IRQ_EVERY: usize = 32;
/// Pending pieces consumed from the front of a request's queue before the queue is compacted.
const COMPACT_AFTER: usize = 1024;

/// One descriptor's worth of a request.
pub(crate) struct Piece {
    /// VH physical address (VHSAA).
    pub(crate) phys: u64,
    /// VE physical address (VEMAA).
    pub(crate) ve: u64,
    /// Bytes; at most [`hw::desc::LEN_MAX`].
    pub(crate) len: u64,
    /// The pinned run this descriptor is the last user of: unpinned when it completes.
    pub(crate) run: Option<PinnedRun>,
}

/// What a request did, reported when it is collected.
#[derive(Copy, Clone, Default)]
pub(crate) struct Outcome {
    pub(crate) bytes_done: u64,
    pub(crate) descs: u32,
    pub(crate) exception: u32,
}

/// One request.
struct Request {
    id: u64,
    /// The open file that submitted it.
    owner: u64,
    to_ve: bool,
    /// Pinned pieces not yet posted: `pending[pending_head..]`, oldest first.
    pending: KVVec<Piece>,
    pending_head: usize,
    /// The submitter may still hand over pieces.
    submitting: bool,
    /// Slots of this request in the ring.
    posted: usize,
    /// Bytes pinned and not completed (pending and posted).
    in_window: u64,
    out: Outcome,
    /// The result, once finished.
    result: Option<Result>,
}

impl Request {
    fn pending_len(&self) -> usize {
        self.pending.len() - self.pending_head
    }

    /// Marks the request done if nothing of it is left.
    fn settle(&mut self) {
        if self.result.is_none() && !self.submitting && self.pending_len() == 0 && self.posted == 0
        {
            self.result = Some(Ok(()));
        }
    }

    /// Unpins what was never posted.
    fn drop_pending(&mut self) {
        for p in &self.pending[self.pending_head..] {
            self.in_window -= p.len;
        }
        self.pending.clear();
        self.pending_head = 0;
    }
}

/// A posted ring slot.
struct Slot {
    /// The request it belongs to.
    id: u64,
    /// The descriptor as posted (to move it when the ring is packed).
    words: [u64; 4],
    len: u64,
    run: Option<PinnedRun>,
}

/// The engine's state, owned by whoever holds `Card::dma`.
///
/// # Invariants
///
/// `slots[i]` is `Some` exactly for the slots `i` in flight in `ring`; every request's `posted`
/// counts its slots there.
pub(crate) struct DmaState {
    ring: Ring,
    slots: KVec<Option<Slot>>,
    /// Requests, in submission order.
    reqs: KVec<Request>,
    next_id: u64,
    /// Descriptors completed since probe: waiters watch it for progress.
    completed: u64,
    /// The engine is lent to a user-space manager (NEC's register mapping), and which grant.
    user: Option<UserOwner>,
    next_grant: u64,
}

/// A user-space manager drives the engine through a register mapping.
struct UserOwner {
    /// Generation of the grant: a stale grant's end does not end a newer one.
    grant: u64,
    /// Where the mapping is, to zap it when the kernel takes the engine back.
    space: MappedSpace,
}

/// A finished request, taken out of the table.
pub(crate) struct Collected {
    pub(crate) id: u64,
    pub(crate) out: Outcome,
    pub(crate) result: Result,
}

impl DmaState {
    /// An empty manager; [`DmaState::reset`] must run before the first request.
    pub(crate) const fn new() -> Self {
        Self {
            ring: Ring::new(0),
            slots: KVec::new(),
            reqs: KVec::new(),
            next_id: 1,
            completed: 0,
            user: None,
            next_grant: 1,
        }
    }

    /// At probe, with the engine halted and its descriptors cleared: the ring starts at `readptr`.
    pub(crate) fn reset(&mut self, readptr: usize) -> Result {
        self.ring.reset(readptr);
        self.slots.clear();
        for _ in 0..ring::NUM {
            self.slots.push(None, GFP_KERNEL)?;
        }
        Ok(())
    }

    /// Descriptors completed so far.
    pub(crate) fn progress(&self) -> u64 {
        self.completed
    }

    fn index(&self, id: u64) -> Option<usize> {
        self.reqs.iter().position(|r| r.id == id)
    }

    /// Opens a request for `owner`. `EAGAIN` when the owner has [`uapi::VE_DMA_MAX_REQUESTS`]
    /// not yet collected.
    pub(crate) fn open(&mut self, owner: u64, to_ve: bool) -> Result<u64> {
        if self.user.is_some() {
            return Err(EBUSY);
        }
        let mine = self.reqs.iter().filter(|r| r.owner == owner).count();
        if mine >= uapi::VE_DMA_MAX_REQUESTS as usize {
            return Err(EAGAIN);
        }
        let id = self.next_id;
        self.reqs.push(
            Request {
                id,
                owner,
                to_ve,
                pending: KVVec::new(),
                pending_head: 0,
                submitting: true,
                posted: 0,
                in_window: 0,
                out: Outcome::default(),
                result: None,
            },
            GFP_KERNEL,
        )?;
        self.next_id += 1;
        Ok(id)
    }

    /// Whether request `id` is still running (`None` if it is unknown: collected already).
    pub(crate) fn running(&self, id: u64) -> Option<bool> {
        self.index(id).map(|i| self.reqs[i].result.is_none())
    }

    /// Bytes request `id` holds pinned and not completed.
    pub(crate) fn in_window(&self, id: u64) -> u64 {
        self.index(id).map_or(0, |i| self.reqs[i].in_window)
    }

    /// The submitter hands over `pieces` (emptied); `last` when it has nothing more. Returns
    /// whether the request is still running; if not, the pieces are dropped (unpinned).
    pub(crate) fn add(&mut self, id: u64, pieces: &mut KVVec<Piece>, last: bool) -> Result<bool> {
        let Some(i) = self.index(id) else {
            pieces.clear();
            return Ok(false);
        };
        let r = &mut self.reqs[i];
        if r.result.is_some() {
            pieces.clear();
            return Ok(false);
        }
        compact(r);
        r.pending.reserve(pieces.len(), GFP_KERNEL)?;
        for p in pieces.drain_all() {
            r.in_window += p.len;
            // Capacity is reserved.
            let _ = r.pending.push_within_capacity(p);
        }
        if last {
            r.submitting = false;
            r.settle();
        }
        Ok(true)
    }

    /// Posts pending pieces while the ring has room, oldest request first, and starts the engine
    /// if anything was posted.
    pub(crate) fn fill(&mut self, card: &Card) -> Result {
        let mut waiting: usize = self
            .reqs
            .iter()
            .filter(|r| r.result.is_none())
            .map(|r| r.pending_len())
            .sum();
        let mut posted = false;
        for r in self.reqs.iter_mut() {
            while r.result.is_none() && r.pending_len() > 0 && self.ring.room() > 0 {
                let slot = self.ring.head();
                let final_piece = !r.submitting && r.pending_len() == 1;
                let p = &mut r.pending[r.pending_head];
                waiting -= 1;
                let (src_space, src, dst_space, dst) = if r.to_ve {
                    (AddrSpace::Vhsaa, p.phys, AddrSpace::Vemaa, p.ve)
                } else {
                    (AddrSpace::Vemaa, p.ve, AddrSpace::Vhsaa, p.phys)
                };
                // An interrupt where the driver must hear of progress: every IRQ_EVERY slots,
                // so the ring is refilled before it runs dry, and on the last one posted now.
                let mut control = 0;
                if waiting == 0 || self.ring.room() == 1 || slot % IRQ_EVERY == IRQ_EVERY - 1 {
                    control |= hw::desc::CTL_INTR_COMPLETION;
                }
                if final_piece {
                    control |= hw::desc::CTL_SYNC | hw::desc::CTL_INTR_COMPLETION;
                }
                let words = Desc {
                    src_space,
                    src,
                    dst_space,
                    dst,
                    len: p.len as u32,
                    control,
                }
                .encode()
                .map_err(|_| EINVAL)?;
                card.with_regs(|regs| regs.pdma_post(slot, words))?;
                let _ = self.ring.post();
                self.slots[slot] = Some(Slot {
                    id: r.id,
                    words,
                    len: p.len,
                    run: p.run.take(),
                });
                r.pending_head += 1;
                r.posted += 1;
                r.out.descs += 1;
                posted = true;
            }
            compact(r);
        }
        if posted {
            card.start_pdma()?;
        }
        Ok(())
    }

    /// Takes the slots the engine finished, up to its read pointer: counts them to their
    /// requests and unpins their runs. Returns DMACTL word 1 as read.
    fn take_completed(&mut self, card: &Card) -> Result<u64> {
        let ctl1 = card.with_regs(|r| r.pdma_ctl1())?;
        let readptr = (ctl1 & hw::dmactl::READPTR_MASK) as usize;
        let tail = self.ring.tail();
        let n = self.ring.complete_to(readptr).ok_or(EIO)?;
        for k in 0..n {
            if let Some(s) = self.slots[(tail + k) % ring::NUM].take() {
                self.retire(s, true);
            }
        }
        self.completed += n as u64;
        Ok(ctl1)
    }

    /// A slot leaves the ring: `done` if the engine completed it. Its run is unpinned here.
    fn retire(&mut self, s: Slot, done: bool) {
        if let Some(i) = self.index(s.id) {
            let r = &mut self.reqs[i];
            r.posted -= 1;
            r.in_window -= s.len;
            if done {
                r.out.bytes_done += s.len;
            }
            r.settle();
        }
        drop(s.run);
    }

    /// Reaps completions, fails the request whose descriptor raised an exception, and refills
    /// the ring.
    pub(crate) fn service(&mut self, card: &Card) -> Result {
        if self.user.is_some() {
            // User space owns the engine: its interrupts are for WAIT_INTR, not for us.
            return Ok(());
        }
        let ctl1 = match self.take_completed(card) {
            Ok(c) => c,
            Err(e) if e == EIO => {
                // A read pointer the driver never gave the engine.
                pr_err!("privileged DMA read pointer outside the posted slots\n");
                self.fail_all(card, EIO, true);
                return Err(EIO);
            }
            Err(e) => return Err(e),
        };
        if ctl1 & hw::dmactl::EXCEPTION != 0 {
            let at = (ctl1 & hw::dmactl::READPTR_MASK) as usize;
            let code = card.with_regs(|r| r.pdma_word0(at)).map_or(0, |w0| hw::desc::exception(w0));
            match self.slots[at].as_ref().map(|s| s.id) {
                Some(id) => {
                    let _ = self.fail(card, id, EIO, code.into());
                }
                None => self.fail_all(card, EIO, true),
            }
        }
        self.fill(card)
    }

    /// Stops request `id` with `err` (and the engine's exception code): its unposted pieces are
    /// dropped, its descriptors taken out of the ring while the engine is halted, and the engine
    /// restarted for the others. Nothing if it already finished. `EIO` if the engine would not
    /// halt (the request's pages then stay pinned for good).
    pub(crate) fn fail(&mut self, card: &Card, id: u64, err: Error, exception: u32) -> Result {
        let Some(i) = self.index(id) else {
            return Ok(());
        };
        let r = &mut self.reqs[i];
        if r.result.is_some() {
            return Ok(());
        }
        r.result = Some(Err(err));
        r.out.exception = exception;
        r.drop_pending();
        if r.posted == 0 {
            return Ok(());
        }
        if card.halt_pdma().is_err() {
            self.abandon_slots(Some(id));
            return Err(EIO);
        }
        // Whatever finished before the halt counts.
        let ctl1 = match self.take_completed(card) {
            Ok(c) => c,
            Err(_) => {
                self.fail_all(card, EIO, true);
                return Ok(());
            }
        };
        let readptr = (ctl1 & hw::dmactl::READPTR_MASK) as usize;
        let slots = &mut self.slots;
        let reqs = &mut self.reqs;
        let old_head = self.ring.retain(|from, to| {
            let keep = slots[from].as_ref().is_some_and(|s| s.id != id);
            if !keep {
                if let Some(s) = slots[from].take() {
                    if let Some(r) = reqs.iter_mut().find(|r| r.id == s.id) {
                        r.posted -= 1;
                        r.in_window -= s.len;
                    }
                    // The engine is halted and this descriptor is about to be overwritten or
                    // neutralised: the run may go.
                    drop(s.run);
                }
            } else if from != to {
                let s = slots[from].take();
                if let Some(s) = &s {
                    let _ = card.with_regs(|regs| regs.pdma_post(to, s.words));
                }
                slots[to] = s;
            }
            keep
        });
        let mut slot = self.ring.head();
        while slot != old_head {
            let _ = card.with_regs(|regs| regs.pdma_neutralise(slot));
            slot = (slot + 1) % ring::NUM;
        }
        // Clears the exception, if that is why the engine stopped.
        let _ = card.with_regs(|regs| regs.pdma_set_readptr(readptr));
        if self.ring.inflight() > 0 {
            let _ = card.start_pdma();
        }
        Ok(())
    }

    /// Fails every running request with `err`: halts the engine, unpins everything, empties the
    /// ring; restarts the engine if `restart` (not on removal).
    pub(crate) fn fail_all(&mut self, card: &Card, err: Error, restart: bool) {
        for r in self.reqs.iter_mut() {
            if r.result.is_none() {
                r.result = Some(Err(err));
            }
            r.drop_pending();
        }
        if self.ring.inflight() == 0 {
            return;
        }
        if card.halt_pdma().is_err() {
            self.abandon_slots(None);
            return;
        }
        let readptr = card
            .with_regs(|r| r.pdma_ctl1())
            .map_or(self.ring.head(), |c| (c & hw::dmactl::READPTR_MASK) as usize);
        let head = self.ring.head();
        let mut slot = self.ring.tail();
        while slot != head {
            if let Some(s) = self.slots[slot].take() {
                let done = (slot + ring::NUM - self.ring.tail()) % ring::NUM
                    < (readptr + ring::NUM - self.ring.tail()) % ring::NUM;
                self.retire(s, done);
            }
            let _ = card.with_regs(|r| r.pdma_neutralise(slot));
            slot = (slot + 1) % ring::NUM;
        }
        self.ring.reset(head);
        let _ = card.with_regs(|r| r.pdma_set_readptr(head));
        if restart {
            let _ = card.start_pdma();
        }
    }

    /// The engine would not halt: it may still reach the pinned pages of these slots (of request
    /// `id`, or all). Keep them pinned for good rather than let the device write into freed
    /// memory.
    fn abandon_slots(&mut self, id: Option<u64>) {
        let mut kept = 0;
        for s in self.slots.iter_mut().flatten() {
            if id.is_none_or(|id| s.id == id) {
                if let Some(run) = s.run.take() {
                    kept += run.npages();
                    core::mem::forget(run);
                }
            }
        }
        if kept > 0 {
            pr_err!("privileged DMA engine did not halt; keeping {kept} pages pinned\n");
        }
    }

    /// Takes out a finished request of `owner`: `id`, or any (the oldest) if `id == 0`.
    /// `Ok(None)` if it is still running; `ENOENT` if there is no such request.
    pub(crate) fn collect(&mut self, owner: u64, id: u64) -> Result<Option<Collected>> {
        let mine = |r: &Request| r.owner == owner && (id == 0 || r.id == id);
        if !self.reqs.iter().any(mine) {
            return Err(ENOENT);
        }
        let Some(i) = self
            .reqs
            .iter()
            .position(|r| mine(r) && r.result.is_some())
        else {
            return Ok(None);
        };
        let r = self.reqs.remove(i).map_err(|_| EINVAL)?;
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
    pub(crate) fn release_owner(&mut self, card: &Card, owner: u64) {
        let mut i = 0;
        while let Some(r) = self.reqs.get(i) {
            if r.owner == owner {
                let id = r.id;
                let _ = self.fail(card, id, ECANCELED, 0);
                let _ = self.reqs.remove(i);
            } else {
                i += 1;
            }
        }
    }
}

impl DmaState {
    /// Lends the engine to a user-space manager whose register mapping is in `space`: only while
    /// no request exists (`EBUSY`), and only to one mapping at a time (`EBUSY`). The engine is
    /// halted first. Returns the grant's generation.
    pub(crate) fn lend(&mut self, card: &Card, space: MappedSpace) -> Result<u64> {
        if self.user.is_some() || !self.reqs.is_empty() {
            return Err(EBUSY);
        }
        card.halt_pdma()?;
        let grant = self.next_grant;
        self.next_grant += 1;
        self.user = Some(UserOwner { grant, space });
        Ok(grant)
    }

    /// Takes the engine back from user space: from grant `grant` only (its mapping went away), or
    /// from whoever holds it (`None`), then zapping the mapping so that a stale one faults
    /// instead of writing descriptors. The engine is halted, the ring cleared and restarted from
    /// the read pointer user space left. Returns whether the engine was lent.
    pub(crate) fn take_back(&mut self, card: &Card, grant: Option<u64>) -> bool {
        let Some(u) = self.user.as_ref() else {
            return false;
        };
        if grant.is_some_and(|g| g != u.grant) {
            return false;
        }
        if grant.is_none() {
            u.space.zap();
        }
        self.user = None;
        if card.is_removed() {
            // Unbind halted the engine; its registers are gone.
            return true;
        }
        if let Err(e) = card.halt_pdma() {
            pr_err!("privileged DMA engine did not halt when taken back from user space: {e:?}\n");
        }
        let _ = card.with_regs(|r| r.pdma_clear_descriptors());
        let readptr = card
            .with_regs(|r| r.pdma_ctl1())
            .map_or(0, |c| (c & hw::dmactl::READPTR_MASK) as usize);
        // No request exists while user space owns the engine: no slot is in use.
        self.ring.reset(readptr);
        let _ = card.with_regs(|r| r.pdma_set_readptr(readptr));
        true
    }
}

/// Drops the consumed front of a request's pending queue once it is long, so that a long
/// transfer keeps memory for its window, not for everything it has posted.
fn compact(r: &mut Request) {
    if r.pending_head == r.pending.len() {
        r.pending.clear();
        r.pending_head = 0;
    } else if r.pending_head >= COMPACT_AFTER && r.pending_head * 2 >= r.pending.len() {
        let mut seen = 0;
        let head = r.pending_head;
        r.pending.retain(|_| {
            seen += 1;
            seen > head
        });
        r.pending_head = 0;
    }
}
