// SPDX-License-Identifier: GPL-2.0

//! Threads as the kernel names them: a counted `struct pid` ([`ThreadPid`]), which outlives the
//! thread's number (a number is reused once its thread is gone; a `struct pid` is not), and pid
//! numbers read across pid namespaces ([`pid_in_namespace_of`]). 7.3's kernel crate has `Task`
//! and `PidNamespace` but no `struct pid`.

use core::ptr::NonNull;

use kernel::{
    bindings,
    prelude::*,
    sync::rcu, //
};

/// A counted reference to the `struct pid` of one thread (`PIDTYPE_PID`).
///
/// # Invariants
///
/// `ptr` points to a valid `struct pid` on which this object owns one reference.
pub(crate) struct ThreadPid {
    ptr: NonNull<bindings::pid>,
}

// SAFETY: a `struct pid` reference may be dropped from any thread (`put_pid` is an atomic
// decrement, and the free is RCU-deferred), and its number read from any thread.
unsafe impl Send for ThreadPid {}
// SAFETY: the only method on a shared reference reads the number under RCU (`pid_vnr`), which
// any thread may do concurrently.
unsafe impl Sync for ThreadPid {}

impl ThreadPid {
    /// The calling thread's `struct pid`.
    pub(crate) fn current() -> Result<Self> {
        let task = kernel::current!();
        // SAFETY: `task` is the running task, valid for this call; `get_task_pid` returns its
        // `struct pid` with a reference taken, or NULL if it has none (an exiting task).
        let p = unsafe { bindings::get_task_pid(task.as_ptr(), bindings::pid_type_PIDTYPE_PID) };
        // INVARIANT: the reference `get_task_pid` took is ours.
        NonNull::new(p).map(|ptr| Self { ptr }).ok_or(ESRCH)
    }

    /// The thread's number in the calling task's pid namespace: 0 once the thread has exited,
    /// or if it is not visible from there.
    pub(crate) fn nr_seen_by_caller(&self) -> i32 {
        // SAFETY: `ptr` is a valid `struct pid` (type invariant); `pid_vnr` reads its number in
        // the current task's active namespace under its own RCU section.
        unsafe { bindings::pid_vnr(self.ptr.as_ptr()) }
    }

    /// Whether `self` and `other` name the same thread.
    pub(crate) fn is(&self, other: &ThreadPid) -> bool {
        self.ptr == other.ptr
    }

    /// Whether the thread is alive and in the calling task's process group (NEC's
    /// `NOTIFY_FAULT` leaves such an owner alone).
    pub(crate) fn in_callers_process_group(&self) -> bool {
        let _rcu = rcu::read_lock();
        // SAFETY: `ptr` is a valid `struct pid` (type invariant); under RCU `pid_task` returns
        // its task or NULL, valid until the RCU read section ends.
        let task = unsafe { bindings::pid_task(self.ptr.as_ptr(), bindings::pid_type_PIDTYPE_PID) };
        if task.is_null() {
            return false;
        }
        let me = kernel::current!();
        // SAFETY: `task` is valid under RCU (above) and `me` is the running task; a NULL
        // namespace reads the global number, the same for both.
        let (theirs, mine) = unsafe {
            (
                bindings::__task_pid_nr_ns(
                    task,
                    bindings::pid_type_PIDTYPE_PGID,
                    core::ptr::null_mut(),
                ),
                bindings::__task_pid_nr_ns(
                    me.as_ptr(),
                    bindings::pid_type_PIDTYPE_PGID,
                    core::ptr::null_mut(),
                ),
            )
        };
        // 0 is a group too: processes the kernel's init starts without a session of their own
        // are in the swapper's.
        theirs == mine
    }

    /// Sends SIGKILL to the thread's process (NEC's `NOTIFY_FAULT`, as its driver does: with
    /// the kernel's privilege). `ESRCH` if it has exited.
    pub(crate) fn kill_process(&self) -> Result {
        // SAFETY: `ptr` is a valid `struct pid` (type invariant); `kill_pid` sends to the thread
        // group of the task using it, or answers -ESRCH.
        let r = unsafe { bindings::kill_pid(self.ptr.as_ptr(), bindings::SIGKILL as i32, 1) };
        kernel::error::to_result(r)
    }
}

impl Drop for ThreadPid {
    fn drop(&mut self) {
        // SAFETY: we own one reference on `ptr` (type invariant), dropped here once.
        unsafe { bindings::put_pid(self.ptr.as_ptr()) };
    }
}

/// NEC's `HOST_PID`: the thread `host_pid` names in the caller's pid namespace lives in some
/// namespace; `ns_pid` is a pid number in that namespace; returns the number the caller sees for
/// it. `ESRCH` if either is not found or the result is not visible to the caller.
pub(crate) fn pid_in_namespace_of(host_pid: i32, ns_pid: i32) -> Result<i32> {
    if host_pid <= 0 || ns_pid <= 0 {
        return Err(ESRCH);
    }
    // `find_vpid`, `pid_task`, `task_active_pid_ns` and `find_pid_ns` need it.
    let _rcu = rcu::read_lock();
    // SAFETY: under RCU; returns the caller-namespace `struct pid` of `host_pid` or NULL, valid
    // until the RCU read section ends.
    let pid = unsafe { bindings::find_vpid(host_pid) };
    // SAFETY: under RCU; `pid_task` accepts NULL, and returns the task using `pid` or NULL,
    // valid until the RCU read section ends.
    let task = unsafe { bindings::pid_task(pid, bindings::pid_type_PIDTYPE_PID) };
    if task.is_null() {
        return Err(ESRCH);
    }
    // SAFETY: `task` is a valid task under RCU (above); its active namespace is read from its
    // `struct pid`, NULL once it has exited.
    let ns = unsafe { bindings::task_active_pid_ns(task) };
    if ns.is_null() {
        return Err(ESRCH);
    }
    // SAFETY: `ns` is valid under RCU (it lives while a task of it does, and is freed after a
    // grace period); returns a `struct pid` valid under RCU, or NULL.
    let pid = unsafe { bindings::find_pid_ns(ns_pid, ns) };
    // SAFETY: `pid_vnr` accepts NULL (0) or a `struct pid` valid under RCU.
    let nr = unsafe { bindings::pid_vnr(pid) };
    if nr == 0 {
        return Err(ESRCH);
    }
    Ok(nr)
}
