// SPDX-License-Identifier: GPL-2.0

//! The engine emulator's identification block, counters and test controls, mapped from the
//! ivshmem device's BAR2 through sysfs (`resource2`; root only, test kernels only: there is no
//! IO_STRICT_DEVMEM in them), and guards that put a control back to its default (0) when they
//! go, also when a test fails half-way.

use std::os::fd::OwnedFd;

use crate::{
    hw::{
        emu,
        pci_id, //
    },
    mem::Mapping,
    sys,
    uapi, //
};

/// The emulator's identification block (BAR2 + `emu::BLOCK`).
pub struct EmuBar {
    map: Mapping,
}

// SAFETY: the mapping is shared device memory accessed only with volatile reads and writes of
// whole words; it stays mapped for the life of the value.
unsafe impl Sync for EmuBar {}

impl EmuBar {
    /// Maps the page (read-write).
    pub fn open() -> Result<Self, String> {
        let map = map_bar2(emu::BLOCK as u64, emu::BLOCK_SIZE)?;
        Ok(Self { map })
    }

    fn word(&self, off: usize) -> *mut u64 {
        assert!(off % 8 == 0 && off < emu::BLOCK_SIZE);
        // SAFETY: an aligned offset within the mapped page (checked above).
        unsafe { self.map.ptr().cast::<u64>().add(off / 8) }
    }

    /// Reads the u64 at `off` (an `hw::emu::OFF_*`).
    pub fn get(&self, off: usize) -> u64 {
        // SAFETY: an aligned word of the mapped page.
        unsafe { self.word(off).read_volatile() }
    }

    /// Writes the u64 at `off` (a test control).
    pub fn set(&self, off: usize, v: u64) {
        // SAFETY: as in `get`.
        unsafe { self.word(off).write_volatile(v) }
    }

    /// Sets the test control at `off` (an `hw::emu::OFF_CTL_*`) to `v` until the guard is
    /// released or dropped; then it is 0 again, the emulator's default.
    pub fn control(&self, off: usize, v: u64) -> Control<'_> {
        self.set(off, v);
        Control { bar: self, off }
    }

    /// Stops the engine (descriptors stay posted, nothing runs) until the guard is released or
    /// dropped; then it runs again and its doorbell is rung through `fd` (a stalled engine only
    /// looks again when kicked; `VE_DRV_IOC_KICK` is that doorbell).
    pub fn stall<'a>(&'a self, fd: &'a OwnedFd) -> Stall<'a> {
        self.set(emu::OFF_CTL_STALL, 1);
        Stall {
            bar: self,
            fd,
            done: false,
        }
    }
}

/// A test control set until this goes ([`EmuBar::control`]).
#[must_use = "the control is reset when the guard is dropped"]
pub struct Control<'a> {
    bar: &'a EmuBar,
    off: usize,
}

impl Control<'_> {
    /// Resets the control now.
    pub fn release(self) {}

    /// The control's value now (controls that count down, as `OFF_CTL_IRQ_DROP`).
    pub fn get(&self) -> u64 {
        self.bar.get(self.off)
    }
}

impl Drop for Control<'_> {
    fn drop(&mut self) {
        self.bar.set(self.off, 0);
    }
}

/// A stalled engine ([`EmuBar::stall`]).
#[must_use = "the engine runs again when the guard is dropped"]
pub struct Stall<'a> {
    bar: &'a EmuBar,
    fd: &'a OwnedFd,
    done: bool,
}

impl Stall<'_> {
    /// Lets the engine run again and kicks it; the kick's error, if any.
    pub fn release(mut self) -> Result<(), String> {
        self.done = true;
        self.unstall()
    }

    fn unstall(&self) -> Result<(), String> {
        self.bar.set(emu::OFF_CTL_STALL, 0);
        sys::ioctl_raw(self.fd, uapi::VE_DRV_IOC_KICK, 0)
            .map(|_| ())
            .map_err(|e| format!("kick: {}", sys::errname(e)))
    }
}

impl Drop for Stall<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.unstall();
        }
    }
}

/// `len` bytes at `offset` of the emulator's BAR2 through sysfs `resource2`, read-write and
/// shared.
pub fn map_bar2(offset: u64, len: usize) -> Result<Mapping, String> {
    let bdf = sys::find_pci(pci_id::VENDOR_REDHAT_QUMRANET, pci_id::DEVICE_IVSHMEM)
        .ok_or("no ivshmem device")?;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(format!("/sys/bus/pci/devices/{bdf}/resource2"))
        .map_err(|e| format!("resource2: {e}"))?;
    Mapping::shared(&f, offset, len, libc::PROT_READ | libc::PROT_WRITE)
        .map_err(|e| format!("mmap resource2: {}", sys::errname(e)))
}
