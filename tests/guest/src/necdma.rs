// SPDX-License-Identifier: GPL-2.0

//! NEC's two user-space privileged DMA managers, rebuilt on this driver's NEC ABI for the
//! side-by-side benchmark (docs/nec-abi.md, "VEOS's privileged DMA manager"):
//! - `legacy` (VEOS <= 2.0.3): one `VHVA_TO_VSAA_PIN_DOWN` ioctl per 4 KiB page, physically
//!   contiguous pieces merged (up to 64 MiB), the whole descriptor list built first, then posted
//!   (at most 127 in flight, the rest as slots free), completion by `WAIT_INTR`, one
//!   `RELEASE_PD_PAGE` per page at the end;
//! - `bulk` (NEC >= 2.1): `VHVA_TO_VSAA_BLK_PIN_DOWN` of at most 100 entries (4 KiB or 2 MiB),
//!   descriptors posted every 64 page steps so that translation overlaps the transfer, one
//!   `RELEASE_PD_PAGE_BLK` per block when the request is done.
//!
//! Both need `user_pdma=1` and drive the engine through [`UserEngine`].

use std::os::fd::OwnedFd;

use crate::{
    hw::{
        desc::{
            self,
            AddrSpace,
            Desc, //
        },
        dmactl,
    },
    nec, uapi,
    userdma::{
        self,
        UserEngine, //
    },
};

/// A piece of the transfer: VH physical address and length (the VE side is contiguous).
#[derive(Copy, Clone, Debug)]
struct Piece {
    phys: u64,
    len: u64,
}

/// Posts pieces as ring slots allow and waits with WAIT_INTR until all are done.
struct Poster<'a> {
    eng: &'a UserEngine,
    fd: &'a OwnedFd,
    to_ve: bool,
    /// Next VE address.
    ve: u64,
    /// Slots posted and not yet seen completed.
    inflight: usize,
    /// Next slot to post.
    head: usize,
    /// Descriptors posted in all.
    pub descs: u64,
}

impl<'a> Poster<'a> {
    fn new(eng: &'a UserEngine, fd: &'a OwnedFd, to_ve: bool, ve: u64) -> Self {
        let head = (eng.ctl1() & dmactl::READPTR_MASK) as usize;
        Self {
            eng,
            fd,
            to_ve,
            ve,
            inflight: 0,
            head,
            descs: 0,
        }
    }

    /// Takes what the engine finished (by its read pointer); `Err` on an exception.
    fn reap(&mut self) -> Result<(), String> {
        let ctl1 = self.eng.ctl1();
        if ctl1 & dmactl::EXCEPTION != 0 {
            return Err(format!("engine exception, DMACTL1 {ctl1:#x}"));
        }
        let rp = (ctl1 & dmactl::READPTR_MASK) as usize;
        let tail = (self.head + desc::NUM - self.inflight) % desc::NUM;
        self.inflight -= (rp + desc::NUM - tail) % desc::NUM;
        Ok(())
    }

    /// Posts one piece, waiting for a slot if the ring is full.
    fn post(&mut self, p: Piece) -> Result<(), String> {
        while self.inflight >= desc::MAX_IN_FLIGHT {
            self.wait()?;
        }
        let (src_space, src, dst_space, dst) = if self.to_ve {
            (AddrSpace::Vhsaa, p.phys, AddrSpace::Vemaa, self.ve)
        } else {
            (AddrSpace::Vemaa, self.ve, AddrSpace::Vhsaa, p.phys)
        };
        // VEOS asks for a completion interrupt on every descriptor.
        self.eng.post(
            self.head,
            &Desc {
                src_space,
                src,
                dst_space,
                dst,
                len: p.len as u32,
                control: desc::CTL_INTR_COMPLETION,
                order: 0,
            },
        );
        self.head = (self.head + 1) % desc::NUM;
        self.inflight += 1;
        self.ve += p.len;
        self.descs += 1;
        Ok(())
    }

    /// Starts the engine on what is posted.
    fn start(&self) -> Result<(), String> {
        self.eng.start().map_err(|e| format!("KICK: errno {e}"))
    }

