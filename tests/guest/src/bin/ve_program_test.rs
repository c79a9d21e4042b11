// SPDX-License-Identifier: GPL-2.0

//! ve_program_test: VE programs run as VEOS and its pseudo processes run them (reference 7.3;
//! docs/nec-abi.md, "Tasks"). VEOS (this program, root) creates a task for a pseudo process (a
//! child of user nobody), puts it on a core (`ASSIGN_TASK`); the pseudo process waits in
//! `WAIT_EXCEPTION`; the emulator's core raises an exception (its EXS, its interrupt); the wait
//! returns that EXS; VEOS takes the task off (`UNASSIGN_TASK`) and deletes it. Also: an exception
//! nobody collected is saved by the unassign and returned by the next wait; many tasks on
//! several cores at once; every errno of NEC's table (`EINVAL`, `ESRCH`, `EBUSY`, `EAGAIN`, and
//! `WAIT_EXCEPTION`'s `EAGAIN` for O_NONBLOCK, `EINTR` on a signal, `EINVAL`/`EACCES` for the
//! mmap exclusion); a pseudo process killed on its core; `DELETE_ALL_TASK` with tasks on cores;
//! unbind while a task waits.
//!
//! ```text
//! ve_program_test [--module PATH]
//! ```
//! Loads and unloads `ve_drv.ko` itself.

use std::os::fd::OwnedFd;

use ve_guest::{
    dma,
    emubar::{
        self,
        EmuBar, //
    },
    hw::{
        self,
        emu,
        exs,
        scr,
        ve1,
        ve3, //
    },
    ksft::{
        ensure,
        ensure_eq,
        ensure_errno, //
    },
    mem::Mapping,
    nec::pins_held,
    suite::{
        Fixture,
        Suite, //
    },
    sys::{
        self,
        errname, //
    },
    uapi,
    veos::{
        attr,
        by_value,
        delete_all,
        insmod_emulator,
        pid_list,
        pipe,
        read_byte,
        tasks,
        while_unbound,
        write_byte,
        Pseudo,
        CLASS_DIR,
        NODE, //
    },
};

type R = Result<(), String>;

struct Fx {
    module: String,
    /// VEOS's file.
    fd: Option<OwnedFd>,
    c: Option<EmuBar>,
    /// BAR2 from 0: the cores' registers and the system-common registers.
    regs: Option<Mapping>,
    /// Enabled cores.
    cores: Vec<u32>,
    /// The emulator presents a VE3 (its cores' registers in its BAR4 image, INTVEC0).
    ve3: bool,
}

impl Fixture for Fx {
    /// A failed case may leave tasks on cores or closers waiting: VEOS's start-up cleanup.
    fn teardown(&mut self) -> R {
        match &self.fd {
            Some(fd) => delete_all(fd),
            None => Ok(()),
        }
    }
}

impl Fx {
    fn fd(&self) -> Result<&OwnedFd, String> {
        self.fd
            .as_ref()
            .ok_or_else(|| "/dev/ve0 is not open".into())
    }

    fn c(&self) -> Result<&EmuBar, String> {
        self.c.as_ref().ok_or_else(|| "no emulator block".into())
    }

    fn reg_ptr(&self, off: usize) -> Result<*mut u64, String> {
        let m = self.regs.as_ref().ok_or("BAR2 is not mapped")?;
        ensure(off % 8 == 0 && off + 8 <= m.len(), || {
            format!("offset {off:#x}")
        })?;
        // SAFETY: an aligned word inside the mapping (checked).
        Ok(unsafe { m.ptr().add(off).cast::<u64>() })
    }

    fn reg(&self, off: usize) -> Result<u64, String> {
        // SAFETY: `reg_ptr` checked the word.
        Ok(unsafe { self.reg_ptr(off)?.read_volatile() })
    }

    fn set_reg(&self, off: usize, v: u64) -> R {
        // SAFETY: `reg_ptr` checked the word.
        unsafe { self.reg_ptr(off)?.write_volatile(v) };
        Ok(())
    }

