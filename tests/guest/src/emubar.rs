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

    /// Maps the page of the emulator's device at PCI address `bdf` (read-write).
    pub fn open_at(bdf: &str) -> Result<Self, String> {
        let map = map_bar2_of(bdf, emu::BLOCK as u64, emu::BLOCK_SIZE)?;
        Ok(Self { map })
    }

    /// Hands the guest's VT-d tables to an emulator started with `--iommu`: the root table
    /// address (RTADDR as the IOMMU holds it) and the emulator's requester id, then the enable
    /// word last, so that the emulator never translates with half the setting. No doorbell is
    /// needed: the emulator reads the controls at every host-side access.
    pub fn attach_iommu(&self, rtaddr: u64, sid: u16) {
        self.set(emu::OFF_CTL_IOMMU_ENABLE, 0);
        self.set(emu::OFF_CTL_IOMMU_RTADDR, rtaddr);
        self.set(emu::OFF_CTL_IOMMU_SID, sid.into());
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
        self.set(emu::OFF_CTL_IOMMU_ENABLE, 1);
    }

    /// Takes the tables back: every host-side access of the engine faults again.
    pub fn detach_iommu(&self) {
        self.set(emu::OFF_CTL_IOMMU_ENABLE, 0);
    }

    /// Whether the emulator presents a VE3 ([`emu::OFF_VARIANT`]; `ve-harness --variant ve3`).
    pub fn is_ve3(&self) -> bool {
        self.get(emu::OFF_VARIANT) as u32 == emu::VARIANT_VE3
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
    map_bar2_of(&bdf, offset, len)
}

/// The PCI address (`0000:00:03.0`) of the emulator's device: the ivshmem device ve_drv is
/// bound to, else the only ivshmem device there is. The flag says whether ve_drv is bound.
pub fn emulator_pci() -> Result<(String, bool), String> {
    let mut all: Vec<String> = std::fs::read_dir("/sys/bus/pci/devices")
        .map_err(|e| format!("/sys/bus/pci/devices: {e}"))?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| {
            let id = |f: &str| {
                std::fs::read_to_string(format!("/sys/bus/pci/devices/{n}/{f}"))
                    .ok()
                    .and_then(|s| u16::from_str_radix(s.trim().trim_start_matches("0x"), 16).ok())
            };
            id("vendor") == Some(pci_id::VENDOR_REDHAT_QUMRANET)
                && id("device") == Some(pci_id::DEVICE_IVSHMEM)
        })
        .collect();
    all.sort();
    if let Some(b) = all
        .iter()
        .find(|b| sys::pci_driver(b).as_deref() == Some("ve_drv"))
    {
        return Ok((b.clone(), true));
    }
    match all.as_slice() {
        [one] => Ok((one.clone(), false)),
        [] => Err("no ivshmem device".into()),
        _ => Err(format!(
            "{} ivshmem devices and none bound to ve_drv: {}",
            all.len(),
            all.join(", ")
        )),
    }
}

/// The PCI requester id (source id) of the device at `bdf` (`DDDD:BB:DD.F`): `bus << 8 |
/// device << 3 | function`, what an IOMMU indexes its root (bus) and context (devfn) tables
/// with. Segment 0 only (QEMU's q35 has one).
pub fn pci_sid(bdf: &str) -> Result<u16, String> {
    let bad = || format!("PCI address {bdf:?}: want DDDD:BB:DD.F");
    let (seg, rest) = bdf.split_once(':').ok_or_else(bad)?;
    let (bus, rest) = rest.split_once(':').ok_or_else(bad)?;
    let (dev, func) = rest.split_once('.').ok_or_else(bad)?;
    let hex = |s: &str, max: u16| {
        u16::from_str_radix(s, 16)
            .ok()
            .filter(|v| *v <= max)
            .ok_or_else(bad)
    };
    if hex(seg, u16::MAX)? != 0 {
        return Err(format!("PCI address {bdf:?}: segment other than 0"));
    }
    Ok((hex(bus, 0xff)? << 8) | (hex(dev, 0x1f)? << 3) | hex(func, 7)?)
}

