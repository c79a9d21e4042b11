// SPDX-License-Identifier: GPL-2.0

//! The registration cache: VH ranges kept pinned and mapped for the card after a transfer, so
//! that a later transfer of the same bytes skips pinning and mapping (docs/design.md,
//! "Registration cache").
//!
//! A transfer that misses builds a [`CachedRange`] while it runs: its submitter registers an MMU
//! interval notifier on the range ([`RangeWatch`]) before pinning, gives every block it pins and
//! maps to the range instead of to the request, and the request holds the range as its one block
//! until its descriptors are done (the pin-release rule). When everything is pinned the range
//! goes into the card's index ([`CacheIndex`]) unless its memory changed meanwhile. A transfer of
//! bytes an entry covers takes the entry (a reference) and cuts its descriptors from the entry's
//! segments: no GUP, no mapping, no unpin.
//!
//! # Invalidation
//!
//! Any change the core mm makes to a cached range marks its entry stale in the notifier (which
//! neither sleeps nor waits for the device: the pages stay pinned by the entry, so a descriptor
//! still running reaches valid memory, the process's old pages, exactly as if the transfer had
//! pinned them itself), so that no lookup finds it again, and queues the sweep, which takes stale
//! entries out of the index, unregisters their notifiers and drops the index's reference. The
//! pages are unpinned when the last reference goes: the index's, or that of the last request
//! using the entry, once its descriptors cannot reach them.
//!
//! # Bounds
//!
//! An entry's pages are charged to its address space's pinned memory (RLIMIT_MEMLOCK) for as
//! long as it lives; when the charge fails, the least recently used entries of that address space
//! are given back first, then the transfer goes uncached. The index holds at most
//! [`MAX_ENTRIES`] entries and `dma_cache_mib` MiB; an open file's entries go when it is closed,
//! everything at unbind.
//!
//! # Locking
//!
//! `RegCache::index` is never held together with `Card::dma`; a [`CachedRange`]'s `held` may
//! be taken under `Card::dma` (nothing takes `Card::dma` under it). The notifier takes neither.

use kernel::{
    mm::MmWithUser,
    new_mutex,
    prelude::*,
    sync::{
        atomic::{
            AtomicFlag,
            Relaxed, //
        },
        Arc,
        Mutex, //
    },
    workqueue,
};

use crate::{
    dma::{
        cache_index::{
            CacheIndex,
            CacheKey,
            CacheStats,
            Slot, //
        },
        MappedBlock, Pinned,
    },
    hw,
    sys::notifier::{
        RangeWatch,
        StaleSink, //
    },
};

/// Entries a card's cache holds at most (a lookup scans them).
pub(crate) const MAX_ENTRIES: usize = 64;

/// `len` bytes at VH address `va` are at card address `bus` (one descriptor's worth at most).
#[derive(Copy, Clone, Debug)]
pub(crate) struct Segment {
    pub(crate) va: u64,
    pub(crate) bus: u64,
    pub(crate) len: u64,
}

/// Appends `len` bytes at `va` -> `bus` to `segs`, extending the last segment if they continue
/// it in both address spaces and it stays one descriptor long.
pub(crate) fn add_segment(segs: &mut KVVec<Segment>, va: u64, bus: u64, len: u64) -> Result {
    if let Some(last) = segs.last_mut() {
        if last.va + last.len == va
            && last.bus + last.len == bus
            && last.len + len <= hw::desc::LEN_MAX
        {
            last.len += len;
            return Ok(());
        }
    }
    segs.push(Segment { va, bus, len }, GFP_KERNEL)?;
    Ok(())
}

/// What a [`CachedRange`] holds.
struct Held {
    /// The pinned, mapped blocks.
    blocks: KVVec<MappedBlock>,
    /// How its bytes map, in address order (set when it is published).
    segs: KVVec<Segment>,
}

