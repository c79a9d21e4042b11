// SPDX-License-Identifier: GPL-2.0

//! The table behind one of NEC's pin lists: entries keyed by `(frame, size)`, any number of them
//! under the same key (a page pinned twice is held twice), released one at a time newest first
//! by key, or all at once. An open-addressing hash table with linear probing: inserting and
//! releasing an entry costs no allocation (the slots are allocated in advance by
//! [`PinTable::reserve`], a whole call's worth at once) and no pointer chasing, where a tree costs
//! a node allocation and a rebalancing per entry (the pin list's cost, measured: docs/design.md,
//! "NEC's pin lists").
//!
//! `core` only: compiled into the module and unit-tested on the host (`tests/host`). The slots'
//! storage is the caller's ([`SlotStore`]): a `KVVec` in the module, a `Vec` in the tests.

/// One slot.
pub enum Slot<V> {
    /// Never used since the last rehash: a probe stops here.
    Empty,
    /// Held an entry that was released: a probe goes on past it, an insertion may reuse it.
    Released,
    /// An entry.
    Held(Entry<V>),
}

/// An entry and its key.
pub struct Entry<V> {
    /// Page frame number of the entry's first page.
    pub frame: u64,
    /// The entry's page size class (the caller's numbering).
    pub size: u8,
    /// Insertion order: among entries of one key the newest has the highest.
    seq: u64,
    /// The entry.
    pub value: V,
}

/// An allocation failed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct OutOfMemory;

/// Storage for slots; the allocation is the implementer's.
pub trait SlotStore<V>: Sized {
    /// No slots (allocates nothing).
    fn none() -> Self;
    /// `n` slots, all [`Slot::Empty`] (`n` a power of two).
    fn empty(n: usize) -> Result<Self, OutOfMemory>;
    /// The slots.
    fn slots(&self) -> &[Slot<V>];
    /// The slots, to change.
    fn slots_mut(&mut self) -> &mut [Slot<V>];
}

/// Fewest slots a table grows to.
const MIN_SLOTS: usize = 16;

/// The table.
///
/// # Invariants
///
/// The number of slots is 0 or a power of two; `held` slots are [`Slot::Held`], `used` are not
/// [`Slot::Empty`], and `used * 4 <= slots * 3`, so that every probe meets an empty slot. Every
/// held entry sits in the probe sequence of its frame's hash before the first empty slot.
pub struct PinTable<V, S: SlotStore<V>> {
    store: S,
    held: usize,
    used: usize,
    next_seq: u64,
    _v: core::marker::PhantomData<V>,
}

/// The first slot of `frame`'s probe sequence in a table of `mask + 1` slots.
fn home(frame: u64, mask: usize) -> usize {
    // Fibonacci hashing: frames of neighbouring pages spread over the table.
    (frame.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) as usize & mask
}

impl<V, S: SlotStore<V>> PinTable<V, S> {
    /// An empty table without slots.
    pub fn new() -> Self {
        Self {
            store: S::none(),
            held: 0,
            used: 0,
            next_seq: 0,
            _v: core::marker::PhantomData,
        }
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.held
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.held == 0
    }

    fn fits(used: usize, slots: usize) -> bool {
        used.checked_mul(4)
            .is_some_and(|u| slots.checked_mul(3).is_some_and(|s| u <= s))
    }

    /// Makes room for `n` more entries, so that the next `n` [`PinTable::insert`]s cannot fail:
    /// when the slots would be more than three quarters used, the held entries move to a table
    /// twice as large as they and the `n` new need (released slots are not carried over), or, if no
    /// entry is held and the slots suffice, every slot is emptied in place. On failure nothing
    /// changes.
    pub fn reserve(&mut self, n: usize) -> Result<(), OutOfMemory> {
        let need = self.used.checked_add(n).ok_or(OutOfMemory)?;
        if Self::fits(need, self.store.slots().len()) {
            return Ok(());
        }
        if self.held == 0 && Self::fits(n, self.store.slots().len()) {
            // Only released slots: empty them where they are rather than allocate anew (a list
            // that is filled and emptied again, as VEOS's is, keeps its slots).
            for slot in self.store.slots_mut() {
                *slot = Slot::Empty;
            }
            // INVARIANT: no slot is used any more.
            self.used = 0;
            return Ok(());
        }
        let want = self
            .held
            .checked_add(n)
            .and_then(|k| k.checked_mul(2))
            .and_then(usize::checked_next_power_of_two)
            .ok_or(OutOfMemory)?
            .max(MIN_SLOTS);
        let mut store = S::empty(want)?;
        let mask = want - 1;
        for slot in self.store.slots_mut() {
            if let Slot::Held(e) = core::mem::replace(slot, Slot::Empty) {
                let slots = store.slots_mut();
                let mut i = home(e.frame, mask);
                while !matches!(slots[i], Slot::Empty) {
                    i = (i + 1) & mask;
                }
                slots[i] = Slot::Held(e);
            }
        }
        // INVARIANT: every held entry moved, into a table of at least twice as many slots as
        // it and the `n` to come need; no released slot came along.
        self.store = store;
        self.used = self.held;
        Ok(())
    }