    /// Core `core` raises an exception with `cause` (the emulator stops it, sets EXS, raises its
    /// interrupt); waits until the emulator has acted.
    fn exception(&self, core: u32, cause: u64) -> R {
        let c = self.c()?;
        let before = c.get(emu::OFF_CNT_RAISED);
        c.set(emu::OFF_CTL_RAISE_ENTRY, core.into());
        c.set(emu::OFF_CTL_RAISE_EXS, cause);
        c.set(emu::OFF_CTL_RAISE_COUNT, 0);
        c.set(emu::OFF_CTL_RAISE, emu::RAISE_EXCEPTION);
        sys::ioctl_raw(self.fd()?, uapi::VE_DRV_IOC_KICK, 0)
            .map_err(|e| format!("kick: {}", errname(e)))?;
        ensure(
            sys::wait_for(2000, || c.get(emu::OFF_CNT_RAISED) > before),
            || format!("the emulator did not raise an exception on core {core}"),
        )
    }

    /// Offset in the emulator's BAR2 of core `core`'s EXS.
    fn exs_off(&self, core: u32) -> usize {
        if self.ve3 {
            emu::VE3_BAR4_IMAGE + ve3::exs_offset(core as usize)
        } else {
            ve1::exs_offset(core as usize)
        }
    }

    /// Offset in the emulator's BAR2 of core `core`'s EXSRAR.
    fn exsrar_off(&self, core: u32) -> usize {
        if self.ve3 {
            emu::VE3_BAR4_IMAGE + ve3::exsrar_offset(core as usize)
        } else {
            ve1::exsrar_offset(core as usize)
        }
    }

    /// Offset in the emulator's BAR2 of the INTVEC register with the cores' bits.
    fn cores_intvec(&self) -> usize {
        if self.ve3 {
            emu::VE3_BAR4_IMAGE + ve3::SCR_OFFSET + ve3::INTVEC0
        } else {
            ve1::SCR_OFFSET + scr::INTVEC
        }
    }

    /// Writes a core's EXS as VEOS does (RUN, STOP).
    fn set_exs(&self, core: u32, v: u64) -> R {
        self.set_reg(self.exs_off(core), v)
    }

    fn assign(&self, tid: i32, core: i32) -> Result<i32, i32> {
        let mut a = uapi::VeTidCore { tid, core_id: core };
        sys::ioctl(
            self.fd().map_err(|_| libc::EBADF)?,
            uapi::VEDRV_CMD_ASSIGN_TASK,
            &mut a,
        )
    }

    fn cmd(&self, cmd: u32, tid: i32) -> Result<i32, i32> {
        by_value(self.fd().map_err(|_| libc::EBADF)?, cmd, tid.into())
    }

    fn unassign(&self, tid: i32) -> Result<i32, i32> {
        self.cmd(uapi::VEDRV_CMD_UNASSIGN_TASK, tid)
    }

    /// UNASSIGN as VEOS calls it after an exception: again while `EAGAIN` (the core's interrupt
    /// is raised but not yet handled), for up to 2 s.
    fn unassign_retrying(&self, tid: i32) -> Result<i32, i32> {
        let mut r = self.unassign(tid);
        let end = std::time::Instant::now() + std::time::Duration::from_secs(2);
        while r == Err(libc::EAGAIN) && std::time::Instant::now() < end {
            std::thread::sleep(std::time::Duration::from_millis(1));
            r = self.unassign(tid);
        }
        r
    }
}

fn ok(what: &str, r: Result<i32, i32>) -> R {
    r.map(drop).map_err(|e| format!("{what}: {}", errname(e)))
}

/// A cause with an exception bit (bits 63:8), distinct per `n`.
fn cause(n: u64) -> u64 {
    (0x1000 + n) << 8
}

fn insmod(fx: &mut Fx) -> R {
    insmod_emulator(&fx.module)
}

fn open_veos(fx: &mut Fx) -> R {
    fx.fd = Some(sys::open_rw(NODE).map_err(errname)?);
    fx.c = Some(EmuBar::open()?);
    fx.ve3 = fx.c()?.is_ve3();
    // VE1's BAR2 image, or VE3's BAR4 image and more: the cores' registers and INTVEC.
    fx.regs = Some(emubar::map_bar2(0, emu::VE1_BAR2_SIZE)?);
    let w1 = (fx.c()?.get(emu::OFF_VCR) >> 32) as u32;
    fx.cores = (0..emu::CORES as u32)
        .filter(|&n| w1 & 0xff_ffff & (1 << n) != 0)
        .collect();
    ensure(fx.cores.len() >= 2, || format!("cores {:?}", fx.cores))
}

