// SPDX-License-Identifier: GPL-2.0

//! The VE engine emulator: a host process that QEMU's `ivshmem-doorbell` device connects to.
//!
//! It is the ivshmem server and, at the same time, the one other peer: BAR2 of the guest's
//! ivshmem device is the emulator's memfd, laid out like a VE1's BAR2 (the system-common registers
//! at 16 MiB) plus an identification block at offset 0 ([`hw::emu`]). The guest rings the doorbell
//! after writing a control register; the emulator reads the registers, acts, and raises MSI-X
//! vectors back. Guest RAM is a shared file that both QEMU and the emulator map.
//!
//! Facts behind the transport: `docs/emulator.md`.

#[path = "../../../src/hw.rs"]
pub mod hw;

pub mod bar;
pub mod device;
pub mod engine;
pub mod guest_ram;
pub mod ivshmem;
pub mod layout;
pub mod sys;
pub mod vtd;
