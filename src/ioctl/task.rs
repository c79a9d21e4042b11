// SPDX-License-Identifier: GPL-2.0

//! NEC's task commands and the other commands VEOS issues at start-up and on its IPC path:
//! argument decoding; the work is done by [`Card`] (`src/card/tasks.rs`). The dispatcher has
//! already checked CAP_SYS_ADMIN. The argument of the task commands is the thread's pid number
//! itself (a `pid_t` passed by value).

use kernel::{
    prelude::*,
    uaccess::UserSlice, //
};

use crate::{
    card::Card,
    sys,
    uapi, //
};

/// A `pid_t` passed by value in the ioctl argument, as NEC's driver reads it (the low 32 bits).
fn tid_of(arg: usize) -> i32 {
    arg as u32 as i32
}

/// `VEDRV_CMD_CREATE_TASK`.
pub(super) fn create(card: &Card, arg: usize) -> Result<isize> {
    card.create_task(tid_of(arg)).map(|()| 0)
}

/// `VEDRV_CMD_DELETE_TASK`.
pub(super) fn delete(card: &Card, arg: usize) -> Result<isize> {
    card.delete_task(tid_of(arg)).map(|()| 0)
}

/// `VEDRV_CMD_REVIVE_TASK`.
pub(super) fn revive(card: &Card, arg: usize) -> Result<isize> {
    card.revive_task(tid_of(arg)).map(|()| 0)
}

/// `VEDRV_CMD_ASSIGN_TASK`.
pub(super) fn assign(card: &Card, arg: usize) -> Result<isize> {
    let req: uapi::VeTidCore =
        UserSlice::new(UserPtr::from_addr(arg), size_of::<uapi::VeTidCore>())
            .reader()
            .read()?;
    card.assign_task(req.tid, req.core_id).map(|()| 0)
}

/// `VEDRV_CMD_UNASSIGN_TASK`.
pub(super) fn unassign(card: &Card, arg: usize) -> Result<isize> {
    card.unassign_task(tid_of(arg)).map(|()| 0)
}

/// `VEDRV_CMD_DELETE_ALL_TASK`: always succeeds.
pub(super) fn delete_all(card: &Card) -> Result<isize> {
    card.delete_all_tasks();
    Ok(0)
}

/// `VEDRV_CMD_RST_INTR_COUNT`: succeeds for any core, with no effect, as NEC's (whose core
/// interrupt counts are reset by `WAIT_EXCEPTION`, not by this). VEOS calls it for each core at
/// start-up.
pub(super) fn reset_interrupt_count() -> Result<isize> {
    Ok(0)
}

/// `VEDRV_CMD_RST_EXSRAR_MEM`: zeroes the core's EXSRAR report slot; `EINVAL` for a core
/// outside the enabled ones' range (below the highest enabled core + 1, as NEC's). Nothing reads
/// the slot (NEC has not since v3.0). VEOS 3.5 does not call it.
pub(super) fn reset_exsrar(card: &Card, arg: usize) -> Result<isize> {
    let core = arg as u32 as i32;
    let core = usize::try_from(core).map_err(|_| EINVAL)?;
    card.reset_exsrar(core).map(|()| 0)
}

/// `VEDRV_CMD_HOST_PID`: returns the pid, as the caller sees it, of `namespace_pid` in the pid
/// namespace of the thread `host_pid` (a pid the caller sees). On VEOS's IPC path: one copy in,
/// one RCU lookup, no lock of the driver's.
pub(super) fn host_pid(arg: usize) -> Result<isize> {
    let req: uapi::VeGetHostPid =
        UserSlice::new(UserPtr::from_addr(arg), size_of::<uapi::VeGetHostPid>())
            .reader()
            .read()?;
    sys::pid::pid_in_namespace_of(req.host_pid, req.namespace_pid).map(|p| p as isize)
}