/// One VE program's thread: CREATE, ASSIGN, the pseudo process waits, the core raises an
/// exception, the wait returns its EXS; UNASSIGN, DELETE; the close frees the task at once.
fn one_program(fx: &mut Fx) -> R {
    let core = fx.cores[0];
    let p = Pseudo::spawn()?;
    ok("CREATE", fx.cmd(uapi::VEDRV_CMD_CREATE_TASK, p.pid()))?;
    ok("ASSIGN", fx.assign(p.pid(), core as i32))?;
    fx.set_exs(core, exs::RUN)?;
    p.wait_exception(false)?;
    ensure(p.waited_within(300).is_none(), || {
        "WAIT_EXCEPTION returned before the exception".into()
    })?;
    fx.exception(core, cause(1))?;
    let got = p
        .waited_within(3000)
        .ok_or("WAIT_EXCEPTION did not return after the exception")?;
    ensure_eq("EXS", got, Ok(exs::halted(cause(1))))?;
    ok("UNASSIGN", fx.unassign(p.pid()))?;
    ok("DELETE", fx.cmd(uapi::VEDRV_CMD_DELETE_TASK, p.pid()))?;
    p.close()?;
    ensure(p.closed_within(2000), || {
        "close of a deleted task waited".into()
    })
}

/// An exception nobody collected: UNASSIGN saves it in the task (ASSIGN is then `EAGAIN`), the
/// next WAIT_EXCEPTION returns it at once, and the task can be assigned again.
fn unassign_saves_an_uncollected_exception(fx: &mut Fx) -> R {
    let core = fx.cores[1];
    let p = Pseudo::spawn()?;
    ok("CREATE", fx.cmd(uapi::VEDRV_CMD_CREATE_TASK, p.pid()))?;
    ok("ASSIGN", fx.assign(p.pid(), core as i32))?;
    fx.exception(core, cause(2))?;
    ok("UNASSIGN", fx.unassign_retrying(p.pid()))?;
    ensure_errno(
        "ASSIGN with the exception saved",
        fx.assign(p.pid(), core as i32),
        libc::EAGAIN,
    )?;
    p.wait_exception(false)?;
    ensure_eq(
        "WAIT_EXCEPTION after the unassign",
        p.waited_within(2000),
        Some(Ok(exs::halted(cause(2)))),
    )?;
    ok(
        "ASSIGN after the exception was collected",
        fx.assign(p.pid(), core as i32),
    )?;
    ok("UNASSIGN", fx.unassign(p.pid()))?;
    ok("DELETE", fx.cmd(uapi::VEDRV_CMD_DELETE_TASK, p.pid()))
}

/// A task on every enabled core at once, each waiting; each core's exception reaches its own
/// task only.
fn tasks_on_every_core(fx: &mut Fx) -> R {
    let mut ps = Vec::new();
    for &core in &fx.cores {
        let p = Pseudo::spawn()?;
        ok("CREATE", fx.cmd(uapi::VEDRV_CMD_CREATE_TASK, p.pid()))?;
        ok(
            &format!("ASSIGN core {core}"),
            fx.assign(p.pid(), core as i32),
        )?;
        p.wait_exception(false)?;
        ps.push((core, p));
    }
    // In reverse order, to show nobody is woken by another core.
    for (core, p) in ps.iter().rev() {
        fx.exception(*core, cause(u64::from(*core) + 10))?;
        ensure_eq(
            &format!("core {core}'s task"),
            p.waited_within(3000),
            Some(Ok(exs::halted(cause(u64::from(*core) + 10)))),
        )?;
    }
    for (_, p) in &ps {
        ok("UNASSIGN", fx.unassign(p.pid()))?;
        ok("DELETE", fx.cmd(uapi::VEDRV_CMD_DELETE_TASK, p.pid()))?;
    }
    Ok(())
}

