// SPDX-License-Identifier: GPL-2.0

//! ve_fuzz_test: every ioctl the driver accepts (NEC's and its own), with random and boundary
//! values, NULL, unmapped, kernel, misaligned and overflowing addresses, random pids and list
//! types, nonzero reserved fields, random command numbers; a second thread opens and closes the
//! device all the while. A bounded number of iterations from a fixed seed (printed, for replay).
//!
//! It asserts that every failure is one of the errnos documented for that ioctl in
//! `include/uapi/ve_drv.h`, that nothing stays pinned once the lists are released, and (through the
//! harness) that the kernel logged no warning, bug or splat.
//!
//! ```text
//! ve_fuzz_test [--seed N] [--iterations N] [--seconds S]
//! ```

use std::{
    collections::BTreeMap,
    os::fd::OwnedFd,
    sync::atomic::{
        AtomicBool,
        Ordering, //
    },
    time::{
        Duration,
        Instant, //
    },
};

use ve_guest::{
    ksft::{
        diag,
        ensure,
        ensure_eq,
        numeric_args,
        Rng, //
    },
    mem::{
        Backing,
        Buffer, //
    },
    nec::{
        self,
        pins_held, //
    },
    suite::{
        Bail,
        Fixture,
        Suite, //
    },
    sys::{
        self,
        errname, //
    },
    uapi::{
        self,
        VeDmaXfer,
        VeDrvInfo,
        VeDrvPing,
        VeVp,
        VeVpBlk,
        VeVpBlkRelease,
        VeVpRelease,
        Vp,
        VpBlk, //
    },
};

type R = Result<(), String>;
const NODE: &str = "/dev/ve0";

/// Addresses worth trying: inside the scratch buffers (start, middle, last bytes), unaligned,
/// NULL, unmapped, kernel, the top of the address space.
fn address(r: &mut Rng, scratch: &[&Buffer]) -> u64 {
    let b = scratch[r.below(scratch.len() as u64) as usize];
    match r.below(10) {
        0 => 0,
        1 => 0x10,
        2 => 0x1000_0000_0000,
        3 => 0xffff_8880_0000_0000,
        4 => u64::MAX - r.below(4096),
        5 => b.addr() + b.len as u64 - 8,
        6 => (b.addr() + r.below(b.len as u64)) | r.below(8),
        _ => (b.addr() + r.below(b.len as u64)) & !7,
    }
}

fn length(r: &mut Rng) -> u64 {
    match r.below(8) {
        0 => 0,
        1 => r.below(16),
        2 => u64::MAX - r.below(8),
        3 => 1 << (r.below(40)),
        4 => (64 << 20) + 8,
        _ => (r.below(1 << 20) + 1) & !7,
    }
}

fn pid(r: &mut Rng, child: i32) -> i32 {
    r.pick(&[
        0,
        0,
        0,
        std::process::id() as i32,
        child,
        -1,
        i32::MIN,
        999_999,
        1_000_000_000,
    ])
}

fn list(r: &mut Rng) -> u32 {
    r.pick(&[uapi::OS_LIST, uapi::TD_LIST, uapi::OS_LIST, 2, 3, u32::MAX])
}

