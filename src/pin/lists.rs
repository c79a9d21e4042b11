// SPDX-License-Identifier: GPL-2.0

//! NEC's per-card pin lists (`OS_LIST` for VEOS, `TD_LIST` for the MMM and T&D tools): what the
//! `*_PIN_DOWN` ioctls pinned, found again by physical address at release.
//!
//! Each list is a red-black tree keyed by page frame number (the `paddr` entry, or the legacy
//! `phys`, shifted right by 12), so release stays O(log n) however many pages are held (NEC's
//! fixed 2048-bucket hash degrades as it fills). Pinning the same page twice holds it twice: the
//! key carries a sequence number, and each release drops the newest entry of its frame. One tree
//! node per entry is the only allocation.

use kernel::{
    prelude::*,
    rbtree::{
        RBTree,
        RBTreeNodeReservation, //
    }, //
};

use crate::{
    sys::gup::LockedRun,
    uapi, //
};

/// Tree key: the page frame, then a sequence number that keeps entries of the same frame apart
/// (the newest has the highest).
type Key = (u64, u64);

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

    /// Adds every `(frame, entry)` of `entries` to `list`, or none of them: if memory runs out,
    /// the entries added so far are taken out again and everything is handed back, for the
    /// caller to drop (unpin) outside the lock.
    pub(crate) fn insert_all(
        &mut self,
        list: ListId,
        entries: KVec<(u64, LockedRun)>,
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
        for ((frame, run), node) in entries.into_iter().zip(nodes) {
            tree.insert(node.into_node((frame, self.next_seq), run));
            self.next_seq += 1;
            // INVARIANT: one entry joined the list, under a fresh sequence number.
            self.held[list.0] += 1;
        }
        Ok(())
    }

    /// Adds one entry for page frame `frame` (NEC's one-page path: one allocation, the tree
    /// node); gives it back if memory runs out.
    pub(crate) fn insert_one(
        &mut self,
        list: ListId,
        frame: u64,
        run: LockedRun,
    ) -> Result<(), LockedRun> {
        let Ok(node) = RBTreeNodeReservation::new(GFP_KERNEL) else {
            return Err(run);
        };
        self.lists[list.0].insert(node.into_node((frame, self.next_seq), run));
        self.next_seq += 1;
        // INVARIANT: one entry joined the list, under a fresh sequence number.
        self.held[list.0] += 1;
        Ok(())
    }

    /// Takes the newest entry held for page frame `frame`, if any.
    pub(crate) fn pop(&mut self, list: ListId, frame: u64) -> Option<LockedRun> {
        let tree = &mut self.lists[list.0];
        // The newest entry of `frame` is the last key below `(frame + 1, 0)`.
        let node = match tree.cursor_lower_bound_mut(&(frame + 1, 0)) {
            Some(mut c) => {
                if c.peek_prev().map(|(k, _)| k.0) != Some(frame) {
                    return None;
                }
                c.remove_prev()?
            }
            None => {
                let c = tree.cursor_back_mut()?;
                if c.current().0 .0 != frame {
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
        core::mem::replace(&mut self.lists[list.0], RBTree::new())
    }
}
