// SPDX-License-Identifier: GPL-2.0

//! Watching a range of a process's address space for changes: the only code that calls the MMU
//! interval notifier API (`mmu_interval_notifier_insert`/`_remove`/`_read_begin`).
//!
//! A [`RangeWatch`] is registered on `[start, start + len)` of an address space. From then on,
//! any change the core mm makes to that range (munmap, mremap, `MADV_DONTNEED`, fork's COW
//! write protection, migration, THP collapse or split, the address space's exit) marks it stale
//! and tells its [`StaleSink`], once. The watch never delays the change: its owner's pages are
//! pinned, so they stay valid memory until the owner releases them, and waiting here for a
//! device could deadlock (`try_to_unmap` calls the notifier holding the folio lock that
//! unpinning a dirtied page takes). A stale watch only means: what was translated for this range
//! no longer describes the process's memory, do not use it again.
//!
//! A registered watch is unregistered before its memory goes ([`RangeWatch`]'s drop, or
//! [`RangeWatch::unregister`] earlier); after that the notifier never runs for it again.

use kernel::{
    bindings,
    error::to_result,
    mm::MmWithUser,
    prelude::*,
    sync::{
        atomic::{
            Acquire,
            AtomicFlag,
            Release, //
        },
        Arc,
    },
    types::Opaque,
};

// src/helpers.c: static inlines of <linux/mmu_notifier.h>. The pointer is declared `void *`:
// bindgen's `mmu_interval_notifier` reaches `mm_struct`, whose zero-sized members the FFI-safety
// lint rejects.
extern "C" {
    fn ve_mmu_interval_set_seq(sub: *mut c_void, seq: c_ulong);
}

/// Told when a watched range went stale. Called from the MMU notifier, possibly in atomic
/// context and always where reclaim must not recurse: it must not sleep, and may allocate only
/// without reclaim (`GFP_NOWAIT`).
pub(crate) trait StaleSink: Send + Sync {
    /// A range watched for this sink went stale.
    fn range_went_stale(&self);
}

/// A watched range of one address space.
///
/// # Invariants
///
/// `raw` is registered with the MMU notifier exactly while `registered` is set, and it is
/// unregistered before the value is dropped. The value never moves: it is `!Unpin` (`Opaque`)
/// and made only by [`RangeWatch::new`]'s in-place initialiser, so every `&RangeWatch` points
/// into pinned memory, where the notifier finds it through `raw` (`container_of`).
#[pin_data(PinnedDrop)]
pub(crate) struct RangeWatch {
    #[pin]
    raw: Opaque<bindings::mmu_interval_notifier>,
    registered: AtomicFlag,
    stale: AtomicFlag,
    sink: Arc<dyn StaleSink>,
}

// SAFETY: the notifier struct is only touched through the MMU notifier API (which serialises
// with its own locks) and the flags are atomic; `sink` is `Send + Sync`.
unsafe impl Send for RangeWatch {}
// SAFETY: as above.
unsafe impl Sync for RangeWatch {}

/// The callbacks of every watch.
static OPS: bindings::mmu_interval_notifier_ops = bindings::mmu_interval_notifier_ops {
    invalidate: Some(invalidate),
    invalidate_start: None,
    invalidate_finish: None,
};

/// The MMU notifier's callback: marks the watch stale and tells its sink the first time. Never
/// refuses (nothing here sleeps), so the core mm goes on at once.
extern "C" fn invalidate(
    sub: *mut bindings::mmu_interval_notifier,
    _range: *const bindings::mmu_notifier_range,
    cur_seq: c_ulong,
) -> bool {
    // SAFETY: the notifier only calls us for a registered `sub`, which by the type invariant is
    // the `raw` field of a pinned, live `RangeWatch` (it is unregistered before it goes, and
    // unregistering waits for running callbacks).
    let watch =
        unsafe { &*kernel::container_of!(Opaque::cast_from(sub).cast_mut(), RangeWatch, raw) };
    // SAFETY: `sub` is registered; the sequence is only read by `mmu_interval_read_begin`.
    unsafe { ve_mmu_interval_set_seq(sub.cast(), cur_seq) };
    if !watch.stale.xchg(true, Release) {
        watch.sink.range_went_stale();
    }
    true
}

impl RangeWatch {
    /// An unregistered watch that will tell `sink`.
    pub(crate) fn new(sink: Arc<dyn StaleSink>) -> impl PinInit<Self> {
        pin_init!(Self {
            raw: Opaque::zeroed(),
            registered: AtomicFlag::new(false),
            stale: AtomicFlag::new(false),
            sink,
        })
    }

    /// Watches `[start, start + len)` of `mm` (held with `mm_users`, as registration needs),
    /// then waits until no change to the address space is in progress: what is translated from
    /// now on is valid until the watch goes stale. `EINVAL` if already registered or the range
    /// is empty or wraps; `ENOMEM` from the core mm.
    pub(crate) fn register(&self, mm: &MmWithUser, start: u64, len: u64) -> Result {
        let start = c_ulong::try_from(start).map_err(|_| EINVAL)?;
        let len = c_ulong::try_from(len).map_err(|_| EINVAL)?;
        if len == 0 || start.checked_add(len).is_none() {
            return Err(EINVAL);
        }
        if self.registered.load(Acquire) {
            return Err(EINVAL);
        }
        // SAFETY: `raw` is pinned (type invariant) and not registered; `mm` is a live mm with
        // `mm_users` held by the caller; `OPS` is static. The notifier takes its own `mmgrab`
        // until removal.
        to_result(unsafe {
            bindings::mmu_interval_notifier_insert(self.raw.get(), mm.as_raw(), start, len, &OPS)
        })?;
        // INVARIANT: registered just above.
        self.registered.store(true, Release);
        // SAFETY: `raw` is registered. Waits while an invalidation that this watch may have
        // missed (it began before the insert) is still in progress.
        let _ = unsafe { bindings::mmu_interval_read_begin(self.raw.get()) };
        Ok(())
    }

    /// Whether the watched range changed since it was registered.
    pub(crate) fn is_stale(&self) -> bool {
        self.stale.load(Acquire)
    }

    /// Stops watching (may sleep: waits for a running callback). Nothing if not registered.
    pub(crate) fn unregister(&self) {
        if self.registered.xchg(false, Acquire) {
            // SAFETY: `raw` was registered (the flag was set) and only this call, which cleared
            // the flag, removes it. Process context: removal may sleep.
            unsafe { bindings::mmu_interval_notifier_remove(self.raw.get()) };
        }
    }
}

#[pinned_drop]
impl PinnedDrop for RangeWatch {
    fn drop(self: Pin<&mut Self>) {
        // INVARIANT: the notifier forgets `raw` before its memory goes.
        self.unregister();
    }
}
