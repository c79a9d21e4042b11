// SPDX-License-Identifier: GPL-2.0

//! What the VEOS-side tests share: the card's sysfs directory as libved finds it, and a pseudo
//! process ([`Pseudo`]): a child process that opens the card as an ordinary user, as NEC's
//! `ve_exec` does, and closes its file or exits when told, reporting when its close returned.

use std::{
    fs,
    os::fd::{
        AsRawFd,
        FromRawFd,
        OwnedFd, //
    },
    time::{
        Duration,
        Instant, //
    },
};

use crate::sys::{
    self,
    errname, //
};

/// The card's node.
pub const NODE: &str = "/dev/ve0";
/// The card's sysfs directory by class.
pub const CLASS_DIR: &str = "/sys/class/ve/ve0";

/// Reads attribute `name` of the card.
pub fn attr(name: &str) -> Result<String, String> {
    fs::read_to_string(format!("{CLASS_DIR}/{name}")).map_err(|e| format!("read {name}: {e}"))
}

/// The pids an attribute in NEC's pid-list format lists (`"1 2 \n"`, empty `" \n"`).
pub fn pid_list(name: &str) -> Result<Vec<i32>, String> {
    let s = attr(name)?;
    if !s.ends_with('\n') {
        return Err(format!("{name}: {s:?} does not end in a newline"));
    }
    s.split_whitespace()
        .map(|p| p.parse().map_err(|e| format!("{name}: {s:?}: {e}")))
        .collect()
}

/// `NEC's ioctl(fd, cmd, value)` for the task commands, which take the tid by value.
pub fn by_value(fd: &OwnedFd, cmd: u32, value: i64) -> Result<i32, i32> {
    sys::ioctl_raw(fd, cmd, value as usize)
}

/// Loads `module` with `emulator=1` and waits for the node.
pub fn insmod_emulator(module: &str) -> Result<(), String> {
    sys::insmod(module, "emulator=1").map_err(errname)?;
    if sys::wait_for(2000, || sys::exists(NODE)) {
        Ok(())
    } else {
        Err(format!("{NODE} missing"))
    }
}

/// Tasks of the card (its open files), as `VE_DRV_IOC_INFO` counts them.
pub fn tasks(fd: &OwnedFd) -> Result<u64, String> {
    let mut i = crate::uapi::VeDrvInfo::default();
    sys::ioctl(fd, crate::uapi::VE_DRV_IOC_INFO, &mut i)
        .map_err(|e| format!("INFO: {}", errname(e)))?;
    Ok(i.tasks)
}

/// `DELETE_ALL_TASK`, as VEOS issues it when it starts.
pub fn delete_all(fd: &OwnedFd) -> Result<(), String> {
    sys::ioctl_raw(fd, crate::uapi::VEDRV_CMD_DELETE_ALL_TASK, 0)
        .map(drop)
        .map_err(|e| format!("DELETE_ALL_TASK: {}", errname(e)))
}

/// Unbinds the card from `ve_drv_emu`, runs `during` (what should happen at unbind), binds it
/// again and waits for the node; returns what `during` returned. The caller's files of the old
/// binding are dead afterwards: open the node again.
pub fn while_unbound<T>(during: impl FnOnce() -> T) -> Result<T, String> {
    let bdf = fs::read_link(format!("{CLASS_DIR}/device"))
        .map_err(|e| format!("device link: {e}"))?
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or("device link has no name")?;
    let driver = "/sys/bus/pci/drivers/ve_drv_emu";
    sys::write_file(&format!("{driver}/unbind"), &bdf)
        .map_err(|e| format!("unbind: {}", errname(e)))?;
    let r = during();
    sys::write_file(&format!("{driver}/bind"), &bdf)
        .map_err(|e| format!("bind: {}", errname(e)))?;
    if !sys::wait_for(2000, || sys::exists(NODE)) {
        return Err(format!("{NODE} missing after rebinding"));
    }
    Ok(r)
}

/// A pipe, both ends close-on-exec: `(read, write)`.
pub fn pipe() -> Result<(OwnedFd, OwnedFd), String> {
    let mut p = [0; 2];
    // SAFETY: `p` has room for the two descriptors.
    if unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(format!("pipe: {}", errname(sys::errno())));
    }
    // SAFETY: both descriptors are new and ours.
    Ok(unsafe { (OwnedFd::from_raw_fd(p[0]), OwnedFd::from_raw_fd(p[1])) })
}

/// Writes one byte; whether it was written.
pub fn write_byte(fd: &OwnedFd, b: u8) -> bool {
    // SAFETY: writes one byte from a local.
    unsafe { libc::write(fd.as_raw_fd(), (&raw const b).cast(), 1) == 1 }
}

