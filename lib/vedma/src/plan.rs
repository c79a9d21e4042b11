// SPDX-License-Identifier: GPL-2.0

//! The hardware-independent part of the library: VEOS's constants, the parameter checks of a
//! post, the address-type pairs and the `VE_DMA_IOC_SUBMIT` flags they become, the VEMVA page
//! walk into VE extents and its split into kernel requests, the absolute deadline of
//! `ve_dma_timedwait` as the kernel's milliseconds, and the status of a request from the
//! kernel's results. Plain functions, tested on the host (`cargo test -p ve-dma`).

use crate::uapi::{
    VeDmaExtent, VE_DMA_SUBMIT_IDO, VE_DMA_SUBMIT_RO, VE_DMA_SUBMIT_SYNC, VE_DMA_VE_LIST,
    VE_DMA_VE_REGS, VE_DMA_VE_TO_VE, VE_DMA_VE_TO_VH, VE_DMA_VH_BUS, VE_DMA_VH_TO_VE,
};

/// VEOS's address types (`dma.h`; 4 is VE1's `VE1_DMA_VERAA` from `dma_ve1.h`).
pub const VE_DMA_VEMVA: u32 = 0;
/// VE virtual address without the write-protection check.
pub const VE_DMA_VEMVA_WO_PROT_CHECK: u32 = 1;
/// VH virtual address of a pid.
pub const VE_DMA_VHVA: u32 = 2;
/// VE memory (physical).
pub const VE_DMA_VEMAA: u32 = 3;
/// VE1 register space (VE1's `VE1_DMA_VERAA`).
pub const VE1_DMA_VERAA: u32 = 4;
/// VH bus (PCI) address.
pub const VE_DMA_VHSAA: u32 = 5;

/// VEOS's option bits of `ve_dma_post_p_va_with_opt`.
pub const VE_DMA_OPT_SYNC: u64 = 1;
/// PCIe relaxed ordering.
pub const VE_DMA_OPT_RO: u64 = 2;
/// PCIe ID-based ordering.
pub const VE_DMA_OPT_IDO: u64 = 4;
/// Posted from a synchronous API (library-internal: no descriptor bit).
pub const VE_DMA_OPT_SYNC_API: u64 = 8;

/// VEOS's longest transfer (`VE_DMA_MAX_LENGTH`).
pub const VE_DMA_MAX_LENGTH: u64 = 0x7FFF_FFFF_FFFF_FFF8;
/// VEOS's VE page for the VEMVA walk: always 2 MiB (64 MiB pages are 32 of them).
pub const VE_PAGE_SIZE: u64 = 2 << 20;

/// `PROT_READ` / `PROT_WRITE` / `PROT_NONE` as `veos_virt_to_phy` reports a page.
const PROT_NONE: i32 = 0;
const PROT_READ: i32 = 1;
const PROT_WRITE: i32 = 2;

/// VEOS's `ve_dma_status_t`.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Finished normally.
    Ok = 0,
    /// Not finished yet.
    NotFinished = 1,
    /// `ve_dma_timedwait`'s deadline passed.
    TimedOut = 2,
    /// Cancelled (`ve_dma_terminate_all`, the pseudo process's socket hung up).
    Canceled = 3,
    /// Failed.
    Error = 4,
}

/// The 8-byte alignment and length rules of VEOS's post: `EINVAL` otherwise.
pub fn check_post(srcaddr: u64, dstaddr: u64, len: u64) -> Result<(), i32> {
    if len % 8 != 0 || len > VE_DMA_MAX_LENGTH || srcaddr % 8 != 0 || dstaddr % 8 != 0 {
        return Err(libc::EINVAL);
    }
    Ok(())
}

/// The VH side of a VH <-> VE transfer.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum VhSide {
    /// Virtual memory of a process (VHVA).
    Virt { pid: i32, addr: u64 },
    /// A bus address (VHSAA).
    Bus { addr: u64 },
}

/// The VE side of a VH <-> VE transfer.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum VeSide {
    /// VE memory (VEMAA), one range.
    Phys { addr: u64 },
    /// VE register space (VERAA), one range.
    Regs { addr: u64 },
    /// A VE process's virtual memory (VEMVA), translated page by page through VEOS; `check` is
    /// false for `VE_DMA_VEMVA_WO_PROT_CHECK`.
    Virt { pid: i32, addr: u64, check: bool },
}

