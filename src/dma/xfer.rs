// SPDX-License-Identifier: GPL-2.0

//! One VH <-> VE transfer through the privileged DMA engine, driven by the caller's thread.
//!
//! The caller pins the VH buffer in batches of at most 512 pages (GUP-fast for its own memory)
//! into physically contiguous runs of at most 64 MiB, each of which becomes one descriptor; it
//! posts descriptors as ring slots allow and starts the engine, then pins the next batch while
//! the engine copies, as long as the pinned window ([`WINDOW`]) allows. Completions come by
//! MSI-X; the handler only wakes the caller, which trusts the engine's read pointer and
//! descriptor status alone, never the number of interrupts, and unpins each run as soon as its
//! descriptor is done.
//!
//! Failure: an exception stops the engine with the read pointer on the faulting descriptor; no
//! progress for [`STALL_TIMEOUT_MS`], or a signal, makes the caller halt the engine. Either way the
//! remaining descriptors are neutralised, the read pointer is moved past them (which clears the
//! exception) and the engine is started again for whoever comes next; the runs are unpinned only
//! after the engine has halted or moved past them.

use kernel::prelude::*;

use crate::{
    card::{
        Card,
        Progress, //
    },
    dma::DmaState,
    hw::{
        self,
        desc::{
            AddrSpace,
            Desc, //
        },
    },
    pin::extent::{
        pages_spanned,
        PAGE_SHIFT,
        PAGE_SIZE, //
    },
    sys::gup::{
        PinnedRun,
        TargetMm, //
    },
    uapi, //
};

/// Pinned but not yet completed bytes a transfer may hold: bounds what a 1 GiB transfer of
/// 4 KiB pages keeps pinned, while leaving the engine several descriptors' work in hand.
pub(crate) const WINDOW: u64 = 64 << 20;
/// An open tail block stops growing at this size and is posted: large enough that long physically
/// contiguous runs take few descriptors, small enough that the engine starts early.
const MERGE_MAX: u64 = 8 << 20;
/// Ring slots between completion interrupts.
const IRQ_EVERY: usize = 64;
/// Pages pinned per GUP batch.
const BATCH_PAGES: u64 = 512;
/// Longest descriptor: runs are split at this virtual boundary.
const SPLIT: u64 = hw::desc::LEN_MAX;
/// No progress for this long: the transfer is abandoned with `ETIMEDOUT`.
///
/// TIMEOUT: one 64 MiB descriptor takes the emulator about 30 ms at the host's copy rate and a
/// real VE less; interrupts under TCG arrive within milliseconds. Two seconds without a single
/// descriptor completing means the engine is stuck.
const STALL_TIMEOUT_MS: u32 = 2000;
/// Slice of a wait: the read pointer is re-read at least this often, so a lost or coalesced
/// interrupt costs at most this much.
const WAIT_SLICE_MS: u32 = 20;

/// One run of the VH buffer and the part of it the transfer uses.
struct Block {
    /// The pinned pages, until the engine is done with them.
    run: Option<PinnedRun>,
    /// Physical address of the first byte transferred.
    phys: u64,
    /// Bytes transferred from this run.
    len: u64,
    /// VE address of the first byte.
    ve: u64,
    /// Ring slot, once posted.
    slot: Option<usize>,
}

/// What a transfer achieved.
pub(crate) struct Outcome {
    pub(crate) bytes_done: u64,
    pub(crate) descs: u32,
    pub(crate) exception: u32,
}

/// Runs `req` (validated by the caller) to completion on `card`.
pub(crate) fn transfer(card: &Card, req: &uapi::VeDmaXfer) -> (Outcome, Result) {
    let mut out = Outcome {
        bytes_done: 0,
        descs: 0,
        exception: 0,
    };
    let target = match TargetMm::by_pid(req.pid) {
        Ok(t) => t,
        Err(e) => return (out, Err(e)),
    };
    // One transfer at a time per card: the ring and the engine are ours until we return.
    let mut dma = card.dma().lock();
    if card.is_removed() {
        return (out, Err(ENODEV));
    }
    let r = Transfer::new(card, &target, req, &mut dma).run(&mut out);
    (out, r)
}

struct Transfer<'a> {
    card: &'a Card,
    target: &'a TargetMm,
    dma: &'a mut DmaState,
    to_ve: bool,
    /// Next VH address to pin, and the end.
    next_va: u64,
    end_va: u64,
    /// VE address of `next_va`.
    next_ve: u64,
    /// Pinned runs in transfer order; `blocks[done..]` are not completed yet.
    blocks: KVVec<Block>,
    done: usize,
    /// Index of the first block not posted yet.
    unposted: usize,
    /// Bytes pinned and not completed.
    in_window: u64,
}