    /// Waits for an interrupt, then reaps.
    fn wait(&mut self) -> Result<(), String> {
        self.start()?;
        let ve3 = self.eng.scr() == userdma::ScrMap::VE3;
        match userdma::wait_intr_pdma(self.fd, 2000, ve3) {
            Ok(_) | Err(libc::ETIMEDOUT) => {}
            Err(e) => return Err(format!("WAIT_INTR: errno {e}")),
        }
        self.reap()
    }

    /// Waits until everything posted is done.
    fn finish(&mut self) -> Result<(), String> {
        self.start()?;
        let mut idle = 0;
        while self.inflight > 0 {
            let before = self.inflight;
            self.wait()?;
            idle = if self.inflight == before { idle + 1 } else { 0 };
            if idle > 3 {
                return Err("the engine stopped making progress".into());
            }
        }
        Ok(())
    }
}

/// Appends `p` to `pieces`, merging it into the last piece when physically contiguous (up to
/// 64 MiB), as VEOS does.
fn push_merged(pieces: &mut Vec<Piece>, p: Piece) {
    if let Some(last) = pieces.last_mut() {
        if last.phys + last.len == p.phys && last.len + p.len <= desc::LEN_MAX {
            last.len += p.len;
            return;
        }
    }
    pieces.push(p);
}

/// VEOS 1.2.2's algorithm. Returns the descriptors used.
pub fn legacy(
    fd: &OwnedFd,
    eng: &UserEngine,
    vh: u64,
    ve: u64,
    len: u64,
    to_ve: bool,
) -> Result<u64, String> {
    let mut pieces = Vec::new();
    let mut pinned = Vec::new();
    let mut va = vh;
    let end = vh + len;
    let r = (|| {
        while va < end {
            let phys = nec::page(fd, true, uapi::OS_LIST, 0, !to_ve, va)
                .map_err(|e| format!("PIN_DOWN: errno {e}"))?;
            pinned.push(phys);
            let chunk = (4096 - va % 4096).min(end - va);
            push_merged(&mut pieces, Piece { phys, len: chunk });
            va += chunk;
        }
        let mut poster = Poster::new(eng, fd, to_ve, ve);
        for p in &pieces {
            poster.post(*p)?;
        }
        poster.finish()?;
        Ok(poster.descs)
    })();
    for p in pinned {
        let _ = nec::release_page(fd, uapi::OS_LIST, p);
    }
    r
}

/// NEC >= 2.1's algorithm. Returns the descriptors used.
pub fn bulk(
    fd: &OwnedFd,
    eng: &UserEngine,
    vh: u64,
    ve: u64,
    len: u64,
    to_ve: bool,
) -> Result<u64, String> {
    let mut blocks: Vec<Vec<u64>> = Vec::new();
    let r = (|| {
        let mut poster = Poster::new(eng, fd, to_ve, ve);
        let mut va = vh;
        let end = vh + len;
        let mut pending = Vec::new();
        let mut steps = 0;
        while va < end {
            let b = nec::blk(fd, true, uapi::OS_LIST, 0, !to_ve, va, end - va, 100)
                .map_err(|e| format!("BLK_PIN_DOWN: errno {e}"))?;
            for (i, &pa) in b.paddr.iter().enumerate() {
                let skip = if i == 0 { va % b.pgsz } else { 0 };
                let chunk = (b.pgsz - skip).min(end - va);
                push_merged(
                    &mut pending,
                    Piece {
                        phys: pa + skip,
                        len: chunk,
                    },
                );
                va += chunk;
                steps += 1;
                // Post every 64 page steps: translation overlaps the transfer.
                if steps % 64 == 0 {
                    let keep = pending.pop();
                    for p in pending.drain(..) {
                        poster.post(p)?;
                    }
                    pending.extend(keep);
                    poster.start()?;
                }
            }
            blocks.push(b.paddr);
        }
        for p in pending.drain(..) {
            poster.post(p)?;
        }
        poster.finish()?;
        Ok(poster.descs)
    })();
    for b in blocks {
        let _ = nec::release_blk(fd, uapi::OS_LIST, &b);
    }
    r
}
