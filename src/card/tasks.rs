// SPDX-License-Identifier: GPL-2.0

//! NEC's task objects of a card: one per open file, keyed by the thread that opened it (a second
//! open by the same thread is `EBUSY`), moved by VEOS's task commands along
//! [`crate::task_rules`], and listed in sysfs `task_id_all` and `task_id_dead`. A close of a
//! task VEOS still owns (ready or on a core) waits, uninterruptibly as NEC's, until VEOS deletes
//! it or the card is unbound: until then the thread's pid stays in use, so VEOS finds it by
//! number when it cleans up.
//!
//! Commands find tasks by the thread's pid number as the caller sees it (VEOS converts the pids
//! its pseudo processes send with `HOST_PID`).
//!
//! A task on a core (`ASSIGN_TASK`) is woken in `WAIT_EXCEPTION` by its core's interrupt
//! (`src/card/cores.rs`), or by an `UNASSIGN_TASK` that found the interrupt not yet collected and
//! saved the core's exception status (EXS) in the task. The wake-up state a waiter checks
//! ([`TaskWake`]) is written with [`Card::cores`] held, the lock the waiter sleeps with and the
//! interrupt handler takes, so no wake-up is lost.
//!
//! Lock order: [`Card::tasks`] -> [`Card::cores`].

use kernel::{
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
        MutexGuard, //
    },
};

use super::{
    cores::CoreTable,
    Card, //
};
use crate::{
    hw::exs::{
        self,
        RunState, //
    },
    sys::{
        pid::ThreadPid,
        sysfs::NodeNotifier, //
    },
    task_rules::{
        Deletion,
        Refusal,
        Release,
        TaskState,
        Unassign, //
    },
};

/// What `WAIT_EXCEPTION` waits for: NEC's `wait_cond`. Every field is written with
/// [`Card::cores`] held; a waiter reads them with it held.
struct TaskWake {
    /// Set by an unassign that carried a wake-up over from the core (NEC: the task was woken).
    cond: Atomic<bool>,
    /// The core the task is on, -1 for none.
    core: Atomic<i32>,
    /// The core's wake-up generation the task has seen: a higher one means an interrupt of the
    /// core arrived while the task was on it.
    seen: Atomic<u64>,
}

impl TaskWake {
    fn new() -> Result<Arc<Self>> {
        Ok(Arc::new(
            Self {
                cond: Atomic::new(false),
                core: Atomic::new(-1),
                seen: Atomic::new(0),
            },
            GFP_KERNEL,
        )?)
    }

    /// The core the task is on.
    fn core(&self) -> Option<usize> {
        usize::try_from(self.core.load(Relaxed)).ok()
    }

    /// Whether a wake-up is due; `cores` is [`Card::cores`], held.
    fn due(&self, cores: &CoreTable) -> bool {
        self.cond.load(Relaxed)
            || self
                .core()
                .and_then(|c| cores.core(c))
                .is_some_and(|c| c.wake != self.seen.load(Relaxed))
    }
}

/// One task object.
struct Task {
    /// The open file it belongs to (`VeFile::owner`).
    file: u64,
    /// The thread that opened the file.
    thread: ThreadPid,
    state: TaskState,
    /// VEOS deleted the task after its file was closed: the closer may finish.
    closer_may_go: bool,
    /// The exception status an unassign saved for `WAIT_EXCEPTION` (0: none).
    exs: u64,
    /// What `WAIT_EXCEPTION` waits for.
    wake: Arc<TaskWake>,
}

impl Task {
    /// Takes the task off its core, if it is on one (`cores` held): the core forgets it, and a
    /// wake-up the core had for it stays the task's.
    fn leave_core(&mut self, cores: &mut CoreTable) {
        let Some(c) = self.wake.core() else {
            return;
        };
        if let Some(core) = cores.core_mut(c) {
            if core.task == Some(self.file) {
                core.task = None;
            }
            if core.wake != self.wake.seen.load(Relaxed) {
                self.wake.cond.store(true, Relaxed);
            }
        }
        self.wake.core.store(-1, Relaxed);
    }
}

