// SPDX-License-Identifier: GPL-2.0

//! The emulated Intel VT-d (IOMMU) in front of the engine's host-side accesses (`--iommu`).
//!
//! A card behind an IOMMU sees I/O virtual addresses (IOVAs): every host-side (VHSAA) address in
//! its descriptors, and the EXSRAR slots its cores report to, is what the Linux DMA API handed the
//! driver, and the IOMMU translates it through tables the guest's IOMMU driver keeps in guest RAM.
//! With `--iommu` the emulator plays that IOMMU for its own requests: it walks the guest's VT-d
//! tables in legacy (non-scalable) mode, QEMU's `intel-iommu` default, for the requester id the
//! guest handed over ([`emu::OFF_CTL_IOMMU_SID`]):
//!
//! - RTADDR (the IOMMU's root table address register, [`emu::OFF_CTL_IOMMU_RTADDR`]): bits 63:12
//!   the root table's address, bits 11:10 the table mode (00b legacy; anything else is refused).
//! - Root table: 256 entries of 16 bytes, one per bus. Low qword: bit 0 present, bits 63:12 the
//!   context table's address.
//! - Context table: 256 entries of 16 bytes, one per devfn. Low qword: bit 0 present, bits 3:2
//!   the translation type (0: translate untranslated requests through the second-level tables; 1:
//!   the same, device TLB allowed, which this requester never uses; 2: pass-through; 3:
//!   reserved), bits 63:12 the second-level page table's address. High qword: bits 2:0 the
//!   address width (1: 39 bits, 3 levels; 2: 48 bits, 4 levels; 3: 57 bits, 5 levels).
//! - Second-level tables: 512 entries of 8 bytes per 4 KiB table, 9 IOVA bits per level, level
//!   `n` indexed by IOVA bits `12 + 9n - 1 .. 12 + 9(n - 1)`. Entry: bit 0 read, bit 1 write
//!   (neither: not present), bit 7 a super page at levels 2 (2 MiB) and 3 (1 GiB), bits 51:12
//!   the address of the next table or of the page. Permissions are the AND of every level's.
//!
//! Sources: Linux 7.3 `drivers/iommu/intel/iommu.h` (`struct root_entry`, `struct context_entry`,
//! `CONTEXT_TT_*`, `DMA_PTE_*`, `agaw_to_level`, `DMA_RTADDR_SMT`) and
//! `drivers/iommu/generic_pt/fmt/vtdss.h` (the second-stage entry format the driver writes:
//! `VTDSS_FMT_R/W/PS/OA`, `aw = top_level - 1`), and QEMU's `hw/i386/intel_iommu_internal.h`.
//! The code here is this project's own.
//!
//! Stricter than hardware, on purpose: nothing is cached. Every page of every access is walked
//! from the root entry on, reading the entries from guest RAM at that moment, so a mapping the
//! guest's driver has already torn down faults at once even where a real IOMMU's IOTLB would
//! still hold it (`iommu.strict=1` makes Linux invalidate at unmap; the emulator needs no
//! invalidation). Reserved bits are not checked, and faults are not reported to the guest's fault
//! registers: they fail the descriptor ([`crate::hw::desc::EXC_IOMMU_FAULT`]) and are counted in
//! the identification block.

use crate::{
    bar::Bar2,
    guest_ram::GuestRam,
    hw::emu, //
};

/// Bytes of the smallest IOMMU page.
pub const PAGE_SIZE: u64 = 4096;
const PAGE_MASK: u64 = !(PAGE_SIZE - 1);
/// Second-level entry and pointer address bits 51:12.
const ADDR_MASK: u64 = ((1 << 52) - 1) & PAGE_MASK;
/// Entry bits.
const R: u64 = 1 << 0;
const W: u64 = 1 << 1;
const PS: u64 = 1 << 7;
/// RTADDR bits 11:10: the translation table mode (00b legacy).
const RTADDR_TTM: u64 = 3 << 10;
/// Context entry translation types (bits 3:2 of the low qword).
const TT_PASS_THROUGH: u64 = 2;
const TT_RESERVED: u64 = 3;

