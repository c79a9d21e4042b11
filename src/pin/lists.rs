// SPDX-License-Identifier: GPL-2.0

//! NEC's per-card pin lists (`OS_LIST` for VEOS, `TD_LIST` for the MMM and T&D tools): what the
//! `*_PIN_DOWN` ioctls pinned and mapped for the card, found again by the address the caller got
//! back (the card's DMA address: the physical address unless an IOMMU or swiotlb translates).
//!
//! Each list is a [`PinTable`], an open-addressing hash table keyed by page frame number (the
//! `paddr` entry, or the legacy `phys`, shifted right by 12) and entry size, which grows with what
//! is held (NEC's fixed 2048-bucket hash degrades as it fills). Pinning the same page twice holds
//! it twice: each release drops the newest entry of its frame and size. A block call reserves the
//! slots for all of its entries at once; inserting and releasing an entry allocates nothing (a
//! tree cost a node allocation and a rebalancing per entry, more than half of a block call's time:
//! docs/design.md, "NEC's pin lists").
//!
//! Release is by the address the caller got back, as with NEC. A 2 MiB entry's address
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
    sys::{
        dma_map::Mapped,
        gup::{
            PinCharge,
            PinnedRun, //
        },
    },
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

/// Entries answered with their addresses, as a block call hands them over.
pub(crate) type Entries = KVec<(u64, Mapped<PinnedRun>)>;

/// One entry: its pinned pages, mapped for the card, and which of the list's charges they are
/// counted in.
pub(crate) struct ListEntry {
    run: Mapped<PinnedRun>,
    charge: usize,
}

/// A list's slots, in the kernel's memory.
pub(crate) struct Slots(KVVec<Slot<ListEntry>>);

impl SlotStore<ListEntry> for Slots {
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

    fn slots(&self) -> &[Slot<ListEntry>] {
        &self.0
    }

    fn slots_mut(&mut self) -> &mut [Slot<ListEntry>] {
        &mut self.0
    }
}

/// One of NEC's pin lists: its entries, and their charges to the pinned memory of the address
/// spaces they came from, one [`PinCharge`] (one mm reference) per address space, so that an
/// entry costs no reference count of its own.
///
/// # Invariants
///
/// `charges[i]` is `Some` while an entry names charge `i`, and holds exactly the pages of the
/// entries that name it.
#[derive(Default)]
struct PinList {
    table: PinTable<ListEntry, Slots>,
    charges: KVec<Option<PinCharge>>,
}

impl PinList {
    /// Where `charge`'s address space is counted: an existing charge of the same mm, a free
    /// place, or a new one; `None` if there is no memory for a new one.
    fn charge_slot(&mut self, charge: &PinCharge) -> Option<usize> {
        let mut free = None;
        for (i, c) in self.charges.iter().enumerate() {
            match c {
                Some(c) if c.same_mm(charge) => return Some(i),
                None if free.is_none() => free = Some(i),
                _ => {}
            }
        }
        if free.is_some() {
            return free;
        }
        self.charges.push(None, GFP_KERNEL).ok()?;
        Some(self.charges.len() - 1)
    }

    /// Adds `charge` at place `i` (from [`PinList::charge_slot`]).
    fn add_charge(&mut self, i: usize, charge: PinCharge) {
        let Some(place) = self.charges.get_mut(i) else {
            // Not reached: `i` came from `charge_slot`. The charge goes back at once.
            return;
        };
        match place {
            Some(held) => {
                // Same mm, as `charge_slot` chose; were it not, the charge goes back at once.
                let _ = held.absorb(charge);
            }
            None => *place = Some(charge),
        }
    }
}

/// The two pin lists of a card.
pub(crate) struct PinLists {
    lists: [PinList; uapi::NR_PD_LIST as usize],
}