/// One random call. Returns the command's name and what it returned.
fn one(
    r: &mut Rng,
    fd: &OwnedFd,
    scratch: &[&Buffer],
    child: i32,
) -> (&'static str, Result<i32, i32>) {
    // Any pointer argument may itself be bad.
    let bad_arg = |r: &mut Rng| r.below(16) == 0;
    macro_rules! call {
        ($name:literal, $cmd:expr, $arg:expr) => {{
            let mut a = $arg;
            let res = if bad_arg(r) {
                sys::ioctl_raw(
                    fd,
                    $cmd,
                    r.pick(&[0usize, 0x10, 0xffff_8880_0000_0000, usize::MAX - 7]),
                )
            } else {
                sys::ioctl(fd, $cmd, &mut a)
            };
            ($name, res)
        }};
    }
    match r.below(20) {
        19 => {
            let index = r.pick(&[0, 1, 31, 32, 1023, 1024, -1, i32::MIN, i32::MAX]);
            let any = r.next_u64();
            let uid = r.pick(&[0, 1000, 65534, u32::MAX, any as u32]);
            let offset = r.pick(&[0, -1, 0x2000_0000, 0x1000, any as i64]);
            let size = r.pick(&[0, 1, 0x1000, 0x20_0000, u64::MAX, any]);
            let cr = uapi::VeCrAssign {
                cr_page_num: index,
                owner_uid: uid,
            };
            let vemem = uapi::VePcimemAssign {
                pciatb_entry: index,
                owner_uid: uid,
            };
            match r.below(5) {
                0 => call!("ASSIGN_CR", uapi::VEDRV_CMD_ASSIGN_CR, cr),
                1 => call!("UNASSIGN_CR", uapi::VEDRV_CMD_UNASSIGN_CR, cr),
                2 => call!("ASSIGN_VEMEM", uapi::VEDRV_CMD_ASSIGN_VEMEM, vemem),
                3 => call!("UNASSIGN_VEMEM", uapi::VEDRV_CMD_UNASSIGN_VEMEM, vemem),
                _ => call!(
                    "UNMAP",
                    uapi::VEDRV_CMD_UNMAP,
                    uapi::VeUnmap { offset, size }
                ),
            }
        }
        18 => task_command(fd, r),
        15 => {
            let vh = address(r, scratch);
            let dir = r.pick(&[uapi::VE_DMA_VH_TO_VE, uapi::VE_DMA_VE_TO_VH, 0, 3]);
            let list = r.below(2) == 0;
            let mut len = length(r);
            // As for XFER: VE -> VH writes stay inside a scratch buffer.
            if dir != uapi::VE_DMA_VH_TO_VE {
                if let Some(b) = scratch
                    .iter()
                    .find(|b| vh >= b.addr() && vh < b.addr() + b.len as u64)
                {
                    len = len.min(b.addr() + b.len as u64 - vh);
                }
            }
            let n = r.below(5) as usize;
            let extents: Vec<uapi::VeDmaExtent> = (0..n)
                .map(|_| uapi::VeDmaExtent {
                    addr: {
                        let any = r.below(64 << 30) & !7;
                        r.pick(&[0, 8, 4, u64::MAX - 7, any])
                    },
                    len: if r.below(2) == 0 {
                        len / n as u64
                    } else {
                        length(r)
                    },
                })
                .collect();
            call!(
                "SUBMIT",
                uapi::VE_DMA_IOC_SUBMIT,
                uapi::VeDmaSubmit {
                    vh_addr: vh,
                    ve_addr: if list {
                        if bad_arg(r) {
                            address(r, scratch)
                        } else {
                            extents.as_ptr() as u64
                        }
                    } else {
                        let any = r.below(64 << 30) & !7;
                        r.pick(&[0, 8, 4, 0x1000_0000, u64::MAX - 7, any])
                    },
                    len,
                    pid: pid(r, child),
                    flags: dir
                        | if list { uapi::VE_DMA_VE_LIST } else { 0 }
                        // Never VE_DMA_VH_BUS: a random bus address is not the fuzzer's to write.
                        | r.pick(&[0, 0, 0, 32, 0x8000_0000]),
                    num_extents: if list || r.below(8) == 0 {
                        r.pick(&[
                            n as u32,
                            n as u32,
                            0,
                            uapi::VE_DMA_MAX_EXTENTS + 1,
                            u32::MAX,
                        ])
                    } else {
                        0
                    },
                    opt: if r.below(8) == 0 {
                        r.next_u64() as u32
                    } else {
                        0
                    },
                    id: if r.below(8) == 0 { r.next_u64() } else { 0 },
                    // Never a VE-to-VE destination for a VH-to-VE request: that fails EINVAL.
                    ve_dst_addr: if r.below(8) == 0 { r.next_u64() | 8 } else { 0 },
                    reserved: if r.below(8) == 0 { r.next_u64() } else { 0 },
                }
            )
        }
        16 => call!(
            "WAIT",
            uapi::VE_DMA_IOC_WAIT,
            uapi::VeDmaWait {
                id: {
                    let near = r.below(4000);
                    r.pick(&[0, near, u64::MAX])
                },
                timeout_ms: r.pick(&[0, 0, 1, 2]),
                flags: if r.below(8) == 0 {
                    r.next_u64() as u32
                } else {
                    0
                },
                reserved0: if r.below(8) == 0 {
                    r.next_u64() as u32
                } else {
                    0
                },
                reserved: if r.below(8) == 0 {
                    [r.next_u64(), 0]
                } else {
                    [0, 0]
                },
                ..Default::default()
            }
        ),
        17 => call!(
            "CANCEL",
            uapi::VE_DMA_IOC_CANCEL,
            uapi::VeDmaCancel {
                id: {
                    let near = r.below(4000);
                    r.pick(&[0, near, u64::MAX])
                },
                flags: if r.below(8) == 0 {
                    r.next_u64() as u32
                } else {
                    0
                },
                reserved: if r.below(8) == 0 {
                    r.next_u64() as u32
                } else {
                    0
                },
            }
        ),
        13 => (
            "KICK",
            sys::ioctl_raw(fd, uapi::VE_DRV_IOC_KICK, r.next_u64() as usize),
        ),
        14 => {
            // Timeouts stay tiny; the pointers and the bits are fair game.
            let ts = uapi::Timespec {
                tv_sec: r.pick(&[0, -1]),
                tv_nsec: r.pick(&[0, 1_000_000, -5, 2_000_000_000]),
            };
            let mut bits = uapi::Ve1CompatWaitIrq {
                upper: r.next_u64(),
                lower: r.next_u64(),
            };
            let ts_ptr = if bad_arg(r) {
                0x10
            } else {
                std::ptr::from_ref::<uapi::Timespec>(&ts) as u64
            };
            if r.below(2) == 0 {
                call!(
                    "WAIT_INTR",
                    uapi::VEDRV_CMD_WAIT_INTR,
                    uapi::VeWaitIrqArg {
                        bits: if bad_arg(r) {
                            0
                        } else {
                            std::ptr::from_mut::<uapi::Ve1CompatWaitIrq>(&mut bits) as u64
                        },
                        timeout: ts_ptr,
                    }
                )
            } else {
                call!(
                    "WAIT_INTR",
                    uapi::VEDRV_CMD_COMPAT_VE1_WAIT_INTR,
                    uapi::Ve1CompatWaitIrqArg {
                        bits,
                        timeout: ts_ptr
                    }
                )
            }
        }
        0 => call!("INFO", uapi::VE_DRV_IOC_INFO, {
            let mut i = VeDrvInfo::default();
            if r.below(3) == 0 {
                i.flags = r.next_u64() as u32;
                i.reserved[r.below(i.reserved.len() as u64) as usize] = r.next_u64();
            }
            i
        }),
        1 => call!(
            "PING",
            uapi::VE_DRV_IOC_PING,
            VeDrvPing {
                value: r.next_u64(),
                flags: if r.below(4) == 0 {
                    r.next_u64() as u32
                } else {
                    0
                },
                reserved: if r.below(4) == 0 {
                    r.next_u64() as u32
                } else {
                    0
                },
                ..Default::default()
            }
        ),
        2 => {
            let vh = address(r, scratch);
            let flags = r.pick(&[uapi::VE_DMA_VH_TO_VE, uapi::VE_DMA_VE_TO_VH, 0, 3, 0x100]);
            let mut len = length(r);
            // The engine writes VH memory only inside a scratch buffer, never into the fuzzer's
            // own heap or stack: VE -> VH ranges that start in a buffer end with it.
            if flags != uapi::VE_DMA_VH_TO_VE {
                if let Some(b) = scratch
                    .iter()
                    .find(|b| vh >= b.addr() && vh < b.addr() + b.len as u64)
                {
                    len = len.min(b.addr() + b.len as u64 - vh);
                }
            }
            call!(
                "XFER",
                uapi::VE_DMA_IOC_XFER,
                VeDmaXfer {
                    vh_addr: vh,
                    ve_addr: {
                        let any = r.below(64 << 30) & !7;
                        r.pick(&[0, 8, 4, 0x1000_0000, u64::MAX - 7, any])
                    },
                    len,
                    pid: pid(r, child),
                    flags,
                    reserved: if r.below(8) == 0 {
                        [r.next_u64(), 0]
                    } else {
                        [0, 0]
                    },
                    ..Default::default()
                }
            )
        }
        3 | 4 => {
            let pin = r.below(2) == 0;
            let cmd = if pin {
                uapi::VEDRV_CMD_VHVA_TO_VSAA_PIN_DOWN
            } else {
                uapi::VEDRV_CMD_VHVA_TO_VSAA
            };
            call!(
                "VHVA_TO_VSAA",
                cmd,
                VeVp {
                    list: list(r),
                    vp_info: Vp {
                        pid: pid(r, child),
                        write: r.pick(&[0, 1, -1]),
                        virt: address(r, scratch),
                        ..Default::default()
                    },
                    ..Default::default()
                }
            )
        }
        5 | 6 => {
            let pin = r.below(2) == 0;
            let cmd = if pin {
                uapi::VEDRV_CMD_VHVA_TO_VSAA_BLK_PIN_DOWN
            } else {
                uapi::VEDRV_CMD_VHVA_TO_VSAA_BLK
            };
            let paddr = if r.below(6) == 0 {
                address(r, scratch)
            } else {
                scratch[0].addr()
            };
            call!(
                "VHVA_TO_VSAA_BLK",
                cmd,
                VeVpBlk {
                    list: list(r),
                    vp_info: VpBlk {
                        pid: pid(r, child),
                        write: r.pick(&[0, 1]),
                        vaddr: address(r, &scratch[1..]),
                        length: length(r),
                        paddr,
                        maxpages: r.pick(&[0, 1, 100, 101, u32::MAX]),
                        ..Default::default()
                    },
                    ..Default::default()
                }
            )
        }
        7 => call!(
            "RELEASE_PD_PAGE",
            uapi::VEDRV_CMD_RELEASE_PD_PAGE,
            VeVpRelease {
                list: list(r),
                addr: r.next_u64() & 0xffff_ffff_f000,
                ..Default::default()
            }
        ),
        8 => call!(
            "RELEASE_PD_PAGE_BLK",
            uapi::VEDRV_CMD_RELEASE_PD_PAGE_BLK,
            VeVpBlkRelease {
                list: list(r),
                npages: {
                    let any = r.below(100) as i32;
                    r.pick(&[-1, 0, 1, 100, 101, i32::MIN, any])
                },
                addr: if r.below(3) == 0 {
                    address(r, scratch)
                } else {
                    scratch[0].addr()
                },
            }
        ),
        9 => call!(
            "RELEASE_PD_PAGE_ALL",
            uapi::VEDRV_CMD_RELEASE_PD_PAGE_ALL,
            VeVpRelease {
                list: list(r),
                ..Default::default()
            }
        ),
        10 => call!(
            "COUNT_PD_PAGE_ALL",
            uapi::VEDRV_CMD_COUNT_PD_PAGE_ALL,
            VeVpRelease {
                list: list(r),
                ..Default::default()
            }
        ),
        11 => call!(
            "PIN_BENCH (test_ioctls off)",
            uapi::VE_DRV_IOC_PIN_BENCH,
            uapi::VeDrvPinBench {
                addr: address(r, scratch),
                len: length(r),
                ..Default::default()
            }
        ),
        _ => {
            // A random command: magic 0xF5 or not, any number, size and direction.
            let cmd = if r.below(2) == 0 {
                (r.next_u64() as u32 & 0xc0ff_00ff) | 0xf500
            } else {
                r.next_u64() as u32
            };
            let known = [
                uapi::VE_DRV_IOC_KICK,
                uapi::VEDRV_CMD_WAIT_INTR,
                uapi::VEDRV_CMD_COMPAT_VE1_WAIT_INTR,
                uapi::VE_DRV_IOC_INFO,
                uapi::VE_DRV_IOC_PING,
                uapi::VE_DRV_IOC_PIN_BENCH,
                uapi::VE_DMA_IOC_XFER,
                uapi::VE_DMA_IOC_SUBMIT,
                uapi::VE_DMA_IOC_WAIT,
                uapi::VE_DMA_IOC_CANCEL,
                uapi::VEDRV_CMD_VHVA_TO_VSAA,
                uapi::VEDRV_CMD_VHVA_TO_VSAA_PIN_DOWN,
                uapi::VEDRV_CMD_RELEASE_PD_PAGE,
                uapi::VEDRV_CMD_RELEASE_PD_PAGE_ALL,
                uapi::VEDRV_CMD_VHVA_TO_VSAA_BLK,
                uapi::VEDRV_CMD_VHVA_TO_VSAA_BLK_PIN_DOWN,
                uapi::VEDRV_CMD_RELEASE_PD_PAGE_BLK,
                uapi::VEDRV_CMD_COUNT_PD_PAGE_ALL,
                uapi::VEDRV_CMD_CREATE_TASK,
                uapi::VEDRV_CMD_ASSIGN_TASK,
                uapi::VEDRV_CMD_UNASSIGN_TASK,
                uapi::VEDRV_CMD_WAIT_EXCEPTION,
                uapi::VEDRV_CMD_DELETE_TASK,
                uapi::VEDRV_CMD_REVIVE_TASK,
                uapi::VEDRV_CMD_DELETE_ALL_TASK,
                uapi::VEDRV_CMD_RST_INTR_COUNT,
                uapi::VEDRV_CMD_RST_EXSRAR_MEM,
                uapi::VEDRV_CMD_HOST_PID,
                uapi::VEDRV_CMD_ASSIGN_CR,
                uapi::VEDRV_CMD_UNASSIGN_CR,
                uapi::VEDRV_CMD_ASSIGN_VEMEM,
                uapi::VEDRV_CMD_UNASSIGN_VEMEM,
                uapi::VEDRV_CMD_UNMAP,
            ];
            if known.contains(&cmd) {
                return ("COUNT_PD_PAGE_ALL", nec::count(fd, uapi::OS_LIST));
            }
            (
                "unknown command",
                sys::ioctl_raw(fd, cmd, scratch[0].addr() as usize),
            )
        }
    }
}

