// SPDX-License-Identifier: GPL-2.0

//! ve_dma_bench: VH <-> VE bandwidth of four ways to drive the privileged DMA engine, measured
//! side by side in one boot on the same buffers, over NEC's buffer sizes:
//! - `legacy`: VEOS 1.2.2's user-space manager (one pin ioctl per 4 KiB page), on this driver's
//!   NEC ABI with `user_pdma=1` (`ve_guest::necdma`);
//! - `bulk`: NEC >= 2.1's user-space manager (<= 100 entries per pin ioctl, posting every 64 page
//!   steps);
//! - `kernel`: this driver's in-kernel manager, one `VE_DMA_IOC_XFER` per transfer;
//! - `library`: VEOS's DMA API as this project's `libvedma` implements it over the kernel manager
//!   (`lib/vedma`, called through its rlib): one `ve_dma_xfer_p_va` (VHVA <-> VEMAA) per transfer,
//!   i.e. SUBMIT by the caller, WAIT by the library's completion thread, a condition variable;
//! - `raw`: the engine's own busy time for the kernel manager's descriptors (the limit here: the
//!   host's copy rate);
//! - `cached`: the kernel manager with its registration cache on (`dma_cache_mib`): the buffer is
//!   transferred once unmeasured, then each measured transfer finds it pinned and mapped.
//!
//! It loads the module itself: once with `user_pdma=1` for legacy, bulk, kernel and library,
//! interleaved (each repetition of a point runs the four in turn, so that their ratios compare
//! transfers made milliseconds apart: under TCG a boot's speed drifts by up to 2x over seconds,
//! and scanning one mode after another put that drift into the ratios), once for the
//! small-transfer latencies, once with the cache (cached).
//! Buffers are unregistered and pinned on the fly, as in NEC's benchmark. The guest runs under TCG:
//! guest CPU work is about 18x slower than on hardware while the emulator copies natively, so
//! these are not hardware numbers. A benchmark, not a test: it checks only that every transfer
//! succeeded.
//!
//! ```text
//! ve_dma_bench [--max-mib N] [--reps N] [--module PATH]
//! ```

use std::{
    collections::BTreeMap,
    os::fd::{
        AsRawFd,
        OwnedFd, //
    },
    time::Instant, //
};

use libc::{
    c_int,
    c_void, //
};

use ve_guest::{
    emubar::EmuBar,
    hw::{
        desc,
        emu, //
    },
    ksft::Tap,
    mem::{
        Backing,
        Buffer, //
    },
    nec::pins_held,
    necdma,
    sys::{
        self,
        errname, //
    },
    uapi::{
        self,
        VeDmaXfer, //
    },
    userdma::UserEngine,
};
use vedma::{
    plan::{
        VE_DMA_VEMAA,
        VE_DMA_VHVA, //
    },
    Status,
    VeDmaHdl, //
};

#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Mode {
    Legacy,
    Bulk,
    Kernel,
    Library,
    Cached,
}

// Test doubles of what libvedma calls back in libved and VEOS (include/veos/dma.h): the
// "libved handle" here is a pointer to the file descriptor; VHVA <-> VEMAA needs no translation.

/// libved's `vedl_get_fd`.
#[no_mangle]
extern "C" fn vedl_get_fd(h: *const c_void) -> c_int {
    // SAFETY: the only handle passed is `Lib::vh`, a live `c_int`.
    unsafe { *h.cast::<c_int>() }
}

/// VEOS's `veos_virt_to_phy`: not used by VHVA <-> VEMAA.
#[no_mangle]
extern "C" fn veos_virt_to_phy(_v: u64, _pid: libc::pid_t, _inc: bool, _prot: *mut c_int) -> i64 {
    -i64::from(libc::ENOSYS)
}

/// VEOS's `veos_put_page`: not used by VHVA <-> VEMAA.
#[no_mangle]
extern "C" fn veos_put_page(_pa: u64) -> c_int {
    0
}

/// VEOS's `ve_put_ipc_sync`: not used (no ipc_sync is passed).
#[no_mangle]
extern "C" fn ve_put_ipc_sync(_s: *mut c_void) -> c_int {
    0
}

