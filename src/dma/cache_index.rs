// SPDX-License-Identifier: GPL-2.0

//! The registration cache's index: which byte ranges of which address space an open file has
//! pinned and mapped for the card, what a lookup finds, what goes when the cache is full. `core`
//! only, unit-tested on the host; the entries themselves (pins, mappings, MMU notifier) are the
//! caller's `E` (`dma::cache`).
//!
//! An entry serves a request of the same [`CacheKey`] (the same open file, address space and
//! direction) whose bytes it covers. The cache holds at most `N` entries and `cap` bytes of
//! pinned pages; making room takes out the least recently used entries first. An entry that
//! overlaps one being inserted for the same key is taken out too: the newer translation
//! replaces it. Counters of what happened are kept here ([`CacheStats`]).

/// Who may use an entry: the open file that made it, the address space it translates (its
/// `mm_struct`, which the entry keeps from being freed), and whether the device writes the pages.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct CacheKey {
    pub owner: u64,
    pub mm: usize,
    pub write: bool,
}

/// Counters since the cache was made.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Requests served from an entry (no pinning).
    pub hits: u64,
    /// Requests that built an entry.
    pub misses: u64,
    /// Requests that could have been cached and were not: longer than the cap, pinned memory
    /// limit reached, or their range changed while it was pinned.
    pub bypasses: u64,
    /// Entries taken out because their range changed (MMU notifier).
    pub invalidations: u64,
    /// Entries taken out to make room, or replaced by an overlapping one.
    pub evictions: u64,
}

/// One entry's place in the index.
pub struct Slot<E> {
    pub key: CacheKey,
    /// The virtual addresses translated: `[start, end)`.
    pub start: u64,
    pub end: u64,
    /// Pinned bytes it holds (whole pages).
    pub bytes: u64,
    /// When it was last used (the index's clock).
    used: u64,
    pub entry: E,
}

/// The index: at most `N` entries, at most `cap` bytes.
///
/// # Invariants
///
/// `held` is the sum of the `bytes` of the entries in `slots`, at most `cap`.
pub struct CacheIndex<E, const N: usize> {
    slots: [Option<Slot<E>>; N],
    cap: u64,
    held: u64,
    clock: u64,
    pub stats: CacheStats,
}

impl<E, const N: usize> CacheIndex<E, N> {
    /// An empty index for at most `cap` bytes (0: nothing is ever cached).
    pub const fn new(cap: u64) -> Self {
        Self {
            slots: [const { None }; N],
            cap,
            held: 0,
            clock: 0,
            stats: CacheStats {
                hits: 0,
                misses: 0,
                bypasses: 0,
                invalidations: 0,
                evictions: 0,
            },
        }
    }

    /// Bytes the cache may hold.
    pub fn cap(&self) -> u64 {
        self.cap
    }

    /// Bytes it holds.
    pub fn held(&self) -> u64 {
        self.held
    }

    /// Entries it holds.
    pub fn entries(&self) -> usize {
        self.slots.iter().flatten().count()
    }

    /// Whether an entry of `bytes` could be cached at all.
    pub fn admits(&self, bytes: u64) -> bool {
        bytes > 0 && bytes <= self.cap && N > 0
    }

    /// The entry of `key` that covers `[start, end)` and that `usable` accepts, marked used.
    pub fn find(
        &mut self,
        key: CacheKey,
        start: u64,
        end: u64,
        usable: impl Fn(&E) -> bool,
    ) -> Option<&E> {
        self.clock += 1;
        let clock = self.clock;
        let slot = self
            .slots
            .iter_mut()
            .flatten()
            .find(|s| s.key == key && s.start <= start && end <= s.end && usable(&s.entry))?;
        slot.used = clock;
        Some(&slot.entry)
    }

    /// Calls `f` with every entry.
    pub fn for_each(&self, f: impl FnMut(&Slot<E>)) {
        self.slots.iter().flatten().for_each(f);
    }

    /// The least recently used entry that `pred` selects.
    pub fn oldest(&self, pred: impl Fn(&Slot<E>) -> bool) -> Option<&Slot<E>> {
        self.slots
            .iter()
            .flatten()
            .filter(|s| pred(s))
            .min_by_key(|s| s.used)
    }

    /// Takes out every entry that `pred` selects, handing each to `out`; returns how many.
    pub fn remove_where(
        &mut self,
        mut pred: impl FnMut(&Slot<E>) -> bool,
        mut out: impl FnMut(E),
    ) -> usize {
        let mut n = 0;
        for s in self.slots.iter_mut() {
            if s.as_ref().is_some_and(&mut pred) {
                if let Some(slot) = s.take() {
                    // INVARIANT: its bytes leave with it.
                    self.held -= slot.bytes;
                    out(slot.entry);
                    n += 1;
                }
            }
        }
        n
    }

    /// Takes out the least recently used entry that `pred` selects, handing it to `out`;
    /// returns whether there was one.
    pub fn evict_lru(&mut self, pred: impl Fn(&Slot<E>) -> bool, out: impl FnOnce(E)) -> bool {
        let lru = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().filter(|s| pred(s)).map(|s| (s.used, i)))
            .min();
        let Some((_, i)) = lru else {
            return false;
        };
        let Some(slot) = self.slots[i].take() else {
            return false;
        };
        // INVARIANT: its bytes leave with it.
        self.held -= slot.bytes;
        self.stats.evictions += 1;
        out(slot.entry);
        true
    }

    /// Inserts an entry of `key` for `[start, end)` holding `bytes`: entries of the same key
    /// that overlap it go first, then the least recently used ones while it would not fit;
    /// everything taken out goes to `out`. Gives the entry back if it can never fit
    /// ([`Self::admits`]).
    pub fn insert(
        &mut self,
        key: CacheKey,
        start: u64,
        end: u64,
        bytes: u64,
        entry: E,
        mut out: impl FnMut(E),
    ) -> Result<(), E> {
        if !self.admits(bytes) {
            return Err(entry);
        }
        let replaced =
            self.remove_where(|s| s.key == key && s.start < end && start < s.end, &mut out);
        self.stats.evictions += replaced as u64;
        while self.held + bytes > self.cap || self.slots.iter().all(Option::is_some) {
            if !self.evict_lru(|_| true, &mut out) {
                // Not reached: an empty index has a free slot and room for `bytes <= cap`.
                return Err(entry);
            }
        }
        self.clock += 1;
        let Some(free) = self.slots.iter_mut().find(|s| s.is_none()) else {
            return Err(entry);
        };
        // INVARIANT: room was made above for `bytes` within `cap`.
        *free = Some(Slot {
            key,
            start,
            end,
            bytes,
            used: self.clock,
            entry,
        });
        self.held += bytes;
        Ok(())
    }
}