/// NEC's task and start-up commands with random tids, cores and pids. Never this thread's own
/// tid: a root caller may make its own task a VE program's, whose close then waits for VEOS.
fn task_command(fd: &OwnedFd, r: &mut Rng) -> (&'static str, Result<i32, i32>) {
    // SAFETY: no arguments.
    let me = i64::from(unsafe { libc::gettid() });
    let mut value = {
        let any = r.next_u64() as i64;
        let near = me + 1 + r.below(64) as i64;
        r.pick(&[0, -1, 1, near, any, i64::from(i32::MIN)])
    };
    if value as i32 == me as i32 {
        value = 0;
    }
    let by_value = |cmd| sys::ioctl_raw(fd, cmd, value as usize);
    match r.below(9) {
        7 => ("UNASSIGN_TASK", by_value(uapi::VEDRV_CMD_UNASSIGN_TASK)),
        8 => {
            let mut a = uapi::VeTidCore {
                tid: value as i32,
                core_id: r.pick(&[0, 1, -1, 15, 16, value as i32]),
            };
            let arg = if r.below(8) == 0 {
                r.pick(&[0, 0x10, u64::MAX - 3])
            } else {
                std::ptr::from_mut(&mut a) as u64
            };
            (
                "ASSIGN_TASK",
                sys::ioctl_raw(fd, uapi::VEDRV_CMD_ASSIGN_TASK, arg as usize),
            )
        }
        0 => ("CREATE_TASK", by_value(uapi::VEDRV_CMD_CREATE_TASK)),
        1 => ("DELETE_TASK", by_value(uapi::VEDRV_CMD_DELETE_TASK)),
        2 => ("REVIVE_TASK", by_value(uapi::VEDRV_CMD_REVIVE_TASK)),
        3 => ("DELETE_ALL_TASK", by_value(uapi::VEDRV_CMD_DELETE_ALL_TASK)),
        4 => ("RST_INTR_COUNT", by_value(uapi::VEDRV_CMD_RST_INTR_COUNT)),
        5 => ("RST_EXSRAR_MEM", by_value(uapi::VEDRV_CMD_RST_EXSRAR_MEM)),
        _ => {
            let mut a = uapi::VeGetHostPid {
                host_pid: r.pick(&[me as i32, 1, 0, -1, value as i32]),
                namespace_pid: r.pick(&[1, me as i32, 0, value as i32]),
            };
            let arg = if r.below(8) == 0 {
                r.pick(&[0, 0x10, u64::MAX - 3])
            } else {
                std::ptr::from_mut(&mut a) as u64
            };
            (
                "HOST_PID",
                sys::ioctl_raw(fd, uapi::VEDRV_CMD_HOST_PID, arg as usize),
            )
        }
    }
}