/// What the engine does at an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// The descriptor's source: needs R.
    Read,
    /// The descriptor's destination or an EXSRAR report: needs W.
    Write,
}

/// A refused translation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    /// The IOVA that could not be translated.
    pub iova: u64,
    /// One of the `emu::IOMMU_FAULT_*` codes.
    pub reason: u64,
}

/// The tables the guest handed over: its root table and the emulator's requester id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tables {
    /// RTADDR as the guest's IOMMU holds it.
    pub rtaddr: u64,
    /// `bus << 8 | devfn`.
    pub sid: u16,
}

/// One translated page: IOVA `iova` is guest-physical `gpa`, and the `len` bytes from it up to
/// the end of its IOVA page (4 KiB, 2 MiB or 1 GiB) are contiguous.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Translation {
    /// The guest-physical address.
    pub gpa: u64,
    /// Bytes to the end of the page.
    pub len: u64,
    /// A pass-through context entry, no page walk.
    pub passthrough: bool,
}

/// What translating a range did (published in the identification block).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Pages translated through second-level tables.
    pub pages: u64,
    /// 4 KiB pages passed through.
    pub passthrough: u64,
}

fn fault(iova: u64, reason: u64) -> Fault {
    Fault { iova, reason }
}

/// The entry at `gpa`, if it is guest RAM.
fn entry(ram: &GuestRam, gpa: u64, iova: u64) -> Result<u64, Fault> {
    ram.read_u64(gpa)
        .ok_or(fault(iova, emu::IOMMU_FAULT_TABLE_ADDR))
}

/// Translates the page of `iova` for an `access`, walking the tables from guest RAM now.
pub fn translate(
    ram: &GuestRam,
    t: Tables,
    iova: u64,
    access: Access,
) -> Result<Translation, Fault> {
    if t.rtaddr & RTADDR_TTM != 0 {
        return Err(fault(iova, emu::IOMMU_FAULT_TABLE_MODE));
    }
    let (bus, devfn) = (u64::from(t.sid >> 8), u64::from(t.sid & 0xff));
    let root = entry(ram, (t.rtaddr & PAGE_MASK) + 16 * bus, iova)?;
    if root & 1 == 0 {
        return Err(fault(iova, emu::IOMMU_FAULT_ROOT));
    }
    let ctx_at = (root & PAGE_MASK) + 16 * devfn;
    let ctx_lo = entry(ram, ctx_at, iova)?;
    if ctx_lo & 1 == 0 {
        return Err(fault(iova, emu::IOMMU_FAULT_CONTEXT));
    }
    match (ctx_lo >> 2) & 3 {
        TT_RESERVED => return Err(fault(iova, emu::IOMMU_FAULT_TRANSLATION_TYPE)),
        TT_PASS_THROUGH => {
            return Ok(Translation {
                gpa: iova,
                len: PAGE_SIZE - (iova & !PAGE_MASK),
                passthrough: true,
            })
        }
        _ => {}
    }
    let ctx_hi = entry(ram, ctx_at + 8, iova)?;
    let aw = ctx_hi & 7;
    if !(1..=3).contains(&aw) {
        return Err(fault(iova, emu::IOMMU_FAULT_ADDRESS_WIDTH));
    }
    let levels = aw as u32 + 2;
    if iova >> (12 + 9 * levels) != 0 {
        return Err(fault(iova, emu::IOMMU_FAULT_BEYOND_WIDTH));
    }
    let need = match access {
        Access::Read => (R, emu::IOMMU_FAULT_READ),
        Access::Write => (W, emu::IOMMU_FAULT_WRITE),
    };
    let mut table = ctx_lo & PAGE_MASK;
    for level in (1..=levels).rev() {
        let shift = 12 + 9 * (level - 1);
        let pte = entry(ram, table + 8 * ((iova >> shift) & 511), iova)?;
        if pte & (R | W) == 0 {
            return Err(fault(iova, emu::IOMMU_FAULT_NOT_PRESENT));
        }
        if pte & need.0 == 0 {
            return Err(fault(iova, need.1));
        }
        if level == 1 || (matches!(level, 2 | 3) && pte & PS != 0) {
            let size = 1u64 << shift;
            let offset = iova & (size - 1);
            return Ok(Translation {
                gpa: (pte & ADDR_MASK & !(size - 1)) + offset,
                len: size - offset,
                passthrough: false,
            });
        }
        table = pte & ADDR_MASK;
    }
    unreachable!("level 1 always ends the walk")
}