impl<'a> Transfer<'a> {
    fn new(
        card: &'a Card,
        target: &'a TargetMm,
        req: &uapi::VeDmaXfer,
        dma: &'a mut DmaState,
    ) -> Self {
        Self {
            card,
            target,
            dma,
            to_ve: req.flags == uapi::VE_DMA_VH_TO_VE,
            next_va: req.vh_addr,
            end_va: req.vh_addr + req.len,
            next_ve: req.ve_addr,
            blocks: KVVec::new(),
            done: 0,
            unposted: 0,
            in_window: 0,
        }
    }

    fn run(mut self, out: &mut Outcome) -> Result {
        let r = self.drive(out);
        if r.is_err() {
            self.abandon(out);
        }
        // Every block left is either completed or behind a halted engine's read pointer.
        drop(self.blocks);
        r
    }

    fn drive(&mut self, out: &mut Outcome) -> Result {
        let mut idle_ms = 0;
        loop {
            let posted = self.post(out)?;
            if posted {
                self.card.start_pdma()?;
            }
            // Pin more once everything but the open tail block is posted.
            if self.unposted + 1 >= self.blocks.len()
                && self.next_va < self.end_va
                && self.in_window < WINDOW
            {
                self.pin_batch()?;
                continue;
            }
            if self.done == self.blocks.len() && self.next_va >= self.end_va {
                return Ok(());
            }
            // Wait for the engine: read the read pointer, sleep only if nothing moved.
            let seen = self.card.irq_count();
            if self.reap(out)? > 0 {
                idle_ms = 0;
                continue;
            }
            match self.card.wait_irq_after(seen, WAIT_SLICE_MS) {
                Progress::Interrupt => {}
                Progress::TimedOut => {
                    idle_ms += WAIT_SLICE_MS;
                    if idle_ms >= STALL_TIMEOUT_MS {
                        return Err(ETIMEDOUT);
                    }
                }
                Progress::Signal => return Err(EINTR),
                Progress::Removed => return Err(ENODEV),
            }
        }
    }

    /// Pins the next batch of pages into blocks.
    fn pin_batch(&mut self) -> Result {
        let first = self.next_va & !(PAGE_SIZE - 1);
        let pages = pages_spanned(self.next_va, self.end_va - self.next_va).min(BATCH_PAGES);
        let mut runs = KVec::new();
        // The device writes the VH pages when copying VE -> VH.
        let got =
            self.target
                .pin_runs(first, pages as usize, !self.to_ve, false, SPLIT, &mut runs)?;
        self.blocks.reserve(runs.len(), GFP_KERNEL)?;
        let mut va = first;
        for run in runs {
            let run_end = va + ((run.npages() as u64) << PAGE_SHIFT);
            let start = va.max(self.next_va);
            let stop = run_end.min(self.end_va);
            let phys = run.phys() + (start - va);
            let len = stop - start;
            va = run_end;
            // The open tail block may continue into this run (same physical progression, VE
            // side contiguous by construction, within one descriptor's length).
            let mut run = run;
            if let Some(tail) = self
                .blocks
                .get_mut(self.unposted..)
                .and_then(|t| t.last_mut())
            {
                if tail.phys + tail.len == phys && tail.len + len <= MERGE_MAX {
                    if let Some(tail_run) = tail.run.as_mut() {
                        match tail_run.merge(run) {
                            Ok(()) => {
                                tail.len += len;
                                self.next_ve += len;
                                self.in_window += len;
                                self.next_va = stop;
                                continue;
                            }
                            Err(back) => run = back,
                        }
                    }
                }
            }
            // Capacity is reserved.
            let _ = self.blocks.push(
                Block {
                    run: Some(run),
                    phys,
                    len,
                    ve: self.next_ve,
                    slot: None,
                },
                GFP_KERNEL,
            );
            self.next_ve += len;
            self.in_window += len;
            self.next_va = stop;
        }
        if got < pages as usize && self.next_va < self.end_va {
            // GUP stopped early: the rest of the buffer is not mapped.
            return Err(EFAULT);
        }
        Ok(())
    }

