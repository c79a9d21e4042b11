// SPDX-License-Identifier: GPL-2.0

//! NEC's per-card pin lists (`OS_LIST` for VEOS, `TD_LIST` for the MMM and T&D tools): what the
//! `*_PIN_DOWN` ioctls pinned, found again by physical address at release.
//!
//! Each list is a red-black tree keyed by page frame number (the `paddr` entry, or the legacy
//! `phys`, shifted right by 12) and entry size, so release stays O(log n) however many pages are
//! held (NEC's fixed 2048-bucket hash degrades as it fills). Pinning the same page twice holds it
//! twice: the key carries a sequence number, and each release drops the newest entry of its frame
//! and size. One tree node per entry is the only allocation.
//!
//! Release is by the physical address the caller got back, as with NEC. A 2 MiB entry's address
//! is its unit base; a 4 KiB entry's is its page (plus, for the one-page ioctls, the offset of the
//! virtual address). Keyed by frame alone, a 2 MiB entry and a 4 KiB entry of the unit's first
//! page would share a key, and a release could drop the other one (which holds other pages: 1 pin
//! against the range's). So [`EntryKey::release`] decides: an address that is not on a 2 MiB
//! boundary can only be a 4 KiB entry's; an address on a 2 MiB boundary releases the 2 MiB entry
//! of that unit if one is held (that is the only address it has), else a 4 KiB entry of the page.
//! Only a 4 KiB entry that was answered with exactly the unit base (a block call on 4 KiB memory,
//! or a one-page call at offset 0) can then be taken for a 2 MiB entry of the same unit; both are
//! in the same folio (a 2 MiB entry is only given for one folio, whose pins keep every page of it
//! in place), so either release leaves that memory pinned until the second.

use kernel::{
    prelude::*,
    rbtree::{
        RBTree,
        RBTreeNodeReservation, //
    }, //
};

use crate::{
    extent::{
        HPAGE_SIZE,
        PAGE_SHIFT, //
    },
    sys::gup::LockedRun,
    uapi, //
};

/// Entry size in a key: a 4 KiB page.
const SMALL: u8 = 0;
/// Entry size in a key: a 2 MiB unit.
const HUGE: u8 = 1;

/// Tree key: the page frame, the entry size ([`SMALL`] or [`HUGE`]), then a sequence number that
/// keeps entries of the same frame and size apart (the newest has the highest).
type Key = (u64, u8, u64);

/// Where an entry is filed: the frame of the address the caller got back, and the entry's size.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct EntryKey {
    frame: u64,
    size: u8,
}

impl EntryKey {
    /// The key of an entry of `pgsz` bytes (4 KiB or 2 MiB) answered with address `addr`.
    pub(crate) fn new(addr: u64, pgsz: u64) -> Self {
        Self {
            frame: addr >> PAGE_SHIFT,
            size: if pgsz == HPAGE_SIZE { HUGE } else { SMALL },
        }
    }

    /// The keys a release of `addr` looks for, in order (see the module documentation).
    fn release(addr: u64) -> [Option<Self>; 2] {
        let frame = addr >> PAGE_SHIFT;
        [
            (addr % HPAGE_SIZE == 0).then_some(Self { frame, size: HUGE }),
            Some(Self { frame, size: SMALL }),
        ]
    }
}

/// The two pin lists of a card.
///
/// # Invariants
///
/// `held[l]` is the number of entries in `lists[l]`; `next_seq` is above every sequence number in
/// use.
pub(crate) struct PinLists {
    lists: [RBTree<Key, LockedRun>; uapi::NR_PD_LIST as usize],
    held: [usize; uapi::NR_PD_LIST as usize],
    next_seq: u64,
}

/// A validated `enum pd_list` value.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct ListId(usize);

impl ListId {
    /// `EINVAL` unless `raw` is `OS_LIST` or `TD_LIST`.
    pub(crate) fn new(raw: u32) -> Result<Self> {
        if raw < uapi::NR_PD_LIST {
            Ok(Self(raw as usize))
        } else {
            Err(EINVAL)
        }
    }
}