/// Translates `[iova, iova + len)` page by page, appending the guest-physical pieces to `out`
/// (contiguous pieces merged) and counting into `counts`; stops at the first fault.
pub fn translate_range(
    ram: &GuestRam,
    t: Tables,
    iova: u64,
    len: u64,
    access: Access,
    out: &mut Vec<(u64, u64)>,
    counts: &mut Counts,
) -> Result<(), Fault> {
    let mut done = 0;
    while done < len {
        let at = iova
            .checked_add(done)
            .ok_or(fault(iova, emu::IOMMU_FAULT_BEYOND_WIDTH))?;
        let tr = translate(ram, t, at, access)?;
        if tr.passthrough {
            counts.passthrough += 1;
        } else {
            counts.pages += 1;
        }
        let n = tr.len.min(len - done);
        match out.last_mut() {
            Some((gpa, l)) if *gpa + *l == tr.gpa => *l += n,
            _ => out.push((tr.gpa, n)),
        }
        done += n;
    }
    Ok(())
}

/// A piece of guest RAM as the emulator maps it.
pub type Span = (*mut u8, usize);

/// Why a host-side range cannot be reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DmaError {
    /// Not guest RAM (after translation, if any): `EXC_ADDR_RANGE`.
    Range,
    /// The IOMMU refused it (counted and recorded already): `EXC_IOMMU_FAULT`.
    Iommu(Fault),
}

/// How the engine's host-side (VHSAA) addresses reach guest RAM at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostBus {
    /// No `--iommu`: addresses are guest-physical.
    Physical,
    /// `--iommu`, no tables handed over yet: every access faults.
    Unattached,
    /// `--iommu`: addresses are IOVAs translated through these tables.
    Vtd(Tables),
}

impl HostBus {
    /// The state of the controls now (`iommu`: the emulator runs with `--iommu`). The enable
    /// word is read first: a test writes it last.
    pub fn load(bar: &Bar2, iommu: bool) -> Self {
        if !iommu {
            return Self::Physical;
        }
        if bar.load64(emu::BLOCK + emu::OFF_CTL_IOMMU_ENABLE) == 0 {
            return Self::Unattached;
        }
        Self::Vtd(Tables {
            rtaddr: bar.load64(emu::BLOCK + emu::OFF_CTL_IOMMU_RTADDR),
            sid: bar.load64(emu::BLOCK + emu::OFF_CTL_IOMMU_SID) as u16,
        })
    }

    /// The guest RAM behind host-side `[addr, addr + len)` for an `access`, all of it or
    /// nothing: a caller copies only once every byte is known to be reachable. Translations and
    /// faults are counted in the identification block, the fault's IOVA and reason recorded.
    pub fn spans(
        &self,
        bar: &Bar2,
        ram: &GuestRam,
        addr: u64,
        len: u64,
        access: Access,
    ) -> Result<Vec<Span>, DmaError> {
        let t = match *self {
            Self::Physical => {
                let p = ram.host_ptr(addr, len).ok_or(DmaError::Range)?;
                return Ok(vec![(p, len as usize)]);
            }
            Self::Unattached => {
                return Err(DmaError::Iommu(record_fault(
                    bar,
                    fault(addr, emu::IOMMU_FAULT_NOT_ENABLED),
                )))
            }
            Self::Vtd(t) => t,
        };
        let mut pieces = Vec::new();
        let mut counts = Counts::default();
        let r = translate_range(ram, t, addr, len, access, &mut pieces, &mut counts);
        bar.add64(emu::BLOCK + emu::OFF_CNT_IOMMU_PAGES, counts.pages);
        bar.add64(
            emu::BLOCK + emu::OFF_CNT_IOMMU_PASSTHROUGH,
            counts.passthrough,
        );
        if let Err(f) = r {
            return Err(DmaError::Iommu(record_fault(bar, f)));
        }
        let mut spans: Vec<Span> = Vec::with_capacity(pieces.len());
        for (gpa, n) in pieces {
            let p = ram.host_ptr(gpa, n).ok_or(DmaError::Range)?;
            match spans.last_mut() {
                // Contiguous in the RAM file too (GPA-contiguous pieces were merged already;
                // this joins pieces that only the file makes contiguous, which is harmless).
                Some((q, l)) if q.wrapping_add(*l) == p => *l += n as usize,
                _ => spans.push((p, n as usize)),
            }
        }
        Ok(spans)
    }
}

