// SPDX-License-Identifier: GPL-2.0

//! System calls and sysfs helpers for the guest tests. Failures come back as the raw `errno`, so
//! tests can compare it with the documented one.

use std::{
    ffi::CString,
    fs,
    os::fd::{
        AsRawFd,
        OwnedFd, //
    },
    path::Path, //
};

/// The calling thread's `errno`.
pub fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Name of an errno value, for messages.
pub fn errname(e: i32) -> String {
    let name = match e {
        0 => "success",
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::ENODEV => "ENODEV",
        libc::EINVAL => "EINVAL",
        libc::ENOTTY => "ENOTTY",
        libc::EAGAIN => "EAGAIN",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::ETIMEDOUT => "ETIMEDOUT",
        libc::EEXIST => "EEXIST",
        libc::ESRCH => "ESRCH",
        libc::ENOMEM => "ENOMEM",
        libc::EOVERFLOW => "EOVERFLOW",
        libc::ENOSPC => "ENOSPC",
        _ => return format!("errno {e}"),
    };
    name.to_string()
}

/// `ioctl(fd, cmd, arg)`; `Err(errno)` on failure.
pub fn ioctl_raw(fd: &OwnedFd, cmd: u32, arg: usize) -> Result<i32, i32> {
    // SAFETY: the kernel validates `arg`; a bad pointer gives EFAULT, not memory unsafety here.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::c_ulong::from(cmd), arg) };
    if r < 0 {
        Err(errno())
    } else {
        Ok(r)
    }
}

/// `ioctl(fd, cmd, &mut arg)`.
pub fn ioctl<T>(fd: &OwnedFd, cmd: u32, arg: &mut T) -> Result<i32, i32> {
    ioctl_raw(fd, cmd, std::ptr::from_mut(arg) as usize)
}

/// Opens `path` read-write.
pub fn open_rw(path: &str) -> Result<OwnedFd, i32> {
    fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map(OwnedFd::from)
        .map_err(|e| e.raw_os_error().unwrap_or(0))
}

/// Opens `path` read-write from a thread of its own, for a program that wants another file of
/// the card: the driver, as NEC's, gives each thread one open file of a card (its task object;
/// a second open by the same thread is `EBUSY`).
pub fn open_rw_other_thread(path: &str) -> Result<OwnedFd, i32> {
    let path = path.to_string();
    std::thread::spawn(move || open_rw(&path))
        .join()
        .unwrap_or(Err(libc::EINVAL))
}

/// Loads a kernel module from `path` with `params` (`finit_module`).
pub fn insmod(path: &str, params: &str) -> Result<(), i32> {
    let f = fs::File::open(path).map_err(|e| e.raw_os_error().unwrap_or(0))?;
    let p = CString::new(params).map_err(|_| libc::EINVAL)?;
    // SAFETY: valid fd and NUL-terminated parameter string.
    let r = unsafe { libc::syscall(libc::SYS_finit_module, f.as_raw_fd(), p.as_ptr(), 0) };
    if r < 0 {
        Err(errno())
    } else {
        Ok(())
    }
}

/// Unloads module `name` without waiting (`delete_module(name, O_NONBLOCK)`).
pub fn rmmod(name: &str) -> Result<(), i32> {
    let n = CString::new(name).map_err(|_| libc::EINVAL)?;
    // SAFETY: NUL-terminated module name.
    let r = unsafe { libc::syscall(libc::SYS_delete_module, n.as_ptr(), libc::O_NONBLOCK) };
    if r < 0 {
        Err(errno())
    } else {
        Ok(())
    }
}

/// Writes `s` to a sysfs/procfs file in one `write`.
pub fn write_file(path: &str, s: &str) -> Result<(), i32> {
    fs::write(path, s).map_err(|e| e.raw_os_error().unwrap_or(0))
}

fn read_hex(path: &Path) -> Option<u32> {
    let s = fs::read_to_string(path).ok()?;
    u32::from_str_radix(s.trim().trim_start_matches("0x"), 16).ok()
}