/// A libvedma handle on the benchmark's file.
struct Lib {
    hdl: *mut VeDmaHdl,
    _vh: Box<c_int>,
}

impl Lib {
    fn open(fd: &OwnedFd) -> Result<Self, String> {
        let vh = Box::new(fd.as_raw_fd());
        // SAFETY: the handle is a pointer to the fd, as the `vedl_get_fd` double reads it.
        let hdl = unsafe { vedma::ve_dma_open_p(core::ptr::from_ref(&*vh).cast_mut().cast()) };
        if hdl.is_null() {
            return Err(format!("ve_dma_open_p: {}", errname(sys::errno())));
        }
        Ok(Self { hdl, _vh: vh })
    }

    fn xfer(&self, to_ve: bool, vh: u64, len: u64) -> Result<(), String> {
        // SAFETY: getpid has no preconditions.
        let me = unsafe { libc::getpid() };
        let (st, sp, sa, dt, dp, da) = if to_ve {
            (VE_DMA_VHVA, me, vh, VE_DMA_VEMAA, 0, VE)
        } else {
            (VE_DMA_VEMAA, 0, VE, VE_DMA_VHVA, me, vh)
        };
        // SAFETY: `hdl` is open; the addresses are the benchmark's buffer and VE memory.
        let s = unsafe { vedma::ve_dma_xfer_p_va(self.hdl, st, sp, sa, dt, dp, da, len) };
        if s == Status::Ok {
            Ok(())
        } else {
            Err(format!("ve_dma_xfer_p_va: {s:?}"))
        }
    }
}

impl Drop for Lib {
    fn drop(&mut self) {
        // SAFETY: opened by `Lib::open`, closed once; nothing is in flight (xfer waits).
        unsafe { vedma::ve_dma_close_p(self.hdl) };
    }
}

/// One measurement: wall ns, engine busy ns, this process's CPU ns (user + system: the pin
/// ioctls and descriptor posting all run in the caller's thread), descriptors.
#[derive(Copy, Clone, Debug)]
struct Sample {
    wall: f64,
    busy: f64,
    cpu: f64,
    descs: u64,
}

/// CPU time of this process, ns.
fn cpu_ns() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-parameter.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 * 1e9 + ts.tv_nsec as f64
}

/// VE address every transfer uses.
const VE: u64 = 0x1_0000_0000;

