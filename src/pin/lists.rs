// SPDX-License-Identifier: GPL-2.0

//! NEC's per-card pin lists (`OS_LIST` for VEOS, `TD_LIST` for the MMM and T&D tools): what the
//! `*_PIN_DOWN` ioctls pinned, found again by physical address at release.
//!
//! Each list is a [`PinTable`], an open-addressing hash table keyed by page frame number (the
//! `paddr` entry, or the legacy `phys`, shifted right by 12) and entry size, which grows with what
//! is held (NEC's fixed 2048-bucket hash degrades as it fills). Pinning the same page twice holds
//! it twice: each release drops the newest entry of its frame and size. A block call reserves the
//! slots for all of its entries at once; inserting and releasing an entry allocates nothing (a
//! tree cost a node allocation and a rebalancing per entry, more than half of a block call's time:
//! docs/design.md, "NEC's pin lists").
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

use kernel::prelude::*;

use crate::{
    extent::{
        HPAGE_SIZE,
        PAGE_SHIFT, //
    },
    pin_table::{
        OutOfMemory,
        PinTable,
        Slot,
        SlotStore, //
    },
    sys::gup::LockedRun,
    uapi, //
};

/// Entry size in a key: a 4 KiB page.
const SMALL: u8 = 0;
/// Entry size in a key: a 2 MiB unit.
const HUGE: u8 = 1;

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

/// A list's slots, in the kernel's memory.
pub(crate) struct Slots(KVVec<Slot<LockedRun>>);

impl SlotStore<LockedRun> for Slots {
    fn none() -> Self {
        Self(KVVec::new())
    }

    fn empty(n: usize) -> Result<Self, OutOfMemory> {
        let mut v = KVVec::with_capacity(n, GFP_KERNEL).map_err(|_| OutOfMemory)?;
        for _ in 0..n {
            // Within the capacity just allocated.
            v.push_within_capacity(Slot::Empty)
                .map_err(|_| OutOfMemory)?;
        }
        Ok(Self(v))
    }

    fn slots(&self) -> &[Slot<LockedRun>] {
        &self.0
    }

    fn slots_mut(&mut self) -> &mut [Slot<LockedRun>] {
        &mut self.0
    }
}

/// The two pin lists of a card.
pub(crate) struct PinLists {
    lists: [PinTable<LockedRun, Slots>; uapi::NR_PD_LIST as usize],
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
            lists: [PinTable::new(), PinTable::new()],
        }
    }

    /// Entries held on `list`.
    pub(crate) fn count(&self, list: ListId) -> usize {
        self.lists[list.0].len()
    }

    /// Adds every `(key, entry)` of `entries` to `list`, or none of them: if memory for their
    /// slots runs out, everything is handed back, for the caller to drop (unpin) outside the
    /// lock.
    pub(crate) fn insert_all(
        &mut self,
        list: ListId,
        entries: KVec<(EntryKey, LockedRun)>,
    ) -> Result<(), KVec<(EntryKey, LockedRun)>> {
        let table = &mut self.lists[list.0];
        if table.reserve(entries.len()).is_err() {
            return Err(entries);
        }
        for (key, run) in entries {
            // Room was reserved for all of them: this cannot fail; were it to, the entry would be
            // dropped (unpinned) under the lock, which is still correct.
            let _ = table.insert(key.frame, key.size, run);
        }
        Ok(())
    }

    /// Adds one entry (NEC's one-page path); gives it back if memory for its slot runs out.
    pub(crate) fn insert_one(
        &mut self,
        list: ListId,
        key: EntryKey,
        run: LockedRun,
    ) -> Result<(), LockedRun> {
        let table = &mut self.lists[list.0];
        if table.reserve(1).is_err() {
            return Err(run);
        }
        table.insert(key.frame, key.size, run)
    }

    /// Takes the entry a release of physical address `addr` means, if one is held: see the
    /// module documentation.
    pub(crate) fn pop(&mut self, list: ListId, addr: u64) -> Option<LockedRun> {
        let table = &mut self.lists[list.0];
        EntryKey::release(addr)
            .into_iter()
            .flatten()
            .find_map(|k| table.pop(k.frame, k.size))
    }

    /// Takes every entry of `list`: they are unpinned when what this returns is dropped.
    pub(crate) fn take_all(&mut self, list: ListId) -> Slots {
        self.lists[list.0].take_all()
    }
}