/// The first PCI device with `vendor:device`, as its bus address (`0000:00:03.0`).
pub fn find_pci(vendor: u16, device: u16) -> Option<String> {
    let mut names: Vec<_> = fs::read_dir("/sys/bus/pci/devices")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    names.sort();
    names.into_iter().find(|n| {
        let d = Path::new("/sys/bus/pci/devices").join(n);
        read_hex(&d.join("vendor")) == Some(vendor.into())
            && read_hex(&d.join("device")) == Some(device.into())
    })
}

/// The driver bound to PCI device `bdf`, if any.
pub fn pci_driver(bdf: &str) -> Option<String> {
    let link = fs::read_link(format!("/sys/bus/pci/devices/{bdf}/driver")).ok()?;
    Some(link.file_name()?.to_string_lossy().into_owned())
}

/// A field of `/proc/vmstat`.
pub fn vmstat(key: &str) -> Option<u64> {
    let s = fs::read_to_string("/proc/vmstat").ok()?;
    s.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        if k == key {
            v.trim().parse().ok()
        } else {
            None
        }
    })
}

/// `VmPin` (pages charged to the process's pinned memory, `mm->pinned_vm`) of process `pid`
/// (`"self"` for the caller), in kB.
pub fn vm_pin_kb(pid: &str) -> Result<u64, String> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmPin:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("no VmPin in /proc/{pid}/status"))
}

/// `(nr_foll_pin_acquired, nr_foll_pin_released)`, exact when nothing pins or unpins meanwhile:
/// the per-CPU counter deltas are folded into the global counters first
/// (`/proc/sys/vm/stat_refresh`, root only), otherwise /proc/vmstat lags by up to a second's
/// worth of per-CPU batches. While other CPUs pin and unpin, see [`pin_counter_error`].
pub fn pin_counters() -> Option<(u64, u64)> {
    let _ = fs::write("/proc/sys/vm/stat_refresh", "1");
    parse_pin_counters(&fs::read_to_string("/proc/vmstat").ok()?)
}

/// `(nr_foll_pin_acquired, nr_foll_pin_released)` from the text of `/proc/vmstat`; `None` unless
/// both are there.
pub fn parse_pin_counters(vmstat: &str) -> Option<(u64, u64)> {
    let field = |key: &str| {
        vmstat.lines().find_map(|l| {
            let (k, v) = l.split_once(' ')?;
            (k == key).then(|| v.trim().parse().ok())?
        })
    };
    Some((
        field("nr_foll_pin_acquired")?,
        field("nr_foll_pin_released")?,
    ))
}

/// The most by which the difference of two [`pin_counters`] samples can over-count the pins
/// taken in between, when other CPUs pin and unpin while the samples are read. Each CPU keeps
/// up to its node's vmstat threshold of a counter's updates in a per-CPU delta until it folds
/// them (mm/vmstat.c; the fold `stat_refresh` asks for runs on each CPU in turn, so a CPU
/// folded first may have unpinned again by the time the counters are read): a sample's
/// acquired - released is off by at most the sum of those thresholds either way, so a
/// difference of two samples by twice that.
pub fn pin_counter_error() -> Result<i64, String> {
    let zoneinfo = fs::read_to_string("/proc/zoneinfo").map_err(|e| e.to_string())?;
    node_stat_thresholds(&zoneinfo)
        .map(|sum| 2 * sum)
        .ok_or_else(|| "no vm stats threshold in /proc/zoneinfo".into())
}

/// The sum over nodes and CPUs of each node's per-CPU vmstat threshold, from the text of
/// `/proc/zoneinfo`: a node's threshold on a CPU is the largest of its zones' ("vm stats
/// threshold" in the zone's `cpu:` section). `None` if the text shows none.
pub fn node_stat_thresholds(zoneinfo: &str) -> Option<i64> {
    let mut per_node_cpu = std::collections::BTreeMap::<(String, i64), i64>::new();
    let (mut node, mut cpu) = (String::new(), -1i64);
    for line in zoneinfo.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("Node ") {
            node = rest.split(',').next().unwrap_or("").to_string();
        } else if let Some(c) = t.strip_prefix("cpu:") {
            cpu = c.trim().parse().ok()?;
        } else if let Some(v) = t.strip_prefix("vm stats threshold:") {
            let v: i64 = v.trim().parse().ok()?;
            let max = per_node_cpu.entry((node.clone(), cpu)).or_insert(v);
            *max = (*max).max(v);
        }
    }
    (!per_node_cpu.is_empty()).then(|| per_node_cpu.values().sum())
}