    /// Adds an entry under `(frame, size)`, newer than every entry already held; gives it back
    /// if there is no room ([`PinTable::reserve`] first).
    pub fn insert(&mut self, frame: u64, size: u8, value: V) -> Result<(), V> {
        self.insert_seq(frame, size, self.next_seq, value)
    }

    /// [`PinTable::insert`] with the entry's place in insertion order given: among entries of
    /// one key the one with the highest `seq` is the newest. Later [`PinTable::insert`]s are
    /// newer than it.
    pub fn insert_seq(&mut self, frame: u64, size: u8, seq: u64, value: V) -> Result<(), V> {
        let slots = self.store.slots_mut();
        let len = slots.len();
        if len == 0 || !Self::fits(self.used + 1, len) {
            return Err(value);
        }
        let mask = len - 1;
        let mut i = home(frame, mask);
        loop {
            match slots[i] {
                Slot::Empty => {
                    self.used += 1;
                    break;
                }
                Slot::Released => break,
                Slot::Held(_) => i = (i + 1) & mask,
            }
        }
        slots[i] = Slot::Held(Entry {
            frame,
            size,
            seq,
            value,
        });
        // INVARIANT: placed on its frame's probe sequence, before the first empty slot; `used`
        // counts it if it took an empty slot (a released one was counted already).
        self.next_seq = self.next_seq.max(seq.saturating_add(1));
        self.held += 1;
        Ok(())
    }

    /// Takes the newest entry held under `(frame, size)`, if any.
    pub fn pop(&mut self, frame: u64, size: u8) -> Option<V> {
        self.pop_where(frame, size, |_| true)
    }

    /// Takes the newest entry held under `(frame, size)` that `wanted` accepts, if any.
    pub fn pop_where(
        &mut self,
        frame: u64,
        size: u8,
        mut wanted: impl FnMut(&V) -> bool,
    ) -> Option<V> {
        let slots = self.store.slots_mut();
        let len = slots.len();
        if len == 0 {
            return None;
        }
        let mask = len - 1;
        let mut i = home(frame, mask);
        let mut newest: Option<(usize, u64)> = None;
        loop {
            match &slots[i] {
                Slot::Empty => break,
                Slot::Held(e) if e.frame == frame && e.size == size => {
                    if newest.is_none_or(|(_, seq)| e.seq > seq) && wanted(&e.value) {
                        newest = Some((i, e.seq));
                    }
                }
                _ => {}
            }
            i = (i + 1) & mask;
        }
        let (at, _) = newest?;
        let Slot::Held(e) = core::mem::replace(&mut slots[at], Slot::Released) else {
            return None;
        };
        // INVARIANT: the slot stays used (released), so later probes still pass it.
        self.held -= 1;
        Some(e.value)
    }

    /// Every entry held, to change in place (keys and order stay).
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> + '_ {
        self.store.slots_mut().iter_mut().filter_map(|s| match s {
            Slot::Held(e) => Some(&mut e.value),
            _ => None,
        })
    }

    /// Takes every entry: the old slots, whose held entries go when they are dropped.
    pub fn take_all(&mut self) -> S {
        self.held = 0;
        self.used = 0;
        core::mem::replace(&mut self.store, S::none())
    }
}

impl<V, S: SlotStore<V>> Default for PinTable<V, S> {
    fn default() -> Self {
        Self::new()
    }
}