/// What a post becomes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// VHVA -> VHVA: copied in user space (`process_vm_readv`/`process_vm_writev`).
    HostCopy {
        src_pid: i32,
        src: u64,
        dst_pid: i32,
        dst: u64,
    },
    /// VEMAA -> VEMAA: one `VE_DMA_VE_TO_VE` request.
    VeToVe { src: u64, dst: u64 },
    /// VH <-> VE: `to_ve` is the direction.
    VhVe { to_ve: bool, vh: VhSide, ve: VeSide },
}

fn vh_side(t: u32, pid: i32, addr: u64) -> Option<VhSide> {
    match t {
        VE_DMA_VHVA => Some(VhSide::Virt { pid, addr }),
        VE_DMA_VHSAA => Some(VhSide::Bus { addr }),
        _ => None,
    }
}

fn ve_side(t: u32, pid: i32, addr: u64) -> Option<VeSide> {
    match t {
        VE_DMA_VEMAA => Some(VeSide::Phys { addr }),
        VE1_DMA_VERAA => Some(VeSide::Regs { addr }),
        VE_DMA_VEMVA => Some(VeSide::Virt {
            pid,
            addr,
            check: true,
        }),
        VE_DMA_VEMVA_WO_PROT_CHECK => Some(VeSide::Virt {
            pid,
            addr,
            check: false,
        }),
        _ => None,
    }
}

/// The plan for a pair of address types, or `EINVAL` for a type or pair this library (and
/// VEOS's callers) do not use.
pub fn classify(
    srctype: u32,
    srcpid: i32,
    src: u64,
    dsttype: u32,
    dstpid: i32,
    dst: u64,
) -> Result<Plan, i32> {
    if srctype == VE_DMA_VHVA && dsttype == VE_DMA_VHVA {
        return Ok(Plan::HostCopy {
            src_pid: srcpid,
            src,
            dst_pid: dstpid,
            dst,
        });
    }
    if srctype == VE_DMA_VEMAA && dsttype == VE_DMA_VEMAA {
        return Ok(Plan::VeToVe { src, dst });
    }
    if let (Some(vh), Some(ve)) = (vh_side(srctype, srcpid, src), ve_side(dsttype, dstpid, dst)) {
        return Ok(Plan::VhVe {
            to_ve: true,
            vh,
            ve,
        });
    }
    if let (Some(ve), Some(vh)) = (ve_side(srctype, srcpid, src), vh_side(dsttype, dstpid, dst)) {
        return Ok(Plan::VhVe {
            to_ve: false,
            vh,
            ve,
        });
    }
    Err(libc::EINVAL)
}

/// VEOS's option bits as `ve_dma_submit.opt` (`VE_DMA_OPT_SYNC_API` has no descriptor bit).
pub fn submit_opt(opt: u64) -> u32 {
    let mut o = 0;
    if opt & VE_DMA_OPT_SYNC != 0 {
        o |= VE_DMA_SUBMIT_SYNC;
    }
    if opt & VE_DMA_OPT_RO != 0 {
        o |= VE_DMA_SUBMIT_RO;
    }
    if opt & VE_DMA_OPT_IDO != 0 {
        o |= VE_DMA_SUBMIT_IDO;
    }
    o
}

/// `ve_dma_submit.flags` of a VH <-> VE request.
pub fn vh_ve_flags(to_ve: bool, vh: &VhSide, ve: &VeSide) -> u32 {
    let mut f = if to_ve {
        VE_DMA_VH_TO_VE
    } else {
        VE_DMA_VE_TO_VH
    };
    if let VhSide::Bus { .. } = vh {
        f |= VE_DMA_VH_BUS;
    }
    match ve {
        VeSide::Phys { .. } => {}
        VeSide::Regs { .. } => f |= VE_DMA_VE_REGS,
        VeSide::Virt { .. } => f |= VE_DMA_VE_LIST,
    }
    f
}