impl PinLists {
    /// Empty lists.
    pub(crate) fn new() -> Self {
        Self {
            lists: [RBTree::new(), RBTree::new()],
            held: [0; uapi::NR_PD_LIST as usize],
            next_seq: 0,
        }
    }

    /// Entries held on `list`.
    pub(crate) fn count(&self, list: ListId) -> usize {
        self.held[list.0]
    }

    /// Adds every `(key, entry)` of `entries` to `list`, or none of them: if memory runs out,
    /// the entries added so far are taken out again and everything is handed back, for the
    /// caller to drop (unpin) outside the lock.
    pub(crate) fn insert_all(
        &mut self,
        list: ListId,
        entries: KVec<(EntryKey, LockedRun)>,
    ) -> Result<(), KVec<LockedRun>> {
        // Tree nodes first: once they are reserved, inserting cannot fail.
        let mut nodes = KVec::new();
        let ok = nodes.reserve(entries.len(), GFP_KERNEL).is_ok()
            && (0..entries.len()).all(|_| match RBTreeNodeReservation::new(GFP_KERNEL) {
                // Capacity is reserved.
                Ok(n) => nodes.push(n, GFP_KERNEL).is_ok(),
                Err(_) => false,
            });
        if !ok {
            let mut back = KVec::new();
            for (_, run) in entries {
                // If even this fails, `push` drops (unpins) the run under the lock: still correct.
                let _ = back.push(run, GFP_KERNEL);
            }
            return Err(back);
        }
        let tree = &mut self.lists[list.0];
        for ((key, run), node) in entries.into_iter().zip(nodes) {
            tree.insert(node.into_node((key.frame, key.size, self.next_seq), run));
            self.next_seq += 1;
            // INVARIANT: one entry joined the list, under a fresh sequence number.
            self.held[list.0] += 1;
        }
        Ok(())
    }

    /// Adds one entry (NEC's one-page path: one allocation, the tree node); gives it back if
    /// memory runs out.
    pub(crate) fn insert_one(
        &mut self,
        list: ListId,
        key: EntryKey,
        run: LockedRun,
    ) -> Result<(), LockedRun> {
        let Ok(node) = RBTreeNodeReservation::new(GFP_KERNEL) else {
            return Err(run);
        };
        self.lists[list.0].insert(node.into_node((key.frame, key.size, self.next_seq), run));
        self.next_seq += 1;
        // INVARIANT: one entry joined the list, under a fresh sequence number.
        self.held[list.0] += 1;
        Ok(())
    }

    /// Takes the entry a release of physical address `addr` means, if one is held: see the
    /// module documentation.
    pub(crate) fn pop(&mut self, list: ListId, addr: u64) -> Option<LockedRun> {
        for key in EntryKey::release(addr) {
            if let Some(entry) = key.and_then(|k| self.pop_key(list, k)) {
                return Some(entry);
            }
        }
        None
    }

    /// Takes the newest entry held under `key`, if any.
    fn pop_key(&mut self, list: ListId, key: EntryKey) -> Option<LockedRun> {
        let tree = &mut self.lists[list.0];
        let same = |k: &Key| k.0 == key.frame && k.1 == key.size;
        // The newest entry of `key` is the last key below `(frame, size + 1, 0)`.
        let node = match tree.cursor_lower_bound_mut(&(key.frame, key.size + 1, 0)) {
            Some(mut c) => {
                if !c.peek_prev().is_some_and(|(k, _)| same(k)) {
                    return None;
                }
                c.remove_prev()?
            }
            None => {
                let c = tree.cursor_back_mut()?;
                if !same(c.current().0) {
                    return None;
                }
                c.remove_current().1
            }
        };
        // INVARIANT: one entry left the list.
        self.held[list.0] -= 1;
        Some(node.to_key_value().1)
    }

    /// Takes every entry of `list`.
    pub(crate) fn take_all(&mut self, list: ListId) -> RBTree<Key, LockedRun> {
        self.held[list.0] = 0;
        core::mem::take(&mut self.lists[list.0])
    }
}
