// SPDX-License-Identifier: GPL-2.0

//! The in-kernel privileged DMA manager: the engine's state machine and the pin-release rule
//! (`engine`, `core` only), ring bookkeeping (`ring`, `core` only), the VE side of a
//! request (`velist`, `core` only), the card-wide manager of requests in flight (`manager`), and
//! the ioctls' side: submit, wait, cancel (`submit`).

// Shared with the host tests (`core` only).
#[allow(dead_code, unreachable_pub)]
pub(crate) mod engine;
pub(crate) mod manager;
// Shared with the host tests (`core` only).
#[allow(dead_code, unreachable_pub)]
pub(crate) mod ring;
pub(crate) mod submit;
// Shared with the host tests (`core` only).
#[allow(dead_code, unreachable_pub)]
pub(crate) mod velist;

pub(crate) use manager::DmaState;