/// The tasks of a card, protected by [`Card::tasks`].
pub(crate) struct TaskTable {
    tasks: KVec<Task>,
    /// Wakes pollers of `task_id_dead`; set once the device node exists, dropped at unbind (it
    /// holds the node's device, whose data holds the card).
    notifier: Option<NodeNotifier>,
    /// The card was unbound: no new task, and closers do not wait.
    pub(super) removed: bool,
    /// VE3: who holds the card (NEC's `ownership`, `VEDRV_CMD_OWNERSHIP`): the requesting thread
    /// and its open file, whose close gives it up.
    pub(super) owner: Option<(ThreadPid, u64)>,
    /// VE3: the caller of `VEDRV_CMD_NOTIFY_FAULT` waiting for the killed owner's close to hand
    /// it the card (thread and open file).
    pub(super) fault_notifier: Option<(ThreadPid, u64)>,
}

impl TaskTable {
    pub(crate) fn new() -> Self {
        Self {
            tasks: KVec::new(),
            notifier: None,
            removed: false,
            owner: None,
            fault_notifier: None,
        }
    }

    /// Wakes pollers of attribute `name`, once the node exists.
    pub(super) fn notify(&self, name: &'static CStr) {
        if let Some(n) = &self.notifier {
            n.notify(name);
        }
    }

    /// The task of thread number `tid` as the caller sees it. A thread that has exited has no
    /// number: its task is found by nobody.
    fn by_tid(&mut self, tid: i32) -> Result<&mut Task> {
        if tid <= 0 {
            return Err(ESRCH);
        }
        self.tasks
            .iter_mut()
            .find(|t| t.thread.nr_seen_by_caller() == tid)
            .ok_or(ESRCH)
    }

    pub(super) fn index_of_file(&self, file: u64) -> Option<usize> {
        self.tasks.iter().position(|t| t.file == file)
    }

    /// Applies a delete to `task`; returns whether a closer may now go.
    fn delete(task: &mut Task, what: Deletion) -> bool {
        match what {
            Deletion::Unchanged => false,
            Deletion::Deleted => {
                task.state = TaskState::Deleted;
                false
            }
            Deletion::LetCloserGo => {
                task.closer_may_go = true;
                true
            }
        }
    }
}

/// NEC's errno for a refused command.
fn errno(r: Refusal) -> Error {
    match r {
        Refusal::Invalid => EINVAL,
        Refusal::Again => EAGAIN,
        Refusal::NotReady => ESRCH,
        Refusal::Busy => EBUSY,
    }
}

