// SPDX-License-Identifier: GPL-2.0

//! BAR2 as the emulator sees it: a memfd shared with QEMU, which maps it into the guest as the
//! ivshmem device's BAR2.
//!
//! Nothing traps guest accesses: the guest's stores land in this memory directly, and the emulator
//! only notices them when it looks (after a doorbell). Every register is accessed here with one
//! naturally aligned atomic load or store of its full width; a guest `writeq` is one 8-byte store
//! and so is seen whole.
//!
//! How the emulator reads what the guest may have written half at a time (a 32-bit store to either
//! half of a 64-bit register changes just that half, as on shared memory it must):
//! - a descriptor is ready only when the status in the low half of word 0 reads PREPARED; the
//!   driver writes that word last, so a high-half or partial store never starts a transfer;
//! - DMACTL word 0: only bits 1:0 are read (permit), the high half is ignored;
//! - DMACTL word 1 and INTVEC are owned by the emulator (see `device.rs` for how it tells a guest
//!   write of word 1 from its own).

use std::{
    io,
    os::fd::OwnedFd,
    sync::atomic::{
        AtomicU32,
        AtomicU64,
        Ordering, //
    },
};

use crate::{
    hw::emu,
    sys::{
        self,
        Mapping, //
    },
};

/// The emulator's BAR2.
pub struct Bar2 {
    fd: OwnedFd,
    map: Mapping,
}

impl Bar2 {
    /// A zeroed BAR2 of [`emu::BAR2_SIZE`] bytes.
    pub fn new() -> io::Result<Self> {
        let fd = sys::memfd("ve-bar2", emu::BAR2_SIZE)?;
        let map = Mapping::shared(&fd, emu::BAR2_SIZE)?;
        Ok(Self { fd, map })
    }

    /// The memfd, handed to QEMU.
    pub fn fd(&self) -> &OwnedFd {
        &self.fd
    }

    fn u64_at(&self, off: usize) -> &AtomicU64 {
        assert!(
            off % 8 == 0 && off + 8 <= self.map.len(),
            "BAR2 offset {off:#x}"
        );
        // SAFETY: in bounds and 8-byte aligned (checked above; the mapping is page aligned); the
        // memory is shared with the guest, which is why it is only ever accessed atomically.
        unsafe { &*self.map.as_ptr().add(off).cast::<AtomicU64>() }
    }

    fn u32_at(&self, off: usize) -> &AtomicU32 {
        assert!(
            off % 4 == 0 && off + 4 <= self.map.len(),
            "BAR2 offset {off:#x}"
        );
        // SAFETY: as in `u64_at`, for 4 bytes.
        unsafe { &*self.map.as_ptr().add(off).cast::<AtomicU32>() }
    }

    /// Loads the 64-bit word at `off` (acquire: what the guest wrote before it is visible).
    pub fn load64(&self, off: usize) -> u64 {
        self.u64_at(off).load(Ordering::Acquire)
    }

    /// Stores the 64-bit word at `off` (release).
    pub fn store64(&self, off: usize, value: u64) {
        self.u64_at(off).store(value, Ordering::Release)
    }

    /// Atomically ORs `bits` into the 64-bit word at `off`.
    pub fn or64(&self, off: usize, bits: u64) {
        self.u64_at(off).fetch_or(bits, Ordering::AcqRel);
    }

    /// Adds `n` to the 64-bit counter at `off`.
    pub fn add64(&self, off: usize, n: u64) {
        self.u64_at(off).fetch_add(n, Ordering::AcqRel);
    }

    /// Loads the 32-bit word at `off`.
    pub fn load32(&self, off: usize) -> u32 {
        self.u32_at(off).load(Ordering::Acquire)
    }

    /// Stores the 32-bit word at `off`.
    pub fn store32(&self, off: usize, value: u32) {
        self.u32_at(off).store(value, Ordering::Release)
    }
}
