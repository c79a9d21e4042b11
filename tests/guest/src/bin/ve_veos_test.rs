// SPDX-License-Identifier: GPL-2.0

//! ve_veos_test: the card as VEOS 3.5 and its pseudo processes use it (docs/nec-abi.md, "Tasks",
//! "Start-up"). NEC's open (one task per open file, keyed by the opening thread: a second open by
//! the same thread is `EBUSY`); the task commands `CREATE_TASK`, `DELETE_TASK`, `REVIVE_TASK` and
//! `DELETE_ALL_TASK` along NEC's state table with its errnos; `task_id_all` and `task_id_dead`
//! listing them, the latter waking a `POLLPRI` poller; a close of a task VEOS owns waiting until
//! VEOS deletes it (a killed pseudo process stays unreaped until then), and unbind letting it go;
//! `HOST_PID` across pid namespaces; `RST_INTR_COUNT` and `RST_EXSRAR_MEM`; then VEOS's start-up
//! (reference 7.1) and shutdown (7.2) replayed call by call from a thread of its own, checking
//! every answer VEOS checks. Without `user_pdma` (the kernel keeps the engine): VEOS's own DMA
//! manager cannot run, so the replay checks that its engine pages are withheld instead.
//!
//! ```text
//! ve_veos_test [--module PATH]
//! ```
//! Loads and unloads `ve_drv.ko` itself.

use std::{
    fs,
    os::{
        fd::{
            AsRawFd,
            OwnedFd, //
        },
        unix::fs::MetadataExt,
    },
    thread,
};

use ve_guest::{
    hw::{
        scr,
        ve1,
        ve3, //
    },
    ksft::{
        diag,
        ensure,
        ensure_eq,
        ensure_errno, //
    },
    mem::Mapping,
    nec::{
        self,
        pins_held, //
    },
    suite::{
        Fixture,
        Suite, //
    },
    sys::{
        self,
        errname, //
    },
    uapi,
    userdma::map_raw,
    veos::{
        attr,
        by_value,
        delete_all,
        insmod_emulator,
        pid_list,
        tasks,
        while_unbound,
        Pseudo,
        CLASS_DIR,
        NODE, //
    },
};

type R = Result<(), String>;
const PAGE: usize = 4096;
/// A pid no process has (above the guest's `pid_max`).
const NO_SUCH_PID: i64 = 4_000_000;

struct Fx {
    module: String,
    /// VEOS's file (opened by this thread).
    fd: Option<OwnedFd>,
}

impl Fixture for Fx {
    /// A case that failed half-way may leave a pseudo process whose close waits for VEOS: let it
    /// go (it is reaped by its `Pseudo` guard, or stays a zombie of this program), so that the
    /// next case starts with no task of a VE program and rmmod is not held up.
    fn teardown(&mut self) -> Result<(), String> {
        match &self.fd {
            Some(fd) => delete_all(fd),
            None => Ok(()),
        }
    }
}

fn opened(fx: &Fx) -> Result<&OwnedFd, String> {
    fx.fd.as_ref().ok_or_else(|| "/dev/ve0 is not open".into())
}

fn cmd(fd: &OwnedFd, name: &str, cmd: u32, tid: i64) -> R {
    by_value(fd, cmd, tid)
        .map(drop)
        .map_err(|e| format!("{name}({tid}): {}", errname(e)))
}

fn create(fd: &OwnedFd, tid: i32) -> R {
    cmd(fd, "CREATE_TASK", uapi::VEDRV_CMD_CREATE_TASK, tid.into())
}

fn delete(fd: &OwnedFd, tid: i32) -> R {
    cmd(fd, "DELETE_TASK", uapi::VEDRV_CMD_DELETE_TASK, tid.into())
}

fn revive(fd: &OwnedFd, tid: i32) -> R {
    cmd(fd, "REVIVE_TASK", uapi::VEDRV_CMD_REVIVE_TASK, tid.into())
}

fn gettid() -> i32 {
    // SAFETY: no arguments.
    unsafe { libc::gettid() }
}

/// Opens `task_id_dead` and reads it once, so that a later notification is news.
fn dead_poller() -> Result<fs::File, String> {
    let mut f = fs::File::open(format!("{CLASS_DIR}/task_id_dead"))
        .map_err(|e| format!("open task_id_dead: {e}"))?;
    let mut s = String::new();
    std::io::Read::read_to_string(&mut f, &mut s).map_err(|e| format!("read: {e}"))?;
    Ok(f)
}