impl Card {
    pub(super) fn task_table(&self) -> MutexGuard<'_, TaskTable> {
        self.tasks.lock()
    }

    /// Lets task events reach pollers of the node's attributes (once the node exists).
    pub(crate) fn set_task_notifier(&self, n: NodeNotifier) {
        self.task_table().notifier = Some(n);
    }

    /// A new task for open file `file`, keyed by the calling thread: `EBUSY` if that thread has
    /// one on this card already (NEC's rule: VEOS shares one file between its threads, a pseudo
    /// process opens one per thread), `ENODEV` once the card is unbound.
    pub(crate) fn open_task(&self, file: u64) -> Result {
        let thread = ThreadPid::current()?;
        let wake = TaskWake::new()?;
        let mut t = self.task_table();
        if t.removed {
            return Err(ENODEV);
        }
        if t.tasks.iter().any(|task| task.thread.is(&thread)) {
            return Err(EBUSY);
        }
        t.tasks.push(
            Task {
                file,
                thread,
                state: TaskState::New,
                closer_may_go: false,
                exs: 0,
                wake,
            },
            GFP_KERNEL,
        )?;
        Ok(())
    }

    /// The task of open file `file` goes with the file's last close. A task VEOS still owns is
    /// released first: VEOS is told (`task_id_dead`), and this waits until VEOS deletes it or
    /// the card is unbound.
    pub(crate) fn release_task(&self, file: u64) {
        let mut t = self.task_table();
        let Some(i) = t.index_of_file(file) else {
            return;
        };
        if t.tasks[i].state.on_release() == Release::WaitForVeos && !t.removed {
            t.tasks[i].state = TaskState::Released;
            if let Some(n) = &t.notifier {
                n.notify(c"task_id_dead");
            }
            // Uninterruptible, as NEC's: the closer is often an exiting process, with SIGKILL
            // pending. A removal or VEOS's delete wakes it.
            while !t.removed
                && t.index_of_file(file)
                    .is_some_and(|i| !t.tasks[i].closer_may_go)
            {
                self.task_released.wait(&mut t);
            }
        }
        let Some(i) = t.index_of_file(file) else {
            return;
        };
        // `i` is in bounds: found under the same lock.
        let Ok(mut task) = t.tasks.remove(i) else {
            return;
        };
        // A task VEOS let go while it was still on a core (NEC frees it and leaves the core
        // pointing to it): the core forgets it.
        task.leave_core(&mut self.cores.lock());
        drop(t);
        // The pid reference goes without the lock held.
        drop(task);
    }

    /// `CREATE_TASK`: readies the task of thread `tid` (`ESRCH` if it has none).
    pub(crate) fn create_task(&self, tid: i32) -> Result {
        let mut t = self.task_table();
        let task = t.by_tid(tid)?;
        task.state = task.state.on_create();
        Ok(())
    }

    /// `DELETE_TASK`: deletes the task of thread `tid`, or lets its waiting closer finish.
    pub(crate) fn delete_task(&self, tid: i32) -> Result {
        let mut t = self.task_table();
        let task = t.by_tid(tid)?;
        let what = task.state.on_delete().map_err(errno)?;
        if TaskTable::delete(task, what) {
            self.task_released.notify_all();
        }
        Ok(())
    }

    /// `REVIVE_TASK`: readies a deleted task of thread `tid` again.
    pub(crate) fn revive_task(&self, tid: i32) -> Result {
        let mut t = self.task_table();
        let task = t.by_tid(tid)?;
        task.state = task.state.on_revive().map_err(errno)?;
        Ok(())
    }

    /// `DELETE_ALL_TASK`: deletes every task of a VE program and lets every waiting closer
    /// finish.
    pub(crate) fn delete_all_tasks(&self) {
        let mut t = self.task_table();
        let mut cores = self.cores.lock();
        let mut wake = false;
        for task in t.tasks.iter_mut() {
            let what = task.state.on_delete_all();
            if what == Deletion::Deleted {
                // Off its core without touching the hardware, as NEC's.
                task.leave_core(&mut cores);
            }
            wake |= TaskTable::delete(task, what);
        }
        drop(cores);
        if wake {
            self.task_released.notify_all();
        }
    }

    /// `ASSIGN_TASK`: puts the task of thread `tid` on physical core `core`. `EINVAL` for a core
    /// that is not enabled, `ESRCH` for no such task; then [`TaskState::on_assign`]'s refusals.
    /// Nothing is written to the hardware (VEOS starts the core).
    pub(crate) fn assign_task(&self, tid: i32, core: i32) -> Result {
        let core = usize::try_from(core).map_err(|_| EINVAL)?;
        if !self.core_enabled(core) {
            return Err(EINVAL);
        }
        let mut t = self.task_table();
        let task = t.by_tid(tid)?;
        let mut cores = self.cores.lock();
        let slot = cores.core_mut(core).ok_or(EINVAL)?;
        task.state = task
            .state
            .on_assign(slot.task.is_some(), task.exs != 0)
            .map_err(errno)?;
        slot.task = Some(task.file);
        // Interrupts of the core before the task came are not the task's.
        task.wake.seen.store(slot.wake, Relaxed);
        task.wake.core.store(core as i32, Relaxed);
        Ok(())
    }

    /// `UNASSIGN_TASK`: takes the task of thread `tid` off its core (`ESRCH`: no such task;
    /// `EINVAL`: on no core), as NEC's VE1 does: `EBUSY` while the core runs; an interrupt of the
    /// core not yet collected by `WAIT_EXCEPTION` has the core's exception status saved in the
    /// task (and its waiter woken); `EAGAIN` while the core's interrupt is on its way (its INTVEC
    /// bit is up).
    pub(crate) fn unassign_task(&self, tid: i32) -> Result {
        let mut t = self.task_table();
        let task = t.by_tid(tid)?;
        let core = task.wake.core().ok_or(EINVAL)?;
        let mut cores = self.cores.lock();
        let exs = self.read_exs(core)?;
        let count = cores.core(core).map_or(0, |c| c.count);
        let intvec = count == 0 && self.core_intvec_pending(core)?;
        let running = exs::run_state(exs) == RunState::Running;
        match Unassign::decide(running, count, intvec).map_err(errno)? {
            Unassign::Off => {}
            Unassign::SaveExs => {
                if let Some(c) = cores.core_mut(core) {
                    c.count = 0;
                }
                // VE1: a fresh read, once the core has surely finished halting.
                task.exs = self.read_exs(core)?;
                task.wake.cond.store(true, Relaxed);
            }
        }
        task.leave_core(&mut cores);
        task.state = task.state.on_unassign();
        drop(cores);
        self.core_event.notify_all();
        Ok(())
    }

    /// `WAIT_EXCEPTION` by the task of open file `file`: waits (interruptibly: `EINTR`) until
    /// its core raises an exception or an unassign saved one, and returns the exception status:
    /// the saved one, else the core's EXS read now (0 if the task is on no core). `ESRCH` unless
    /// the task is ready or on a core; `EAGAIN` with `nonblock`; `ENODEV` once the card is gone.
    pub(crate) fn wait_exception(&self, file: u64, nonblock: bool) -> Result<u64> {
        let wake = {
            let t = self.task_table();
            let i = t.index_of_file(file).ok_or(ESRCH)?;
            let task = &t.tasks[i];
            if !task.state.may_wait() {
                return Err(ESRCH);
            }
            if nonblock {
                return Err(EAGAIN);
            }
            task.wake.clone()
        };
        {
            let mut cores = self.cores.lock();
            while !wake.due(&cores) {
                if cores.removed {
                    return Err(ENODEV);
                }
                if self.core_event.wait_interruptible(&mut cores) {
                    return Err(EINTR);
                }
            }
        }
        let mut t = self.task_table();
        let i = t.index_of_file(file).ok_or(ESRCH)?;
        let task = &mut t.tasks[i];
        let mut cores = self.cores.lock();
        task.wake.cond.store(false, Relaxed);
        if task.exs != 0 {
            return Ok(core::mem::take(&mut task.exs));
        }
        let Some(core) = task.wake.core() else {
            return Ok(0);
        };
        let exs = self.read_exs(core)?;
        if let Some(c) = cores.core_mut(core) {
            c.count = 0;
            task.wake.seen.store(c.wake, Relaxed);
        }
        Ok(exs)
    }

    /// VE3's `GET_EXS_REG` for open file `file`'s task (NEC's `fops_ve3.c`): the live EXS of its
    /// core (one read, no waiting for a halting core) while it is on one, else the status an
    /// unassign saved for it (left for `WAIT_EXCEPTION`), 0 if none.
    pub(crate) fn task_exs(&self, file: u64) -> Result<u64> {
        let t = self.task_table();
        let task = &t.tasks[t.index_of_file(file).ok_or(ESRCH)?];
        match task.wake.core() {
            Some(core) => {
                let off = (self.facts.chip.cores.exs)(core);
                self.with_regs(|r| r.bar_read64(off))
            }
            None => Ok(task.exs),
        }
    }

    /// Calls `f` with the pid, as the caller sees it, of every task in `task_id_all` (`dead`
    /// false) or `task_id_dead` (`dead` true). A task whose thread has exited is skipped.
    pub(crate) fn with_task_ids<R>(
        &self,
        dead: bool,
        f: impl FnOnce(&mut dyn Iterator<Item = i32>) -> R,
    ) -> R {
        let t = self.task_table();
        let mut ids = t
            .tasks
            .iter()
            .filter(|task| {
                if dead {
                    task.state.in_task_id_dead()
                } else {
                    task.state.in_task_id_all()
                }
            })
            .map(|task| task.thread.nr_seen_by_caller())
            .filter(|&nr| nr != 0);
        f(&mut ids)
    }

    /// Tasks of this card (open files), for the tests.
    pub(crate) fn task_count(&self) -> usize {
        self.task_table().tasks.len()
    }

    /// Unbind: no new task, every waiting closer finishes, and nobody is told any more.
    pub(crate) fn end_tasks(&self) {
        let mut t = self.task_table();
        t.removed = true;
        let notifier = t.notifier.take();
        self.task_released.notify_all();
        drop(t);
        drop(notifier);
    }
}