/// What `ve_iommu_attach` needs from the Intel IOMMU's register dump
/// (`/sys/kernel/debug/iommu/intel/iommu_regset`, Linux `drivers/iommu/intel/debugfs.c`: per
/// unit a header line `IOMMU: dmarN Register Base Address: ...`, then one line per register,
/// name, offset and contents in hex).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Regdump {
    /// RTADDR, the root table address register.
    pub rtaddr: u64,
    /// GSTS, the global status register.
    pub gsts: u64,
}

/// GSTS bit 31: translation enabled.
pub const GSTS_TES: u64 = 1 << 31;
/// RTADDR bits 11:10: the table mode (00b legacy, 01b scalable).
pub const RTADDR_TTM: u64 = 3 << 10;

/// Parses the register dump of exactly one IOMMU unit (QEMU has one; the emulator models one).
pub fn parse_regdump(text: &str) -> Result<Regdump, String> {
    let units = text
        .lines()
        .filter(|l| l.starts_with("IOMMU:") && l.contains("Register Base Address"))
        .count();
    if units != 1 {
        return Err(format!("{units} IOMMU units in the register dump, want 1"));
    }
    let reg = |name: &str| {
        let v: Vec<u64> = text
            .lines()
            .filter_map(|l| {
                let mut f = l.split_whitespace();
                if f.next()? != name {
                    return None;
                }
                let contents = f.nth(1)?;
                u64::from_str_radix(contents.trim_start_matches("0x"), 16).ok()
            })
            .collect();
        match v.as_slice() {
            [one] => Ok(*one),
            _ => Err(format!("register {name}: {} values in the dump", v.len())),
        }
    };
    Ok(Regdump {
        rtaddr: reg("RTADDR")?,
        gsts: reg("GSTS")?,
    })
}

/// `len` bytes at `offset` of BAR2 of the ivshmem device at `bdf` through sysfs `resource2`,
/// read-write and shared.
pub fn map_bar2_of(bdf: &str, offset: u64, len: usize) -> Result<Mapping, String> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(format!("/sys/bus/pci/devices/{bdf}/resource2"))
        .map_err(|e| format!("resource2: {e}"))?;
    Mapping::shared(&f, offset, len, libc::PROT_READ | libc::PROT_WRITE)
        .map_err(|e| format!("mmap resource2: {}", sys::errname(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sids() {
        assert_eq!(pci_sid("0000:00:03.0"), Ok(0x0018));
        assert_eq!(pci_sid("0000:01:1f.7"), Ok(0x01ff));
        assert_eq!(pci_sid("0000:ff:00.1"), Ok(0xff01));
        assert!(pci_sid("0001:00:03.0").is_err());
        assert!(pci_sid("0000:00:20.0").is_err());
        assert!(pci_sid("0000:00:03.8").is_err());
        assert!(pci_sid("00:03.0").is_err());
    }

    /// The dump as Linux 7.3 prints it (`"%-16s\t0x%02x\t\t0x%016llx\n"`), shortened.
    #[test]
    fn regdump() {
        let dump = "IOMMU: dmar0 Register Base Address: fed90000\n\
                    Name\t\t\tOffset\t\tContents\n\
                    VER             \t0x00\t\t0x0000000000000010\n\
                    GSTS            \t0x1c\t\t0x00000000c0000000\n\
                    CAP             \t0x08\t\t0x00d2008c22260286\n\
                    RTADDR          \t0x20\t\t0x0000000102a3f000\n\
                    IRTA            \t0xb8\t\t0x0000000000000000\n\n";
        assert_eq!(
            parse_regdump(dump),
            Ok(Regdump {
                rtaddr: 0x1_02a3_f000,
                gsts: 0xc000_0000
            })
        );
        assert!(parse_regdump("").is_err());
        let two = format!("{dump}{dump}");
        assert!(parse_regdump(&two).is_err());
    }
}
