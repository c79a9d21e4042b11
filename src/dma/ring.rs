// SPDX-License-Identifier: GPL-2.0

//! Bookkeeping of the privileged DMA descriptor ring: which slots are posted, which the engine
//! has finished, as told by its read pointer. `core` only, unit-tested on the host.
//!
//! The engine processes slots in order from its read pointer; software posts at `head`. A slot
//! between `tail` (inclusive) and `head` (exclusive) is in flight. At most
//! [`MAX_IN_FLIGHT`] slots are in flight, so `head == tail` always means "empty".

/// Slots in the ring, and how many may be in flight at once (one stays free, as in VEOS): the
/// hardware's numbers.
pub use crate::hw::desc::{
    MAX_IN_FLIGHT,
    NUM, //
};

/// Ring positions.
///
/// # Invariants
///
/// `head < NUM`, `tail < NUM`, `inflight <= MAX_IN_FLIGHT`, `head == (tail + inflight) % NUM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ring {
    head: usize,
    tail: usize,
    inflight: usize,
}

impl Ring {
    /// An empty ring whose next slot is `readptr` (the engine's read pointer).
    pub const fn new(readptr: usize) -> Self {
        Self {
            head: readptr % NUM,
            tail: readptr % NUM,
            inflight: 0,
        }
    }

    /// Slots that can still be posted.
    pub const fn room(&self) -> usize {
        MAX_IN_FLIGHT - self.inflight
    }

    /// Slots in flight.
    pub const fn inflight(&self) -> usize {
        self.inflight
    }

    /// The slot the next post will use.
    pub const fn head(&self) -> usize {
        self.head
    }

    /// The oldest slot in flight (meaningful only if `inflight() > 0`).
    pub const fn tail(&self) -> usize {
        self.tail
    }

    /// Takes the next slot, or `None` if [`MAX_IN_FLIGHT`] are in flight.
    pub fn post(&mut self) -> Option<usize> {
        if self.inflight == MAX_IN_FLIGHT {
            return None;
        }
        let slot = self.head;
        self.head = (self.head + 1) % NUM;
        self.inflight += 1;
        Some(slot)
    }

    /// The engine's read pointer is `readptr`: the slots before it are done. Returns how many
    /// completed since the last call, or `None` if `readptr` is not within the slots in flight
    /// (a read pointer the driver never gave the engine: the caller treats it as a hardware error).
    pub fn complete_to(&mut self, readptr: usize) -> Option<usize> {
        let done = (readptr % NUM + NUM - self.tail) % NUM;
        if done > self.inflight {
            return None;
        }
        self.tail = readptr % NUM;
        self.inflight -= done;
        Some(done)
    }

    /// Removes slots from the ring while the engine is halted: visits every slot in flight in
    /// ring order, from the tail, with the place it would take if kept (`keep(from, to)`; `to` is
    /// never ahead of `from`, so the caller can move descriptors in place and in this order).
    /// `keep` returns whether the slot stays, and moves it if `from != to`. The kept slots end up
    /// packed from the tail; returns the old head: the slots from the new [`head`](Self::head) up
    /// to it are free and must be neutralised by the caller.
    pub fn retain(&mut self, mut keep: impl FnMut(usize, usize) -> bool) -> usize {
        let old_head = self.head;
        let mut to = self.tail;
        let mut kept = 0;
        for k in 0..self.inflight {
            let from = (self.tail + k) % NUM;
            if keep(from, to) {
                to = (to + 1) % NUM;
                kept += 1;
            }
        }
        // INVARIANT: `kept <= inflight` and `to == (tail + kept) % NUM`.
        self.head = to;
        self.inflight = kept;
        old_head
    }

    /// Forgets every slot in flight (after a halt, when the read pointer is set to `readptr`).
    pub fn reset(&mut self, readptr: usize) {
        *self = Self::new(readptr);
    }
}