/// Records a fault in the identification block: IOVA and reason first, the count last.
pub fn record_fault(bar: &Bar2, f: Fault) -> Fault {
    bar.store64(emu::BLOCK + emu::OFF_IOMMU_LAST_FAULT, f.iova);
    bar.store64(emu::BLOCK + emu::OFF_IOMMU_LAST_FAULT_REASON, f.reason);
    bar.add64(emu::BLOCK + emu::OFF_CNT_IOMMU_FAULTS, 1);
    f
}

/// Copies `src` to `dst`, spans of the same total length, in address order. One span each is a
/// single `memmove` (overlap allowed, as before the IOMMU); several are copied piece by piece.
///
/// # Safety
///
/// Every span must be valid for reads (`src`) or writes (`dst`) of its length, and the totals
/// must be equal.
pub unsafe fn copy_spans(src: &[Span], dst: &[Span]) {
    let (mut si, mut so, mut di, mut dof) = (0, 0, 0, 0);
    while si < src.len() && di < dst.len() {
        let n = (src[si].1 - so).min(dst[di].1 - dof);
        // SAFETY: both pieces lie within their spans (offsets below the span lengths, `n` at
        // most what is left of either), which the caller guarantees are valid.
        unsafe { std::ptr::copy(src[si].0.add(so), dst[di].0.add(dof), n) };
        so += n;
        dof += n;
        if so == src[si].1 {
            (si, so) = (si + 1, 0);
        }
        if dof == dst[di].1 {
            (di, dof) = (di + 1, 0);
        }
    }
}

/// Builds VT-d tables in a guest RAM file, for the tests of this module, the engine and the
/// device. Written from the formats above, not from any driver.
#[cfg(test)]
pub mod testing {
    use super::*;

    /// Entry bits for tests.
    pub const RW: u64 = R | W;
    /// Read only.
    pub const RO: u64 = R;
    /// Write only.
    pub const WO: u64 = W;

    /// A guest RAM with a page allocator for tables (from GPA `0x10_0000` on).
    pub struct Vt {
        /// The RAM.
        pub ram: GuestRam,
        next: u64,
        _dir: std::path::PathBuf,
    }

