// SPDX-License-Identifier: GPL-2.0

//! The engine emulator's identification block, counters and test controls, mapped from the
//! ivshmem device's BAR2 through sysfs (`resource2`; root only, test kernels only: there is no
//! IO_STRICT_DEVMEM in them).

use std::os::fd::AsRawFd;

use crate::{
    hw::pci_id,
    sys, //
};

/// The first page of the emulator's BAR2.
pub struct EmuBar {
    map: *mut u64,
}

// SAFETY: the mapping is shared device memory accessed only with volatile reads and writes of
// whole words; it stays mapped for the life of the value.
unsafe impl Sync for EmuBar {}

impl EmuBar {
    /// Maps the page (read-write).
    pub fn open() -> Result<Self, String> {
        let bdf = sys::find_pci(pci_id::VENDOR_REDHAT_QUMRANET, pci_id::DEVICE_IVSHMEM)
            .ok_or("no ivshmem device")?;
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(format!("/sys/bus/pci/devices/{bdf}/resource2"))
            .map_err(|e| format!("resource2: {e}"))?;
        // SAFETY: maps the first page of BAR2, shared.
        let m = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                f.as_raw_fd(),
                0,
            )
        };
        if m == libc::MAP_FAILED {
            return Err(format!(
                "mmap resource2: {}",
                std::io::Error::last_os_error()
            ));
        }
        Ok(Self { map: m.cast() })
    }

    /// Reads the u64 at `off` (an `hw::emu::OFF_*`).
    pub fn get(&self, off: usize) -> u64 {
        assert!(off % 8 == 0 && off < 4096);
        // SAFETY: an aligned offset within the mapped page.
        unsafe { self.map.add(off / 8).read_volatile() }
    }

    /// Writes the u64 at `off` (a test control).
    pub fn set(&self, off: usize, v: u64) {
        assert!(off % 8 == 0 && off < 4096);
        // SAFETY: as in `get`.
        unsafe { self.map.add(off / 8).write_volatile(v) }
    }
}

impl Drop for EmuBar {
    fn drop(&mut self) {
        // SAFETY: unmaps the page mapped by `open`.
        unsafe { libc::munmap(self.map.cast(), 4096) };
    }
}
