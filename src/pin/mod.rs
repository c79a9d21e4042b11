// SPDX-License-Identifier: GPL-2.0

//! Pinning VH memory: page geometry (`extent`, `core` only), NEC's translation semantics
//! (`translate`) and NEC's per-card pin lists (`lists`). The GUP calls themselves are in
//! `crate::sys::gup`.

// Shared with the host tests (`core` only); the extent coalescer is for the DMA manager.
#[allow(dead_code, unreachable_pub)]
pub(crate) mod extent;
pub(crate) mod lists;
pub(crate) mod translate;