/// One cached translation: the bytes `[start, end)` of an address space, pinned and mapped.
///
/// # Invariants
///
/// Once the range is in the index, `held` no longer changes and its segments cover `[start,
/// end)` in order. Its blocks are released only when the value is dropped, which is after every
/// request that used it released it under the pin-release rule.
#[pin_data]
pub(crate) struct CachedRange {
    /// Dropped first: unregistered before the pages go.
    #[pin]
    watch: RangeWatch,
    key: CacheKey,
    start: u64,
    end: u64,
    #[pin]
    held: Mutex<Held>,
}

impl CachedRange {
    /// Takes over `block`, whose pieces the caller cuts only afterwards. `ENOMEM` (and the
    /// block dropped: nothing reached it) if there is no room.
    pub(crate) fn push_block(&self, block: MappedBlock) -> Result {
        self.held.lock().blocks.push(block, GFP_KERNEL)?;
        Ok(())
    }

    /// Calls `f` with the segments that cover `[start, end)` (from the first that reaches
    /// `start`).
    pub(crate) fn with_segments<R>(&self, start: u64, f: impl FnOnce(&[Segment]) -> R) -> R {
        let held = self.held.lock();
        let first = held.segs.partition_point(|s| s.va + s.len <= start);
        f(&held.segs[first..])
    }

    /// Stops watching the range: it was not published, and serves only the request that built
    /// it (may sleep).
    pub(crate) fn unregister(&self) {
        self.watch.unregister();
    }

    /// Pages held.
    pub(crate) fn npages(&self) -> usize {
        self.held.lock().blocks.iter().map(Pinned::npages).sum()
    }
}

/// The card's registration cache.
#[pin_data]
pub(crate) struct RegCache {
    #[pin]
    index: Mutex<CacheIndex<Arc<CachedRange>, MAX_ENTRIES>>,
    /// A sweep is queued.
    sweep_queued: AtomicFlag,
    /// Bytes it may hold (0: off).
    cap: u64,
}

/// What the notifier of a cached range tells: the cache has stale entries to sweep.
struct Sweeper(Arc<RegCache>);

impl StaleSink for Sweeper {
    fn range_went_stale(&self) {
        let cache = &self.0;
        if cache.sweep_queued.xchg(true, Relaxed) {
            return;
        }
        let c = cache.clone();
        // No reclaim here (the notifier's context). If this fails the stale entries stay until
        // the next sweep: lookups skip them meanwhile.
        if workqueue::system()
            .try_spawn(GFP_NOWAIT, move || c.sweep())
            .is_err()
        {
            cache.sweep_queued.store(false, Relaxed);
        }
    }
}

/// Counters and sizes, for `VE_DMA_IOC_CACHE`.
pub(crate) struct CacheReport {
    pub(crate) stats: CacheStats,
    pub(crate) entries: usize,
    pub(crate) held: u64,
    pub(crate) cap: u64,
}