/// `ve_dma_submit.flags` of a VE memory to VE memory request.
pub const fn ve_ve_flags() -> u32 {
    VE_DMA_VE_TO_VE
}

/// The `VE_PAGE_SIZE`-aligned VE virtual pages that `[addr, addr + len)` touches.
pub fn ve_pages(addr: u64, len: u64) -> impl Iterator<Item = u64> {
    let first = addr & !(VE_PAGE_SIZE - 1);
    let end = if len == 0 { first } else { addr + len };
    (first..end).step_by(VE_PAGE_SIZE as usize)
}

/// Whether a page `veos_virt_to_phy` reported with protection `prot` may be used: `EACCES` for a
/// page that cannot be read, or not written when `write` (VEOS checks only `VE_DMA_VEMVA`
/// destinations), `EINVAL` for an unknown protection.
pub fn check_prot(prot: i32, write: bool) -> Result<(), i32> {
    match prot {
        PROT_WRITE => Ok(()),
        PROT_READ if write => Err(libc::EACCES),
        PROT_READ => Ok(()),
        PROT_NONE => Err(libc::EACCES),
        _ => Err(libc::EINVAL),
    }
}

/// The VE extents of `[addr, addr + len)` of VE virtual memory whose pages (in [`ve_pages`]
/// order) are at the VE physical page addresses `pages`: one extent per page, merged where one
/// page follows the other physically.
pub fn extents(addr: u64, len: u64, pages: &[u64]) -> Vec<VeDmaExtent> {
    let mut out: Vec<VeDmaExtent> = Vec::new();
    let mut pos = addr;
    let end = addr + len;
    for &page in pages {
        if pos >= end {
            break;
        }
        let off = pos & (VE_PAGE_SIZE - 1);
        let n = (VE_PAGE_SIZE - off).min(end - pos);
        let pa = (page & !(VE_PAGE_SIZE - 1)) + off;
        match out.last_mut() {
            Some(last) if last.addr + last.len == pa => last.len += n,
            _ => out.push(VeDmaExtent { addr: pa, len: n }),
        }
        pos += n;
    }
    out
}

/// One kernel request of a VE extent list: `extents[first..first + count]`, `len` bytes from
/// `vh_off` bytes into the VH side.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// Offset into the VH side.
    pub vh_off: u64,
    /// Bytes.
    pub len: u64,
    /// Index of the first extent.
    pub first: usize,
    /// Extents (1..=max).
    pub count: usize,
}

/// The extent list cut into kernel requests of at most `max` extents each.
pub fn chunks(extents: &[VeDmaExtent], max: usize) -> Vec<Chunk> {
    let mut out = Vec::new();
    let mut vh_off = 0;
    for (i, group) in extents.chunks(max.max(1)).enumerate() {
        let len = group.iter().map(|e| e.len).sum();
        out.push(Chunk {
            vh_off,
            len,
            first: i * max.max(1),
            count: group.len(),
        });
        vh_off += len;
    }
    out
}

/// Milliseconds from `now` to the absolute `deadline` (both `(seconds, nanoseconds)` of
/// CLOCK_REALTIME, as `pthread_cond_timedwait` takes them), rounded up so that a wait does not
/// end early, at most `u32::MAX`; `None` once the deadline has passed.
pub fn remaining_ms(deadline: (i64, i64), now: (i64, i64)) -> Option<u32> {
    let ns = |t: (i64, i64)| i128::from(t.0) * 1_000_000_000 + i128::from(t.1);
    let left = ns(deadline) - ns(now);
    if left <= 0 {
        return None;
    }
    let ms = (left + 999_999) / 1_000_000;
    Some(u32::try_from(ms).unwrap_or(u32::MAX))
}

/// What the kernel requests of one post have come to so far.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// One was cancelled (or not submitted because the request was cancelled).
    pub canceled: bool,
    /// One failed otherwise (engine exception, card gone, a later part refused by SUBMIT).
    pub failed: bool,
}

impl Outcome {
    /// Adds the `status` `VE_DMA_IOC_WAIT` reported for one kernel request.
    pub fn add(&mut self, status: i32) {
        match status {
            0 => {}
            s if s == -libc::ECANCELED => self.canceled = true,
            _ => self.failed = true,
        }
    }

