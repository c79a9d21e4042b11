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
//! Not here yet (the VE cores' exception path): `ASSIGN_TASK`, `UNASSIGN_TASK` and
//! `WAIT_EXCEPTION`; no task reaches [`TaskState::Assigned`].

use kernel::{
    prelude::*,
    sync::MutexGuard, //
};

use super::Card;
use crate::{
    sys::{
        pid::ThreadPid,
        sysfs::NodeNotifier, //
    },
    task_rules::{
        Deletion,
        Refusal,
        Release,
        TaskState, //
    },
};

/// One task object.
struct Task {
    /// The open file it belongs to (`VeFile::owner`).
    file: u64,
    /// The thread that opened the file.
    thread: ThreadPid,
    state: TaskState,
    /// VEOS deleted the task after its file was closed: the closer may finish.
    closer_may_go: bool,
}

/// The tasks of a card, protected by [`Card::tasks`].
pub(crate) struct TaskTable {
    tasks: KVec<Task>,
    /// Wakes pollers of `task_id_dead`; set once the device node exists, dropped at unbind (it
    /// holds the node's device, whose data holds the card).
    notifier: Option<NodeNotifier>,
    /// The card was unbound: no new task, and closers do not wait.
    removed: bool,
}

impl TaskTable {
    pub(crate) fn new() -> Self {
        Self {
            tasks: KVec::new(),
            notifier: None,
            removed: false,
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

    fn index_of_file(&self, file: u64) -> Option<usize> {
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
    fn task_table(&self) -> MutexGuard<'_, TaskTable> {
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
        let task = t.tasks.remove(i);
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
        let mut wake = false;
        for task in t.tasks.iter_mut() {
            let what = task.state.on_delete_all();
            wake |= TaskTable::delete(task, what);
        }
        if wake {
            self.task_released.notify_all();
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
