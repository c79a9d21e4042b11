// SPDX-License-Identifier: GPL-2.0

//! VE3's own commands (NEC's `fops_ve3.c`, reference 4.5): the card's ownership
//! (`VEDRV_CMD_OWNERSHIP`, sysfs `ownership`, `VEDRV_CMD_NOTIFY_FAULT`), the cores' clock gating
//! (`VEDRV_CMD_HANDLE_CLOCK_GATING`, `VEDRV_CMD_GET_CLOCK_GATING_STATE`) and the end of VEOS's
//! VE memory clear (`VEDRV_CMD_COMPLETE_MEMCLEAR`). `VEDRV_CMD_GET_EXS_REG` is a task command
//! ([`Card::task_exs`]). The ioctl layer routes them on a VE3 only.
//!
//! Ownership lives in the task table ([`super::tasks::TaskTable`]), under [`Card::tasks`], whose
//! notifier wakes pollers of `ownership` when it is given up (libved's request loop waits so).

use kernel::{
    prelude::*,
    sync::CondVarTimeoutResult,
    time::msecs_to_jiffies, //
};

use super::{
    tasks::TaskTable,
    Card, //
};
use crate::{
    hw::ve3,
    sys::pid::ThreadPid, //
};

/// How long `NOTIFY_FAULT` waits for the killed owner's close (NEC's
/// `wait_sec_after_sigkill_on_notify_fault`, 10 s).
const NOTIFY_FAULT_WAIT_MS: u32 = 10_000;

impl Card {
    /// `VEDRV_CMD_OWNERSHIP` from open file `file`: `1` requests the card for the calling thread
    /// (`EBUSY` if anyone holds it, the caller included), `0` releases it (`EACCES` if another
    /// thread holds it, `EINVAL` if nobody does; pollers of `ownership` are woken); anything else
    /// `EINVAL`.
    pub(crate) fn ownership(&self, file: u64, cmd: u64) -> Result {
        let me = ThreadPid::current()?;
        let mut t = self.task_table();
        match (cmd, &t.owner) {
            (1, Some(_)) => Err(EBUSY),
            (1, None) => {
                t.owner = Some((me, file));
                Ok(())
            }
            (0, Some((owner, _))) if owner.is(&me) => {
                t.owner = None;
                t.notify(c"ownership");
                Ok(())
            }
            (0, Some(_)) => Err(EACCES),
            _ => Err(EINVAL),
        }
    }

    /// The close of open file `file`: if it holds the card, the card goes to a waiting
    /// `NOTIFY_FAULT` caller, or is free again; pollers of `ownership` are woken either way.
    pub(crate) fn release_ownership(&self, file: u64) {
        let mut t = self.task_table();
        if t.owner.as_ref().is_some_and(|(_, f)| *f == file) {
            t.owner = t.fault_notifier.take();
            t.notify(c"ownership");
            drop(t);
            self.task_released.notify_all();
        }
    }

    /// `VEDRV_CMD_NOTIFY_FAULT` from open file `file` (NEC's `fops_ve3.c`): the caller found the
    /// holder's VEOS faulty. `ESRCH` if nobody holds the card; nothing (0) if the holder is in
    /// the caller's process group; `EAGAIN` if another caller waits already. Otherwise the
    /// holder's process gets SIGKILL and the caller waits up to [`NOTIFY_FAULT_WAIT_MS`] for the
    /// holder's close to hand it the card (`ETIMEDOUT`, or `EINTR` on a signal, and no hand-over
    /// after it).
    pub(crate) fn notify_fault(&self, file: u64) -> Result {
        let me = ThreadPid::current()?;
        let mut t = self.task_table();
        let owner = match &t.owner {
            None => return Err(ESRCH),
            Some((owner, _)) if owner.in_callers_process_group() => return Ok(()),
            Some(_) if t.fault_notifier.is_some() => return Err(EAGAIN),
            Some((owner, _)) => owner,
        };
        if let Err(e) = owner.kill_process() {
            dev_warn!(self.dev(), "NOTIFY_FAULT: the owner not killed: {:?}\n", e);
        }
        t.fault_notifier = Some((me, file));
        // Handed over: the holder's close made this file the owner (it was not one before: a
        // holder in the caller's own group returned above).
        let handed = |t: &TaskTable| t.owner.as_ref().is_some_and(|(_, f)| *f == file);
        let mut remaining = msecs_to_jiffies(NOTIFY_FAULT_WAIT_MS);
        let mut failed = None;
        loop {
            if handed(&t) {
                return Ok(());
            }
            if let Some(e) = failed.or(t.removed.then_some(ENODEV)) {
                t.fault_notifier = None;
                return Err(e);
            }
            match self
                .task_released
                .wait_interruptible_timeout(&mut t, remaining)
            {
                CondVarTimeoutResult::Woken { jiffies } => remaining = jiffies,
                CondVarTimeoutResult::Timeout => failed = Some(ETIMEDOUT),
                CondVarTimeoutResult::Signal { .. } => failed = Some(EINTR),
            }
        }
    }

    /// Sysfs `ownership`: the holder's thread number as the reader sees it (0 if it has exited or
    /// is not visible there), `None` if nobody holds the card.
    pub(crate) fn owner_seen_by_caller(&self) -> Option<i32> {
        self.task_table()
            .owner
            .as_ref()
            .map(|(p, _)| p.nr_seen_by_caller())
    }

    /// `VEDRV_CMD_HANDLE_CLOCK_GATING`: `1` turns the cores' clock gating on, `0` off (the gating
    /// bit written to the on or off register); anything else `EINVAL`. The state register follows
    /// when the card has acted: VEOS polls it.
    pub(crate) fn set_clock_gating(&self, on: u64) -> Result {
        let reg = match on {
            1 => ve3::CLOCK_GATING_ON,
            0 => ve3::CLOCK_GATING_OFF,
            _ => return Err(EINVAL),
        };
        self.with_regs(|r| r.bar_write64(ve3::CLOCK_GATING_BIT, reg))?;
        self.kick()
    }

    /// `VEDRV_CMD_GET_CLOCK_GATING_STATE`: the clock gating state register.
    pub(crate) fn clock_gating_state(&self) -> Result<u64> {
        self.with_regs(|r| r.bar_read64(ve3::CLOCK_GATING_STATE))
    }

    /// `VEDRV_CMD_COMPLETE_MEMCLEAR`: NEC's sequence to the memory controllers, in order, each
    /// marked write read back before the next ([`ve3::MEMCLEAR_DONE`]).
    pub(crate) fn memclear_done(&self) -> Result {
        self.with_regs(|r| {
            for (off, value, read_back) in ve3::MEMCLEAR_DONE {
                r.bar_write64(value, off)?;
                if read_back {
                    r.bar_read64(off)?;
                }
            }
            Ok(())
        })?;
        self.kick()
    }
}