/// NEC's errnos: ASSIGN to a core that is not enabled or negative (`EINVAL`), of no task or a
/// new one (`ESRCH`), to a busy core (`EBUSY`), of an assigned task (`ESRCH`); UNASSIGN of no
/// task (`ESRCH`), of a task on no core (`EINVAL`), while the core runs (`EBUSY`), while its
/// interrupt bit is up (`EAGAIN`); DELETE of an assigned task (`EAGAIN`); an ordinary user
/// `EPERM`.
fn errnos(fx: &mut Fx) -> R {
    let (c0, c1) = (fx.cores[0], fx.cores[1]);
    let a = Pseudo::spawn()?;
    let b = Pseudo::spawn()?;
    let disabled = (0..ve1::CORES_MAX as i32)
        .find(|c| !fx.cores.contains(&(*c as u32)))
        .unwrap_or(ve1::CORES_MAX as i32);
    // Beyond every core the card's MSI-X map names (VE1 16, VE3 32).
    let beyond = if fx.ve3 {
        ve3::CORES_MAX
    } else {
        ve1::CORES_MAX
    } as i32;
    ensure_errno(
        "ASSIGN of a new task",
        fx.assign(a.pid(), c0 as i32),
        libc::ESRCH,
    )?;
    ok("CREATE a", fx.cmd(uapi::VEDRV_CMD_CREATE_TASK, a.pid()))?;
    ok("CREATE b", fx.cmd(uapi::VEDRV_CMD_CREATE_TASK, b.pid()))?;
    for core in [-1, disabled, beyond, 64, i32::MAX] {
        ensure_errno(
            &format!("ASSIGN to core {core}"),
            fx.assign(a.pid(), core),
            libc::EINVAL,
        )?;
    }
    ensure_errno(
        "ASSIGN of no task",
        fx.assign(4_000_000, c0 as i32),
        libc::ESRCH,
    )?;
    ensure_errno(
        "UNASSIGN of a task on no core",
        fx.unassign(a.pid()),
        libc::EINVAL,
    )?;
    ensure_errno("UNASSIGN of no task", fx.unassign(4_000_000), libc::ESRCH)?;
    ok("ASSIGN a", fx.assign(a.pid(), c0 as i32))?;
    ensure_errno(
        "ASSIGN b to a's core",
        fx.assign(b.pid(), c0 as i32),
        libc::EBUSY,
    )?;
    ensure_errno("ASSIGN a again", fx.assign(a.pid(), c1 as i32), libc::ESRCH)?;
    ensure_errno(
        "DELETE of an assigned task",
        fx.cmd(uapi::VEDRV_CMD_DELETE_TASK, a.pid()),
        libc::EAGAIN,
    )?;
    // The core runs: EBUSY until VEOS stops it.
    fx.set_exs(c0, exs::RUN)?;
    ensure_errno(
        "UNASSIGN while the core runs",
        fx.unassign(a.pid()),
        libc::EBUSY,
    )?;
    fx.set_exs(c0, exs::STOP)?;
    // The core's interrupt bit is up but its interrupt has not arrived: EAGAIN.
    let intvec = fx.cores_intvec();
    let bit = scr::intvec_bit(c0);
    fx.set_reg(intvec, fx.reg(intvec)? | bit)?;
    let r = fx.unassign(a.pid());
    fx.set_reg(intvec, fx.reg(intvec)? & !bit)?;
    ensure_errno(
        "UNASSIGN while the interrupt is on its way",
        r,
        libc::EAGAIN,
    )?;
    ok("UNASSIGN", fx.unassign(a.pid()))?;
    let code = sys::as_nobody(|| {
        let Ok(own) = sys::open_rw(NODE) else {
            return 1;
        };
        let mut t = uapi::VeTidCore { tid: 1, core_id: 0 };
        if sys::ioctl(&own, uapi::VEDRV_CMD_ASSIGN_TASK, &mut t) != Err(libc::EPERM) {
            return 2;
        }
        if by_value(&own, uapi::VEDRV_CMD_UNASSIGN_TASK, 1) != Err(libc::EPERM) {
            return 3;
        }
        0
    })
    .map_err(errname)?;
    ensure_eq("ordinary user (1: open; 2, 3: not EPERM)", code, 0)?;
    for p in [&a, &b] {
        ok("DELETE", fx.cmd(uapi::VEDRV_CMD_DELETE_TASK, p.pid()))?;
    }
    Ok(())
}

