// SPDX-License-Identifier: GPL-2.0

//! A workqueue of the module's own (7.3's kernel crate offers only the system queues, which a
//! module cannot drain): created at load, drained and destroyed at unload, so that no work item
//! the module queued runs its code after it is gone.

use kernel::{
    bindings,
    prelude::*,
    sync::atomic::{
        Acquire,
        Atomic,
        Release, //
    },
    workqueue::Queue,
};

/// The queue, once registered.
///
/// # Invariants
///
/// `raw` is null or a workqueue allocated by [`ModuleQueue::register`] and not yet destroyed; it
/// is destroyed only by the [`QueueRegistration`] that registered it, which the module drops at
/// unload, after everything that queues work (its cards, their files) is gone.
pub(crate) struct ModuleQueue {
    raw: Atomic<usize>,
    name: &'static CStr,
}

impl ModuleQueue {
    /// A queue named `name`, not yet registered.
    pub(crate) const fn new(name: &'static CStr) -> Self {
        Self {
            raw: Atomic::new(0),
            name,
        }
    }

    /// Allocates the queue (unbound, for short items that may sleep); it goes when the returned
    /// registration is dropped.
    pub(crate) fn register(&'static self) -> Result<QueueRegistration> {
        // SAFETY: `name` is a NUL-terminated string without conversions, used as the format.
        let wq = unsafe {
            bindings::alloc_workqueue_noprof(
                self.name.as_char_ptr(),
                bindings::wq_flags_WQ_UNBOUND,
                0,
            )
        };
        if wq.is_null() {
            return Err(ENOMEM);
        }
        // INVARIANT: allocated just above; destroyed by the registration.
        self.raw.store(wq as usize, Release);
        Ok(QueueRegistration { queue: self })
    }

    /// The queue, while the module is loaded (`None` before its registration and after).
    pub(crate) fn get(&self) -> Option<&Queue> {
        let wq = self.raw.load(Acquire) as *mut bindings::workqueue_struct;
        if wq.is_null() {
            return None;
        }
        // SAFETY: a registered queue (type invariant) lives until the module unloads, and no code
        // of the module runs after that.
        Some(unsafe { Queue::from_raw(wq) })
    }
}

/// A registered [`ModuleQueue`]: drained (every queued item runs to its end) and destroyed when
/// dropped.
pub(crate) struct QueueRegistration {
    queue: &'static ModuleQueue,
}

impl Drop for QueueRegistration {
    fn drop(&mut self) {
        let wq = self.queue.raw.xchg(0, Acquire) as *mut bindings::workqueue_struct;
        if !wq.is_null() {
            // SAFETY: allocated by `register`, destroyed once, here (the pointer was taken out
            // above); `destroy_workqueue` drains it first.
            unsafe { bindings::destroy_workqueue(wq) };
        }
    }
}
