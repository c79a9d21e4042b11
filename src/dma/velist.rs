// SPDX-License-Identifier: GPL-2.0

//! The VE side of a transfer: one range of VE memory or a list of extents, walked in order as the
//! VH side is pinned. `core` only: compiled into the module and unit-tested on the host.
//!
//! An extent is `(addr, len)` in VE memory (VEMAA). A descriptor copies between one physically
//! contiguous VH run and one contiguous VE range, so a VH run is cut wherever the VE side jumps;
//! extents that happen to be adjacent are walked as one.

/// Alignment the engine demands of addresses and lengths (NEC's 8-byte rule).
pub use crate::hw::desc::ALIGN;

/// Checks an extent list: at least one extent, each nonzero, 8-byte aligned in address and
/// length, not wrapping, inside the first `ve_mem` bytes of VE memory when the size is known.
/// Returns the total length, or `None` if any check fails or the total overflows.
pub fn check(extents: &[(u64, u64)], ve_mem: Option<u64>) -> Option<u64> {
    if extents.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    for &(addr, len) in extents {
        let end = addr.checked_add(len)?;
        if len == 0 || addr % ALIGN != 0 || len % ALIGN != 0 || ve_mem.is_some_and(|m| end > m) {
            return None;
        }
        total = total.checked_add(len)?;
    }
    Some(total)
}

/// A position in an extent list.
///
/// # Invariants
///
/// `idx <= extents.len()`; if `idx < extents.len()`, `off < extents[idx].1`.
pub struct VeCursor<'a> {
    extents: &'a [(u64, u64)],
    idx: usize,
    off: u64,
}

impl<'a> VeCursor<'a> {
    /// The start of `extents` (checked with [`check`]: no zero-length extent).
    pub fn new(extents: &'a [(u64, u64)]) -> Self {
        Self {
            extents,
            idx: 0,
            off: 0,
        }
    }

    /// Takes the next VE-contiguous piece of at most `max` bytes: `(addr, len)`, joining extents
    /// that continue one another. `None` once the list is used up.
    pub fn take(&mut self, max: u64) -> Option<(u64, u64)> {
        let &(first, _) = self.extents.get(self.idx)?;
        let start = first + self.off;
        let mut got = 0;
        while got < max {
            let Some(&(addr, len)) = self.extents.get(self.idx) else {
                break;
            };
            if addr + self.off != start + got {
                break;
            }
            let n = (len - self.off).min(max - got);
            got += n;
            self.off += n;
            if self.off == len {
                self.idx += 1;
                self.off = 0;
            }
        }
        Some((start, got))
    }

    /// Bytes left in the list.
    pub fn remaining(&self) -> u64 {
        let rest: u64 = self.extents.iter().skip(self.idx).map(|e| e.1).sum();
        rest - self.off
    }
}
