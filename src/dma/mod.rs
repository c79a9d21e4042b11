// SPDX-License-Identifier: GPL-2.0

//! The in-kernel privileged DMA manager: ring bookkeeping (`ring`, `core` only) and transfers
//! driven by the caller's thread (`xfer`).

// Shared with the host tests (`core` only).
#[allow(dead_code, unreachable_pub)]
pub(crate) mod ring;
pub(crate) mod xfer;

/// The engine's state, owned by whoever holds `Card::dma`.
pub(crate) struct DmaState {
    /// Which ring slots are in flight.
    pub(crate) ring: ring::Ring,
}