    /// VEOS's status of a finished request: an error wins over a cancellation.
    pub fn status(&self) -> Status {
        if self.failed {
            Status::Error
        } else if self.canceled {
            Status::Canceled
        } else {
            Status::Ok
        }
    }
}

/// VEOS's `ve_dma_wait`/`ve_dma_timedwait` report a request that cannot finish any more (the
/// handle is stopping) as cancelled.
pub fn wait_status(s: Status) -> Status {
    if s == Status::NotFinished {
        Status::Canceled
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_checks() {
        assert_eq!(check_post(0, 0, 0), Ok(()));
        assert_eq!(check_post(8, 16, 4096), Ok(()));
        assert_eq!(check_post(4, 16, 4096), Err(libc::EINVAL));
        assert_eq!(check_post(8, 12, 4096), Err(libc::EINVAL));
        assert_eq!(check_post(8, 16, 4092), Err(libc::EINVAL));
        assert_eq!(check_post(0, 0, VE_DMA_MAX_LENGTH), Ok(()));
        assert_eq!(check_post(0, 0, VE_DMA_MAX_LENGTH + 8), Err(libc::EINVAL));
    }

    #[test]
    fn pairs() {
        let p = classify(VE_DMA_VHVA, 7, 0x1000, VE_DMA_VEMAA, 0, 0x2000).unwrap();
        let vh = VhSide::Virt {
            pid: 7,
            addr: 0x1000,
        };
        assert_eq!(
            p,
            Plan::VhVe {
                to_ve: true,
                vh,
                ve: VeSide::Phys { addr: 0x2000 }
            }
        );
        assert_eq!(
            vh_ve_flags(true, &vh, &VeSide::Phys { addr: 0 }),
            VE_DMA_VH_TO_VE
        );

        let p = classify(VE_DMA_VEMVA, 9, 0x600000000000, VE_DMA_VHVA, 7, 0x1000).unwrap();
        let ve = VeSide::Virt {
            pid: 9,
            addr: 0x600000000000,
            check: true,
        };
        assert_eq!(
            p,
            Plan::VhVe {
                to_ve: false,
                vh,
                ve
            }
        );
        assert_eq!(
            vh_ve_flags(false, &vh, &ve),
            VE_DMA_VE_TO_VH | VE_DMA_VE_LIST
        );

        let p = classify(VE_DMA_VHVA, 7, 0x1000, VE_DMA_VEMVA_WO_PROT_CHECK, 9, 0x40).unwrap();
        let ve = VeSide::Virt {
            pid: 9,
            addr: 0x40,
            check: false,
        };
        assert_eq!(
            p,
            Plan::VhVe {
                to_ve: true,
                vh,
                ve
            }
        );

        let p = classify(VE1_DMA_VERAA, 0, 0x100, VE_DMA_VHVA, 7, 0x1000).unwrap();
        let ve = VeSide::Regs { addr: 0x100 };
        assert_eq!(
            p,
            Plan::VhVe {
                to_ve: false,
                vh,
                ve
            }
        );
        assert_eq!(
            vh_ve_flags(false, &vh, &ve),
            VE_DMA_VE_TO_VH | VE_DMA_VE_REGS
        );

        let p = classify(VE_DMA_VHSAA, 0, 0x8000, VE_DMA_VEMAA, 0, 0x40).unwrap();
        let bus = VhSide::Bus { addr: 0x8000 };
        assert_eq!(
            p,
            Plan::VhVe {
                to_ve: true,
                vh: bus,
                ve: VeSide::Phys { addr: 0x40 }
            }
        );
        assert_eq!(
            vh_ve_flags(true, &bus, &VeSide::Phys { addr: 0 }),
            1 | VE_DMA_VH_BUS
        );

        assert_eq!(
            classify(VE_DMA_VEMAA, 0, 8, VE_DMA_VEMAA, 0, 16),
            Ok(Plan::VeToVe { src: 8, dst: 16 })
        );
        assert_eq!(ve_ve_flags(), VE_DMA_VE_TO_VE);
        assert_eq!(
            classify(VE_DMA_VHVA, 1, 8, VE_DMA_VHVA, 2, 16),
            Ok(Plan::HostCopy {
                src_pid: 1,
                src: 8,
                dst_pid: 2,
                dst: 16
            })
        );
        for (s, d) in [
            (VE_DMA_VHSAA, VE_DMA_VHVA),
            (VE_DMA_VHSAA, VE_DMA_VHSAA),
            (VE_DMA_VEMVA, VE_DMA_VEMAA),
            (VE1_DMA_VERAA, VE_DMA_VEMAA),
            (6, VE_DMA_VHVA),
            (VE_DMA_VHVA, 99),
        ] {
            assert_eq!(classify(s, 0, 0, d, 0, 0), Err(libc::EINVAL), "{s} -> {d}");
        }
    }

    #[test]
    fn options() {
        assert_eq!(submit_opt(0), 0);
        assert_eq!(
            submit_opt(VE_DMA_OPT_SYNC | VE_DMA_OPT_SYNC_API),
            VE_DMA_SUBMIT_SYNC
        );
        assert_eq!(
            submit_opt(VE_DMA_OPT_RO | VE_DMA_OPT_IDO),
            VE_DMA_SUBMIT_RO | VE_DMA_SUBMIT_IDO
        );
        assert_eq!(submit_opt(VE_DMA_OPT_SYNC_API), 0);
    }

    #[test]
    fn page_walk() {
        const P: u64 = VE_PAGE_SIZE;
        assert_eq!(ve_pages(0, 0).count(), 0);
        assert_eq!(ve_pages(8, 8).collect::<Vec<_>>(), [0]);
        assert_eq!(ve_pages(P - 8, 16).collect::<Vec<_>>(), [0, P]);
        assert_eq!(ve_pages(3 * P, 2 * P).collect::<Vec<_>>(), [3 * P, 4 * P]);
        // Not the identity: page 0 at 5P, page 1 at 6P (contiguous), page 2 at P.
        let pages = [5 * P, 6 * P, P];
        let e = extents(P / 2, 2 * P, &pages);
        assert_eq!(
            e,
            [
                VeDmaExtent {
                    addr: 5 * P + P / 2,
                    len: P + P / 2
                },
                VeDmaExtent {
                    addr: P,
                    len: P / 2
                }
            ]
        );
        assert_eq!(e.iter().map(|x| x.len).sum::<u64>(), 2 * P);
        // Within one page.
        assert_eq!(
            extents(P + 64, 64, &[9 * P]),
            [VeDmaExtent {
                addr: 9 * P + 64,
                len: 64
            }]
        );
        // check_prot
        assert_eq!(check_prot(PROT_WRITE, true), Ok(()));
        assert_eq!(check_prot(PROT_READ, false), Ok(()));
        assert_eq!(check_prot(PROT_READ, true), Err(libc::EACCES));
        assert_eq!(check_prot(PROT_NONE, false), Err(libc::EACCES));
        assert_eq!(check_prot(7, false), Err(libc::EINVAL));
    }

    #[test]
    fn split_at_max_extents() {
        const P: u64 = VE_PAGE_SIZE;
        // 2500 pages, every other one physically: no merging.
        let pages: Vec<u64> = (0..2500).map(|i| 2 * i * P).collect();
        let e = extents(8, 2500 * P - 16, &pages);
        assert_eq!(e.len(), 2500);
        let c = chunks(&e, 1024);
        assert_eq!(c.len(), 3);
        assert_eq!((c[0].first, c[0].count, c[0].vh_off), (0, 1024, 0));
        assert_eq!(c[0].len, 1024 * P - 8);
        assert_eq!(
            (c[1].first, c[1].count, c[1].vh_off),
            (1024, 1024, 1024 * P - 8)
        );
        assert_eq!((c[2].first, c[2].count), (2048, 452));
        assert_eq!(c.iter().map(|x| x.len).sum::<u64>(), 2500 * P - 16);
        assert_eq!(c[2].vh_off + c[2].len, 2500 * P - 16);
        assert!(chunks(&[], 1024).is_empty());
        // Contiguous pages merge into one extent.
        let pages: Vec<u64> = (0..2500).map(|i| (i + 7) * P).collect();
        assert_eq!(extents(0, 2500 * P, &pages).len(), 1);
    }

    #[test]
    fn deadline() {
        assert_eq!(remaining_ms((10, 0), (10, 0)), None);
        assert_eq!(remaining_ms((10, 0), (11, 0)), None);
        assert_eq!(remaining_ms((10, 1), (10, 0)), Some(1));
        assert_eq!(remaining_ms((11, 500_000_000), (10, 0)), Some(1500));
        assert_eq!(remaining_ms((11, 0), (10, 999_000_001)), Some(1));
        assert_eq!(remaining_ms((i64::MAX, 0), (0, 0)), Some(u32::MAX));
    }

    #[test]
    fn statuses() {
        let mut o = Outcome::default();
        o.add(0);
        assert_eq!(o.status(), Status::Ok);
        o.add(-libc::ECANCELED);
        assert_eq!(o.status(), Status::Canceled);
        o.add(-libc::EIO);
        assert_eq!(o.status(), Status::Error);
        let mut o = Outcome::default();
        o.add(-libc::ENODEV);
        assert_eq!(o.status(), Status::Error);
        assert_eq!(wait_status(Status::NotFinished), Status::Canceled);
        assert_eq!(wait_status(Status::TimedOut), Status::TimedOut);
        assert_eq!(wait_status(Status::Ok), Status::Ok);
    }
}

#[cfg(test)]
mod header {
    //! `include/veos/dma.h` says what this file says (and what VEOS's `dma.h` says).
    use super::*;

    const HEADER: &str = include_str!("../../../include/veos/dma.h");

    fn define(name: &str) -> u64 {
        let line = HEADER
            .lines()
            .find(|l| l.split_whitespace().take(2).eq(["#define", name]))
            .unwrap_or_else(|| panic!("{name} not in the header"));
        let v = line.split_whitespace().nth(2).unwrap();
        let v = v.trim_matches(|c| c == '(' || c == ')');
        match v.strip_prefix("0x") {
            Some(h) => u64::from_str_radix(h, 16).unwrap(),
            None => v.parse().unwrap(),
        }
    }

    #[test]
    fn constants() {
        assert_eq!(define("VE_DMA_VEMVA"), u64::from(VE_DMA_VEMVA));
        assert_eq!(
            define("VE_DMA_VEMVA_WO_PROT_CHECK"),
            u64::from(VE_DMA_VEMVA_WO_PROT_CHECK)
        );
        assert_eq!(define("VE_DMA_VHVA"), u64::from(VE_DMA_VHVA));
        assert_eq!(define("VE_DMA_VEMAA"), u64::from(VE_DMA_VEMAA));
        assert_eq!(define("VE1_DMA_VERAA"), u64::from(VE1_DMA_VERAA));
        assert_eq!(define("VE_DMA_VHSAA"), u64::from(VE_DMA_VHSAA));
        assert_eq!(define("VE_DMA_OPT_SYNC"), VE_DMA_OPT_SYNC);
        assert_eq!(define("VE_DMA_OPT_RO"), VE_DMA_OPT_RO);
        assert_eq!(define("VE_DMA_OPT_IDO"), VE_DMA_OPT_IDO);
        assert_eq!(define("VE_DMA_OPT_SYNC_API"), VE_DMA_OPT_SYNC_API);
    }

    #[test]
    fn statuses_in_order() {
        let names = [
            ("VE_DMA_STATUS_OK", Status::Ok),
            ("VE_DMA_STATUS_NOT_FINISHED", Status::NotFinished),
            ("VE_DMA_STATUS_TIMEDOUT", Status::TimedOut),
            ("VE_DMA_STATUS_CANCELED", Status::Canceled),
            ("VE_DMA_STATUS_ERROR", Status::Error),
        ];
        let at = |n: &str| {
            HEADER
                .find(&format!("\t{n}"))
                .unwrap_or_else(|| panic!("{n}"))
        };
        for (i, (n, s)) in names.iter().enumerate() {
            assert_eq!(*s as usize, i, "{n}");
            if i > 0 {
                assert!(at(names[i - 1].0) < at(n), "{n} out of order");
            }
        }
        assert!(HEADER.contains("VE_DMA_STATUS_OK = 0,"));
    }
}