    /// Posts blocks while the ring has room. Returns whether anything was posted.
    fn post(&mut self, out: &mut Outcome) -> Result<bool> {
        let mut posted = false;
        // While more is to be pinned, the last block stays open: the next batch may continue it
        // physically, and one descriptor then covers both.
        // (Unless it cannot grow: full length, or the window is full and must drain.)
        let tail_open = self.next_va < self.end_va
            && self.in_window < WINDOW
            && self.blocks.last().is_some_and(|t| t.len < MERGE_MAX);
        let postable = if tail_open {
            self.blocks.len() - 1
        } else {
            self.blocks.len()
        };
        while self.unposted < postable && self.dma.ring.room() > 0 {
            let last = self.unposted + 1 == self.blocks.len() && self.next_va >= self.end_va;
            let last_now = self.unposted + 1 == self.blocks.len() || self.dma.ring.room() == 1;
            let b = &mut self.blocks[self.unposted];
            let (src_space, src, dst_space, dst) = if self.to_ve {
                (AddrSpace::Vhsaa, b.phys, AddrSpace::Vemaa, b.ve)
            } else {
                (AddrSpace::Vemaa, b.ve, AddrSpace::Vhsaa, b.phys)
            };
            // An interrupt where the driver must hear of progress: every IRQ_EVERY descriptors,
            // so that the ring is refilled before it runs dry, and on the last one posted now.
            // More would only cost interrupts (each a wake-up of this thread).
            let mut control = 0;
            if last_now || (self.dma.ring.head() % IRQ_EVERY) == IRQ_EVERY - 1 {
                control |= hw::desc::CTL_INTR_COMPLETION;
            }
            if last {
                control |= hw::desc::CTL_SYNC;
            }
            let words = Desc {
                src_space,
                src,
                dst_space,
                dst,
                len: b.len as u32,
                control,
            }
            .encode()
            .map_err(|_| EINVAL)?;
            let Some(slot) = self.dma.ring.post() else {
                break;
            };
            self.card.with_regs(|r| r.pdma_post(slot, words))?;
            b.slot = Some(slot);
            self.unposted += 1;
            out.descs += 1;
            posted = true;
        }
        Ok(posted)
    }

    /// Takes what the engine finished; unpins those runs. Returns how many completed. An
    /// exception is `EIO`, with its code in `out`.
    fn reap(&mut self, out: &mut Outcome) -> Result<usize> {
        let ctl1 = self.card.with_regs(|r| r.pdma_ctl1())?;
        let readptr = (ctl1 & hw::dmactl::READPTR_MASK) as usize;
        let n = self.dma.ring.complete_to(readptr).ok_or(EIO)?;
        for _ in 0..n {
            let b = &mut self.blocks[self.done];
            out.bytes_done += b.len;
            self.in_window -= b.len;
            // The engine is past this descriptor: unpin at once.
            b.run = None;
            self.done += 1;
        }
        self.compact()?;
        if ctl1 & hw::dmactl::EXCEPTION != 0 {
            let w0 = self.card.with_regs(|r| r.pdma_word0(readptr))?;
            out.exception = hw::desc::exception(w0).into();
            return Err(EIO);
        }
        Ok(n)
    }

    /// Drops completed blocks from the front once there are many, so that a long transfer keeps
    /// memory for its window, not for everything it has done.
    fn compact(&mut self) -> Result {
        if self.done < 4096 {
            return Ok(());
        }
        let old = core::mem::take(&mut self.blocks);
        let mut rest = KVVec::with_capacity(old.len() - self.done, GFP_KERNEL)?;
        for b in old.into_iter().skip(self.done) {
            // Capacity is reserved.
            let _ = rest.push(b, GFP_KERNEL);
        }
        self.unposted -= self.done;
        self.done = 0;
        self.blocks = rest;
        Ok(())
    }

    /// After a failure: stop the engine, neutralise what is still posted, move the read pointer
    /// past it, and start the engine again for the next user.
    fn abandon(&mut self, out: &mut Outcome) {
        let card = self.card;
        if card.halt_pdma().is_err() {
            // The engine would not halt: it may still reach the pinned pages. Keep them pinned
            // (leak them) rather than let the device write into freed memory.
            pr_err!(
                "privileged DMA engine did not halt; keeping {} pages pinned\n",
                self.blocks.len()
            );
            let blocks = core::mem::take(&mut self.blocks);
            core::mem::forget(blocks);
            return;
        }
        // Completed descriptors before the halt still count.
        if let Ok(ctl1) = card.with_regs(|r| r.pdma_ctl1()) {
            let readptr = (ctl1 & hw::dmactl::READPTR_MASK) as usize;
            if let Some(n) = self.dma.ring.complete_to(readptr) {
                for b in &mut self.blocks[self.done..self.done + n] {
                    out.bytes_done += b.len;
                    b.run = None;
                }
                self.done += n;
            }
        }
        let head = self.dma.ring.head();
        let mut slot = self.dma.ring.tail();
        while slot != head {
            let _ = card.with_regs(|r| r.pdma_neutralise(slot));
            slot = (slot + 1) % crate::dma::ring::NUM;
        }
        let _ = card.with_regs(|r| r.pdma_set_readptr(head));
        self.dma.ring.reset(head);
        let _ = card.start_pdma();
    }
}
