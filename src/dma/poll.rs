// SPDX-License-Identifier: GPL-2.0

//! Whether a waiter polls the engine's read pointer instead of sleeping until the completion
//! interrupt, and for how long. `core` only, unit-tested on the host.
//!
//! A short request completes after the engine's fixed latency (the doorbell, the descriptor
//! fetch, the PCIe round trips) plus its length over the engine's rate. The interrupt path adds
//! the interrupt, the threaded handler and the waiter's wake-up to that. A waiter may spin on the
//! read pointer for the fixed allowance (the `dma_poll_us` module parameter) plus the request's
//! expected engine time, and only when that expected time is itself within the allowance: a long
//! request always sleeps, so the CPU a poll costs is at most twice the allowance. Past the budget
//! the waiter sleeps as before: the interrupt still comes.
//!
//! The engine's rate is measured, not assumed: an exponentially weighted average (1/8 per
//! sample) of what completed requests of at least [`RATE_MIN_BYTES`] achieved from their first
//! descriptor's post to their completion. That time includes waiting for the submitter's pinning,
//! so the estimate errs slow, and slow means fewer requests polled.

/// Requests shorter than this do not measure the rate: their time is the fixed latency.
pub const RATE_MIN_BYTES: u64 = 1 << 20;
/// The rate assumed until one is measured: 1000 ns per KiB (about 1 GiB/s, below what the
/// engine does on any memory).
pub const INITIAL_NS_PER_KIB: u64 = 1000;

/// The poll policy of one card's manager.
///
/// # Invariants
///
/// `ns_per_kib >= 1`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PollPolicy {
    /// The fixed allowance in ns; 0: never poll.
    allowance_ns: u64,
    /// The engine's measured time per KiB, ns.
    ns_per_kib: u64,
}

impl PollPolicy {
    /// A policy that never polls, at the initial rate.
    pub const fn off() -> Self {
        Self {
            allowance_ns: 0,
            ns_per_kib: INITIAL_NS_PER_KIB,
        }
    }

    /// Sets the fixed allowance to `us` microseconds (0: never poll).
    pub fn set_allowance_us(&mut self, us: u32) {
        self.allowance_ns = u64::from(us) * 1000;
    }

    /// The engine's measured time per KiB, ns.
    pub fn ns_per_kib(&self) -> u64 {
        self.ns_per_kib
    }

    /// How long a waiter may spin for a request with `len` bytes still to complete, in ns;
    /// `None`: it sleeps at once.
    pub fn budget_ns(&self, len: u64) -> Option<u64> {
        if self.allowance_ns == 0 || len == 0 {
            return None;
        }
        let expected = len.div_ceil(1024).saturating_mul(self.ns_per_kib);
        (expected <= self.allowance_ns).then(|| self.allowance_ns + expected)
    }

    /// A request of `bytes` completed `ns` after its first descriptor was posted.
    pub fn observe(&mut self, bytes: u64, ns: u64) {
        if bytes < RATE_MIN_BYTES || ns == 0 {
            return;
        }
        let kib = bytes / 1024;
        let sample = (ns / kib).max(1);
        // Rounded to the nearest: the average settles within 4 ns of a steady sample.
        // INVARIANT: with both terms >= 1 the sum is at least 7 + 1 + 4, so the result is >= 1.
        self.ns_per_kib = self
            .ns_per_kib
            .saturating_mul(7)
            .saturating_add(sample)
            .saturating_add(4)
            / 8;
    }
}