/// WAIT_EXCEPTION's own errnos: `ESRCH` for a new task, `EAGAIN` with O_NONBLOCK, `EINTR` on a
/// signal; a file that waited cannot be mapped (`EACCES`), a file that was mapped cannot wait
/// (`EINVAL`).
fn wait_exception_errnos(fx: &mut Fx) -> R {
    let p = Pseudo::spawn()?;
    p.wait_exception(false)?;
    ensure_eq(
        "WAIT of a new task",
        p.waited_within(2000),
        Some(Err(libc::ESRCH)),
    )?;
    ok("CREATE", fx.cmd(uapi::VEDRV_CMD_CREATE_TASK, p.pid()))?;
    p.mmap()?;
    ensure_eq(
        "mmap after a wait",
        p.waited_within(2000),
        Some(Err(libc::EACCES)),
    )?;
    p.wait_exception(false)?;
    ensure(p.in_ioctl_within(3000), || "WAIT did not wait".into())?;
    p.kill(libc::SIGUSR1)?;
    ensure_eq(
        "WAIT on a signal",
        p.waited_within(2000),
        Some(Err(libc::EINTR)),
    )?;
    p.wait_exception(true)?;
    ensure_eq(
        "WAIT with O_NONBLOCK",
        p.waited_within(2000),
        Some(Err(libc::EAGAIN)),
    )?;
    ok("DELETE", fx.cmd(uapi::VEDRV_CMD_DELETE_TASK, p.pid()))?;
    // Another pseudo process maps first: its wait is refused.
    let q = Pseudo::spawn()?;
    ok("CREATE", fx.cmd(uapi::VEDRV_CMD_CREATE_TASK, q.pid()))?;
    q.mmap()?;
    let mapped = q.waited_within(2000).ok_or("no answer to mmap")?;
    ensure(
        mapped.is_ok() || mapped == Err(libc::EPERM) || mapped == Err(libc::EACCES),
        || format!("mmap: {mapped:?}"),
    )?;
    q.wait_exception(false)?;
    ensure_eq(
        "WAIT after an mmap",
        q.waited_within(2000),
        Some(Err(libc::EINVAL)),
    )?;
    ok("DELETE", fx.cmd(uapi::VEDRV_CMD_DELETE_TASK, q.pid()))
}

/// A pseudo process killed while its task is on a core and waiting: its exit waits (released,
/// listed in task_id_dead) until VEOS unassigns and deletes the task.
fn killed_on_a_core(fx: &mut Fx) -> R {
    let core = fx.cores[0];
    let mut p = Pseudo::spawn()?;
    ok("CREATE", fx.cmd(uapi::VEDRV_CMD_CREATE_TASK, p.pid()))?;
    ok("ASSIGN", fx.assign(p.pid(), core as i32))?;
    p.wait_exception(false)?;
    ensure(p.in_ioctl_within(3000), || "WAIT did not wait".into())?;
    p.kill(libc::SIGKILL)?;
    ensure(
        sys::wait_for(3000, || {
            pid_list("task_id_dead").is_ok_and(|l| l == [p.pid()])
        }),
        || format!("task_id_dead: {:?}", pid_list("task_id_dead")),
    )?;
    ensure(p.reap_within(200).is_none(), || {
        "reaped before VEOS let it go".into()
    })?;
    ensure_errno(
        "ASSIGN of a released task",
        fx.assign(p.pid(), fx.cores[1] as i32),
        libc::EAGAIN,
    )?;
    ok("UNASSIGN", fx.unassign(p.pid()))?;
    ok("DELETE", fx.cmd(uapi::VEDRV_CMD_DELETE_TASK, p.pid()))?;
    let status = p.reap_within(3000).ok_or("not reaped after DELETE")?;
    ensure(sys::died_of(status, libc::SIGKILL), || {
        format!("status {status:#x}")
    })?;
    // The core is free.
    let q = Pseudo::spawn()?;
    ok("CREATE", fx.cmd(uapi::VEDRV_CMD_CREATE_TASK, q.pid()))?;
    ok("ASSIGN to the freed core", fx.assign(q.pid(), core as i32))?;
    ok("UNASSIGN", fx.unassign(q.pid()))?;
    ok("DELETE", fx.cmd(uapi::VEDRV_CMD_DELETE_TASK, q.pid()))
}

/// VEOS restarting: DELETE_ALL_TASK takes tasks off their cores (the cores are free again), a
/// waiter is not woken by a later exception of its old core.
fn delete_all_frees_the_cores(fx: &mut Fx) -> R {
    let core = fx.cores[0];
    let p = Pseudo::spawn()?;
    ok("CREATE", fx.cmd(uapi::VEDRV_CMD_CREATE_TASK, p.pid()))?;
    ok("ASSIGN", fx.assign(p.pid(), core as i32))?;
    p.wait_exception(false)?;
    ensure(p.in_ioctl_within(3000), || {
        "WAIT_EXCEPTION did not block".into()
    })?;
    delete_all(fx.fd()?)?;
    fx.exception(core, cause(3))?;
    ensure(p.waited_within(300).is_none(), || {
        "a deleted task's waiter returned after its old core's exception".into()
    })?;
    let q = Pseudo::spawn()?;
    ok("CREATE", fx.cmd(uapi::VEDRV_CMD_CREATE_TASK, q.pid()))?;
    ok("ASSIGN to the freed core", fx.assign(q.pid(), core as i32))?;
    ok("UNASSIGN", fx.unassign(q.pid()))?;
    ok("DELETE", fx.cmd(uapi::VEDRV_CMD_DELETE_TASK, q.pid()))?;
    p.kill(libc::SIGUSR1)?;
    ensure_eq(
        "the old waiter, signalled",
        p.waited_within(2000),
        Some(Err(libc::EINTR)),
    )
}