/// The errnos `include/uapi/ve_drv.h` documents for each command.
fn allowed(name: &str) -> &'static [i32] {
    use libc::*;
    match name {
        "INFO" => &[EFAULT, EINVAL],
        "KICK" => &[],
        "WAIT_INTR" => &[EFAULT, EINVAL, ETIMEDOUT],
        "PING" => &[EFAULT, EINVAL],
        "XFER" => &[EFAULT, EINVAL, ESRCH, ENOMEM, EIO, ETIMEDOUT],
        "SUBMIT" => &[EFAULT, EINVAL, ESRCH, ENOMEM, EAGAIN],
        "WAIT" => &[EFAULT, EINVAL, ENOENT, ETIMEDOUT],
        "CANCEL" => &[EFAULT, EINVAL, ENOENT],
        "VHVA_TO_VSAA" | "VHVA_TO_VSAA_BLK" => &[EFAULT, EINVAL, ESRCH, ENOMEM, EOPNOTSUPP],
        "RELEASE_PD_PAGE" | "RELEASE_PD_PAGE_BLK" => &[EFAULT, EINVAL, ENOENT],
        "RELEASE_PD_PAGE_ALL" | "COUNT_PD_PAGE_ALL" => &[EFAULT, EINVAL],
        "CREATE_TASK" => &[ESRCH],
        "ASSIGN_TASK" => &[EFAULT, EINVAL, EBUSY, EAGAIN, ESRCH],
        "UNASSIGN_TASK" => &[ESRCH, EINVAL, EBUSY, EAGAIN],
        "DELETE_TASK" => &[ESRCH, EAGAIN],
        "REVIVE_TASK" => &[ESRCH, EINVAL],
        "DELETE_ALL_TASK" | "RST_INTR_COUNT" => &[],
        "RST_EXSRAR_MEM" => &[EINVAL],
        "HOST_PID" => &[EFAULT, ESRCH],
        "ASSIGN_CR" | "ASSIGN_VEMEM" => &[EFAULT, EINVAL, ENOMEM],
        "UNASSIGN_CR" | "UNASSIGN_VEMEM" | "UNMAP" => &[EFAULT, EINVAL],
        // An unknown command, and PIN_BENCH without test_ioctls=1: EINVAL, as NEC's driver
        // answers a command it does not know.
        _ => &[EINVAL],
    }
}