    impl Vt {
        /// A sparse RAM of `size` bytes.
        pub fn new(size: u64) -> Self {
            static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let dir = std::env::temp_dir().join(format!(
                "ve-vtd-test-{}-{}",
                std::process::id(),
                N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&dir).unwrap();
            let ram = GuestRam::create(&dir.join("ram"), size).unwrap();
            Vt {
                ram,
                next: 0x10_0000,
                _dir: dir,
            }
        }

        /// A fresh zeroed table page.
        pub fn page(&mut self) -> u64 {
            let p = self.next;
            self.next += PAGE_SIZE;
            p
        }

        /// Writes the u64 at `gpa`.
        pub fn w(&self, gpa: u64, v: u64) {
            let p = self.ram.host_ptr(gpa, 8).unwrap();
            // SAFETY: in bounds (checked by host_ptr), 8-byte aligned (table entries).
            unsafe { p.cast::<u64>().write_volatile(v.to_le()) };
        }

        /// Reads the u64 at `gpa`.
        pub fn r(&self, gpa: u64) -> u64 {
            self.ram.read_u64(gpa).unwrap()
        }

        /// Root table, a context table for `sid`'s bus, the context entry (`tt`, `aw`) and an
        /// empty top-level second-level table. Returns the tables and the top table's GPA.
        pub fn context(&mut self, sid: u16, tt: u64, aw: u64) -> (Tables, u64) {
            let root = self.page();
            let ctx = self.page();
            let top = self.page();
            self.w(root + 16 * u64::from(sid >> 8), ctx | 1);
            let at = ctx + 16 * u64::from(sid & 0xff);
            self.w(at, top | (tt << 2) | 1);
            self.w(at + 8, aw | (42 << 8));
            (Tables { rtaddr: root, sid }, top)
        }

        /// Maps the IOVA page of `leaf_level` (1: 4 KiB, 2: 2 MiB, 3: 1 GiB) at `iova` to `gpa`
        /// with `perm` in a `levels`-level table under `top`, creating tables (R and W) on the way.
        pub fn map(
            &mut self,
            top: u64,
            levels: u32,
            iova: u64,
            gpa: u64,
            leaf_level: u32,
            perm: u64,
        ) {
            let mut table = top;
            for level in (leaf_level..=levels).rev() {
                let at = table + 8 * ((iova >> (12 + 9 * (level - 1))) & 511);
                if level == leaf_level {
                    let ps = if level > 1 { PS } else { 0 };
                    self.w(at, gpa | ps | perm);
                    return;
                }
                let e = self.r(at);
                table = if e & RW != 0 {
                    e & ADDR_MASK
                } else {
                    let t = self.page();
                    self.w(at, t | RW);
                    t
                };
            }
        }

        /// The GPA of the entry that maps `iova` at `level`, for tests that damage it.
        pub fn entry_at(&self, top: u64, levels: u32, iova: u64, level: u32) -> u64 {
            let mut table = top;
            for l in (level..=levels).rev() {
                let at = table + 8 * ((iova >> (12 + 9 * (l - 1))) & 511);
                if l == level {
                    return at;
                }
                table = self.r(at) & ADDR_MASK;
            }
            unreachable!()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{testing::*, *};

    const SID: u16 = 0x0018; // 00:03.0, where q35 puts the ivshmem device
    const MIB: u64 = 1 << 20;

    fn reason(r: Result<Translation, Fault>) -> u64 {
        r.expect_err("a fault").reason
    }

    /// 4-level (48-bit) and 3-level (39-bit) tables with 4 KiB pages: the offset in the page is
    /// kept, the length runs to the end of the page; beyond the width is a fault.
    #[test]
    fn four_and_three_level_4k() {
        for (aw, levels) in [(2, 4), (1, 3), (3, 5)] {
            let mut vt = Vt::new(64 * MIB);
            let (t, top) = vt.context(SID, 0, aw);
            let iova = 0x12_3456_7000 & ((1 << (12 + 9 * levels)) - 1) & !0xfff;
            vt.map(top, levels, iova, 0x80_0000, 1, RW);
            let tr = translate(&vt.ram, t, iova + 0x18, Access::Read).unwrap();
            assert_eq!(
                tr,
                Translation {
                    gpa: 0x80_0018,
                    len: 0x1000 - 0x18,
                    passthrough: false
                },
                "aw {aw}"
            );
            assert_eq!(
                translate(&vt.ram, t, iova, Access::Write).unwrap().gpa,
                0x80_0000
            );
            // The neighbouring page is not mapped.
            assert_eq!(
                reason(translate(&vt.ram, t, iova + 0x1000, Access::Read)),
                emu::IOMMU_FAULT_NOT_PRESENT
            );
            let beyond = 1u64 << (12 + 9 * levels);
            let f = translate(&vt.ram, t, beyond + 0x1000, Access::Read).unwrap_err();
            assert_eq!(
                f,
                Fault {
                    iova: beyond + 0x1000,
                    reason: emu::IOMMU_FAULT_BEYOND_WIDTH
                }
            );
        }
    }

    /// 2 MiB pages at level 2 and 1 GiB pages at level 3, in 3- and 4-level tables.
    #[test]
    fn super_pages() {
        for (aw, levels) in [(1, 3), (2, 4)] {
            let mut vt = Vt::new(64 * MIB);
            let (t, top) = vt.context(SID, 0, aw);
            vt.map(top, levels, 0x4060_0000, 0x1_2340_0000, 2, RW);
            // The first GiB of IOVA space, read only.
            vt.map(top, levels, 0, 0x2_4000_0000, 3, RO);
            let tr = translate(&vt.ram, t, 0x4060_0000 + 0x1_2345, Access::Write).unwrap();
            assert_eq!((tr.gpa, tr.len), (0x1_2341_2345, 2 * MIB - 0x1_2345));
            let iova = 0x3fff_fff8;
            let tr = translate(&vt.ram, t, iova, Access::Read).unwrap();
            assert_eq!((tr.gpa, tr.len), (0x2_7fff_fff8, 8), "aw {aw}");
            assert_eq!(
                reason(translate(&vt.ram, t, iova, Access::Write)),
                emu::IOMMU_FAULT_WRITE
            );
        }
    }

    /// A pass-through context entry: the address is the guest-physical one, 4 KiB at a time.
    #[test]
    fn pass_through() {
        let mut vt = Vt::new(16 * MIB);
        let (t, _) = vt.context(SID, TT_PASS_THROUGH, 0);
        let tr = translate(&vt.ram, t, 0x1_2345_6788, Access::Write).unwrap();
        assert_eq!(
            tr,
            Translation {
                gpa: 0x1_2345_6788,
                len: 0x878,
                passthrough: true
            }
        );
        // TT 1 (device TLB allowed) translates as TT 0.
        let mut vt = Vt::new(16 * MIB);
        let (t, top) = vt.context(SID, 1, 1);
        vt.map(top, 3, 0x5000, 0x9000, 1, RW);
        assert_eq!(
            translate(&vt.ram, t, 0x5008, Access::Read).unwrap().gpa,
            0x9008
        );
    }

    /// Every way the walk stops before a page: each level not present, a reserved translation
    /// type or width, tables outside RAM, a scalable-mode root table, another requester.
    #[test]
    fn faults_at_every_level() {
        let iova = 0x7_8000_3000;
        let fresh = || {
            let mut vt = Vt::new(64 * MIB);
            let (t, top) = vt.context(SID, 0, 2);
            vt.map(top, 4, iova, 0x20_0000, 1, RW);
            assert!(translate(&vt.ram, t, iova, Access::Read).is_ok());
            (vt, t, top)
        };
        // Root entry.
        let (vt, t, _) = fresh();
        vt.w(t.rtaddr, 0);
        assert_eq!(
            reason(translate(&vt.ram, t, iova, Access::Read)),
            emu::IOMMU_FAULT_ROOT
        );
        // Context entry: present bit, another devfn, another bus.
        let (vt, t, _) = fresh();
        let ctx = vt.r(t.rtaddr) & ADDR_MASK;
        vt.w(ctx + 16 * 0x18, vt.r(ctx + 16 * 0x18) & !1);
        assert_eq!(
            reason(translate(&vt.ram, t, iova, Access::Read)),
            emu::IOMMU_FAULT_CONTEXT
        );
        let (vt, t, _) = fresh();
        for sid in [0x0010, 0x0118] {
            let other = Tables { sid, ..t };
            let want = if sid >> 8 == 0 {
                emu::IOMMU_FAULT_CONTEXT
            } else {
                emu::IOMMU_FAULT_ROOT
            };
            assert_eq!(reason(translate(&vt.ram, other, iova, Access::Read)), want);
        }
        // Translation type 3, address widths 0 and 4.
        let (vt, t, _) = fresh();
        let at = (vt.r(t.rtaddr) & ADDR_MASK) + 16 * 0x18;
        let lo = vt.r(at);
        vt.w(at, lo | (3 << 2));
        assert_eq!(
            reason(translate(&vt.ram, t, iova, Access::Read)),
            emu::IOMMU_FAULT_TRANSLATION_TYPE
        );
        vt.w(at, lo);
        for aw in [0, 4] {
            vt.w(at + 8, aw);
            assert_eq!(
                reason(translate(&vt.ram, t, iova, Access::Read)),
                emu::IOMMU_FAULT_ADDRESS_WIDTH
            );
        }
        // Each second-level entry on the path.
        for level in 1..=4 {
            let (vt, t, top) = fresh();
            vt.w(vt.entry_at(top, 4, iova, level), 0);
            assert_eq!(
                reason(translate(&vt.ram, t, iova, Access::Read)),
                emu::IOMMU_FAULT_NOT_PRESENT,
                "level {level}"
            );
        }
        // A table pointer outside RAM; a root table outside RAM; a scalable-mode RTADDR.
        let (vt, t, top) = fresh();
        let at = vt.entry_at(top, 4, iova, 2);
        vt.w(at, 0x40_0000_0000 | RW);
        assert_eq!(
            reason(translate(&vt.ram, t, iova, Access::Read)),
            emu::IOMMU_FAULT_TABLE_ADDR
        );
        let far = Tables {
            rtaddr: 1 << 40,
            ..t
        };
        assert_eq!(
            reason(translate(&vt.ram, far, iova, Access::Read)),
            emu::IOMMU_FAULT_TABLE_ADDR
        );
        let (vt, t, _) = fresh();
        let smt = Tables {
            rtaddr: t.rtaddr | (1 << 10),
            ..t
        };
        assert_eq!(
            reason(translate(&vt.ram, smt, iova, Access::Read)),
            emu::IOMMU_FAULT_TABLE_MODE
        );
    }

    /// Permissions are those of the leaf and of every table above it.
    #[test]
    fn permissions_and_together() {
        let mut vt = Vt::new(64 * MIB);
        let (t, top) = vt.context(SID, 0, 1);
        vt.map(top, 3, 0x1000, 0x30_0000, 1, RO);
        vt.map(top, 3, 0x2000, 0x30_1000, 1, WO);
        assert!(translate(&vt.ram, t, 0x1000, Access::Read).is_ok());
        assert_eq!(
            reason(translate(&vt.ram, t, 0x1000, Access::Write)),
            emu::IOMMU_FAULT_WRITE
        );
        assert!(translate(&vt.ram, t, 0x2000, Access::Write).is_ok());
        assert_eq!(
            reason(translate(&vt.ram, t, 0x2000, Access::Read)),
            emu::IOMMU_FAULT_READ
        );
        // The level-2 table entry loses W: the read-write leaf under it is read only.
        vt.map(top, 3, 0x3000, 0x30_2000, 1, RW);
        let at = vt.entry_at(top, 3, 0x3000, 2);
        vt.w(at, vt.r(at) & !W);
        assert_eq!(
            reason(translate(&vt.ram, t, 0x3000, Access::Write)),
            emu::IOMMU_FAULT_WRITE
        );
        assert!(translate(&vt.ram, t, 0x3000, Access::Read).is_ok());
    }

    /// A range over pages maps to pieces, merged where the guest-physical pages follow each
    /// other; each page walk is counted; a hole stops the range with its IOVA.
    #[test]
    fn ranges_split_and_merge() {
        let mut vt = Vt::new(64 * MIB);
        let (t, top) = vt.context(SID, 0, 2);
        // IOVA pages 0x10..0x14 -> GPA 0x50, 0x51, 0x40, 0x41 (pages), then a 2 MiB page.
        for (i, g) in [0x50, 0x51, 0x40, 0x41].into_iter().enumerate() {
            vt.map(top, 4, (0x10 + i as u64) << 12, g << 12, 1, RW);
        }
        let mut out = Vec::new();
        let mut c = Counts::default();
        translate_range(&vt.ram, t, 0x10_800, 0x3000, Access::Read, &mut out, &mut c).unwrap();
        assert_eq!(out, vec![(0x50_800, 0x1800), (0x40_000, 0x1800)]);
        assert_eq!(
            c,
            Counts {
                pages: 4,
                passthrough: 0
            }
        );
        let mut out = Vec::new();
        let f = translate_range(&vt.ram, t, 0x13_000, 0x2000, Access::Read, &mut out, &mut c)
            .unwrap_err();
        assert_eq!(f.iova, 0x14_000);
        assert_eq!(c.pages, 5);
    }
}