impl RegCache {
    /// A cache of at most `cap` bytes (0: off).
    pub(crate) fn new(cap: u64) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                index <- new_mutex!(CacheIndex::new(cap), "ve_drv::RegCache::index"),
                sweep_queued: AtomicFlag::new(false),
                cap,
            }),
            GFP_KERNEL,
        )
    }

    /// Whether it may hold anything (`dma_cache_mib` is not 0).
    pub(crate) fn enabled(&self) -> bool {
        self.cap > 0
    }

    /// Whether a range of `bytes` pinned could be cached.
    pub(crate) fn admits(&self, bytes: u64) -> bool {
        self.index.lock().admits(bytes)
    }

    /// The entry of `key` that covers `[start, end)`, if one is still valid.
    pub(crate) fn lookup(&self, key: CacheKey, start: u64, end: u64) -> Option<Arc<CachedRange>> {
        let mut index = self.index.lock();
        let e = index
            .find(key, start, end, |e| !e.watch.is_stale())
            .cloned();
        if e.is_some() {
            index.stats.hits += 1;
        }
        e
    }

    /// A new range of `key` for the bytes `[start, end)`, watched over the `pages` bytes from
    /// `page_start` of `mm` from now on: the caller pins it next.
    pub(crate) fn begin(
        self: &Arc<Self>,
        key: CacheKey,
        start: u64,
        end: u64,
        mm: &MmWithUser,
        page_start: u64,
        pages: u64,
    ) -> Result<Arc<CachedRange>> {
        let sink: Arc<dyn StaleSink> = Arc::new(Sweeper(self.clone()), GFP_KERNEL)?;
        let range = Arc::pin_init(
            pin_init!(CachedRange {
                watch <- RangeWatch::new(sink),
                key,
                start,
                end,
                held <- new_mutex!(
                    Held {
                        blocks: KVVec::new(),
                        segs: KVVec::new(),
                    },
                    "ve_drv::CachedRange::held"
                ),
            }),
            GFP_KERNEL,
        )?;
        range.watch.register(mm, page_start, pages)?;
        Ok(range)
    }

    /// Puts `range`, fully pinned and mapped as `segs` say, holding `bytes` of pages, into the
    /// index, unless its memory changed meanwhile (then it serves only the request that built
    /// it). Returns whether it went in.
    pub(crate) fn publish(
        &self,
        range: Arc<CachedRange>,
        segs: KVVec<Segment>,
        bytes: u64,
    ) -> bool {
        range.held.lock().segs = segs;
        let mut index = self.index.lock();
        if range.watch.is_stale() {
            index.stats.bypasses += 1;
            drop(index);
            range.watch.unregister();
            return false;
        }
        let (key, start, end) = (range.key, range.start, range.end);
        // What makes room is unregistered under the lock (see `remove_where`).
        let r = index.insert(key, start, end, bytes, range, |e| e.watch.unregister());
        let ok = r.is_ok();
        if ok {
            index.stats.misses += 1;
        } else {
            index.stats.bypasses += 1;
        }
        drop(index);
        if let Err(range) = r {
            range.watch.unregister();
        }
        ok
    }

    /// Counts a transfer that could have been cached and was not.
    pub(crate) fn bypass(&self) {
        self.index.lock().stats.bypasses += 1;
    }

    /// Gives back the least recently used entry translating address space `mm` (its pinned
    /// memory is returned once no request uses it). Returns whether there was one.
    pub(crate) fn evict_lru_of(&self, mm: usize) -> bool {
        let mut victim = None;
        let found = self
            .index
            .lock()
            .evict_lru(|s| s.key.mm == mm, |e| victim = Some(e));
        if let Some(e) = victim {
            e.watch.unregister();
        }
        found
    }

    /// Takes out the entries `pred` selects: unregistered, and unpinned unless a request still
    /// uses them (those whose memory changed count as invalidations). Returns how many.
    fn remove_where(&self, pred: impl FnMut(&Slot<Arc<CachedRange>>) -> bool) -> usize {
        let mut index = self.index.lock();
        let mut stale = 0;
        // Unregistering under the lock may wait for an invalidation in progress, which never
        // takes this lock. The index's reference goes here: the pages are unpinned unless a
        // request still holds the entry.
        let n = index.remove_where(pred, |e| {
            if e.watch.is_stale() {
                stale += 1;
            }
            e.watch.unregister();
        });
        index.stats.invalidations += stale;
        n
    }

    /// Takes out the entries whose memory changed.
    fn sweep(&self) {
        self.sweep_queued.store(false, Relaxed);
        self.remove_where(|s| s.entry.watch.is_stale());
    }

    /// Takes out the entries of the open file `owner` (it is being closed).
    pub(crate) fn drop_owner(&self, owner: u64) {
        self.remove_where(|s| s.key.owner == owner);
    }

    /// Takes out every entry (unbind: their mappings end with the binding).
    pub(crate) fn drain(&self) {
        self.remove_where(|_| true);
    }

    /// Counters and sizes.
    pub(crate) fn report(&self) -> CacheReport {
        let index = self.index.lock();
        CacheReport {
            stats: index.stats,
            entries: index.entries(),
            held: index.held(),
            cap: index.cap(),
        }
    }
}