/// VEOS dies (killed) while its tasks run: nothing of a pseudo process's task changes. Its wait
/// still gets its core's exception, its task keeps the core; the next VEOS's `DELETE_ALL_TASK`
/// frees the core, after which the pseudo process closes at once.
fn veos_killed_while_tasks_run(fx: &mut Fx) -> R {
    let core = fx.cores[0];
    let p = Pseudo::spawn()?;
    let before = tasks(fx.fd()?)?;
    let (ready_r, ready_w) = pipe()?;
    // SAFETY: the child only makes syscalls and leaves with `_exit` or is killed.
    let veos = unsafe { libc::fork() };
    if veos < 0 {
        return Err(format!("fork: {}", errname(sys::errno())));
    }
    if veos == 0 {
        // The dying VEOS: its own file, the task created and put on a core through it.
        let step = || -> Result<(), i32> {
            let own = sys::open_rw(NODE)?;
            by_value(&own, uapi::VEDRV_CMD_CREATE_TASK, p.pid().into())?;
            let mut a = uapi::VeTidCore {
                tid: p.pid(),
                core_id: core as i32,
            };
            sys::ioctl(&own, uapi::VEDRV_CMD_ASSIGN_TASK, &mut a)?;
            write_byte(&ready_w, 1);
            // Waits for the signal that kills it, the file still open.
            loop {
                // SAFETY: a plain syscall.
                unsafe { libc::pause() };
            }
        };
        let _ = step();
        // SAFETY: leave without the parent's destructors.
        unsafe { libc::_exit(1) };
    }
    drop(ready_w);
    let ready = read_byte(&ready_r, 5000);
    // SAFETY: the child forked above.
    unsafe { libc::kill(veos, libc::SIGKILL) };
    let mut status = 0;
    // SAFETY: reaps the child forked above.
    unsafe { libc::waitpid(veos, &mut status, 0) };
    ensure_eq("VEOS child set up the task", ready, Some(1))?;
    ensure(sys::died_of(status, libc::SIGKILL), || {
        format!("VEOS child status {status:#x}")
    })?;
    ensure_eq("tasks after VEOS died", tasks(fx.fd()?)?, before)?;
    p.wait_exception(false)?;
    ensure(p.in_ioctl_within(3000), || "WAIT did not wait".into())?;
    fx.exception(core, cause(40))?;
    ensure_eq(
        "the exception reaches the pseudo process of a dead VEOS",
        p.waited_within(3000),
        Some(Ok(exs::halted(cause(40)))),
    )?;
    ensure_errno(
        "ASSIGN while the core still has the task",
        fx.assign(p.pid(), core as i32),
        libc::EBUSY,
    )?;
    // The next VEOS starts: DELETE_ALL_TASK frees the core.
    delete_all(fx.fd()?)?;
    let q = Pseudo::spawn()?;
    ok("CREATE", fx.cmd(uapi::VEDRV_CMD_CREATE_TASK, q.pid()))?;
    ok("ASSIGN to the freed core", fx.assign(q.pid(), core as i32))?;
    ok("UNASSIGN", fx.unassign(q.pid()))?;
    ok("DELETE", fx.cmd(uapi::VEDRV_CMD_DELETE_TASK, q.pid()))?;
    p.close()?;
    ensure(p.closed_within(3000), || {
        "close after DELETE_ALL_TASK waited".into()
    })
}

