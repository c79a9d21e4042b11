// SPDX-License-Identifier: GPL-2.0

//! NEC's kernel task objects as plain rules (docs/nec-abi.md, "Tasks"): the states a task goes
//! through, and what VEOS's task commands and a close do to a task in each state, with NEC's
//! errnos. One task exists per open file of the card, keyed by the opening thread; VEOS readies
//! it (`CREATE_TASK`) for a thread of a VE program's pseudo process, runs it on a core
//! (`ASSIGN_TASK`), and deletes it at the program's end. The driver applies these rules to its
//! task table (`src/card/tasks.rs`).
//!
//! `core` only: compiled into the module and unit-tested on the host (`tests/host`).

/// A task's state, numbered as NEC's driver numbers it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum TaskState {
    /// Opened, not (yet) a VE program's thread: VEOS itself, a tool, a fresh pseudo process.
    New = 0,
    /// A VE program's thread, ready to run on a core.
    Ready = 1,
    /// Deleted by VEOS: its VE program ended (or an `execve` replaces it: `REVIVE_TASK`).
    Deleted = 2,
    /// Its file was closed while it was ready or assigned: the closer waits until VEOS has
    /// cleaned up after it and deletes it.
    Released = 3,
    /// Running on a core.
    Assigned = 4,
}

/// Why a task command was refused: the errno NEC's driver answers with.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// `EINVAL`: the command does not apply to the task's state.
    Invalid,
    /// `EAGAIN`: try again once the task is off its core, or its exception was reported, or the
    /// core's interrupt arrived.
    Again,
    /// `ESRCH`: the task is not in a state the command applies to.
    NotReady,
    /// `EBUSY`: the core has a task, or is running.
    Busy,
}

/// What a delete does to a task.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Deletion {
    /// Nothing.
    Unchanged,
    /// The task becomes [`TaskState::Deleted`] (off its core first, if it was on one).
    Deleted,
    /// The task's closer, waiting in close, may finish: the task goes with it.
    LetCloserGo,
}

/// What `UNASSIGN_TASK` does with a task's core, in NEC's order, from what the core shows: the
/// core still runs (EXS run bit: `EBUSY`, VEOS halts it first); an interrupt of the core that
/// `WAIT_EXCEPTION` has not collected (its count is not 0): the exception status is saved in the
/// task for its `WAIT_EXCEPTION`, and the count cleared; none, but the core's interrupt bit is
/// still up (`EAGAIN`: the interrupt is on its way, VEOS retries). Otherwise the task simply
/// comes off.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Unassign {
    /// Off the core; nothing to save.
    Off,
    /// Off the core; save the exception status in the task and wake its waiter.
    SaveExs,
}

impl Unassign {
    /// NEC's decision (VE1: the core's EXS run bit, its interrupt count, its INTVEC bit).
    pub const fn decide(running: bool, count: u64, intvec_pending: bool) -> Result<Self, Refusal> {
        if running {
            Err(Refusal::Busy)
        } else if count > 0 {
            Ok(Self::SaveExs)
        } else if intvec_pending {
            Err(Refusal::Again)
        } else {
            Ok(Self::Off)
        }
    }
}

/// What closing a task's file does.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Release {
    /// The task goes at once: VEOS has nothing of it to clean up.
    FreeNow,
    /// The task becomes [`TaskState::Released`], VEOS is told (`task_id_dead`), and the close
    /// waits until VEOS deletes it.
    WaitForVeos,
}

impl TaskState {
    /// `CREATE_TASK`: a new task becomes ready; any other state is left as it is (success).
    pub const fn on_create(self) -> Self {
        match self {
            Self::New => Self::Ready,
            s => s,
        }
    }

    /// `DELETE_TASK`: `EAGAIN` while the task is on a core (VEOS unassigns first).
    pub const fn on_delete(self) -> Result<Deletion, Refusal> {
        match self {
            Self::New | Self::Deleted => Ok(Deletion::Unchanged),
            Self::Ready => Ok(Deletion::Deleted),
            Self::Assigned => Err(Refusal::Again),
            Self::Released => Ok(Deletion::LetCloserGo),
        }
    }

    /// `DELETE_ALL_TASK` (VEOS starting, or the card going): every task of a VE program is
    /// deleted, taken off its core without touching the hardware; every waiting closer may go.
    pub const fn on_delete_all(self) -> Deletion {
        match self {
            Self::New | Self::Deleted => Deletion::Unchanged,
            Self::Ready | Self::Assigned => Deletion::Deleted,
            Self::Released => Deletion::LetCloserGo,
        }
    }

    /// `REVIVE_TASK` (the same thread's VE program after `execve`): a deleted task is ready
    /// again; a ready one stays so; `EINVAL` otherwise.
    pub const fn on_revive(self) -> Result<Self, Refusal> {
        match self {
            Self::Deleted | Self::Ready => Ok(Self::Ready),
            Self::New | Self::Assigned | Self::Released => Err(Refusal::Invalid),
        }
    }

    /// `ASSIGN_TASK`, NEC's checks after the core (enabled, else `EINVAL`) and the task were
    /// found, in NEC's order: the core has a task (`EBUSY`); the task has an exception status
    /// saved by an unassign that its `WAIT_EXCEPTION` has not collected yet, or its file was
    /// closed (`EAGAIN`); it is not ready (`ESRCH`). Otherwise it becomes assigned.
    pub const fn on_assign(self, core_busy: bool, exs_saved: bool) -> Result<Self, Refusal> {
        if core_busy {
            return Err(Refusal::Busy);
        }
        if exs_saved || matches!(self, Self::Released) {
            return Err(Refusal::Again);
        }
        match self {
            Self::Ready => Ok(Self::Assigned),
            _ => Err(Refusal::NotReady),
        }
    }

    /// The state after its task comes off its core: ready, unless its file was closed.
    pub const fn on_unassign(self) -> Self {
        match self {
            Self::Released => Self::Released,
            _ => Self::Ready,
        }
    }

    /// Whether `WAIT_EXCEPTION` may wait for the task (ready or on a core), else `ESRCH`.
    pub const fn may_wait(self) -> bool {
        matches!(self, Self::Ready | Self::Assigned)
    }

    /// Closing the task's file.
    pub const fn on_release(self) -> Release {
        match self {
            Self::New | Self::Deleted => Release::FreeNow,
            Self::Ready | Self::Assigned | Self::Released => Release::WaitForVeos,
        }
    }

    /// Whether sysfs `task_id_all` lists the task: every task of a VE program, whatever its
    /// state, but not a new one (VEOS, tools).
    pub const fn in_task_id_all(self) -> bool {
        !matches!(self, Self::New)
    }

    /// Whether sysfs `task_id_dead` lists the task: its file was closed, VEOS has to clean up.
    pub const fn in_task_id_dead(self) -> bool {
        matches!(self, Self::Released)
    }
}
