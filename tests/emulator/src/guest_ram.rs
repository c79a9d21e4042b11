// SPDX-License-Identifier: GPL-2.0

//! Guest RAM: the file behind QEMU's `memory-backend-file`, mapped shared by the emulator, and the
//! q35 rule from guest physical address to file offset.

use std::{
    fs::OpenOptions,
    io,
    os::fd::OwnedFd,
    path::Path, //
};

use crate::sys::Mapping;

/// Where q35 puts the PCI hole: RAM below 4 GiB ends at `min(ram, lowmem)` with
/// `lowmem = 2 GiB` if `ram >= 0xb0000000`, else `0xb0000000`; the rest starts at 4 GiB.
pub fn below_4g(ram_size: u64) -> u64 {
    let lowmem = if ram_size >= 0xb000_0000 {
        0x8000_0000
    } else {
        0xb000_0000
    };
    ram_size.min(lowmem)
}

/// File offset of the guest physical range `[gpa, gpa + len)`, if it is all RAM (never the PCI
/// hole, never past the end, never across the 4 GiB boundary).
pub fn gpa_to_offset(ram_size: u64, gpa: u64, len: u64) -> Option<u64> {
    let low = below_4g(ram_size);
    let end = gpa.checked_add(len)?;
    if end <= low {
        return Some(gpa);
    }
    const FOUR_G: u64 = 1 << 32;
    if gpa >= FOUR_G {
        let off = low + (gpa - FOUR_G);
        let off_end = off.checked_add(len)?;
        if off_end <= ram_size {
            return Some(off);
        }
    }
    None
}

/// The guest's RAM.
pub struct GuestRam {
    size: u64,
    map: Mapping,
}

impl GuestRam {
    /// Creates (or truncates) the RAM file at `path` with `size` bytes and maps it. QEMU must be
    /// given the same path with `share=on`.
    pub fn create(path: &Path, size: u64) -> io::Result<Self> {
        let _ = std::fs::remove_file(path);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)?;
        file.set_len(size)?;
        let fd: OwnedFd = file.into();
        let map = Mapping::shared(&fd, size as usize)?;
        Ok(Self { size, map })
    }

    /// RAM size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Host pointer for `[gpa, gpa + len)`, or `None` if the range is not RAM.
    pub fn host_ptr(&self, gpa: u64, len: u64) -> Option<*mut u8> {
        let off = gpa_to_offset(self.size, gpa, len)?;
        // SAFETY: `gpa_to_offset` keeps `[off, off + len)` inside the `size`-byte mapping.
        Some(unsafe { self.map.as_ptr().add(off as usize) })
    }

    /// The naturally aligned u64 at `gpa` (as a device reads a table entry: one 8-byte load the
    /// guest cannot tear), or `None` if `gpa` is misaligned or not RAM.
    pub fn read_u64(&self, gpa: u64) -> Option<u64> {
        if gpa % 8 != 0 {
            return None;
        }
        let p = self.host_ptr(gpa, 8)?;
        // SAFETY: `host_ptr` checked the 8 bytes are inside the mapping; the mapping is page
        // aligned and `gpa` (so the file offset) is 8-byte aligned, so `p` is too. An atomic
        // load because the guest may write the word concurrently.
        let v = unsafe {
            (*p.cast::<std::sync::atomic::AtomicU64>()).load(std::sync::atomic::Ordering::Acquire)
        };
        Some(u64::from_le(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: u64 = 1 << 30;

    #[test]
    fn small_guest_is_identity() {
        assert_eq!(gpa_to_offset(G, 0xbb6b000, 4096), Some(0xbb6b000));
        assert_eq!(gpa_to_offset(G, G - 8, 8), Some(G - 8));
        assert_eq!(gpa_to_offset(G, G - 8, 16), None);
        assert_eq!(gpa_to_offset(2 * G, 2 * G - 4096, 4096), Some(2 * G - 4096));
    }

    #[test]
    fn large_guest_splits_at_2g_and_4g() {
        // 3 GiB guest (checked in a guest, docs/emulator.md): GPA 0x101ede000 -> 0x81ede000.
        assert_eq!(gpa_to_offset(3 * G, 0x1_01ed_e000, 4096), Some(0x81ed_e000));
        assert_eq!(gpa_to_offset(3 * G, 0x7fff_f000, 4096), Some(0x7fff_f000));
        // The PCI hole and a range crossing into it are rejected.
        assert_eq!(gpa_to_offset(3 * G, 0x8000_0000, 8), None);
        assert_eq!(gpa_to_offset(3 * G, 0x7fff_fff8, 16), None);
        assert_eq!(gpa_to_offset(3 * G, 0xc000_0000, 8), None);
        // The high part ends at 4 GiB + (ram - 2 GiB).
        assert_eq!(gpa_to_offset(3 * G, (4 * G) + G - 8, 8), Some(3 * G - 8));
        assert_eq!(gpa_to_offset(3 * G, (4 * G) + G, 8), None);
    }

    #[test]
    fn overflow_is_rejected() {
        assert_eq!(gpa_to_offset(G, u64::MAX - 4, 8), None);
    }
}