/// `VE_VE_RESET` and `VE1_UPDATE_FIRMWARE`: `EAGAIN` unless VEOS is offline (checked before the
/// level), `EINVAL` above level 1, `EOPNOTSUPP` for a secondary bus reset and for the firmware;
/// `EPERM` for an ordinary user. None of them resets the card.
fn reset_errnos(fx: &mut Fx) -> R {
    let fd = fx.fd()?;
    let resets = fx.c()?.get(emu::OFF_CNT_RESETS);
    let reset = |level: i64| by_value(fd, uapi::VEDRV_CMD_VE_VE_RESET, level);
    let firmware = || sys::ioctl_raw(fd, uapi::VEDRV_CMD_VE1_UPDATE_FIRMWARE, 0);
    ensure_eq("os_state", attr("os_state")?, "1\n".to_string())?;
    let os_state = format!("{CLASS_DIR}/os_state");
    sys::write_file(&os_state, "2").map_err(|e| format!("os_state 2: {}", errname(e)))?;
    let starting = (reset(0), reset(7), firmware());
    sys::write_file(&os_state, "1").map_err(|e| format!("os_state 1: {}", errname(e)))?;
    ensure_errno("RESET 0 while VEOS starts", starting.0, libc::EAGAIN)?;
    ensure_errno("RESET 7 while VEOS starts", starting.1, libc::EAGAIN)?;
    ensure_errno(
        "UPDATE_FIRMWARE while VEOS starts",
        starting.2,
        libc::EAGAIN,
    )?;
    for level in [2, 3, -1] {
        ensure_errno(&format!("RESET {level}"), reset(level), libc::EINVAL)?;
    }
    ensure_errno("RESET 1 (secondary bus)", reset(1), libc::EOPNOTSUPP)?;
    ensure_errno("UPDATE_FIRMWARE", firmware(), libc::EOPNOTSUPP)?;
    let code = sys::as_nobody(|| {
        let Ok(own) = sys::open_rw(NODE) else {
            return 1;
        };
        if by_value(&own, uapi::VEDRV_CMD_VE_VE_RESET, 0) != Err(libc::EPERM) {
            return 2;
        }
        if sys::ioctl_raw(&own, uapi::VEDRV_CMD_VE1_UPDATE_FIRMWARE, 0) != Err(libc::EPERM) {
            return 3;
        }
        0
    })
    .map_err(errname)?;
    ensure_eq("ordinary user (1: open; 2, 3: not EPERM)", code, 0)?;
    ensure_eq("chip resets", fx.c()?.get(emu::OFF_CNT_RESETS), resets)
}

/// A chip reset with a task waiting on a running core and a transfer held in the engine: the
/// transfer fails with `EIO` and its pages are unpinned; the card is reset once; the core is
/// stopped and its EXSRAR programmed again; the task keeps its core and its wait, which the
/// core's next exception ends; the engine moves data again (compared).
fn chip_reset(fx: &mut Fx) -> R {
    let core = fx.cores[1];
    let fd = fx.fd()?;
    let c = fx.c()?;
    let resets = c.get(emu::OFF_CNT_RESETS);
    let p = Pseudo::spawn()?;
    ok("CREATE", fx.cmd(uapi::VEDRV_CMD_CREATE_TASK, p.pid()))?;
    ok("ASSIGN", fx.assign(p.pid(), core as i32))?;
    fx.set_exs(core, exs::RUN)?;
    p.wait_exception(false)?;
    ensure(p.in_ioctl_within(3000), || "WAIT did not wait".into())?;

    const LEN: usize = 1 << 20;
    let mut src = Mapping::anon_rw(LEN)?;
    for (i, b) in src.as_mut_slice().iter_mut().enumerate() {
        *b = (i * 7 + 3) as u8;
    }
    let stall = c.stall(fd);
    let id = dma::submit(fd, true, src.addr(), 0, LEN as u64)
        .map_err(|e| format!("SUBMIT: {}", errname(e)))?;
    ensure(pins_held() > 0, || "the held transfer pins nothing".into())?;
    let r = by_value(fd, uapi::VEDRV_CMD_VE_VE_RESET, 0);
    stall.release()?;
    ok("RESET 0", r)?;
    ensure_eq("chip resets", c.get(emu::OFF_CNT_RESETS), resets + 1)?;
    let w = dma::wait(fd, id, 5000).map_err(|e| format!("WAIT: {}", errname(e)))?;
    ensure_eq("the held transfer's status", w.status, -libc::EIO)?;
    ensure_eq("pages pinned after the reset", pins_held(), 0)?;

    ensure_eq(
        "the core after the reset",
        exs::run_state(fx.reg(fx.exs_off(core))?),
        exs::RunState::Halted,
    )?;
    let exsrar = fx.reg(fx.exsrar_off(core))?;
    ensure(exsrar & hw::exsrar::ENABLE != 0, || {
        format!("EXSRAR not programmed again: {exsrar:#x}")
    })?;
    ensure(p.waited_within(200).is_none(), || {
        "the reset ended the task's wait".into()
    })?;
    fx.exception(core, cause(41))?;
    ensure_eq(
        "the exception after the reset",
        p.waited_within(3000),
        Some(Ok(exs::halted(cause(41)))),
    )?;
    ok("UNASSIGN", fx.unassign_retrying(p.pid()))?;
    ok("DELETE", fx.cmd(uapi::VEDRV_CMD_DELETE_TASK, p.pid()))?;

    let mut back = Mapping::anon_rw(LEN)?;
    dma::xfer(fd, true, src.addr(), 0, LEN as u64)
        .map_err(|(e, _)| format!("XFER to the VE after the reset: {}", errname(e)))?;
    dma::xfer(fd, false, back.addr(), 0, LEN as u64)
        .map_err(|(e, _)| format!("XFER from the VE after the reset: {}", errname(e)))?;
    ensure(back.as_mut_slice() == src.as_mut_slice(), || {
        "data after the reset differ".into()
    })
}