/// Reads one byte, waiting at most `ms` milliseconds; `None` on timeout or end of file.
pub fn read_byte(fd: &OwnedFd, ms: i32) -> Option<u8> {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    if unsafe { libc::poll(&raw mut pfd, 1, ms) } != 1 {
        return None;
    }
    let mut b = 0u8;
    // SAFETY: reads one byte into a local.
    (unsafe { libc::read(fd.as_raw_fd(), (&raw mut b).cast(), 1) } == 1).then_some(b)
}

/// Commands to the pseudo process, and its answers.
const CMD_CLOSE: u8 = b'c';
const CMD_WAIT: u8 = b'w';
const CMD_WAIT_NONBLOCK: u8 = b'n';
const CMD_MMAP: u8 = b'm';
const CMD_GET_EXS: u8 = b'e';
const WAITED: u8 = b'W';
const CLOSED: u8 = b'C';
const OPENED: u8 = b'O';
const OPEN_FAILED: u8 = b'F';

/// A pseudo process: a child that opened the card as user nobody (its task is new, keyed by its
/// only thread) and waits for [`Pseudo::close`]. Its pid is its task's tid. Dropping it kills
/// it and reaps it if it can within a second (a child whose close waits for VEOS cannot be
/// reaped: delete its task first).
pub struct Pseudo {
    pid: i32,
    cmd: OwnedFd,
    answer: OwnedFd,
    reaped: bool,
}

