// SPDX-License-Identifier: GPL-2.0

//! NEC's per-card pin lists (`OS_LIST` for VEOS, `TD_LIST` for the MMM and T&D tools): what the
//! `*_PIN_DOWN` ioctls pinned and mapped for the card, found again by the address the caller got
//! back (the card's DMA address: the physical address unless an IOMMU or swiotlb translates).
//!
//! A list files each block call whole ([`Call`]), under the key of its first entry, in a
//! [`PinTable`] (a hash index of keys over a dense array of entries chained newest first per
//! key; the key is the page frame number, the `paddr` entry shifted right by 12, and entry
//! size). VEOS releases each block it pinned with exactly the addresses it got back
//! (`RELEASE_PD_PAGE_BLK`, NEC's `vedl_release_pindown_page_blk`): such a release finds the call
//! by its first address, compares the rest in order, and takes every entry in one step. Nothing is filed per entry, so a block call costs one table entry
//! (docs/design.md, "NEC's pin lists": per-entry filing was half of a block call's time).
//!
//! Entries are filed one by one in a second table, under the same keys: the one-page ioctl's,
//! and a block call's once a release needs only some of them. A release that does not name a
//! whole call takes entries address by address, the newest of its key first (a page pinned twice
//! is held twice); the first time it does not find an address there while block calls are held,
//! it files the entries of every held call on their own, each in its place in insertion order,
//! and looks again. So a list used as VEOS uses it never files an entry on its own, and any other
//! use gets NEC's per-entry semantics.
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
        Items,
        Node,
        OutOfMemory,
        PinTable,
        Storage, //
    },
    sys::{
        dma_map::{
            Mapped,
            MappedPages, //
        },
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

/// One entry filed on its own: its pinned pages, mapped for the card, and which of the list's
/// charges they are counted in.
pub(crate) struct ListEntry {
    run: Mapped<PinnedRun>,
    charge: usize,
}

/// One block call's entries, filed together under the key of its first entry: a release that
/// names exactly them, in order (as VEOS releases each block it pinned), takes them in one step.
///
/// # Invariants
///
/// `addrs` and `entries` have the same length, at least 1; `addrs[i]` is the address the caller
/// got back for entry `i`, an entry of `size` (for [`CallEntries::Pages`], the page's card
/// address). `pages` is the number of pages the entries pin.
/// The entries' places in insertion order are `seq..seq + addrs.len()`.
pub(crate) struct Call {
    addrs: KVec<u64>,
    entries: CallEntries,
    size: u8,
    pages: usize,
    seq: u64,
    charge: usize,
}

/// A block call's entries.
pub(crate) enum CallEntries {
    /// Each entry's pages with their own mapping.
    Each(KVec<Mapped<PinnedRun>>),
    /// 4 KiB entries, one page each, pinned in one array and mapped where the DMA API needs no
    /// unmap: nothing per entry until a release needs some of them.
    Pages(MappedPages),
}

impl CallEntries {
    fn len(&self) -> usize {
        match self {
            CallEntries::Each(e) => e.len(),
            CallEntries::Pages(p) => p.len(),
        }
    }
}

impl Call {
    /// Gives each entry its own [`Mapped`] (the pages of [`CallEntries::Pages`] split), in
    /// place; `ENOMEM` leaves the call as it was.
    fn split(&mut self) -> Result {
        let pages = match core::mem::replace(&mut self.entries, CallEntries::Each(KVec::new())) {
            CallEntries::Pages(p) => p,
            each => {
                self.entries = each;
                return Ok(());
            }
        };
        match pages.split(&self.addrs) {
            Ok(each) => {
                self.entries = CallEntries::Each(each);
                Ok(())
            }
            Err(pages) => {
                self.entries = CallEntries::Pages(pages);
                Err(ENOMEM)
            }
        }
    }

    /// Whether a release of `addrs` names exactly this call's entries, in order.
    fn named_by(&self, addrs: &[u64]) -> bool {
        self.addrs.len() == addrs.len()
            && self.addrs.iter().zip(addrs).all(|(&mine, &a)| {
                EntryKey::release(a)
                    .into_iter()
                    .flatten()
                    .any(|k| k.frame == mine >> PAGE_SHIFT && k.size == self.size)
            })
    }
}

/// An array of a table, in the kernel's memory.
pub(crate) struct Slots<T>(KVVec<T>);

impl<T> Items<T> for Slots<T> {
    fn none() -> Self {
        Self(KVVec::new())
    }

    fn filled(n: usize, mut f: impl FnMut(usize) -> T) -> Result<Self, OutOfMemory> {
        let mut v = KVVec::with_capacity(n, GFP_KERNEL).map_err(|_| OutOfMemory)?;
        for i in 0..n {
            // Within the capacity just allocated.
            v.push_within_capacity(f(i)).map_err(|_| OutOfMemory)?;
        }
        Ok(Self(v))
    }

    fn items(&self) -> &[T] {
        &self.0
    }

    fn items_mut(&mut self) -> &mut [T] {
        &mut self.0
    }
}

/// Where the pin lists' tables keep their arrays: [`Slots`].
pub(crate) struct KernelMemory;

impl Storage for KernelMemory {
    type Of<T> = Slots<T>;
}

/// One of NEC's pin lists: block calls filed whole, entries filed one by one, and their charges
/// to the pinned memory of the address spaces they came from, one [`PinCharge`] (one mm
/// reference) per address space, so that an entry costs no reference count of its own.
///
/// # Invariants
///
/// `charges[i]` is `Some` while an entry names charge `i`, and holds exactly the pages of the
/// entries that name it. `in_calls` is the number of entries in `calls`. Every entry's place in
/// insertion order is below `next_seq`.
#[derive(Default)]
struct PinList {
    calls: PinTable<Call, KernelMemory>,
    entries: PinTable<ListEntry, KernelMemory>,
    in_calls: usize,
    next_seq: u64,
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

    /// Returns the charge of `pages` pages of charge `i`.
    fn uncharge(&mut self, i: usize, pages: usize) {
        if let Some(place) = self.charges.get_mut(i) {
            if let Some(c) = place {
                c.release(pages);
                if c.npages() == 0 {
                    // INVARIANT: no entry names it any more; its mm reference goes.
                    *place = None;
                }
            }
        }
    }

    /// Takes the newest block call that a release of `addrs` names exactly, if one is held.
    fn take_call(&mut self, addrs: &[u64]) -> Option<Call> {
        let first = *addrs.first()?;
        let calls = &mut self.calls;
        let c = EntryKey::release(first)
            .into_iter()
            .flatten()
            .find_map(|k| calls.pop_where(k.frame, k.size, |c| c.named_by(addrs)))?;
        self.in_calls -= c.addrs.len();
        self.uncharge(c.charge, c.pages);
        Some(c)
    }

    /// Takes the entry filed on its own that a release of `addr` means, if one is held.
    fn take_entry(&mut self, addr: u64) -> Option<Mapped<PinnedRun>> {
        let entries = &mut self.entries;
        let e = EntryKey::release(addr)
            .into_iter()
            .flatten()
            .find_map(|k| entries.pop(k.frame, k.size))?;
        self.uncharge(e.charge, e.run.pins().npages());
        Some(e.run)
    }

    /// Files the entries of every block call on their own, each in its place in insertion order,
    /// so that a release can take some of a call's entries. `ENOMEM` (nothing moved) if the
    /// table cannot grow.
    fn split_calls(&mut self) -> Result {
        self.entries.reserve(self.in_calls).map_err(|_| ENOMEM)?;
        // Everything that can fail first, in place: a call that could not be split stays whole.
        for c in self.calls.values_mut() {
            c.split()?;
        }
        let Slots(nodes) = self.calls.take_all();
        for node in nodes {
            let Some(c) = node.into_value() else { continue };
            let key_size = c.size;
            let CallEntries::Each(each) = c.entries else {
                // Not reached: every call was split above. Were it, its pages stay pinned for
                // good rather than be released while the caller may still use them.
                core::mem::forget(c.entries);
                continue;
            };
            for (i, (addr, run)) in c.addrs.into_iter().zip(each).enumerate() {
                let key = EntryKey::new(addr, size_bytes(key_size));
                // Room was reserved for all of them: this cannot fail; were it to, the entry
                // would be dropped (unpinned) under the lock, its pages still counted in the
                // charge until the list is emptied.
                let _ = self.entries.insert_seq(
                    key.frame,
                    key.size,
                    c.seq + i as u64,
                    ListEntry {
                        run,
                        charge: c.charge,
                    },
                );
            }
        }
        // INVARIANT: every entry of every call moved to `entries`.
        self.in_calls = 0;
        Ok(())
    }

    /// Everything held, taken out.
    fn take_all(&mut self) -> TakenList {
        self.in_calls = 0;
        TakenList {
            _calls: self.calls.take_all(),
            _entries: self.entries.take_all(),
            _charges: core::mem::take(&mut self.charges),
        }
    }
}

/// The entry size in bytes of a key's size class.
fn size_bytes(size: u8) -> u64 {
    if size == HUGE {
        HPAGE_SIZE
    } else {
        1 << PAGE_SHIFT
    }
}

/// The two pin lists of a card.
pub(crate) struct PinLists {
    lists: [PinList; uapi::NR_PD_LIST as usize],
}

/// Every entry of a list, taken out: dropping it unpins them and returns their charges.
pub(crate) struct TakenList {
    _calls: Slots<Node<Call>>,
    _entries: Slots<Node<ListEntry>>,
    _charges: KVec<Option<PinCharge>>,
}

/// What a release took: dropped outside the list lock, it unmaps and unpins.
pub(crate) struct Released {
    call: Option<Call>,
    /// The first entry taken one by one: a one-page release allocates nothing.
    first: Option<Mapped<PinnedRun>>,
    more: KVec<Mapped<PinnedRun>>,
}

impl Released {
    /// Room for a release of `n` addresses (allocated before the list lock is taken).
    pub(crate) fn with_capacity(n: usize) -> Result<Self> {
        Ok(Self {
            call: None,
            first: None,
            more: KVec::with_capacity(n.saturating_sub(1), GFP_KERNEL)?,
        })
    }

    /// Keeps `e`, taken one by one; it is dropped (unpinned) at once, under the lock, if the
    /// caller reserved too little room.
    fn keep(&mut self, e: Mapped<PinnedRun>) {
        match self.first {
            None => self.first = Some(e),
            Some(_) => {
                let _ = self.more.push_within_capacity(e);
            }
        }
    }
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
        let l = &self.lists[list.0];
        l.entries.len() + l.in_calls
    }

    /// Files one block call on `list`: `entries` of `pgsz` bytes answered with `addrs` (as many,
    /// at least one), with `charge`, the charge of all their pages. If memory runs out, everything
    /// is handed back, for the caller to drop (unpin, uncharge) outside the lock.
    pub(crate) fn insert_call(
        &mut self,
        list: ListId,
        charge: PinCharge,
        addrs: KVec<u64>,
        entries: CallEntries,
        pgsz: u64,
    ) -> Result<(), (PinCharge, CallEntries)> {
        let l = &mut self.lists[list.0];
        let Some(&first) = addrs.first() else {
            return Err((charge, entries));
        };
        if addrs.len() != entries.len() || l.calls.reserve(1).is_err() {
            return Err((charge, entries));
        }
        let Some(at) = l.charge_slot(&charge) else {
            return Err((charge, entries));
        };
        let n = addrs.len();
        let key = EntryKey::new(first, pgsz);
        let call = Call {
            addrs,
            entries,
            size: key.size,
            pages: charge.npages(),
            seq: l.next_seq,
            charge: at,
        };
        // INVARIANT: the charge counts exactly the entries' pages, which name it from here on;
        // their places in insertion order are the next `n`.
        l.add_charge(at, charge);
        l.next_seq += n as u64;
        l.in_calls += n;
        // Room was reserved: this cannot fail; were it to, the call would be dropped (unpinned)
        // under the lock, its pages still counted in the charge until the list is emptied.
        let _ = l.calls.insert_seq(key.frame, key.size, call.seq, call);
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
        if l.entries.reserve(1).is_err() {
            return Err((charge, run));
        }
        let Some(at) = l.charge_slot(&charge) else {
            return Err((charge, run));
        };
        l.add_charge(at, charge);
        let seq = l.next_seq;
        l.next_seq += 1;
        // Room was reserved: this cannot fail (see `insert_call`).
        let _ = l
            .entries
            .insert_seq(key.frame, key.size, seq, ListEntry { run, charge: at });
        Ok(())
    }

    /// Takes the entries a release of `addrs` means into `out` (see the module documentation),
    /// and returns their pages' charge; the pages are unmapped and unpinned when `out` is
    /// dropped. `ENOENT` at the first address that is not held, `ENOMEM` if the entries of block
    /// calls could not be filed on their own; the entries before it are taken either way.
    pub(crate) fn release(&mut self, list: ListId, addrs: &[u64], out: &mut Released) -> Result {
        let l = &mut self.lists[list.0];
        if let Some(c) = l.take_call(addrs) {
            // Dropped outside the lock with `out`.
            out.call = Some(c);
            return Ok(());
        }
        for &a in addrs {
            let e = match l.take_entry(a) {
                Some(e) => e,
                None if l.in_calls > 0 => {
                    l.split_calls()?;
                    l.take_entry(a).ok_or(ENOENT)?
                }
                None => return Err(ENOENT),
            };
            out.keep(e);
        }
        Ok(())
    }

    /// Takes every entry of `list`: they are unpinned and their charges returned when what this
    /// returns is dropped.
    pub(crate) fn take_all(&mut self, list: ListId) -> TakenList {
        self.lists[list.0].take_all()
    }

    /// Takes every entry of every list (unbind: the mappings end with the binding).
    pub(crate) fn take_every_list(&mut self) -> [TakenList; uapi::NR_PD_LIST as usize] {
        self.lists.each_mut().map(PinList::take_all)
    }
}