/// The u64 at index `i` of the verification pattern `seed`.
fn pattern(seed: u64, i: usize) -> u64 {
    (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ seed
}

/// Data check of one mode on one buffer: the first `len` bytes go VH -> VE with a pattern,
/// the buffer is overwritten, and they come back VE -> VH; every 8 bytes are compared.
fn verify(
    d: &Drivers,
    mode: Mode,
    c: &EmuBar,
    b: &Buffer,
    len: usize,
    seed: u64,
) -> Result<(), String> {
    // SAFETY: the buffer maps at least `len` bytes from a page-aligned start (so u64-aligned);
    // nothing else touches it while this slice lives.
    let words = unsafe { std::slice::from_raw_parts_mut(b.ptr.cast::<u64>(), len / 8) };
    for (i, w) in words.iter_mut().enumerate() {
        *w = pattern(seed, i);
    }
    run_once(d, mode, c, true, b.addr(), len as u64)?;
    words.fill(!0);
    run_once(d, mode, c, false, b.addr(), len as u64)?;
    match words
        .iter()
        .enumerate()
        .find(|&(i, &w)| w != pattern(seed, i))
    {
        None => Ok(()),
        Some((i, &w)) => Err(format!(
            "byte {}: {w:#x}, expected {:#x}",
            i * 8,
            pattern(seed, i)
        )),
    }
}

/// The file of one load of the module and what each mode drives the engine through. Fields drop
/// in order: the library's handle and the mapping before the file they use.
struct Drivers {
    lib: Option<Lib>,
    /// The engine's registers, mapped while a user-space manager (legacy, bulk) runs: with
    /// `user_pdma=1` the mapping lends the engine to user space, and its end gives the engine
    /// back to the kernel manager (halted, its ring restarted) before `munmap` returns.
    eng: Option<UserEngine>,
    fd: OwnedFd,
}

impl Drivers {
    /// Lends the engine to user space for `mode`'s manager, or takes it back for the kernel's;
    /// then ready for `mode`. Not timed: a new mapping's register pages are faulted in here.
    fn ready(&mut self, mode: Mode) -> Result<&Self, String> {
        if !matches!(mode, Mode::Legacy | Mode::Bulk) {
            self.eng = None;
            return Ok(self);
        }
        if self.eng.is_none() {
            let eng = UserEngine::map(&self.fd).map_err(|e| format!("mmap: {}", errname(e)))?;
            let scr = eng.scr();
            for off in [scr.ctl0(), scr.ctl1(), scr.desc(0), scr.desc(desc::NUM - 1)] {
                eng.read(off);
            }
            self.eng = Some(eng);
        }
        Ok(self)
    }
}

fn run_once(
    d: &Drivers,
    mode: Mode,
    c: &EmuBar,
    to_ve: bool,
    vh: u64,
    len: u64,
) -> Result<Sample, String> {
    let busy0 = c.get(emu::OFF_CNT_BUSY_NS);
    let cpu0 = cpu_ns();
    let t = Instant::now();
    let descs = match mode {
        Mode::Kernel | Mode::Cached => {
            let mut a = VeDmaXfer {
                vh_addr: vh,
                ve_addr: VE,
                len,
                flags: if to_ve {
                    uapi::VE_DMA_VH_TO_VE
                } else {
                    uapi::VE_DMA_VE_TO_VH
                },
                ..Default::default()
            };
            sys::ioctl(&d.fd, uapi::VE_DMA_IOC_XFER, &mut a)
                .map_err(|e| format!("XFER: {}", errname(e)))?;
            u64::from(a.descs)
        }
        Mode::Library => {
            d.lib
                .as_ref()
                .ok_or("no library handle")?
                .xfer(to_ve, vh, len)?;
            0
        }
        Mode::Legacy | Mode::Bulk => {
            let eng = d.eng.as_ref().ok_or("no engine mapping")?;
            let manager = if mode == Mode::Legacy {
                necdma::legacy
            } else {
                necdma::bulk
            };
            manager(&d.fd, eng, vh, VE, len, to_ve)?
        }
    };
    let wall = t.elapsed().as_nanos() as f64;
    let cpu = cpu_ns() - cpu0;
    let busy = (c.get(emu::OFF_CNT_BUSY_NS) - busy0) as f64;
    Ok(Sample {
        wall,
        busy: busy.max(1.0),
        cpu,
        descs,
    })
}

fn mibs(bytes: u64, ns: f64) -> f64 {
    bytes as f64 / 1048576.0 / (ns / 1e9)
}

type Key = (usize, bool, u64, Mode);

/// Sizes of the small-transfer latency table, bytes; the first is the floor.
const LATENCY_SIZES: [u64; 5] = [8, 64, 512, 4096, 32 << 10];
/// Transfers per size in the latency table.
const LATENCY_RUNS: usize = 200;

/// One transfer of `len` bytes VE -> VH at `vh` through the kernel manager, wall ns; `flags` is
/// added to the direction.
fn xfer_ns(fd: &OwnedFd, vh: u64, len: u64, flags: u32) -> Result<f64, String> {
    let mut a = VeDmaXfer {
        vh_addr: vh,
        ve_addr: VE,
        len,
        flags: uapi::VE_DMA_VE_TO_VH | flags,
        ..Default::default()
    };
    let t = Instant::now();
    sys::ioctl(fd, uapi::VE_DMA_IOC_XFER, &mut a).map_err(|e| format!("XFER: {}", errname(e)))?;
    Ok(t.elapsed().as_nanos() as f64)
}

/// Median and 99th percentile of `v`.
fn p50_p99(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(|x, y| x.total_cmp(y));
    let n = v.len();
    (v[n / 2], v[(n * 99 / 100).min(n - 1)])
}

/// The module's parameters for the latency table: every size of [`LATENCY_SIZES`] may be copied,
/// and kept in the registration cache.
const LATENCY_PARAMS: &str = "emulator=1 dma_copy_max=32768 dma_cache_mib=16";

/// For each size of [`LATENCY_SIZES`], the median and 99th percentile, ns, of [`LATENCY_RUNS`]
/// transfers VE -> VH each way, alternating: pinned and completed by interrupt only
/// (`VE_DMA_NO_POLL | VE_DMA_NO_COPY | VE_DMA_NO_CACHE`), pinned and polled (`VE_DMA_NO_COPY |
/// VE_DMA_NO_CACHE`), copied through the card's DMA buffer and polled (`VE_DMA_NO_CACHE`,
/// [`LATENCY_PARAMS`]), found in the registration cache and polled (`VE_DMA_NO_COPY`: pinned by
/// the warm-up, then hits). Each is the ioctl, the pages pinned (or the copy, or the lookup), the
/// doorbell, the engine and the completion; 8 bytes pinned and polled is the floor any small
/// pinned transfer stands on.
fn latencies(fd: &OwnedFd, b: &Buffer) -> Result<Vec<[(f64, f64); 4]>, String> {
    let flags = [
        uapi::VE_DMA_NO_POLL | uapi::VE_DMA_NO_COPY | uapi::VE_DMA_NO_CACHE,
        uapi::VE_DMA_NO_COPY | uapi::VE_DMA_NO_CACHE,
        uapi::VE_DMA_NO_CACHE,
        uapi::VE_DMA_NO_COPY,
    ];
    // Warm-up, not measured (TCG translates a freshly loaded module's code on first use).
    for &len in &LATENCY_SIZES {
        for &f in &flags {
            xfer_ns(fd, b.addr(), len, f)?;
        }
    }
    let mut out = Vec::new();
    for &len in &LATENCY_SIZES {
        let mut v: [Vec<f64>; 4] = Default::default();
        for _ in 0..LATENCY_RUNS {
            for (k, &f) in flags.iter().enumerate() {
                v[k].push(xfer_ns(fd, b.addr(), len, f)?);
            }
        }
        out.push(v.map(p50_p99));
    }
    Ok(out)
}

fn usage() -> ! {
    eprintln!(
        "usage: ve_dma_bench [--max-mib N] [--reps N] [--dir ve2vh|vh2ve|both] \
         [--memory anon_4k,anon_4k_fragmented,thp_2m,hugetlb_2m] [--module PATH]"
    );
    std::process::exit(2);
}

fn main() {
    type Alloc = fn(usize) -> Result<Buffer, String>;
    // 4 KiB pages as a fresh guest hands them out (often physically contiguous), 4 KiB pages
    // fragmented on purpose (one descriptor per page), transparent huge pages, hugetlb 2 MiB.
    let all: [(&str, Alloc); 4] = [
        ("anon_4k", |n| Buffer::new(Backing::Anon4k, n)),
        ("anon_4k_fragmented", Buffer::new_fragmented),
        ("thp_2m", |n| Buffer::new(Backing::Thp, n)),
        ("hugetlb_2m", |n| Buffer::new(Backing::Hugetlb2m, n)),
    ];
    let mut max_mib = 256u64;
    let mut reps = 3;
    let mut dirs = vec![false, true];
    let mut backings: Vec<(&str, Alloc)> = all.to_vec();
    let mut module = String::from("/lib/modules/ve_drv.ko");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--max-mib" => max_mib = val().parse().unwrap_or_else(|_| usage()),
            "--reps" => reps = val().parse().unwrap_or_else(|_| usage()),
            "--module" => module = val(),
            "--dir" => {
                dirs = match val().as_str() {
                    "ve2vh" => vec![false],
                    "vh2ve" => vec![true],
                    "both" => vec![false, true],
                    _ => usage(),
                }
            }
            "--memory" => {
                let names = val();
                backings = all
                    .iter()
                    .filter(|(n, _)| names.split(',').any(|w| w == *n))
                    .copied()
                    .collect();
                if backings.len() != names.split(',').count() {
                    usage();
                }
            }
            _ => usage(),
        }
    }
    if max_mib == 0 || reps == 0 {
        usage();
    }
    // NEC's scan: 32 KiB .. 512 KiB, then 1 MiB doubling.
    let mut sizes: Vec<u64> = [32u64, 64, 128, 256, 512].iter().map(|k| k << 10).collect();
    let mut m = 1u64;
    while m <= max_mib {
        sizes.push(m << 20);
        m *= 2;
    }
    let max_len = *sizes.last().unwrap();
    // Data is verified on up to 64 MiB of each buffer after each mode's scan.
    let check_len = max_len.min(64 << 20) as usize;
    let all_modes = [
        Mode::Legacy,
        Mode::Bulk,
        Mode::Kernel,
        Mode::Library,
        Mode::Cached,
    ];
    let mut t = Tap::new("ve_dma_bench", 4 + all_modes.len() * backings.len());
    let buffers: Result<Vec<Buffer>, String> =
        backings.iter().map(|(_, a)| a(max_len as usize)).collect();
    let (buffers, c) = match (buffers, EmuBar::open()) {
        (Ok(b), Ok(c)) => (b, c),
        (b, c) => t.bail(
            "buffers and the emulator's counters",
            format!("{:?} {:?}", b.err(), c.err()),
        ),
    };
    let held = pins_held();
    let mut results: BTreeMap<Key, Sample> = BTreeMap::new();
    let mut checks: BTreeMap<(Mode, usize), Result<(), String>> = BTreeMap::new();
    // Small-transfer latencies, completion by interrupt only and polled.
    let mut small = Err(String::from("not measured"));
    let total = all_modes.len() * buffers.len() * dirs.len() * sizes.len();
    let mut done = 0usize;
    // SAFETY: isatty only inspects the descriptor.
    let tty = unsafe { libc::isatty(2) } == 1;
    let mut ok = Ok(());
    // The cache holds the largest buffer of both directions.
    let cached = format!("emulator=1 dma_cache_mib={}", 2 * max_mib + 16);
    for (params, modes) in [
        (
            "emulator=1 user_pdma=1",
            [Mode::Legacy, Mode::Bulk, Mode::Kernel, Mode::Library].as_slice(),
        ),
        (LATENCY_PARAMS, [].as_slice()),
        (cached.as_str(), [Mode::Cached].as_slice()),
    ] {
        let r = (|| {
            sys::insmod(&module, params).map_err(|e| format!("insmod {params}: {}", errname(e)))?;
            let run = (|| {
                let fd = sys::open_rw("/dev/ve0").map_err(|e| format!("open: {}", errname(e)))?;
                if modes.is_empty() {
                    small = latencies(&fd, &buffers[0]);
                    return Ok(());
                }
                let lib = if modes.contains(&Mode::Library) {
                    Some(Lib::open(&fd)?)
                } else {
                    None
                };
                let mut d = Drivers { lib, eng: None, fd };
                // Warm-up, not measured: the first calls into a freshly loaded module run code
                // TCG has not translated yet, milliseconds each.
                for &mode in modes {
                    for &to_ve in &dirs {
                        for len in [sizes[0], 1 << 20] {
                            for _ in 0..4 {
                                run_once(
                                    d.ready(mode)?,
                                    mode,
                                    &c,
                                    to_ve,
                                    buffers[0].addr(),
                                    len.min(max_len),
                                )?;
                            }
                        }
                    }
                }
                for (bi, b) in buffers.iter().enumerate() {
                    for &to_ve in &dirs {
                        for &len in &sizes {
                            if modes.contains(&Mode::Cached) {
                                // The miss that fills the cache, not measured.
                                run_once(
                                    d.ready(Mode::Cached)?,
                                    Mode::Cached,
                                    &c,
                                    to_ve,
                                    b.addr(),
                                    len,
                                )?;
                            }
                            // Each repetition runs every mode once, in turn.
                            let mut v: BTreeMap<Mode, Vec<Sample>> = BTreeMap::new();
                            for _ in 0..reps {
                                for &mode in modes {
                                    let s =
                                        run_once(d.ready(mode)?, mode, &c, to_ve, b.addr(), len)?;
                                    v.entry(mode).or_default().push(s);
                                }
                            }
                            for (mode, mut v) in v {
                                v.sort_by(|x, y| x.wall.total_cmp(&y.wall));
                                results.insert((bi, to_ve, len, mode), v[v.len() / 2]);
                                done += 1;
                            }
                            // The progress line (stderr, not the results): rewritten in place
                            // on a terminal, one line per scan on a serial log.
                            if tty {
                                eprint!(
                                    "\rve_dma_bench: {done}/{total} {} {} {} KiB    ",
                                    backings[bi].0,
                                    if to_ve { "vh2ve" } else { "ve2vh" },
                                    len >> 10
                                );
                            }
                        }
                        if !tty {
                            eprintln!(
                                "ve_dma_bench: {done}/{total} {modes:?} {} {} done",
                                backings[bi].0,
                                if to_ve { "vh2ve" } else { "ve2vh" },
                            );
                        }
                    }
                    for &mode in modes {
                        let seed = (mode as u64) << 32 | bi as u64;
                        let r = d
                            .ready(mode)
                            .and_then(|d| verify(d, mode, &c, b, check_len, seed));
                        checks.insert((mode, bi), r);
                    }
                }
                if tty {
                    eprintln!();
                }
                Ok::<(), String>(())
            })();
            let rm = sys::rmmod("ve_drv").map_err(|e| format!("rmmod: {}", errname(e)));
            run.and(rm)
        })();
        if r.is_err() {
            ok = r;
            break;
        }
    }
    t.diag("DMA bandwidth, MiB/s (median of the runs). TCG guest against a native emulator: not hardware numbers;");
    t.diag("guest CPU work runs about 18x slower than on a real VH while the emulator copies natively.");
    t.diag("legacy and bulk are NEC's user-space managers run on this driver's pin ioctls, not NEC's vp.ko: see the");
    t.diag("pinning micro-benchmark for their ns/page here; vp.ko's (docs/nec-abi.md, \"NEC's vp.ko, measured here\": gup_test 228 ns/page in");
    t.diag("those boots) are 1328 ns/page bulk and 4777 ns/page one page at a time, pin + release: this driver's one-page");
    t.diag("ioctls are about as fast, its bulk ioctls slower (so bulk here is, if anything, slower than with vp.ko).");
    t.diag("raw = the engine's busy time for the kernel manager's descriptors.");
    t.diag("kernel (cached) = the kernel manager with dma_cache_mib set, after one unmeasured transfer of the same bytes: no pinning; cached/raw = its engine busy time over its wall time.");
    t.diag("library = VEOS's ve_dma_xfer_p_va through libvedma (lib/vedma) on the kernel manager; library/kernel = its rate over kernel's.");
    t.diag("CPU = this process's user + system time per GiB moved (pinning, posting, waiting's overhead).");
    t.diag("legacy model = its CPU time + the engine's busy time, serial as VEOS 1.2.2 pins everything before posting.");
    let floor_v = small.as_ref().ok().map(|v| v[0][1].0);
    match floor_v {
        Some(f) => t.diag(&format!(
            "small-transfer floor (8 bytes pinned, one descriptor, ioctl to completion, polled; median of {LATENCY_RUNS}): {:.1} us",
            f / 1e3
        )),
        None => t.diag("small-transfer floor: not measured"),
    }
    // Small transfers, VE -> VH: pinned by interrupt only, pinned and polled, copied and polled,
    // cached and polled, alternating in one load of the module.
    if let Ok(v) = &small {
        t.diag(&format!(
            "small transfers, ve2vh, us ({LATENCY_RUNS} each way, alternating, module loaded with {LATENCY_PARAMS}; p99: 99th percentile):"
        ));
        t.diag("| bytes | pinned, interrupt p50 | p99 | pinned, polled p50 | p99 | copied, polled p50 | p99 | cached, polled p50 | p99 | polled/interrupt p50 | copied/pinned p50 | cached/pinned p50 | best/floor p50 |");
        t.diag("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        let floor = v[0][1].0;
        for (x, len) in v.iter().zip(LATENCY_SIZES) {
            let [irq, pol, copy, hit] = *x;
            t.diag(&format!(
                "| {len} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.2} | {:.2} | {:.2} | {:.2} |",
                irq.0 / 1e3,
                irq.1 / 1e3,
                pol.0 / 1e3,
                pol.1 / 1e3,
                copy.0 / 1e3,
                copy.1 / 1e3,
                hit.0 / 1e3,
                hit.1 / 1e3,
                pol.0 / irq.0,
                copy.0 / pol.0,
                hit.0 / pol.0,
                pol.0.min(copy.0).min(hit.0) / floor,
            ));
        }
    }
    for (bi, (bname, _)) in backings.iter().enumerate() {
        for &to_ve in &dirs {
            let dir = if to_ve { "vh2ve" } else { "ve2vh" };
            t.diag(&format!("{bname} {dir}:"));
            t.diag("| buff kb | legacy MiB/s | bulk MiB/s | kernel MiB/s | raw MiB/s | kernel/raw | kernel/bulk | kernel/legacy | descriptors legacy/bulk/kernel | CPU ms/GiB legacy/bulk/kernel | legacy model/measured | kernel/floor | library MiB/s | library/kernel | kernel (cached) MiB/s | cached/raw | cached CPU us/transfer |");
            t.diag("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            for &len in &sizes {
                let get = |m| results.get(&(bi, to_ve, len, m)).copied();
                let (Some(l), Some(b), Some(k)) =
                    (get(Mode::Legacy), get(Mode::Bulk), get(Mode::Kernel))
                else {
                    continue;
                };
                let per_gib = |s: Sample| s.cpu / 1e6 * (1u64 << 30) as f64 / len as f64;
                let lib = get(Mode::Library);
                let cached = get(Mode::Cached);
                t.diag(&format!(
                    "| {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} | {}/{}/{} | {:.0}/{:.0}/{:.0} | {:.2} | {} | {} | {} | {} | {} | {} |",
                    len >> 10,
                    mibs(len, l.wall),
                    mibs(len, b.wall),
                    mibs(len, k.wall),
                    mibs(len, k.busy),
                    k.busy / k.wall,
                    b.wall / k.wall,
                    l.wall / k.wall,
                    l.descs,
                    b.descs,
                    k.descs,
                    per_gib(l),
                    per_gib(b),
                    per_gib(k),
                    (l.cpu + l.busy) / l.wall,
                    floor_v.map_or(String::from("-"), |f| format!("{:.2}", k.wall / f)),
                    lib.map_or(String::from("-"), |x| format!("{:.0}", mibs(len, x.wall))),
                    lib.map_or(String::from("-"), |x| format!("{:.3}", k.wall / x.wall)),
                    cached.map_or(String::from("-"), |x| format!("{:.0}", mibs(len, x.wall))),
                    cached.map_or(String::from("-"), |x| format!("{:.2}", x.busy / x.wall)),
                    cached.map_or(String::from("-"), |x| format!("{:.0}", x.cpu / 1e3)),
                ));
            }
        }
    }
    // The library's cost over the kernel's, one figure: geometric mean of library/kernel over
    // every memory type and direction at >= 1 MiB.
    let ratios: Vec<f64> = results
        .iter()
        .filter(|((_, _, len, m), _)| *m == Mode::Library && *len >= 1 << 20)
        .filter_map(|(&(bi, to_ve, len, _), x)| {
            results
                .get(&(bi, to_ve, len, Mode::Kernel))
                .map(|k| k.wall / x.wall)
        })
        .collect();
    if !ratios.is_empty() {
        let g = (ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len() as f64).exp();
        t.diag(&format!(
            "library/kernel at >= 1 MiB, geometric mean of {} points: {g:.3}",
            ratios.len()
        ));
    }
    t.result("every mode ran every transfer", ok);
    t.result(
        "results for every size",
        if results.len() == total {
            Ok(())
        } else {
            Err(format!("{} of {total} results", results.len()))
        },
    );
    t.result(
        "small-transfer latencies measured, by interrupt and polled",
        small.map(|_| ()),
    );
    for mode in all_modes {
        for (bi, (bname, _)) in backings.iter().enumerate() {
            t.result(
                &format!(
                    "{mode:?} {bname}: {} MiB back and forth, every byte compared",
                    check_len >> 20
                ),
                checks
                    .remove(&(mode, bi))
                    .unwrap_or_else(|| Err(String::from("not run"))),
            );
        }
    }
    t.result(
        "nothing left pinned",
        if pins_held() == held {
            Ok(())
        } else {
            Err(format!("{} pins held", pins_held() - held))
        },
    );
    std::process::exit(t.finish());
}
