// SPDX-License-Identifier: GPL-2.0

//! Helpers for the in-guest tests: TAP output in kselftest style, the driver's ABI, and the few
//! system calls the tests need (module load/unload, ioctls, sysfs).
//!
//! The tests are ordinary static binaries: they run in the QEMU guest here and on a real VE host.

#[path = "../../../src/hw.rs"]
pub mod hw;
#[path = "../../../src/uapi.rs"]
pub mod uapi;

pub mod dma;
pub mod emubar;
pub mod ksft;
pub mod mem;
pub mod nec;
pub mod necdma;
pub mod sys;
pub mod userdma;