impl Pseudo {
    /// Forks a pseudo process and waits until it has opened the card.
    pub fn spawn() -> Result<Self, String> {
        let (cmd_r, cmd_w) = pipe()?;
        let (ans_r, ans_w) = pipe()?;
        // SAFETY: the child only makes syscalls and leaves with `_exit`.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(format!("fork: {}", errname(sys::errno())));
        }
        if pid == 0 {
            drop(cmd_w);
            drop(ans_r);
            // SAFETY: plain syscalls in the child.
            let ok = unsafe { libc::setgid(65534) == 0 && libc::setuid(65534) == 0 };
            let fd = if ok { sys::open_rw(NODE).ok() } else { None };
            // SIGUSR1 interrupts a wait (EINTR) without killing: a handler, no SA_RESTART.
            extern "C" fn nothing(_: i32) {}
            // SAFETY: a zeroed sigaction with a handler that does nothing.
            unsafe {
                let mut sa: libc::sigaction = core::mem::zeroed();
                sa.sa_sigaction = nothing as *const () as usize;
                libc::sigaction(libc::SIGUSR1, &sa, core::ptr::null_mut());
            }
            write_byte(&ans_w, if fd.is_some() { OPENED } else { OPEN_FAILED });
            let mut fd = fd;
            loop {
                match read_byte(&cmd_r, -1) {
                    Some(CMD_CLOSE) => {
                        fd = None;
                        write_byte(&ans_w, CLOSED);
                    }
                    Some(c @ (CMD_WAIT | CMD_WAIT_NONBLOCK | CMD_MMAP | CMD_GET_EXS)) => {
                        let r = match &fd {
                            None => Err(libc::EBADF),
                            Some(f) if c == CMD_MMAP => {
                                crate::userdma::map_raw(f, 0, 4096).map(|_| 0)
                            }
                            Some(f) if c == CMD_GET_EXS => {
                                let mut exs = 0u64;
                                sys::ioctl(f, crate::uapi::VEDRV_CMD_GET_EXS_REG, &mut exs)
                                    .map(|_| exs)
                            }
                            Some(f) => {
                                if c == CMD_WAIT_NONBLOCK {
                                    // SAFETY: sets a flag of our own descriptor.
                                    unsafe {
                                        libc::fcntl(f.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK)
                                    };
                                }
                                let mut exs = 0u64;
                                sys::ioctl(f, crate::uapi::VEDRV_CMD_WAIT_EXCEPTION, &mut exs)
                                    .map(|_| exs)
                            }
                        };
                        let (tag, v) = match r {
                            Ok(v) => (0u8, v),
                            Err(e) => (1u8, e as u64),
                        };
                        let mut msg = [0u8; 10];
                        msg[0] = WAITED;
                        msg[1] = tag;
                        msg[2..].copy_from_slice(&v.to_le_bytes());
                        // SAFETY: writes the local message.
                        unsafe { libc::write(ans_w.as_raw_fd(), msg.as_ptr().cast(), msg.len()) };
                    }
                    // Told to go, or the test is gone.
                    _ => break,
                }
            }
            drop(fd);
            // SAFETY: leave without the parent's destructors.
            unsafe { libc::_exit(0) };
        }
        drop(cmd_r);
        drop(ans_w);
        let p = Pseudo {
            pid,
            cmd: cmd_w,
            answer: ans_r,
            reaped: false,
        };
        match read_byte(&p.answer, 5000) {
            Some(OPENED) => Ok(p),
            other => Err(format!("pseudo process {pid}: open: {other:?}")),
        }
    }

    /// Its pid, which is its task's tid.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Tells it to close its file.
    pub fn close(&self) -> Result<(), String> {
        if write_byte(&self.cmd, CMD_CLOSE) {
            Ok(())
        } else {
            Err(format!("pseudo process {}: command pipe", self.pid))
        }
    }

    /// Tells it to call `WAIT_EXCEPTION` on its file (with `O_NONBLOCK` if `nonblock`); the
    /// answer comes with [`Pseudo::waited_within`].
    pub fn wait_exception(&self, nonblock: bool) -> Result<(), String> {
        let c = if nonblock {
            CMD_WAIT_NONBLOCK
        } else {
            CMD_WAIT
        };
        if write_byte(&self.cmd, c) {
            Ok(())
        } else {
            Err(format!("pseudo process {}: command pipe", self.pid))
        }
    }

    /// Tells it to mmap its file (one page at offset 0); the answer (0 or the errno) comes with
    /// [`Pseudo::waited_within`].
    pub fn mmap(&self) -> Result<(), String> {
        if write_byte(&self.cmd, CMD_MMAP) {
            Ok(())
        } else {
            Err(format!("pseudo process {}: command pipe", self.pid))
        }
    }

    /// VE3's `GET_EXS_REG` on its file, as an ordinary user: the exception status or the errno.
    pub fn get_exs(&self) -> Result<Result<u64, i32>, String> {
        if !write_byte(&self.cmd, CMD_GET_EXS) {
            return Err(format!("pseudo process {}: command pipe", self.pid));
        }
        self.waited_within(2000)
            .ok_or_else(|| format!("pseudo process {}: no answer to GET_EXS_REG", self.pid))
    }

    /// The answer of its `WAIT_EXCEPTION` (the exception status, or the errno) or mmap, if it
    /// came within `ms` milliseconds.
    pub fn waited_within(&self, ms: i32) -> Option<Result<u64, i32>> {
        if read_byte(&self.answer, ms) != Some(WAITED) {
            return None;
        }
        let mut rest = [0u8; 9];
        // SAFETY: reads into the local buffer; the child wrote the message whole.
        let n = unsafe { libc::read(self.answer.as_raw_fd(), rest.as_mut_ptr().cast(), 9) };
        if n != 9 {
            return None;
        }
        let v = u64::from_le_bytes(rest[1..].try_into().ok()?);
        Some(if rest[0] == 0 { Ok(v) } else { Err(v as i32) })
    }

    /// Whether it is blocked in an ioctl (`/proc/PID/syscall` names x86-64's `ioctl`, 16)
    /// within `ms` milliseconds: a test that must act while it waits checks this first.
    pub fn in_ioctl_within(&self, ms: u64) -> bool {
        let path = format!("/proc/{}/syscall", self.pid);
        sys::wait_for(ms, || {
            fs::read_to_string(&path).is_ok_and(|s| s.split(' ').next() == Some("16"))
        })
    }

    /// Whether its close returned within `ms` milliseconds.
    pub fn closed_within(&self, ms: i32) -> bool {
        read_byte(&self.answer, ms) == Some(CLOSED)
    }

    /// Sends it `sig`.
    pub fn kill(&self, sig: i32) -> Result<(), String> {
        // SAFETY: signals our own child.
        if unsafe { libc::kill(self.pid, sig) } != 0 {
            return Err(format!("kill {}: {}", self.pid, errname(sys::errno())));
        }
        Ok(())
    }

    /// Reaps it if it ends within `ms` milliseconds: its wait status.
    pub fn reap_within(&mut self, ms: u64) -> Option<i32> {
        let end = Instant::now() + Duration::from_millis(ms);
        loop {
            let mut status = 0;
            // SAFETY: waits for our own child without blocking.
            let r = unsafe { libc::waitpid(self.pid, &mut status, libc::WNOHANG) };
            if r == self.pid {
                self.reaped = true;
                return Some(status);
            }
            if r < 0 || Instant::now() >= end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Pseudo {
    fn drop(&mut self) {
        if !self.reaped {
            // SAFETY: signals our own child.
            unsafe { libc::kill(self.pid, libc::SIGKILL) };
            let _ = self.reap_within(1000);
        }
    }
}