/// The value of `key=` on the kernel command line.
pub fn cmdline_param(key: &str) -> Option<String> {
    let s = fs::read_to_string("/proc/cmdline").ok()?;
    s.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('=').map(str::to_string))
}

/// Whether `path` exists.
pub fn exists(path: &str) -> bool {
    Path::new(path).exists()
}

/// Waits up to `ms` milliseconds for `cond`.
pub fn wait_for(ms: u64, mut cond: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + std::time::Duration::from_millis(ms);
    loop {
        if cond() {
            return true;
        }
        if std::time::Instant::now() >= end {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Runs `f` in a child process and returns its exit code (128 if it did not exit).
pub fn in_child(f: impl FnOnce() -> i32) -> Result<i32, i32> {
    let status = child_status(f)?;
    Ok(if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128
    })
}

/// Runs `f` in a child process with uid/gid 65534 (nobody) and returns its exit code.
pub fn as_nobody(f: impl FnOnce() -> i32) -> Result<i32, i32> {
    in_child(|| {
        // SAFETY: plain syscalls in the child.
        unsafe {
            if libc::setgid(65534) != 0 || libc::setuid(65534) != 0 {
                return 100;
            }
        }
        f()
    })
}

/// Runs `f` in a child process with real uid `ruid`, effective and saved uid `euid` (gid 65534)
/// and returns its exit code (100 if the switch failed).
pub fn as_user(ruid: u32, euid: u32, f: impl FnOnce() -> i32) -> Result<i32, i32> {
    in_child(|| {
        // SAFETY: plain syscalls in the child.
        unsafe {
            if libc::setgroups(0, std::ptr::null()) != 0
                || libc::setresgid(65534, 65534, 65534) != 0
                || libc::setresuid(ruid, euid, euid) != 0
            {
                return 100;
            }
        }
        f()
    })
}

/// `CAP_IPC_LOCK` (include/uapi/linux/capability.h).
const CAP_IPC_LOCK: u32 = 14;

/// Runs `f` in a child process whose RLIMIT_MEMLOCK is `limit` bytes and whose effective
/// capabilities lack CAP_IPC_LOCK (CAP_SYS_ADMIN stays), and returns its exit code: 1-3 if that
/// set-up failed, else what `f` returned.
pub fn in_child_with_memlock(limit: u64, f: impl FnOnce() -> i32) -> Result<i32, i32> {
    in_child(|| {
        let lim = libc::rlimit {
            rlim_cur: limit,
            rlim_max: limit,
        };
        // SAFETY: plain syscalls on our own process.
        unsafe {
            if libc::setrlimit(libc::RLIMIT_MEMLOCK, &lim) != 0 {
                return 1;
            }
            // capget/capset, version 3: two 32-bit words of effective/permitted/inheritable.
            let mut hdr = [0x2008_0522u32, 0];
            let mut data = [0u32; 6];
            if libc::syscall(libc::SYS_capget, hdr.as_mut_ptr(), data.as_mut_ptr()) != 0 {
                return 2;
            }
            data[0] &= !(1 << CAP_IPC_LOCK);
            if libc::syscall(libc::SYS_capset, hdr.as_mut_ptr(), data.as_ptr()) != 0 {
                return 3;
            }
        }
        f()
    })
}

#[cfg(test)]
mod tests {
    use super::{node_stat_thresholds, parse_pin_counters};

    /// A node's threshold on a CPU is its largest zone's; CPUs and nodes add up.
    #[test]
    fn node_stat_thresholds_take_each_cpus_largest_zone() {
        let zoneinfo = "Node 0, zone      DMA
  pagesets
    cpu: 0
              count:    0
  vm stats threshold: 8
    cpu: 1
              count:    0
  vm stats threshold: 8
Node 0, zone    DMA32
  pagesets
    cpu: 0
              count:    12
  vm stats threshold: 24
    cpu: 1
              count:    3
  vm stats threshold: 24
Node 1, zone   Normal
  pagesets
    cpu: 0
  vm stats threshold: 30
";
        assert_eq!(node_stat_thresholds(zoneinfo), Some(24 + 24 + 30));
        assert_eq!(node_stat_thresholds("Node 0, zone DMA\n"), None);
        assert_eq!(
            node_stat_thresholds("Node 0, zone DMA\n    cpu: x\n  vm stats threshold: 8\n"),
            None
        );
    }

    /// Pin checks must not pass without looking: missing or garbled counters are `None`
    /// (`nec::pins_held` then fails the test program).
    #[test]
    fn pin_counters_need_both_fields() {
        let both = "nr_free_pages 5\nnr_foll_pin_acquired 12\nnr_foll_pin_released 7\n";
        assert_eq!(parse_pin_counters(both), Some((12, 7)));
        assert_eq!(parse_pin_counters("nr_foll_pin_acquired 12\n"), None);
        assert_eq!(parse_pin_counters("nr_foll_pin_released 7\n"), None);
        assert_eq!(parse_pin_counters(""), None);
        assert_eq!(
            parse_pin_counters("nr_foll_pin_acquired x\nnr_foll_pin_released 7\n"),
            None
        );
    }
}

/// Runs `f` in a child process and returns its raw wait status (for a child that must die of
/// a signal: [`died_of`]). The child leaves with `_exit`, running none of the parent's
/// destructors.
pub fn child_status(f: impl FnOnce() -> i32) -> Result<i32, i32> {
    // SAFETY: the child runs `f` in this single-threaded program and leaves with `_exit`.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(errno());
    }
    if pid == 0 {
        let code = f();
        // SAFETY: leave the child without running the parent's destructors.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waits for the child we forked.
    if unsafe { libc::waitpid(pid, &mut status, 0) } < 0 {
        return Err(errno());
    }
    Ok(status)
}

/// Whether wait status `status` is death by signal `sig`.
pub fn died_of(status: i32, sig: i32) -> bool {
    libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == sig
}

/// `CAP_SYS_RAWIO` (include/uapi/linux/capability.h).
pub const CAP_SYS_RAWIO: u32 = 17;
/// `CAP_SYS_ADMIN`.
pub const CAP_SYS_ADMIN: u32 = 21;

/// `capget`/`capset` header (version 3: two 32-bit words per set).
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

/// `capget`/`capset` data, one word.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Runs `f` in a child process (root) that dropped capability `cap` from its effective and
/// permitted sets; returns its exit code (101: capget/capset failed; 128: it did not exit).
pub fn without_cap(cap: u32, f: impl FnOnce() -> i32) -> Result<i32, i32> {
    in_child(|| {
        let mut hdr = CapHeader {
            version: 0x2008_0522,
            pid: 0,
        };
        let mut data = [CapData::default(); 2];
        // SAFETY: capget/capset with a version-3 header and two data words.
        let ok = unsafe {
            libc::syscall(libc::SYS_capget, &mut hdr, data.as_mut_ptr()) == 0 && {
                let (w, bit) = ((cap / 32) as usize, 1u32 << (cap % 32));
                data[w].effective &= !bit;
                data[w].permitted &= !bit;
                libc::syscall(libc::SYS_capset, &mut hdr, data.as_ptr()) == 0
            }
        };
        if ok {
            f()
        } else {
            101
        }
    })
}

/// The module to load: `/lib/modules/ve_drv.ko`, or the path after `--module` on the command
/// line; exits with a usage message (code 2) on any other argument.
pub fn module_arg(program: &str) -> String {
    let mut module = String::from("/lib/modules/ve_drv.ko");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--module", Some(path)) => module = path,
            _ => {
                eprintln!("usage: {program} [--module PATH]");
                std::process::exit(2);
            }
        }
    }
    module
}
