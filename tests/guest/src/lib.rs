// SPDX-License-Identifier: GPL-2.0

//! Helpers for the in-guest tests: TAP output in kselftest style, the driver's ABI, and the few
//! system calls the tests need (module load/unload, ioctls, sysfs).
//!
//! The tests are ordinary static binaries: they run in the QEMU guest here and on a real VE host.
//! Each `*_test` program is a [`suite::Suite`]: a table of named case functions over a fixture,
//! in the shape of the kernel's `kselftest_harness.h` (plan, variants over [`mem::Backing`],
//! SKIP, per-case isolation, pin-balance check, `file:line` in failures). Memory is mapped
//! through [`mem::Mapping`], the emulator's test controls set through guards
//! ([`emubar::EmuBar::control`], [`emubar::EmuBar::stall`]).

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
pub mod suite;
pub mod sys;
pub mod userdma;
pub mod veos;

/// The DMA mode the driver must find in this boot (`VE_DRV_DMA_*`), from the kernel command line
/// the harness chose: `intel_iommu=on` with QEMU's intel-iommu (the IOMMU variant),
/// `swiotlb=force` (the bounce variant), else direct.
pub fn dma_mode_of_boot() -> u64 {
    let cmdline = std::fs::read_to_string("/proc/cmdline").unwrap_or_default();
    let has = |w: &str| cmdline.split_whitespace().any(|a| a == w);
    if has("intel_iommu=on") {
        uapi::VE_DRV_DMA_IOMMU
    } else if has("swiotlb=force") {
        uapi::VE_DRV_DMA_BOUNCE
    } else {
        uapi::VE_DRV_DMA_DIRECT
    }
}