/// The card, scratch buffers of three backings and a child process whose memory may be pinned
/// by pid (it waits until killed).
struct Fx {
    fd: OwnedFd,
    seed: u64,
    iterations: u64,
    seconds: u64,
    baseline: i64,
    scratch: Vec<Buffer>,
    /// The child's pid; 0 once it is reaped.
    child: i32,
}

impl Fixture for Fx {}

impl Fx {
    /// Ends and reaps the child.
    fn end_child(&mut self) {
        if self.child > 0 {
            // SAFETY: ends and reaps our child.
            unsafe {
                libc::kill(self.child, libc::SIGKILL);
                libc::waitpid(self.child, std::ptr::null_mut(), 0);
            }
            self.child = 0;
        }
    }
}

impl Drop for Fx {
    fn drop(&mut self) {
        self.end_child();
    }
}

fn main() {
    let mut seed = 0x5eed_0001u64;
    let mut iterations = 20_000u64;
    let mut seconds = 30u64;
    numeric_args(
        "ve_fuzz_test [--seed N] [--iterations N] [--seconds S]",
        &mut [
            ("seed", &mut seed),
            ("iterations", &mut iterations),
            ("seconds", &mut seconds),
        ],
    );
    let suite = Suite::new("ve_fuzz_test")
        .case("every error is one the header documents", documented_errnos)
        .case("the lists can be emptied", lists_emptied)
        .case("nothing left pinned", nothing_left_pinned);
    std::process::exit(suite.run(|| {
        diag(&format!(
            "seed {seed} (replay: ve_fuzz_test --seed {seed} --iterations {iterations})"
        ));
        let fd = sys::open_rw(NODE).map_err(|e| Bail {
            name: "open /dev/ve0".into(),
            why: errname(e),
        })?;
        let baseline = pins_held();
        let scratch = [Backing::Anon4k, Backing::Thp, Backing::Hugetlb2m]
            .iter()
            .map(|b| Buffer::new(*b, 4 << 20))
            .collect::<Result<Vec<Buffer>, String>>()
            .map_err(Bail::as_("scratch buffers"))?;
        // SAFETY: the child only sleeps.
        let child = unsafe { libc::fork() };
        if child == 0 {
            loop {
                // SAFETY: plain sleep.
                unsafe { libc::pause() };
            }
        }
        Ok(Fx {
            fd,
            seed,
            iterations,
            seconds,
            baseline,
            scratch,
            child,
        })
    }));
}

