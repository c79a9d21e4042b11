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
//! [`MAX_ENTRIES`] entries and `dma_cache_mib` MiB; under memory pressure the shrinker retires
//! the least recently used; an open file's entries go when it is closed, everything at unbind.
//!
//! # Locking
//!
//! `RegCache::removal` -> `RegCache::index`, neither ever together with `Card::dma`. `index` is
//! held briefly and never across an allocation or a sleep, because reclaim takes it (the
//! shrinker): entries taken out are unwatched and let go of after it ([`Gone`]). A
//! [`CachedRange`]'s `held` may be taken under `Card::dma` (nothing takes `Card::dma` under it).
//! The notifier takes none of them.

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
        ArcBorrow,
        Mutex, //
    },
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
    extent::PAGE_SHIFT,
    hw,
    sys::{
        notifier::{
            RangeWatch,
            StaleSink, //
        },
        shrinker::{
            Shrink,
            Shrinker, //
        },
        workqueue::ModuleQueue,
    },
};

/// Where sweeps run: the module's own queue, drained at unload (a sweep runs module code).
pub(crate) static SWEEPS: ModuleQueue = ModuleQueue::new(c"ve_drv_cache");

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
    /// Given back by the shrinker: no lookup finds it, the sweep takes it out.
    retired: AtomicFlag,
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

    /// Whether lookups may find it: its memory did not change and it was not given back.
    fn usable(&self) -> bool {
        !self.watch.is_stale() && !self.retired.load(Relaxed)
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
///
/// # Invariants
///
/// Once `closed` is set (under `index`) nothing enters the index and no shrinker is registered.
#[pin_data]
pub(crate) struct RegCache {
    #[pin]
    index: Mutex<CacheIndex<Arc<CachedRange>, MAX_ENTRIES>>,
    /// A sweep is queued.
    sweep_queued: AtomicFlag,
    /// Bytes it may hold (0: off).
    cap: u64,
    /// Drained for good (unbind).
    closed: AtomicFlag,
    /// Held by a removal (a sweep, a close, `VE_DMA_CACHE_DROP`, unbind) from taking entries out
    /// to letting them go, so that one that finds the index empty returns only after a removal
    /// in progress has unpinned what it took: outside `index`, which the shrinker takes.
    #[pin]
    removal: Mutex<()>,
    /// Gives entries back under memory pressure: registered with the first entry, freed by
    /// [`RegCache::drain`] (it holds a reference to the cache).
    #[pin]
    shrinker: Mutex<Option<Shrinker<RegCache>>>,
}

/// Entries taken out of the index, unwatched and let go of when this is dropped: after the index
/// lock, which is never held across a sleep or an allocation (reclaim takes it: the shrinker).
struct Gone {
    entries: [Option<Arc<CachedRange>>; MAX_ENTRIES],
    n: usize,
}

impl Gone {
    fn new() -> Self {
        Self {
            entries: [const { None }; MAX_ENTRIES],
            n: 0,
        }
    }

    /// Keeps `e` for the drop. At most [`MAX_ENTRIES`] come out of the index at once; were there
    /// more, the extra one is unwatched at once (correct, only under the lock).
    fn push(&mut self, e: Arc<CachedRange>) {
        match self.entries.get_mut(self.n) {
            Some(slot) => {
                *slot = Some(e);
                self.n += 1;
            }
            None => e.watch.unregister(),
        }
    }
}

impl Drop for Gone {
    fn drop(&mut self) {
        for e in self.entries.iter_mut().filter_map(Option::take) {
            e.watch.unregister();
        }
    }
}

/// What the notifier of a cached range tells: the cache has stale entries to sweep.
struct Sweeper(Arc<RegCache>);

impl StaleSink for Sweeper {
    fn range_went_stale(&self) {
        RegCache::queue_sweep(self.0.as_arc_borrow());
    }
}

impl Shrink for RegCache {
    /// Pages held by entries not yet given back.
    fn count(&self) -> usize {
        // Reclaim may take the index lock: it is never held across an allocation or a sleep.
        let index = self.index.lock();
        let mut bytes = 0;
        index.for_each(|s| {
            if s.entry.usable() {
                bytes += s.bytes;
            }
        });
        (bytes >> PAGE_SHIFT) as usize
    }

    /// Retires the least recently used entries until `n` pages are covered and queues the sweep,
    /// which unwatches them and lets their pages go (not here: unwatching may wait for an
    /// invalidation in progress, which may itself be waiting for reclaim).
    fn scan(this: ArcBorrow<'_, Self>, n: usize) -> Option<usize> {
        // As in `count`.
        let index = this.index.lock();
        let mut freed = 0;
        while freed < n {
            let Some(s) = index.oldest(|s| s.entry.usable()) else {
                break;
            };
            s.entry.retired.store(true, Relaxed);
            freed += (s.bytes >> PAGE_SHIFT) as usize;
        }
        drop(index);
        if freed > 0 {
            Self::queue_sweep(this);
        }
        Some(freed)
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
                closed: AtomicFlag::new(false),
                removal <- new_mutex!((), "ve_drv::RegCache::removal"),
                shrinker <- new_mutex!(None, "ve_drv::RegCache::shrinker"),
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
        let e = index.find(key, start, end, |e| e.usable()).cloned();
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
                retired: AtomicFlag::new(false),
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
        self: &Arc<Self>,
        range: Arc<CachedRange>,
        segs: KVVec<Segment>,
        bytes: u64,
    ) -> bool {
        range.held.lock().segs = segs;
        self.ensure_shrinker();
        // Dropped after the lock: what makes room is unwatched and let go of outside it.
        let mut gone = Gone::new();
        let mut index = self.index.lock();
        if range.watch.is_stale() || self.closed.load(Relaxed) {
            index.stats.bypasses += 1;
            drop(index);
            range.watch.unregister();
            return false;
        }
        let (key, start, end) = (range.key, range.start, range.end);
        let r = index.insert(key, start, end, bytes, range, |e| gone.push(e));
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
        // Dropped after the lock: the entries are unwatched (which may wait for an invalidation
        // in progress) and the index's references let go of (the pages are unpinned unless a
        // request still holds the entry) outside it, under `removal`.
        let _removal = self.removal.lock();
        let mut gone = Gone::new();
        let mut index = self.index.lock();
        let (mut stale, mut retired) = (0, 0);
        let n = index.remove_where(pred, |e| {
            if e.retired.load(Relaxed) {
                retired += 1;
            } else if e.watch.is_stale() {
                stale += 1;
            }
            gone.push(e);
        });
        index.stats.invalidations += stale;
        index.stats.evictions += retired;
        n
    }

    /// Registers the shrinker if there is none yet (and the cache is open). Without one the cache
    /// still works, bounded by its cap and the pinned-memory limit.
    fn ensure_shrinker(self: &Arc<Self>) {
        let mut shrinker = self.shrinker.lock();
        if shrinker.is_some() || self.closed.load(Relaxed) {
            return;
        }
        *shrinker = Shrinker::register(c"ve_drv-dma-cache", self.clone()).ok();
    }

    /// Queues a sweep on [`SWEEPS`] unless one is queued. No reclaim here (it runs in
    /// the notifier's and the shrinker's context): if the allocation fails, what the sweep would
    /// take out stays until the next one (lookups skip it meanwhile).
    fn queue_sweep(this: ArcBorrow<'_, Self>) {
        if this.sweep_queued.xchg(true, Relaxed) {
            return;
        }
        let c: Arc<Self> = this.into();
        let queued = SWEEPS
            .get()
            .is_some_and(|q| q.try_spawn(GFP_NOWAIT, move || c.sweep()).is_ok());
        if !queued {
            this.sweep_queued.store(false, Relaxed);
        }
    }

    /// Takes out the entries whose memory changed or that the shrinker gave back.
    fn sweep(&self) {
        self.sweep_queued.store(false, Relaxed);
        self.remove_where(|s| !s.entry.usable());
    }

    /// Takes out the entries of the open file `owner` (it is being closed).
    pub(crate) fn drop_owner(&self, owner: u64) {
        self.remove_where(|s| s.key.owner == owner);
    }

    /// Takes out every entry for good and frees the shrinker (unbind: the mappings end with the
    /// binding).
    pub(crate) fn drain(&self) {
        // INVARIANT: set under the index lock, which `publish` checks it under.
        {
            let _index = self.index.lock();
            self.closed.store(true, Relaxed);
        }
        self.remove_where(|_| true);
        // Waits for a shrinker call in progress; drops its reference to the cache.
        drop(self.shrinker.lock().take());
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