/// Every entry of a list, taken out: dropping it unpins them and returns their charges.
pub(crate) struct TakenList {
    _slots: Slots,
    _charges: KVec<Option<PinCharge>>,
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
            lists: [PinList::default(), PinList::default()],
        }
    }

    /// Entries held on `list`.
    pub(crate) fn count(&self, list: ListId) -> usize {
        self.lists[list.0].table.len()
    }

    /// Adds every `(addr, run)` of `entries`, entries of `pgsz` bytes answered with address
    /// `addr`, to `list` with `charge`, the charge of all their pages, or none of them: if memory
    /// runs out, everything is handed back, for the caller to drop (unpin, uncharge) outside the
    /// lock.
    pub(crate) fn insert_all(
        &mut self,
        list: ListId,
        charge: PinCharge,
        entries: Entries,
        pgsz: u64,
    ) -> Result<(), (PinCharge, Entries)> {
        let l = &mut self.lists[list.0];
        if l.table.reserve(entries.len()).is_err() {
            return Err((charge, entries));
        }
        let Some(at) = l.charge_slot(&charge) else {
            return Err((charge, entries));
        };
        // INVARIANT: the charge counts exactly the entries' pages, which name it from here on.
        l.add_charge(at, charge);
        for (addr, run) in entries {
            let key = EntryKey::new(addr, pgsz);
            // Room was reserved for all of them: this cannot fail; were it to, the entry would be
            // dropped (unpinned) under the lock, its pages still counted in the charge until the
            // list is emptied.
            let _ = l
                .table
                .insert(key.frame, key.size, ListEntry { run, charge: at });
        }
        Ok(())
    }

    /// Adds one entry with `charge`, the charge of its pages (NEC's one-page path); gives both
    /// back if memory runs out.
    pub(crate) fn insert_one(
        &mut self,
        list: ListId,
        key: EntryKey,
        charge: PinCharge,
        run: Mapped<PinnedRun>,
    ) -> Result<(), (PinCharge, Mapped<PinnedRun>)> {
        let l = &mut self.lists[list.0];
        if l.table.reserve(1).is_err() {
            return Err((charge, run));
        }
        let Some(at) = l.charge_slot(&charge) else {
            return Err((charge, run));
        };
        l.add_charge(at, charge);
        // Room was reserved: this cannot fail (see `insert_all`).
        let _ = l
            .table
            .insert(key.frame, key.size, ListEntry { run, charge: at });
        Ok(())
    }

    /// Takes the entry a release of address `addr` means, if one is held (see the module
    /// documentation), and returns its pages' charge; the pages are unmapped and unpinned when
    /// the returned entry is dropped.
    pub(crate) fn pop(&mut self, list: ListId, addr: u64) -> Option<Mapped<PinnedRun>> {
        let l = &mut self.lists[list.0];
        let table = &mut l.table;
        let e = EntryKey::release(addr)
            .into_iter()
            .flatten()
            .find_map(|k| table.pop(k.frame, k.size))?;
        if let Some(place) = l.charges.get_mut(e.charge) {
            if let Some(c) = place {
                c.release(e.run.pins().npages());
                if c.npages() == 0 {
                    // INVARIANT: no entry names it any more; its mm reference goes.
                    *place = None;
                }
            }
        }
        Some(e.run)
    }

    /// Takes every entry of `list`: they are unpinned and their charges returned when what this
    /// returns is dropped.
    pub(crate) fn take_all(&mut self, list: ListId) -> TakenList {
        let l = &mut self.lists[list.0];
        TakenList {
            _slots: l.table.take_all(),
            _charges: core::mem::take(&mut l.charges),
        }
    }

    /// Takes every entry of every list (unbind: the mappings end with the binding).
    pub(crate) fn take_every_list(&mut self) -> [TakenList; uapi::NR_PD_LIST as usize] {
        self.lists.each_mut().map(|l| TakenList {
            _slots: l.table.take_all(),
            _charges: core::mem::take(&mut l.charges),
        })
    }
}
