// SPDX-License-Identifier: GPL-2.0

//! NEC's per-card pin lists (`OS_LIST` for VEOS, `TD_LIST` for the MMM and T&D tools): what the
//! `*_PIN_DOWN` ioctls pinned, found again by physical address at release.
//!
//! Each list is a red-black tree keyed by page frame number (the `paddr` entry, or the legacy
//! `phys`, shifted right by 12), so release stays O(log n) however many pages are held (NEC's
//! fixed 2048-bucket hash degrades as it fills). A key holds a stack of entries: pinning the same
//! page twice holds it twice, and each release drops one.

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

/// Entries held under one key.
type Stack = KVec<LockedRun>;

/// The two pin lists of a card.
///
/// # Invariants
///
/// `held[l]` is the number of entries in `lists[l]`, summed over every key; no key maps to an
/// empty stack.
pub(crate) struct PinLists {
    lists: [RBTree<u64, Stack>; uapi::NR_PD_LIST as usize],
    held: [usize; uapi::NR_PD_LIST as usize],
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
        entries: KVec<(u64, LockedRun)>,
    ) -> Result<(), KVec<LockedRun>> {
        let mut added: KVec<u64> = KVec::new();
        let mut back: KVec<LockedRun> = KVec::new();
        let total = entries.len();
        if added.reserve(total, GFP_KERNEL).is_err() || back.reserve(total, GFP_KERNEL).is_err() {
            for (_, run) in entries {
                let _ = back.push(run, GFP_KERNEL);
            }
            return Err(back);
        }
        let mut rest = entries.into_iter();
        for (key, run) in rest.by_ref() {
            match self.push(list, key, run) {
                // Capacity for `total` keys was reserved: these pushes do not allocate.
                Ok(()) => {
                    let _ = added.push(key, GFP_KERNEL);
                }
                Err(run) => {
                    let _ = back.push(run, GFP_KERNEL);
                    for key in added.iter() {
                        if let Some(run) = self.pop(list, *key) {
                            let _ = back.push(run, GFP_KERNEL);
                        }
                    }
                    for (_, run) in rest {
                        let _ = back.push(run, GFP_KERNEL);
                    }
                    return Err(back);
                }
            }
        }
        Ok(())
    }

    /// Pushes one entry; gives it back if memory runs out.
    fn push(&mut self, list: ListId, key: u64, run: LockedRun) -> Result<(), LockedRun> {
        let tree = &mut self.lists[list.0];
        match tree.get_mut(&key) {
            Some(stack) => {
                if stack.reserve(1, GFP_KERNEL).is_err() {
                    return Err(run);
                }
                // Cannot fail: capacity reserved.
                let _ = stack.push(run, GFP_KERNEL);
            }
            None => {
                let mut stack = KVec::new();
                if stack.reserve(1, GFP_KERNEL).is_err() {
                    return Err(run);
                }
                let Ok(node) = RBTreeNodeReservation::new(GFP_KERNEL) else {
                    return Err(run);
                };
                let _ = stack.push(run, GFP_KERNEL);
                tree.insert(node.into_node(key, stack));
            }
        }
        // INVARIANT: one entry joined the list.
        self.held[list.0] += 1;
        Ok(())
    }

    /// Takes one entry held under `key`, if any.
    pub(crate) fn pop(&mut self, list: ListId, key: u64) -> Option<LockedRun> {
        let tree = &mut self.lists[list.0];
        let stack = tree.get_mut(&key)?;
        let run = stack.pop()?;
        if stack.is_empty() {
            tree.remove(&key);
        }
        // INVARIANT: one entry left the list.
        self.held[list.0] -= 1;
        Some(run)
    }

    /// Takes every entry of `list`.
    pub(crate) fn take_all(&mut self, list: ListId) -> RBTree<u64, Stack> {
        self.held[list.0] = 0;
        core::mem::replace(&mut self.lists[list.0], RBTree::new())
    }
}