/// Whether `f` (a sysfs attribute) reports `POLLPRI` within `ms` milliseconds.
fn notified(f: &fs::File, ms: i32) -> bool {
    let mut pfd = libc::pollfd {
        fd: f.as_raw_fd(),
        events: libc::POLLPRI,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let n = unsafe { libc::poll(&raw mut pfd, 1, ms) };
    n == 1 && pfd.revents & libc::POLLPRI != 0
}

fn insmod(fx: &mut Fx) -> R {
    insmod_emulator(&fx.module)
}

fn open_veos(fx: &mut Fx) -> R {
    fx.fd = Some(sys::open_rw(NODE).map_err(errname)?);
    Ok(())
}

/// One task per open file, keyed by the thread: this thread's second open is `EBUSY`, another
/// thread of the process and a child process open their own; a closed file's task is gone, so
/// the thread opens again.
fn one_open_per_thread(fx: &mut Fx) -> R {
    let fd = opened(fx)?;
    ensure_eq("tasks with VEOS's file open", tasks(fd)?, 1)?;
    ensure_errno(
        "second open by the same thread",
        sys::open_rw(NODE).map(drop),
        libc::EBUSY,
    )?;
    // libved's vedl_request_new_handle opens /proc/self/fd/N: the same rule.
    ensure_errno(
        "reopen through /proc/self/fd by the same thread",
        sys::open_rw(&format!("/proc/self/fd/{}", fd.as_raw_fd())).map(drop),
        libc::EBUSY,
    )?;
    let path = format!("/proc/self/fd/{}", fd.as_raw_fd());
    let other = thread::spawn(move || -> R {
        let own = sys::open_rw(&path).map_err(|e| format!("other thread: {}", errname(e)))?;
        ensure_eq("tasks while the other thread has its file", tasks(&own)?, 2)?;
        ensure_errno(
            "the other thread's second open",
            sys::open_rw(NODE).map(drop),
            libc::EBUSY,
        )
    });
    other.join().map_err(|_| "other thread panicked")??;
    ensure_eq("tasks after the other thread closed", tasks(fd)?, 1)?;
    let p = Pseudo::spawn()?;
    ensure_eq("tasks with a pseudo process", tasks(fd)?, 2)?;
    drop(p);
    ensure_eq("tasks after the pseudo process died", tasks(fd)?, 1)?;
    // The same thread opens again once its file is closed.
    fx.fd = None;
    fx.fd = Some(sys::open_rw(NODE).map_err(|e| format!("reopen: {}", errname(e)))?);
    Ok(())
}

/// NEC's table for one pseudo process's task: CREATE readies it (listed in `task_id_all`; again:
/// no change), DELETE deletes it (still listed), REVIVE readies it again, a new task (VEOS's own)
/// cannot be revived (`EINVAL`), unknown tids are `ESRCH`; closing a deleted task's file frees it
/// at once.
fn task_commands_follow_necs_table(fx: &mut Fx) -> R {
    let fd = opened(fx)?;
    ensure_eq("task_id_all before", pid_list("task_id_all")?, vec![])?;
    let p = Pseudo::spawn()?;
    ensure_eq(
        "task_id_all lists no new task",
        pid_list("task_id_all")?,
        vec![],
    )?;
    create(fd, p.pid())?;
    ensure_eq(
        "task_id_all after CREATE",
        pid_list("task_id_all")?,
        vec![p.pid()],
    )?;
    create(fd, p.pid())?;
    revive(fd, p.pid())?;
    delete(fd, p.pid())?;
    ensure_eq(
        "task_id_all lists a deleted task",
        pid_list("task_id_all")?,
        vec![p.pid()],
    )?;
    delete(fd, p.pid())?;
    revive(fd, p.pid())?;
    delete(fd, p.pid())?;
    ensure_errno(
        "REVIVE of VEOS's own (new) task",
        by_value(fd, uapi::VEDRV_CMD_REVIVE_TASK, gettid().into()),
        libc::EINVAL,
    )?;
    for tid in [0, -1, NO_SUCH_PID] {
        for (name, c) in [
            ("CREATE", uapi::VEDRV_CMD_CREATE_TASK),
            ("DELETE", uapi::VEDRV_CMD_DELETE_TASK),
            ("REVIVE", uapi::VEDRV_CMD_REVIVE_TASK),
        ] {
            ensure_errno(&format!("{name}({tid})"), by_value(fd, c, tid), libc::ESRCH)?;
        }
    }
    ensure_eq("task_id_dead", pid_list("task_id_dead")?, vec![])?;
    p.close()?;
    ensure(p.closed_within(2000), || {
        "the close of a deleted task did not return at once".into()
    })?;
    ensure_eq(
        "task_id_all after the close",
        pid_list("task_id_all")?,
        vec![],
    )?;
    ensure_eq("tasks after the close", tasks(fd)?, 1)?;
    Ok(())
}

/// A pseudo process closes the file of a task VEOS owns: `task_id_dead` lists it and wakes a
/// `POLLPRI` poller, the close waits, and returns once VEOS deletes the task; then nothing is
/// listed.
fn a_closed_task_waits_for_veos(fx: &mut Fx) -> R {
    let fd = opened(fx)?;
    let p = Pseudo::spawn()?;
    create(fd, p.pid())?;
    let poller = dead_poller()?;
    p.close()?;
    ensure(notified(&poller, 5000), || {
        "no POLLPRI on task_id_dead".into()
    })?;
    ensure_eq(
        "task_id_dead after the close",
        pid_list("task_id_dead")?,
        vec![p.pid()],
    )?;
    ensure(!p.closed_within(300), || {
        "the close returned before VEOS deleted the task".into()
    })?;
    // CREATE and REVIVE leave a released task as it is (0 and EINVAL).
    create(fd, p.pid())?;
    ensure_errno(
        "REVIVE of a released task",
        by_value(fd, uapi::VEDRV_CMD_REVIVE_TASK, p.pid().into()),
        libc::EINVAL,
    )?;
    delete(fd, p.pid())?;
    ensure(p.closed_within(2000), || {
        "the close did not return after DELETE_TASK".into()
    })?;
    ensure_eq("task_id_dead at the end", pid_list("task_id_dead")?, vec![])?;
    ensure_eq("task_id_all at the end", pid_list("task_id_all")?, vec![])?;
    ensure_eq("tasks at the end", tasks(fd)?, 1)
}

/// A pseudo process killed while VEOS owns its task is not reaped (its exit waits in the
/// close) until VEOS deletes every task, as VEOS does when it starts.
fn a_killed_pseudo_process_waits_for_delete_all(fx: &mut Fx) -> R {
    let fd = opened(fx)?;
    let mut a = Pseudo::spawn()?;
    let mut b = Pseudo::spawn()?;
    create(fd, a.pid())?;
    create(fd, b.pid())?;
    a.kill(libc::SIGKILL)?;
    b.kill(libc::SIGKILL)?;
    ensure(
        sys::wait_for(5000, || {
            pid_list("task_id_dead").is_ok_and(|l| l.len() == 2)
        }),
        || format!("task_id_dead: {:?}", pid_list("task_id_dead")),
    )?;
    ensure(a.reap_within(300).is_none(), || {
        "a killed pseudo process was reaped before VEOS deleted its task".into()
    })?;
    delete_all(fd)?;
    for p in [&mut a, &mut b] {
        let pid = p.pid();
        let status = p
            .reap_within(3000)
            .ok_or_else(|| format!("pseudo process {pid} not reaped after DELETE_ALL_TASK"))?;
        ensure(sys::died_of(status, libc::SIGKILL), || {
            format!("{pid}: status {status:#x}")
        })?;
    }
    ensure_eq("task_id_all at the end", pid_list("task_id_all")?, vec![])?;
    ensure_eq("tasks at the end", tasks(fd)?, 1)
}

/// `DELETE_ALL_TASK` deletes ready tasks (their files then close at once; a deleted task can be
/// revived) and leaves VEOS's own new task working.
fn delete_all_deletes_ready_tasks(fx: &mut Fx) -> R {
    let fd = opened(fx)?;
    let a = Pseudo::spawn()?;
    let b = Pseudo::spawn()?;
    create(fd, a.pid())?;
    create(fd, b.pid())?;
    delete_all(fd)?;
    delete_all(fd)?;
    revive(fd, b.pid())?;
    delete(fd, b.pid())?;
    for p in [&a, &b] {
        p.close()?;
        ensure(p.closed_within(2000), || {
            format!("{}: close of a deleted task waited", p.pid())
        })?;
    }
    ensure_eq("tasks at the end", tasks(fd)?, 1)
}

/// Unbinding the card lets a close waiting for VEOS return; the card binds again.
fn unbind_lets_waiting_closers_go(fx: &mut Fx) -> R {
    let fd = opened(fx)?;
    let p = Pseudo::spawn()?;
    create(fd, p.pid())?;
    p.close()?;
    ensure(!p.closed_within(200), || {
        "the close returned before VEOS deleted the task".into()
    })?;
    let closed = while_unbound(|| p.closed_within(3000))?;
    ensure(closed, || "the close did not return at unbind".into())?;
    fx.fd = None;
    fx.fd = Some(sys::open_rw(NODE).map_err(|e| format!("reopen: {}", errname(e)))?);
    ensure_eq("tasks on the rebound card", tasks(opened(fx)?)?, 1)
}

/// `HOST_PID`: a pid of a process's own namespace, read in the caller's. A child in a new pid
/// namespace is pid 1 there; its host pid comes back. Unknown pids are `ESRCH`, a bad pointer
/// `EFAULT`, an ordinary user `EPERM`.
fn host_pid_crosses_pid_namespaces(fx: &mut Fx) -> R {
    let fd = opened(fx)?;
    let host_pid = |host: i32, ns: i32| {
        let mut a = uapi::VeGetHostPid {
            host_pid: host,
            namespace_pid: ns,
        };
        sys::ioctl(fd, uapi::VEDRV_CMD_HOST_PID, &mut a)
    };
    // SAFETY: no arguments.
    let me = unsafe { libc::getpid() };
    ensure_eq("own pid", host_pid(me, me), Ok(me))?;
    ensure_eq("init, seen from us", host_pid(me, 1), Ok(1))?;
    // A child that unshares its pid namespace and forks the namespace's init, reporting its
    // pid; the init waits on a pipe until we are done.
    let ns = NsChild::spawn()?;
    let (ns_init, outer) = (ns.init, ns.outer);
    ensure_eq("the namespace's pid 1", host_pid(ns_init, 1), Ok(ns_init))?;
    ensure_eq(
        "the outer child's namespace is ours",
        host_pid(outer, 1),
        Ok(1),
    )?;
    ensure_errno(
        "pid 2 of the new namespace",
        host_pid(ns_init, 2),
        libc::ESRCH,
    )?;
    for (h, n) in [(0, 1), (-1, 1), (NO_SUCH_PID as i32, 1), (me, 0), (me, -5)] {
        ensure_errno(&format!("({h}, {n})"), host_pid(h, n), libc::ESRCH)?;
    }
    ensure_errno(
        "bad pointer",
        sys::ioctl_raw(fd, uapi::VEDRV_CMD_HOST_PID, 8),
        libc::EFAULT,
    )?;
    let code = sys::as_nobody(|| {
        let Ok(own) = sys::open_rw(NODE) else {
            return 1;
        };
        let mut a = uapi::VeGetHostPid {
            host_pid: 1,
            namespace_pid: 1,
        };
        match sys::ioctl(&own, uapi::VEDRV_CMD_HOST_PID, &mut a) {
            Err(libc::EPERM) => 0,
            _ => 2,
        }
    })
    .map_err(errname)?;
    ensure_eq("ordinary user (1: open, 2: not EPERM)", code, 0)
}

/// A child process that made a new pid namespace and forked that namespace's init (pid 1
/// there), both sleeping until the guard goes: then both are killed and the child reaped (the
/// init, reparented, is reaped by the guest's init).
struct NsChild {
    /// The init's pid as we see it.
    init: i32,
    /// The child's pid (in our namespace: `unshare` moves only its children).
    outer: i32,
}

impl NsChild {
    fn spawn() -> Result<Self, String> {
        let mut p = [0; 2];
        // SAFETY: `p` has room for two descriptors.
        if unsafe { libc::pipe(p.as_mut_ptr()) } != 0 {
            return Err("pipe".into());
        }
        // SAFETY: the child makes syscalls only and never returns.
        let outer = unsafe { libc::fork() };
        if outer < 0 {
            return Err("fork".into());
        }
        if outer == 0 {
            // SAFETY: plain syscalls in the child, which sleeps until killed.
            unsafe {
                let init = if libc::unshare(libc::CLONE_NEWPID) == 0 {
                    libc::fork()
                } else {
                    -1
                };
                if init != 0 {
                    libc::write(p[1], (&raw const init).cast(), 4);
                }
                loop {
                    libc::pause();
                }
            }
        }
        let mut init: i32 = 0;
        // SAFETY: reads four bytes into a local.
        let n = unsafe { libc::read(p[0], (&raw mut init).cast(), 4) };
        // SAFETY: our own pipe's descriptors.
        unsafe {
            libc::close(p[0]);
            libc::close(p[1]);
        }
        let child = NsChild { init, outer };
        if n != 4 || init <= 0 {
            return Err(format!("unshare/fork in the child: {init}"));
        }
        Ok(child)
    }
}

impl Drop for NsChild {
    fn drop(&mut self) {
        // SAFETY: our child and its child; an outer process may SIGKILL a namespace's init.
        unsafe {
            if self.init > 0 {
                libc::kill(self.init, libc::SIGKILL);
            }
            libc::kill(self.outer, libc::SIGKILL);
            libc::waitpid(self.outer, std::ptr::null_mut(), 0);
        }
    }
}

/// VEOS's other start-up commands: `RST_INTR_COUNT` succeeds for any core (NEC's: no effect),
/// `RST_EXSRAR_MEM` is `EINVAL` outside the enabled cores' range, `DELETE_ALL_TASK` with no
/// task of a VE program succeeds; an ordinary user gets `EPERM` for each.
fn start_up_commands(fx: &mut Fx) -> R {
    let fd = opened(fx)?;
    let cores = enabled_cores()?;
    let fls = cores.iter().max().map_or(0, |&c| c + 1) as i64;
    for core in [0, 1, fls - 1, fls, 1000, -1] {
        ensure_eq(
            &format!("RST_INTR_COUNT({core})"),
            by_value(fd, uapi::VEDRV_CMD_RST_INTR_COUNT, core),
            Ok(0),
        )?;
    }
    for core in 0..fls {
        ensure_eq(
            &format!("RST_EXSRAR_MEM({core})"),
            by_value(fd, uapi::VEDRV_CMD_RST_EXSRAR_MEM, core),
            Ok(0),
        )?;
    }
    for core in [fls, 1000, -1] {
        ensure_errno(
            &format!("RST_EXSRAR_MEM({core})"),
            by_value(fd, uapi::VEDRV_CMD_RST_EXSRAR_MEM, core),
            libc::EINVAL,
        )?;
    }
    delete_all(fd)?;
    let code = sys::as_nobody(|| {
        let Ok(own) = sys::open_rw(NODE) else {
            return 1;
        };
        for c in [
            uapi::VEDRV_CMD_RST_INTR_COUNT,
            uapi::VEDRV_CMD_RST_EXSRAR_MEM,
            uapi::VEDRV_CMD_DELETE_ALL_TASK,
            uapi::VEDRV_CMD_CREATE_TASK,
            uapi::VEDRV_CMD_DELETE_TASK,
            uapi::VEDRV_CMD_REVIVE_TASK,
        ] {
            if by_value(&own, c, 0) != Err(libc::EPERM) {
                return 2;
            }
        }
        0
    })
    .map_err(errname)?;
    ensure_eq("ordinary user (1: open, 2: not EPERM)", code, 0)
}

/// The card's enabled physical cores, as VEOS reads them: `cores_enable` (hex) whose popcount
/// must equal `num_of_core` (at most 32).
fn enabled_cores() -> Result<Vec<usize>, String> {
    let mask_s = attr("cores_enable")?;
    let mask = u32::from_str_radix(mask_s.trim_end().trim_start_matches("0x"), 16)
        .map_err(|e| format!("cores_enable {mask_s:?}: {e}"))?;
    let n: u32 = attr("num_of_core")?
        .trim_end()
        .parse()
        .map_err(|e| format!("num_of_core: {e}"))?;
    ensure(n <= 32, || format!("num_of_core {n} > 32"))?;
    ensure_eq("num_of_core = popcount(cores_enable)", n, mask.count_ones())?;
    Ok((0..24).filter(|c| mask & (1 << c) != 0).collect())
}

/// EXS of a core's user registers (VE1 user register offset 0x1008); STOP is 1, and bits 1:0 read
/// 01b once the core has halted.
const EXS: usize = 0x1008;
const EXS_STOP: u64 = 1;

fn reg(m: &Mapping, off: usize) -> *mut u64 {
    assert!(off + 8 <= m.len() && off % 8 == 0);
    // SAFETY: in bounds and aligned (checked).
    unsafe { m.ptr().add(off).cast() }
}

/// VEOS 3.5's start-up (reference 7.1, steps 1-13) and shutdown (7.2), call by call, from a
/// thread of its own (VEOS's main thread opens the card), with a leftover pseudo process of a
/// VEOS that died: every answer VEOS checks is checked.
fn veos_starts_and_stops(fx: &mut Fx) -> R {
    let leftover = Pseudo::spawn()?;
    create(opened(fx)?, leftover.pid())?;
    let leftover_pid = leftover.pid();
    let veos = thread::spawn(move || veos_main(leftover_pid));
    let r = veos.join().map_err(|_| "VEOS thread panicked")?;
    // Killed by the replay, its task deleted: it is reaped at once (or, if the replay failed
    // before, after the tear-down's DELETE_ALL_TASK).
    drop(leftover);
    r
}

/// What VEOS's start-up touches that differs between the cards (libved's `register_ve1.c` and
/// `register_ve3.c`, reference 5.3).
struct Card {
    ve3: bool,
    arch: &'static str,
    /// The system-common block VEOS's DMA manager maps (file offset, size), and DMACTL in it.
    scr: (u64, usize),
    dmactl: usize,
    /// More system-common mappings VEOS makes at start (VE3's BAR2/3 block).
    scr_more: Option<(u64, usize)>,
    /// Core `c`'s register areas (file offset, size): VE1 user and system; VE3 both in BAR2/3
    /// and in BAR4. The area holding EXS (at [`Card::exs`]) first.
    areas: fn(usize) -> Vec<(u64, usize)>,
    exs: usize,
    /// The BAR0 window's file offset.
    vemem: u64,
}

impl Card {
    fn presented() -> Self {
        if ve_guest::emubar::EmuBar::open().is_ok_and(|b| b.is_ve3()) {
            Card {
                ve3: true,
                arch: "ve3",
                scr: (ve3::MAP_BAR4 + ve3::SCR_OFFSET as u64, ve3::SCR_SIZE),
                dmactl: ve3::PDMA_CTL0,
                scr_more: Some((ve3::MAP_BAR2 + ve3::BAR2_SCR_OFFSET as u64, 0x20_0000)),
                areas: |c| {
                    let (bar4, bar2) = ((c * ve3::CORE_AREA) as u64, (c * 0x10_0000) as u64);
                    vec![
                        (ve3::MAP_BAR4 + bar4, 0x1000),
                        (ve3::MAP_BAR4 + bar4 + 0x1000, 0xF000),
                        (ve3::MAP_BAR2 + bar2, 0x8_0000),
                        (ve3::MAP_BAR2 + bar2 + 0x8_0000, 0x8_0000),
                    ]
                },
                exs: 0,
                vemem: ve3::MAP_VEMEM,
            }
        } else {
            Card {
                ve3: false,
                arch: "ve1",
                scr: (ve1::MAP_REGS + ve1::SCR_OFFSET as u64, scr::SIZE),
                dmactl: scr::PDMA_CTL0,
                scr_more: None,
                areas: |c| {
                    let base = ve1::MAP_REGS + (c * ve1::CORE_AREA) as u64;
                    vec![
                        (base + ve1::UREG_OFFSET as u64, ve1::UREG_SIZE),
                        (base + ve1::SREG_OFFSET as u64, ve1::SREG_SIZE),
                    ]
                },
                exs: EXS,
                vemem: ve1::MAP_VEMEM,
            }
        }
    }
}

fn veos_main(leftover: i32) -> R {
    let card = Card::presented();
    // 1.1 vedl_open_ve: open, fstat, the sysfs directory of the char device number.
    let fd = sys::open_rw(NODE).map_err(|e| format!("open: {}", errname(e)))?;
    let st = fs::metadata(format!("/proc/self/fd/{}", fd.as_raw_fd()))
        .map_err(|e| format!("fstat: {e}"))?;
    let rdev = st.rdev();
    let (maj, min) = (libc::major(rdev), libc::minor(rdev));
    let sysdir = fs::canonicalize(format!("/sys/dev/char/{maj}:{min}"))
        .map_err(|e| format!("/sys/dev/char/{maj}:{min}: {e}"))?;
    ensure_eq(
        "the devnum's directory is the class's",
        sysdir.clone(),
        fs::canonicalize(CLASS_DIR).map_err(|e| format!("{CLASS_DIR}: {e}"))?,
    )?;
    let read =
        |name: &str| fs::read_to_string(sysdir.join(name)).map_err(|e| format!("read {name}: {e}"));
    ensure_eq(
        "abi_version",
        read("abi_version")?.trim_end().parse::<i64>().ok(),
        Some(101),
    )?;
    ensure_eq(
        "ve_arch_class",
        read("ve_arch_class")?.trim_end().to_string(),
        card.arch.into(),
    )?;
    // 1.2 VE3: ownership (libved's loop would poll `ownership` on EBUSY; nobody holds it here).
    if card.ve3 {
        ensure_eq("ownership before", read("ownership")?, "none\n".into())?;
        by_value(&fd, uapi::VEDRV_CMD_OWNERSHIP, 1)
            .map_err(|e| format!("OWNERSHIP(1): {}", errname(e)))?;
    }
    // 1.3 os_state <- INITIALIZING, as VEOS writes it: "%d" without a newline.
    let os_state = |v: &str| {
        sys::write_file(&sysdir.join("os_state").to_string_lossy(), v)
            .map_err(|e| format!("os_state <- {v}: {}", errname(e)))
    };
    os_state("2")?;
    // 1.4-1.5 cores.
    let cores = enabled_cores()?;
    diag(&format!("VEOS: cores {cores:?}"));
    // 1.6 the system-common registers (VE3: BAR2/3's block too).
    let (scr_off, scr_size) = card.scr;
    let scr1 = map_raw(&fd, scr_off, scr_size).map_err(|e| format!("SCR: {}", errname(e)))?;
    let scr_more = match card.scr_more {
        Some((off, size)) => {
            Some(map_raw(&fd, off, size).map_err(|e| format!("SCR (BAR2/3): {}", errname(e)))?)
        }
        None => None,
    };
    // 1.7 partitioning_mode: 0 or 1, base 10.
    let pm: i32 = read("partitioning_mode")?
        .trim_end()
        .parse()
        .map_err(|e| format!("partitioning_mode: {e}"))?;
    ensure(pm == 0 || pm == 1, || format!("partitioning_mode {pm}"))?;
    // 3. per core: user and system registers; EXS <- STOP, poll until halted.
    let mut core_maps = Vec::new();
    for &c in &cores {
        let mut maps = Vec::new();
        for (off, size) in (card.areas)(c) {
            maps.push(
                map_raw(&fd, off, size)
                    .map_err(|e| format!("core {c} registers at {off:#x}: {}", errname(e)))?,
            );
        }
        let user = &maps[0];
        // SAFETY: `reg` checked the offset; the mapping is live.
        unsafe { reg(user, card.exs).write_volatile(EXS_STOP) };
        // SAFETY: as above.
        let exs = || unsafe { reg(user, card.exs).read_volatile() };
        ensure(sys::wait_for(1000, || exs() & 3 == 1), || {
            format!("core {c}: EXS does not read halted")
        })?;
        core_maps.push(maps);
    }
    // 4. VE3: the card type (254 would skip clock gating).
    let card_type: u32 = read("type")?
        .trim_end()
        .parse()
        .map_err(|e| format!("type: {e}"))?;
    // 5. ve_dma_open_p: the SCR again; VEOS's own DMA manager would now read DMACTL: with the
    // kernel's manager owning the engine that page is withheld (SIGBUS in a child).
    let scr2 = map_raw(&fd, scr_off, scr_size).map_err(|e| format!("SCR again: {}", errname(e)))?;
    // Register mappings are not inherited: the child maps the SCR as VEOS's DMA library does.
    let status = sys::child_status(|| {
        let Ok(m) = map_raw(&fd, scr_off, scr_size) else {
            return 1;
        };
        // SAFETY: DMACTL in the mapping; this child is expected to die of SIGBUS.
        let _ = unsafe { reg(&m, card.dmactl).read_volatile() };
        0
    })
    .map_err(errname)?;
    ensure(sys::died_of(status, libc::SIGBUS), || {
        format!("DMACTL through VEOS's SCR mapping: status {status:#x}, not SIGBUS")
    })?;
    // ... and its interrupt thread waits for entry 48 (VE3: bit 64) with a timeout: ETIMEDOUT.
    ensure_errno(
        "WAIT_INTR (the privileged DMA interrupt)",
        ve_guest::userdma::wait_intr_pdma(&fd, 50, card.ve3),
        libc::ETIMEDOUT,
    )?;
    // 6-8.
    delete_all(&fd)?;
    let mut rel = uapi::VeVpRelease {
        list: uapi::OS_LIST,
        addr: u64::MAX,
        ..Default::default()
    };
    sys::ioctl(&fd, uapi::VEDRV_CMD_RELEASE_PD_PAGE_ALL, &mut rel)
        .map_err(|e| format!("RELEASE_PD_PAGE_ALL: {}", errname(e)))?;
    ensure_eq(
        "OS list after RELEASE_PD_PAGE_ALL",
        nec::count(&fd, uapi::OS_LIST),
        Ok(0),
    )?;
    for i in 0..cores.len() as i64 {
        ensure_eq(
            &format!("RST_INTR_COUNT({i})"),
            by_value(&fd, uapi::VEDRV_CMD_RST_INTR_COUNT, i),
            Ok(0),
        )?;
    }
    // 9. Kill leftover pseudo processes until task_id_all is empty.
    let listed = pid_list("task_id_all")?;
    ensure_eq("task_id_all: the leftover", listed.clone(), vec![leftover])?;
    for _round in 0..20 {
        let l = pid_list("task_id_all")?;
        if l.is_empty() {
            break;
        }
        for pid in l.into_iter().filter(|&p| p > 1) {
            // SAFETY: a plain kill (the leftover is this program's child).
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        thread::sleep(std::time::Duration::from_millis(100));
    }
    ensure_eq(
        "task_id_all after the kills",
        pid_list("task_id_all")?,
        vec![],
    )?;
    // 10. VE3: clock gating on, polled until the state says so.
    if card.ve3 && card_type != 254 {
        by_value(&fd, uapi::VEDRV_CMD_HANDLE_CLOCK_GATING, 1)
            .map_err(|e| format!("HANDLE_CLOCK_GATING(1): {}", errname(e)))?;
        let state = || {
            let mut v = 0u64;
            sys::ioctl(&fd, uapi::VEDRV_CMD_GET_CLOCK_GATING_STATE, &mut v).map(|_| v)
        };
        ensure(
            sys::wait_for(2000, || state().is_ok_and(|v| v & 0x800 != 0)),
            || format!("clock gating not on: {:?}", state()),
        )?;
    }
    // 11. VE3: the memory controllers told that VE memory is clear (VEOS cleared it by DMA).
    if card.ve3 {
        by_value(&fd, uapi::VEDRV_CMD_COMPLETE_MEMCLEAR, 0)
            .map_err(|e| format!("COMPLETE_MEMCLEAR: {}", errname(e)))?;
    }
    // 11. memory, bar0_size (>= 128 MiB: VEOS's PCIATB needs it).
    let gib: u64 = read("memory_size")?
        .trim_end()
        .parse()
        .map_err(|e| format!("memory_size: {e}"))?;
    ensure(gib > 0, || "memory_size 0".into())?;
    let bar0 = read("bar0_size")?;
    let bar0 = u64::from_str_radix(bar0.trim_end().trim_start_matches("0x"), 16)
        .map_err(|e| format!("bar0_size {bar0:?}: {e}"))?;
    ensure(bar0 >= 128 << 20, || {
        format!("bar0_size {bar0:#x} < 128 MiB")
    })?;
    // 12. one page of the BAR0 window.
    let vesync =
        map_raw(&fd, card.vemem, PAGE).map_err(|e| format!("BAR0 page: {}", errname(e)))?;
    // 13. online; the task_id_dead poller starts: nothing to report.
    os_state("0")?;
    ensure_eq("os_state", read("os_state")?, "0\n".into())?;
    let poller = dead_poller()?;
    ensure(!notified(&poller, 100), || "task_id_dead notified".into())?;
    // 7.2 shutdown: TERMINATING, unmap everything, OFFLINE, close.
    os_state("3")?;
    drop(vesync);
    drop(core_maps);
    drop(scr2);
    drop(scr_more);
    drop(scr1);
    os_state("1")?;
    ensure_eq("os_state at the end", read("os_state")?, "1\n".into())?;
    drop(fd);
    // VE3: the close gave the ownership back.
    if card.ve3 {
        ensure_eq(
            "ownership after the close",
            read("ownership")?,
            "none\n".into(),
        )?;
    }
    Ok(())
}

fn nothing_left_rmmod(fx: &mut Fx) -> R {
    let fd = opened(fx)?;
    ensure_eq("tasks at the end", tasks(fd)?, 1)?;
    ensure_eq("pages pinned", pins_held(), 0)?;
    fx.fd = None;
    sys::rmmod("ve_drv").map_err(|e| format!("rmmod: {}", errname(e)))
}

fn main() {
    let module = sys::module_arg("ve_veos_test");
    let code = Suite::new("ve_veos_test")
        .with_pin_counter(pins_held)
        .step("insmod emulator=1", insmod)
        .step("VEOS opens /dev/ve0", open_veos)
        .balanced(
            "one open per thread: EBUSY for the same thread, other threads and processes open",
            one_open_per_thread,
        )
        .balanced(
            "CREATE/DELETE/REVIVE follow NEC's table; task_id_all lists; ESRCH, EINVAL",
            task_commands_follow_necs_table,
        )
        .balanced(
            "a closed task VEOS owns: task_id_dead + POLLPRI, the close waits for DELETE_TASK",
            a_closed_task_waits_for_veos,
        )
        .balanced(
            "killed pseudo processes stay unreaped until DELETE_ALL_TASK",
            a_killed_pseudo_process_waits_for_delete_all,
        )
        .balanced(
            "DELETE_ALL_TASK deletes ready tasks; a deleted task revives; VEOS's own stays",
            delete_all_deletes_ready_tasks,
        )
        .balanced(
            "unbind lets a close that waits for VEOS return; the card binds again",
            unbind_lets_waiting_closers_go,
        )
        .balanced(
            "HOST_PID across pid namespaces; ESRCH, EFAULT, EPERM",
            host_pid_crosses_pid_namespaces,
        )
        .balanced(
            "RST_INTR_COUNT, RST_EXSRAR_MEM (EINVAL outside the cores), DELETE_ALL_TASK; EPERM",
            start_up_commands,
        )
        .balanced(
            "VEOS 3.5's start-up and shutdown, call by call (engine pages withheld)",
            veos_starts_and_stops,
        )
        .balanced("no task left, nothing pinned; rmmod", nothing_left_rmmod)
        .run(|| Ok(Fx { module, fd: None }));
    std::process::exit(code);
}
