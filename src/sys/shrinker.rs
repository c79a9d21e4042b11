// SPDX-License-Identifier: GPL-2.0

//! A memory shrinker: the only code that calls `shrinker_alloc`/`_register`/`_free`.
//!
//! Under memory pressure (and on `echo 2 > /proc/sys/vm/drop_caches`) the core mm asks every
//! shrinker how many objects it could give back ([`Shrink::count`]) and then to give back some
//! ([`Shrink::scan`]). Both run in reclaim, entered from any allocation that may reclaim,
//! including one made under the owner's own locks: they must not block on those locks (take them
//! with `try_lock`) and must not wait for anything reclaim may be waiting for.

use core::ptr::NonNull;

use kernel::{
    bindings,
    prelude::*,
    sync::{
        Arc,
        ArcBorrow, //
    },
};

/// What a shrinker asks of its owner, in the owner's objects.
pub(crate) trait Shrink: Send + Sync + 'static {
    /// Objects that could be given back now (0: none, or none known right now).
    fn count(&self) -> usize;
    /// Gives back up to `n` objects (or starts to), returns how many; `None` if it cannot make
    /// progress now without risking a deadlock.
    fn scan(this: ArcBorrow<'_, Self>, n: usize) -> Option<usize>;
}

/// A registered shrinker of `T`, unregistered (after any call in progress ends) when dropped.
///
/// # Invariants
///
/// `raw` is a registered shrinker whose callbacks are `count::<T>` and `scan::<T>` and whose
/// `private_data` is a pointer from `Arc::into_raw` of an `Arc<T>` that this value owns.
pub(crate) struct Shrinker<T: Shrink> {
    raw: NonNull<bindings::shrinker>,
    _owner: core::marker::PhantomData<Arc<T>>,
}

// SAFETY: the shrinker is only freed through this value; the owner is `Send + Sync`.
unsafe impl<T: Shrink> Send for Shrinker<T> {}
// SAFETY: `&Shrinker` exposes nothing.
unsafe impl<T: Shrink> Sync for Shrinker<T> {}

extern "C" fn count<T: Shrink>(
    shrink: *mut bindings::shrinker,
    _sc: *mut bindings::shrink_control,
) -> c_ulong {
    // SAFETY: the core mm calls us with our registered shrinker, whose `private_data` is a live
    // `Arc<T>`'s pointer (type invariant; it is released only after `shrinker_free`).
    let owner = unsafe { &*(*shrink).private_data.cast::<T>() };
    match owner.count() {
        0 => c_ulong::MAX - 1, // SHRINK_EMPTY
        n => n as c_ulong,
    }
}

extern "C" fn scan<T: Shrink>(
    shrink: *mut bindings::shrinker,
    sc: *mut bindings::shrink_control,
) -> c_ulong {
    // SAFETY: as in `count`; the `Arc` this value owns outlives the call.
    let owner = unsafe { ArcBorrow::from_raw((*shrink).private_data.cast::<T>()) };
    // SAFETY: the core mm passes a valid control for this call.
    let n = unsafe { (*sc).nr_to_scan };
    match T::scan(owner, n) {
        Some(freed) => freed as c_ulong,
        None => c_ulong::MAX, // SHRINK_STOP
    }
}

impl<T: Shrink> Shrinker<T> {
    /// Registers a shrinker named `name` (debugfs) that asks `owner`.
    pub(crate) fn register(name: &CStr, owner: Arc<T>) -> Result<Self> {
        // SAFETY: `name` is a NUL-terminated string, used as the format (no conversions in it:
        // the callers pass a literal).
        let raw = NonNull::new(unsafe { bindings::shrinker_alloc(0, name.as_char_ptr()) })
            .ok_or(ENOMEM)?;
        let data = Arc::into_raw(owner);
        // SAFETY: `raw` is allocated and not registered yet: its callbacks and private data are
        // ours to set (the rest is initialised by `shrinker_alloc`).
        unsafe {
            let s = raw.as_ptr();
            (*s).count_objects = Some(count::<T>);
            (*s).scan_objects = Some(scan::<T>);
            (*s).private_data = data.cast_mut().cast();
            bindings::shrinker_register(s);
        }
        // INVARIANT: registered just above with our callbacks and the Arc's pointer.
        Ok(Self {
            raw,
            _owner: core::marker::PhantomData,
        })
    }
}

impl<T: Shrink> Drop for Shrinker<T> {
    fn drop(&mut self) {
        // SAFETY: `raw` is registered (type invariant); `shrinker_free` unregisters it and waits
        // for callbacks in progress, so nothing uses `private_data` after it.
        let data = unsafe {
            let data = (*self.raw.as_ptr()).private_data;
            bindings::shrinker_free(self.raw.as_ptr());
            data
        };
        // SAFETY: `data` came from `Arc::into_raw` (type invariant) and nothing uses it any more.
        drop(unsafe { Arc::<T>::from_raw(data.cast()) });
    }
}