/// The fuzzer's run, with concurrent opens and closes of the device.
fn documented_errnos(fx: &mut Fx) -> R {
    let (fd, seed, iterations, child) = (&fx.fd, fx.seed, fx.iterations, fx.child);
    let scratch_refs: Vec<&Buffer> = fx.scratch.iter().collect();
    let stop = AtomicBool::new(false);
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut bad: Vec<String> = Vec::new();
    let mut done = 0u64;
    let opens = std::thread::scope(|s| {
        // Concurrent opens and closes of the device while the fuzzer runs.
        let h = s.spawn(|| {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                if let Ok(f) = sys::open_rw(NODE) {
                    let _ = nec::count(&f, uapi::TD_LIST);
                    drop(f);
                    n += 1;
                }
                std::thread::sleep(Duration::from_micros(200));
            }
            n
        });
        let mut r = Rng(seed | 1);
        let end = Instant::now() + Duration::from_secs(fx.seconds);
        while done < iterations && Instant::now() < end {
            let (name, res) = one(&mut r, fd, &scratch_refs, child);
            done += 1;
            let key = match res {
                Ok(_) => format!("{name}: ok"),
                Err(e) => {
                    if !allowed(name).contains(&e) && bad.len() < 20 {
                        bad.push(format!(
                            "iteration {done}: {name} failed with {}",
                            errname(e)
                        ));
                    }
                    format!("{name}: {}", errname(e))
                }
            };
            *counts.entry(key).or_default() += 1;
        }
        stop.store(true, Ordering::Relaxed);
        h.join().unwrap_or(0)
    });
    for (k, v) in &counts {
        diag(&format!("{v:>7}  {k}"));
    }
    diag(&format!(
        "{done} iterations, {opens} concurrent open/close cycles"
    ));
    println!("# ve_test: fuzz iterations={done}");
    println!(
        "# figure: fuzz seed {seed}: {done} calls, {} unexpected errnos",
        bad.len()
    );
    ensure(bad.is_empty(), || bad.join("\n"))
}

fn lists_emptied(fx: &mut Fx) -> R {
    fx.end_child();
    let fd = &fx.fd;
    nec::release_all(fd, uapi::OS_LIST).map_err(errname)?;
    nec::release_all(fd, uapi::TD_LIST).map_err(errname)?;
    ensure_eq(
        "COUNT OS",
        nec::count(fd, uapi::OS_LIST).map_err(errname)?,
        0,
    )?;
    ensure_eq(
        "COUNT TD",
        nec::count(fd, uapi::TD_LIST).map_err(errname)?,
        0,
    )
}

fn nothing_left_pinned(fx: &mut Fx) -> R {
    fx.scratch.clear();
    // The registration cache's entries of this file (if it is on) go, and a sweep in progress
    // finishes, before the count.
    let c = ve_guest::dma::cache(&fx.fd, uapi::VE_DMA_CACHE_DROP)?;
    diag(&format!(
        "registration cache (cap {} MiB): {} hits, {} misses, {} bypasses, {} invalidations, {} evictions",
        c.cap >> 20,
        c.hits,
        c.misses,
        c.bypasses,
        c.invalidations,
        c.evictions
    ));
    ensure_eq("pins held", pins_held() - fx.baseline, 0)
}