/// Unbind while a task waits on its core: the wait returns `ENODEV`; the card binds again.
fn unbind_ends_waits(fx: &mut Fx) -> R {
    let core = fx.cores[0];
    let p = Pseudo::spawn()?;
    ok("CREATE", fx.cmd(uapi::VEDRV_CMD_CREATE_TASK, p.pid()))?;
    ok("ASSIGN", fx.assign(p.pid(), core as i32))?;
    p.wait_exception(false)?;
    ensure(p.in_ioctl_within(3000), || "WAIT did not wait".into())?;
    let got = while_unbound(|| p.waited_within(3000))?;
    ensure_eq("WAIT at unbind", got, Some(Err(libc::ENODEV)))?;
    p.close()?;
    ensure(p.closed_within(3000), || "close after unbind waited".into())?;
    fx.fd = None;
    fx.fd = Some(sys::open_rw(NODE).map_err(|e| format!("reopen: {}", errname(e)))?);
    Ok(())
}

fn nothing_left_rmmod(fx: &mut Fx) -> R {
    ensure_eq("tasks at the end", tasks(fx.fd()?)?, 1)?;
    ensure_eq("pages pinned", pins_held(), 0)?;
    fx.fd = None;
    fx.regs = None;
    fx.c = None;
    sys::rmmod("ve_drv").map_err(|e| format!("rmmod: {}", errname(e)))
}

fn main() {
    let module = sys::module_arg("ve_program_test");
    let code = Suite::new("ve_program_test")
        .with_pin_counter(pins_held)
        .step("insmod emulator=1", insmod)
        .step("VEOS opens /dev/ve0, maps the emulator", open_veos)
        .balanced(
            "one program: CREATE, ASSIGN, the exception's EXS reaches WAIT_EXCEPTION, UNASSIGN, DELETE",
            one_program,
        )
        .balanced(
            "UNASSIGN saves an uncollected exception; ASSIGN EAGAIN until WAIT_EXCEPTION takes it",
            unassign_saves_an_uncollected_exception,
        )
        .balanced(
            "a task on every enabled core, each woken by its own core only",
            tasks_on_every_core,
        )
        .balanced(
            "ASSIGN/UNASSIGN/DELETE errnos: EINVAL, ESRCH, EBUSY, EAGAIN; EPERM",
            errnos,
        )
        .balanced(
            "WAIT_EXCEPTION: ESRCH, EINTR, EAGAIN (O_NONBLOCK); mmap EACCES after, EINVAL before",
            wait_exception_errnos,
        )
        .balanced(
            "a pseudo process killed on its core waits until VEOS unassigns and deletes",
            killed_on_a_core,
        )
        .balanced(
            "DELETE_ALL_TASK frees the cores; the old waiter is not woken",
            delete_all_frees_the_cores,
        )
        .balanced(
            "VEOS killed while its tasks run: the waits go on, the next VEOS's DELETE_ALL cleans up",
            veos_killed_while_tasks_run,
        )
        .balanced(
            "VE_VE_RESET, VE1_UPDATE_FIRMWARE: EAGAIN unless offline, EINVAL, EOPNOTSUPP, EPERM",
            reset_errnos,
        )
        .balanced(
            "chip reset: held transfer EIO and unpinned, core stopped, EXSRAR again, DMA works",
            chip_reset,
        )
        .balanced(
            "unbind ends a wait (ENODEV); the card binds again",
            unbind_ends_waits,
        )
        .balanced("no task left, nothing pinned; rmmod", nothing_left_rmmod)
        .run(|| {
            Ok(Fx {
                module,
                fd: None,
                c: None,
                regs: None,
                cores: Vec::new(),
                ve3: false,
            })
        });
    std::process::exit(code);
}
