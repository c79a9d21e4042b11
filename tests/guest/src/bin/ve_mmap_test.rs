// SPDX-License-Identifier: GPL-2.0

//! ve_mmap_test: NEC's mmap windows of `/dev/ve0` without `user_pdma` (docs/design.md, "Register
//! mappings"). The CR, register and VE memory windows map at NEC's file offsets; VEOS's mappings
//! at libved's offsets (each enabled core's user and system registers, the system-common
//! registers twice, one BAR0 page) reach the emulator's BAR2 (checked through sysfs
//! `resource2`); the privileged DMA pages of the system-common registers are withheld (SIGBUS)
//! while the kernel manager runs DMA, and the kernel manager moves data while VEOS's mappings
//! exist; bad offsets, straddling and oversize mappings, `MAP_PRIVATE`, `PROT_EXEC` and
//! unprivileged callers get NEC's errnos (and this driver's `EPERM` without `CAP_SYS_RAWIO`);
//! NEC's owners by uid of CR pages and PCIATB entries (`ASSIGN_CR`, `ASSIGN_VEMEM` and their
//! `UNASSIGN`) let an ordinary user's faults map those pages, `UNMAP` revokes them, zapping
//! exactly the range asked; unbind zaps live mappings; nothing stays pinned.
//!
//! ```text
//! ve_mmap_test [--module PATH]
//! ```
//! Loads and unloads `ve_drv.ko` itself.

use std::os::fd::OwnedFd;

use ve_guest::{
    emubar::{
        self,
        EmuBar, //
    },
    hw::{
        emu,
        pci_id,
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
    mem::{
        Backing,
        Buffer,
        Mapping, //
    },
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
    userdma::{
        map_raw,
        map_with, //
    },
};

type R = Result<(), String>;
const NODE: &str = "/dev/ve0";
const CLASS_DIR: &str = "/sys/class/ve/ve0";
const EMU_DRIVER: &str = "ve_drv_emu";
const PAGE: usize = 4096;
/// `TAINT_USER` ('U'), bit 6 of /proc/sys/kernel/tainted.
const TAINT_USER: u64 = 1 << 6;

/// The system-common registers' file offset (libved's `vedl_mmap_cnt_reg`).
const SCR_MAP: u64 = ve1::MAP_REGS + ve1::SCR_OFFSET as u64;

/// One window as the emulator has it: file offset, size, where it is in BAR2.
struct Win {
    name: &'static str,
    file: u64,
    size: usize,
    bar2: usize,
}

/// NEC's three VE1 windows on the emulator (src/chip.rs, `EMULATOR`).
const WINDOWS: [Win; 3] = [
    Win {
        name: "CR (BAR3)",
        file: ve1::MAP_CR,
        size: emu::CR_AREA_SIZE,
        bar2: emu::CR_AREA,
    },
    Win {
        name: "registers (BAR2)",
        file: ve1::MAP_REGS,
        size: emu::VE1_BAR2_SIZE,
        bar2: 0,
    },
    Win {
        name: "VE memory (BAR0)",
        file: ve1::MAP_VEMEM,
        size: emu::VEMEM_AREA_SIZE,
        bar2: emu::VEMEM_AREA,
    },
];

/// The kernel's taint bits.
fn tainted() -> Result<u64, String> {
    std::fs::read_to_string("/proc/sys/kernel/tainted")
        .map_err(|e| format!("tainted: {e}"))?
        .trim()
        .parse()
        .map_err(|e| format!("tainted: {e}"))
}

/// The u64 at byte `off` of `m`.
fn word(m: &Mapping, off: usize) -> *mut u64 {
    assert!(off % 8 == 0 && off + 8 <= m.len());
    // SAFETY: an aligned word inside the mapping (checked above).
    unsafe { m.ptr().add(off).cast::<u64>() }
}

fn get(m: &Mapping, off: usize) -> u64 {
    // SAFETY: an aligned word of a live shared mapping.
    unsafe { word(m, off).read_volatile() }
}

fn set(m: &Mapping, off: usize, v: u64) {
    // SAFETY: as in `get`.
    unsafe { word(m, off).write_volatile(v) }
}

/// A word written through `m` at `off` reads back at `bar2_off` of the emulator's BAR2, and the
/// other way round.
fn lands(what: &str, m: &Mapping, off: usize, bar2: &Mapping, bar2_off: usize) -> R {
    let tag = 0x5645_0000_0000_0000 | ((bar2_off as u64) << 8) | 0x5a;
    set(m, off, tag);
    ensure_eq(
        &format!("{what}: written, read in BAR2"),
        get(bar2, bar2_off),
        tag,
    )?;
    set(bar2, bar2_off, !tag);
    ensure_eq(&format!("{what}: written in BAR2, read"), get(m, off), !tag)
}

/// Whether reading (or writing, with `write`) the word at `off` of a mapping of `len` bytes at
/// file offset `file` of `fd`, made in a child (mappings are not inherited: VM_DONTCOPY), kills
/// the child with SIGBUS.
fn faults(fd: &OwnedFd, file: u64, len: usize, off: usize, write: bool) -> Result<bool, String> {
    let status = sys::child_status(|| {
        let Ok(m) = map_raw(fd, file, len) else {
            return 1;
        };
        if write {
            set(&m, off, 0x1234);
        } else {
            let _ = get(&m, off);
        }
        0
    })
    .map_err(errname)?;
    if sys::died_of(status, libc::SIGBUS) {
        return Ok(true);
    }
    ensure(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        || format!("child status {status:#x}"),
    )?;
    Ok(false)
}

/// The card's enabled physical cores, from sysfs as VEOS reads them (`cores_enable`,
/// `num_of_core`).
fn enabled_cores() -> Result<Vec<usize>, String> {
    let read = |a: &str| {
        std::fs::read_to_string(format!("{CLASS_DIR}/{a}"))
            .map(|s| s.trim().to_string())
            .map_err(|e| format!("{a}: {e}"))
    };
    let mask = u32::from_str_radix(read("cores_enable")?.trim_start_matches("0x"), 16)
        .map_err(|e| format!("cores_enable: {e}"))?;
    let n: u32 = read("num_of_core")?
        .parse()
        .map_err(|e| format!("num_of_core: {e}"))?;
    ensure_eq("num_of_core = enabled cores", n, mask.count_ones())?;
    ensure(n > 0 && n <= 16, || format!("{n} cores"))?;
    Ok((0..16).filter(|c| mask & (1 << c) != 0).collect())
}

struct Fx {
    module: String,
    /// Pages pinned before the program.
    held: i64,
    fd: Option<OwnedFd>,
    bar2: Option<Mapping>,
    cores: Vec<usize>,
    /// VEOS's mappings: per core user and system registers, the SCR twice, a BAR0 page.
    veos: Vec<(String, Mapping)>,
    /// The emulator presents a VE3.
    ve3: bool,
}

impl Fixture for Fx {}

fn opened(fd: &Option<OwnedFd>) -> Result<&OwnedFd, String> {
    fd.as_ref().ok_or_else(|| "/dev/ve0 is not open".into())
}

fn bar2_of(fx: &Fx) -> Result<&Mapping, String> {
    fx.bar2
        .as_ref()
        .ok_or_else(|| "resource2 is not mapped".into())
}

fn insmod(fx: &mut Fx) -> R {
    sys::insmod(&fx.module, "emulator=1").map_err(errname)
}

fn open_node(fx: &mut Fx) -> R {
    fx.fd = Some(sys::open_rw(NODE).map_err(errname)?);
    fx.bar2 = Some(emubar::map_bar2(0, emu::BAR2_SIZE)?);
    Ok(())
}

fn cores(fx: &mut Fx) -> R {
    fx.cores = enabled_cores()?;
    diag(&format!("enabled cores: {:?}", fx.cores));
    Ok(())
}

/// VEOS's start-up mappings (reference 7.1): for each enabled core its user and system
/// registers (512 KiB each), the system-common registers twice (2 MiB), one BAR0 page; each
/// reaches the emulator's BAR2 where NEC's layout puts it.
fn veos_mappings(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    let bar2 = bar2_of(fx)?;
    let mut maps = Vec::new();
    for &c in &fx.cores {
        let base = c * ve1::CORE_AREA;
        for (what, off, size) in [
            ("user", base + ve1::UREG_OFFSET, ve1::UREG_SIZE),
            ("system", base + ve1::SREG_OFFSET, ve1::SREG_SIZE),
        ] {
            let name = format!("core {c} {what} registers");
            let m = map_raw(fd, ve1::MAP_REGS + off as u64, size)
                .map_err(|e| format!("{name}: {}", errname(e)))?;
            ensure_eq(&format!("{name}: size"), m.len(), 0x8_0000)?;
            lands(&format!("{name}, first word"), &m, 0, bar2, off)?;
            lands(
                &format!("{name}, last word"),
                &m,
                size - 8,
                bar2,
                off + size - 8,
            )?;
            maps.push((name, m));
        }
    }
    for k in 0..2 {
        let name = format!("system-common registers #{k}");
        let m = map_raw(fd, SCR_MAP, scr::SIZE).map_err(|e| format!("{name}: {}", errname(e)))?;
        // SYNC/DMYWR (page 0), PCIATBA (0x70000) and the last CR cluster word.
        for off in [0x408, 0x7_0000, scr::SIZE - 8] {
            lands(&name, &m, off, bar2, ve1::SCR_OFFSET + off)?;
        }
        maps.push((name, m));
    }
    // Both SCR mappings see the same registers.
    set(&maps[maps.len() - 2].1, 0x6_0000, 0xabcd);
    ensure_eq(
        "PCIATB through the other SCR mapping",
        get(&maps[maps.len() - 1].1, 0x6_0000),
        0xabcd,
    )?;
    let m = map_raw(fd, ve1::MAP_VEMEM, PAGE).map_err(|e| format!("BAR0 page: {}", errname(e)))?;
    lands("BAR0 page", &m, 0, bar2, emu::VEMEM_AREA)?;
    maps.push(("BAR0 page".into(), m));
    fx.veos = maps;
    Ok(())
}

/// Each window maps whole at its size and reaches its region of the emulator's BAR2; a page
/// more is `EINVAL` (or, for a window inside another, the outer window's).
fn whole_windows(fx: &mut Fx) -> R {
    whole_windows_of(fx, &WINDOWS)
}

/// [`whole_windows`] over `windows`.
fn whole_windows_of(fx: &mut Fx, windows: &[Win]) -> R {
    let fd = opened(&fx.fd)?;
    let bar2 = bar2_of(fx)?;
    for w in windows {
        let m = map_raw(fd, w.file, w.size).map_err(|e| format!("{}: {}", w.name, errname(e)))?;
        // The register window's first page: core 0's user registers (not the identification
        // block, which is in no window).
        lands(&format!("{}, first word", w.name), &m, 0, bar2, w.bar2)?;
        lands(
            &format!("{}, last word", w.name),
            &m,
            w.size - 8,
            bar2,
            w.bar2 + w.size - 8,
        )?;
        drop(m);
        let more = map_raw(fd, w.file, w.size + PAGE).map(drop);
        // A window inside another (VE3's CR part of BAR4): a page more is the outer one's.
        let outer = windows
            .iter()
            .any(|o| o.file <= w.file && w.file + (w.size + PAGE) as u64 <= o.file + o.size as u64);
        if outer {
            more.map_err(|e| format!("{} and a page more: {}", w.name, errname(e)))?;
        } else {
            ensure_errno(&format!("{} and a page more", w.name), more, libc::EINVAL)?;
        }
    }
    ensure(get(bar2, emu::BLOCK) == emu::MAGIC, || {
        "the identification block was overwritten".into()
    })
}

/// The flags of the mapping at `addr` in /proc/self/smaps.
fn vm_flags(addr: u64) -> Result<Vec<String>, String> {
    let smaps = std::fs::read_to_string("/proc/self/smaps").map_err(|e| format!("smaps: {e}"))?;
    let head = format!("{addr:x}-");
    let mut lines = smaps.lines().skip_while(|l| !l.starts_with(&head));
    lines.next().ok_or_else(|| format!("{head} not in smaps"))?;
    let flags = lines
        .find_map(|l| l.strip_prefix("VmFlags:"))
        .ok_or("no VmFlags")?;
    Ok(flags.split_whitespace().map(String::from).collect())
}

/// The mappings are shared uncached I/O PFN mappings, not copied on fork, not grown, not
/// dumped, never executable (no `mayexec`).
fn mapping_flags(fx: &mut Fx) -> R {
    for (name, m) in &fx.veos {
        let f = vm_flags(m.addr())?;
        for want in ["io", "pf", "dc", "de", "dd", "sh"] {
            ensure(f.iter().any(|x| x == want), || {
                format!("{name}: VmFlags {f:?} lack {want}")
            })?;
        }
        for not in ["ex", "me"] {
            ensure(!f.iter().any(|x| x == not), || {
                format!("{name}: VmFlags {f:?} have {not}")
            })?;
        }
    }
    Ok(())
}

/// The withheld pages fault (SIGBUS, reads and writes, through an SCR mapping and through a
/// mapping of the whole register window) while the kernel manager has a request on the engine;
/// every other SCR page maps; the request then completes with its data.
fn withheld_while_dma(fx: &mut Fx) -> R {
    withheld_while_dma_of(
        fx,
        Scr {
            map: SCR_MAP,
            size: scr::SIZE,
            withheld: scr::WITHHELD,
            regs: (ve1::MAP_REGS, emu::VE1_BAR2_SIZE),
            in_regs: ve1::SCR_OFFSET,
        },
    )
}

/// Where a card's system-common block maps, and the register window around it.
#[derive(Copy, Clone)]
struct Scr {
    /// File offset and size of the block.
    map: u64,
    size: usize,
    /// Its withheld pages, relative to it.
    withheld: [usize; 4],
    /// The register window that holds it (file offset, size), and where in it the block starts.
    regs: (u64, usize),
    in_regs: usize,
}

/// [`withheld_while_dma`] for the block `s`.
fn withheld_while_dma_of(fx: &mut Fx, s: Scr) -> R {
    let fd = opened(&fx.fd)?;
    ensure(!fx.veos.is_empty(), || "VEOS's mappings are gone".into())?;
    let emu = EmuBar::open()?;
    let len = 1 << 20;
    let src = Buffer::new(Backing::Anon4k, len)?;
    let dst = Buffer::new(Backing::Anon4k, len)?;
    // SAFETY: both buffers are `len` bytes, a multiple of 8.
    unsafe {
        ve_guest::dma::fill(src.ptr, len, 0x77);
        ve_guest::dma::fill(dst.ptr, len, !0x77);
    }
    let descs0 = emu.get(emu::OFF_CNT_DESCS);
    let stall = emu.stall(fd);
    let id = ve_guest::dma::submit(fd, true, src.addr(), 0x400_0000, len as u64);
    let mut r: R = (|| {
        let id = id.map_err(|e| format!("SUBMIT: {}", errname(e)))?;
        diag(&format!("request {id} on the stalled engine"));
        for p in s.withheld {
            for write in [false, true] {
                ensure(faults(fd, s.map, s.size, p, write)?, || {
                    format!("SCR + {p:#x} (write {write}) did not fault")
                })?;
                let (regs, size) = s.regs;
                ensure(faults(fd, regs, size, s.in_regs + p, write)?, || {
                    format!("register window + SCR + {p:#x} (write {write}) did not fault")
                })?;
            }
        }
        // Every other page of the block maps (one read per page, in a child).
        let status = sys::child_status(|| {
            let Ok(m) = map_raw(fd, s.map, s.size) else {
                return 1;
            };
            for p in (0..s.size).step_by(PAGE) {
                if !s.withheld.contains(&p) {
                    let _ = get(&m, p);
                }
            }
            0
        })
        .map_err(errname)?;
        ensure_eq("reading every other SCR page (wait status)", status, 0)
    })();
    let released = stall.release();
    if let Ok(id) = id {
        let done = ve_guest::dma::wait_ok(fd, id);
        r = r.and(done.map(drop));
    }
    r?;
    released?;
    ensure(emu.get(emu::OFF_CNT_DESCS) > descs0, || {
        "the engine ran no descriptor".into()
    })?;
    ve_guest::dma::xfer(fd, false, dst.addr(), 0x400_0000, len as u64)
        .map_err(|(e, _)| format!("XFER back: {}", errname(e)))?;
    // SAFETY: both buffers are `len` bytes, no transfer in flight.
    unsafe { ve_guest::dma::same(src.ptr, dst.ptr, len) }
}

/// The kernel manager moves data (VH -> VE -> VH, 4 KiB pages and 2 MiB pages, compared) while
/// VEOS's mappings exist; nothing taints the kernel.
fn kernel_dma_with_mappings(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    ensure(!fx.veos.is_empty(), || "VEOS's mappings are gone".into())?;
    for backing in [Backing::Anon4k, Backing::Hugetlb2m] {
        let len = 4 << 20;
        let a = Buffer::new(backing, len)?;
        let b = Buffer::new(backing, len)?;
        // SAFETY: both buffers are `len` bytes, a multiple of 8, used by nothing else.
        unsafe { ve_guest::dma::xfer_round_trip(fd, a.ptr, b.ptr, len, 0x800_0000, 0x31) }
            .map_err(|e| format!("{}: {e}", backing.name()))?;
    }
    // VEOS's register accesses still work alongside.
    let bar2 = bar2_of(fx)?;
    let scr_in_bar2 = if fx.ve3 {
        emu::VE3_BAR4_IMAGE + ve3::SCR_OFFSET
    } else {
        ve1::SCR_OFFSET
    };
    lands(
        "SCR page 0 after DMA",
        &fx.veos[fx.veos.len() - 3].1,
        0x408,
        bar2,
        scr_in_bar2 + 0x408,
    )?;
    ensure_eq("taint U", tainted()? & TAINT_USER, 0)
}

/// `EINVAL` for offsets in no window, mappings straddling a window's start or end, private and
/// executable mappings in every window; `mprotect` to executable is `EACCES`.
fn bad_input(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    let rw = libc::PROT_READ | libc::PROT_WRITE;
    for off in [
        0x0800_0000u64,
        ve1::MAP_REGS + emu::VE1_BAR2_SIZE as u64,
        ve1::MAP_VEMEM + emu::VEMEM_AREA_SIZE as u64,
        0x3000_0000,
        0x1_0000_0000,
        0x7fff_ffff_f000_0000,
    ] {
        ensure_errno(
            &format!("offset {off:#x}"),
            map_raw(fd, off, PAGE).map(drop),
            libc::EINVAL,
        )?;
    }
    for w in &WINDOWS {
        let end = w.file + w.size as u64;
        ensure_errno(
            &format!("{}: across its end", w.name),
            map_raw(fd, end - PAGE as u64, 2 * PAGE).map(drop),
            libc::EINVAL,
        )?;
        if w.file >= PAGE as u64 {
            ensure_errno(
                &format!("{}: across its start", w.name),
                map_raw(fd, w.file - PAGE as u64, 2 * PAGE).map(drop),
                libc::EINVAL,
            )?;
        }
        ensure_errno(
            &format!("{}: MAP_PRIVATE", w.name),
            map_with(fd, w.file, PAGE, rw, libc::MAP_PRIVATE).map(drop),
            libc::EINVAL,
        )?;
        ensure_errno(
            &format!("{}: PROT_EXEC", w.name),
            map_with(
                fd,
                w.file,
                PAGE,
                libc::PROT_READ | libc::PROT_EXEC,
                libc::MAP_SHARED,
            )
            .map(drop),
            libc::EINVAL,
        )?;
        let m = map_raw(fd, w.file, PAGE).map_err(errname)?;
        // SAFETY: changes the protections of a live mapping; refused.
        let r = unsafe { libc::mprotect(m.ptr().cast(), PAGE, libc::PROT_READ | libc::PROT_EXEC) };
        ensure_errno(
            &format!("{}: mprotect PROT_EXEC", w.name),
            if r == 0 { Ok(()) } else { Err(sys::errno()) },
            libc::EACCES,
        )?;
    }
    // Not page aligned: the kernel refuses before the driver sees it.
    ensure_errno(
        "offset not page aligned",
        map_raw(fd, SCR_MAP + 8, PAGE).map(drop),
        libc::EINVAL,
    )
}

/// In a child: maps `len` bytes at `off` of a new file of the node; -errno if mmap fails, else
/// 0 if a read of the first word works; a SIGBUS kills it.
fn map_and_touch(off: u64, len: usize) -> i32 {
    let Ok(fd) = sys::open_rw(NODE) else {
        return 99;
    };
    match map_raw(&fd, off, len) {
        Err(e) => e,
        Ok(m) => {
            let _ = get(&m, 0);
            0
        }
    }
}

/// Runs `map_and_touch` for each of VEOS's windows in a child made by `run` (as nobody, or
/// without a capability): the errno of each mmap, 0 where it mapped and read, 200 where the read
/// died of SIGBUS.
fn outcomes(
    run: impl Fn(Box<dyn FnOnce() -> i32>) -> Result<i32, i32>,
) -> Result<[i32; 4], String> {
    outcomes_of(
        [
            (ve1::MAP_REGS, ve1::UREG_SIZE),
            (SCR_MAP, scr::SIZE),
            (ve1::MAP_CR, ve1::CR_PAGE_SIZE),
            (ve1::MAP_VEMEM, PAGE),
        ],
        run,
    )
}

/// [`outcomes`] for the mappings `cases` (file offset, length).
fn outcomes_of(
    cases: [(u64, usize); 4],
    run: impl Fn(Box<dyn FnOnce() -> i32>) -> Result<i32, i32>,
) -> Result<[i32; 4], String> {
    let mut out = [0; 4];
    for (i, (off, len)) in cases.into_iter().enumerate() {
        let code = run(Box::new(move || {
            match sys::child_status(|| map_and_touch(off, len)) {
                Ok(st) if sys::died_of(st, libc::SIGBUS) => 200,
                Ok(st) if libc::WIFEXITED(st) => libc::WEXITSTATUS(st),
                _ => 201,
            }
        }))
        .map_err(errname)?;
        out[i] = code;
    }
    Ok(out)
}

/// Unprivileged callers, NEC's rules: without CAP_SYS_ADMIN the register window is `EACCES`
/// (user registers, the SCR); the CR and VE memory windows map for anyone but their pages fault
/// (SIGBUS: no uid owns them, so only CAP_SYS_ADMIN maps them). Without CAP_SYS_RAWIO (this driver's gate of raw device access) the
/// register window is `EPERM`, the others work.
fn unprivileged(_fx: &mut Fx) -> R {
    let nobody = outcomes(sys::as_nobody)?;
    ensure_eq(
        "nobody: [user registers, SCR, CR page, BAR0 page] (errno, 0 mapped and read, 200 SIGBUS)",
        nobody,
        [libc::EACCES, libc::EACCES, 200, 200],
    )?;
    let no_admin = outcomes(|f| sys::without_cap(sys::CAP_SYS_ADMIN, f))?;
    ensure_eq(
        "root without CAP_SYS_ADMIN: [user registers, SCR, CR page, BAR0 page]",
        no_admin,
        [libc::EACCES, libc::EACCES, 200, 200],
    )?;
    let no_rawio = outcomes(|f| sys::without_cap(sys::CAP_SYS_RAWIO, f))?;
    ensure_eq(
        "root without CAP_SYS_RAWIO: [user registers, SCR, CR page, BAR0 page]",
        no_rawio,
        [libc::EPERM, libc::EPERM, 0, 0],
    )?;
    let root = outcomes(sys::in_child)?;
    ensure_eq(
        "root: [user registers, SCR, CR page, BAR0 page]",
        root,
        [0, 0, 0, 0],
    )
}

// ---- NEC's owners by uid of CR pages and PCIATB entries, and UNMAP ----

/// The user the tests give pages to, and another.
const OWNER: u32 = 1000;
const OTHER: u32 = 1001;
/// The CR page and the PCIATB entry (2 MiB pages) the tests give [`OWNER`].
const CR_PAGE: u64 = 5;
const ENTRY: u64 = 3;
const PCIATB_2M: u64 = 2 << 20;
const PCIATB_64M: u64 = 64 << 20;

/// PCIATBA in the emulator's BAR2: bit 0 selects 64 MiB PCIATB pages.
const PCIATBA_BAR2: usize = ve1::SCR_OFFSET + scr::PCIATBA;

/// File offset of byte `off` of CR page `page`.
fn cr_file(page: u64, off: u64) -> u64 {
    ve1::MAP_CR + page * ve1::CR_PAGE_SIZE as u64 + off
}

/// File offset of byte `off` of PCIATB entry `entry` of `size` bytes.
fn vemem_file(entry: u64, size: u64, off: u64) -> u64 {
    ve1::MAP_VEMEM + entry * size + off
}

/// Where file offset `file` of the CR or VE memory window is in the emulator's BAR2.
fn bar2_at(file: u64) -> usize {
    if file >= ve1::MAP_VEMEM {
        emu::VEMEM_AREA + (file - ve1::MAP_VEMEM) as usize
    } else {
        emu::CR_AREA + (file - ve1::MAP_CR) as usize
    }
}

/// `ASSIGN_CR`/`UNASSIGN_CR` (`cmd`) of `page` to `uid`.
fn cr_ioctl(fd: &OwnedFd, cmd: u32, page: i32, uid: u32) -> Result<i32, i32> {
    let mut a = uapi::VeCrAssign {
        cr_page_num: page,
        owner_uid: uid,
    };
    sys::ioctl(fd, cmd, &mut a)
}

/// `ASSIGN_VEMEM`/`UNASSIGN_VEMEM` (`cmd`) of `entry` to `uid`.
fn vemem_ioctl(fd: &OwnedFd, cmd: u32, entry: i32, uid: u32) -> Result<i32, i32> {
    let mut a = uapi::VePcimemAssign {
        pciatb_entry: entry,
        owner_uid: uid,
    };
    sys::ioctl(fd, cmd, &mut a)
}

/// `UNMAP` of `size` bytes at file offset `offset`.
fn unmap_ioctl(fd: &OwnedFd, offset: i64, size: u64) -> Result<i32, i32> {
    let mut a = uapi::VeUnmap { offset, size };
    sys::ioctl(fd, uapi::VEDRV_CMD_UNMAP, &mut a)
}

/// `r` succeeded with 0.
#[track_caller]
fn ok0(what: &str, r: Result<i32, i32>) -> R {
    ensure_eq(what, r.map_err(errname), Ok(0))
}

/// NEC's errnos of the ownership ioctls and UNMAP: page and entry ranges, a uid that names
/// nobody, CR duplicates EINVAL and VE memory duplicates 0, unassigning what is not assigned 0,
/// EFAULT, UNMAP's overflow check; EPERM for nobody and for root without CAP_SYS_ADMIN.
fn owner_errnos(fx: &mut Fx) -> R {
    use uapi::{
        VEDRV_CMD_ASSIGN_CR as ACR, VEDRV_CMD_ASSIGN_VEMEM as AVM, VEDRV_CMD_UNASSIGN_CR as UCR,
        VEDRV_CMD_UNASSIGN_VEMEM as UVM,
    };
    let fd = opened(&fx.fd)?;
    for cmd in [ACR, UCR] {
        for bad in [-1, i32::MIN, ve1::CR_PAGES as i32, i32::MAX] {
            ensure_errno(
                &format!("CR {cmd:#x}: page {bad}"),
                cr_ioctl(fd, cmd, bad, OWNER),
                libc::EINVAL,
            )?;
        }
        ensure_errno("CR: uid -1", cr_ioctl(fd, cmd, 0, u32::MAX), libc::EINVAL)?;
    }
    for cmd in [AVM, UVM] {
        for bad in [-1, i32::MIN, ve1::PCIATB_ENTRIES as i32, i32::MAX] {
            ensure_errno(
                &format!("VEMEM {cmd:#x}: entry {bad}"),
                vemem_ioctl(fd, cmd, bad, OWNER),
                libc::EINVAL,
            )?;
        }
        ensure_errno(
            "VEMEM: uid -1",
            vemem_ioctl(fd, cmd, 0, u32::MAX),
            libc::EINVAL,
        )?;
    }
    let last_cr = ve1::CR_PAGES as i32 - 1;
    let last_entry = ve1::PCIATB_ENTRIES as i32 - 1;
    ok0("ASSIGN_CR 0 to 1000", cr_ioctl(fd, ACR, 0, OWNER))?;
    ensure_errno(
        "ASSIGN_CR 0 to 1000 again",
        cr_ioctl(fd, ACR, 0, OWNER),
        libc::EINVAL,
    )?;
    ok0("ASSIGN_CR 0 to 1001", cr_ioctl(fd, ACR, 0, OTHER))?;
    ok0("ASSIGN_CR last to 0", cr_ioctl(fd, ACR, last_cr, 0))?;
    ok0("UNASSIGN_CR 0 from 1000", cr_ioctl(fd, UCR, 0, OWNER))?;
    ok0("UNASSIGN_CR 0 from 1000 again", cr_ioctl(fd, UCR, 0, OWNER))?;
    ok0(
        "ASSIGN_CR 0 to 1000 after UNASSIGN",
        cr_ioctl(fd, ACR, 0, OWNER),
    )?;
    for (p, u) in [(0, OWNER), (0, OTHER), (last_cr, 0)] {
        ok0("UNASSIGN_CR", cr_ioctl(fd, UCR, p, u))?;
    }
    ok0(
        "ASSIGN_VEMEM last to 1000",
        vemem_ioctl(fd, AVM, last_entry, OWNER),
    )?;
    ok0(
        "ASSIGN_VEMEM last to 1000 again (NEC: 0)",
        vemem_ioctl(fd, AVM, last_entry, OWNER),
    )?;
    ok0("UNASSIGN_VEMEM", vemem_ioctl(fd, UVM, last_entry, OWNER))?;
    ok0(
        "UNASSIGN_VEMEM again",
        vemem_ioctl(fd, UVM, last_entry, OWNER),
    )?;
    for cmd in [ACR, UCR, AVM, UVM, uapi::VEDRV_CMD_UNMAP] {
        ensure_errno(
            &format!("{cmd:#x} at address 8"),
            sys::ioctl_raw(fd, cmd, 8),
            libc::EFAULT,
        )?;
    }
    for (off, size) in [
        (-1i64, 2u64),
        (0x1000, 0),
        (0x1000, u64::MAX),
        (i64::MIN, 0),
    ] {
        ensure_errno(
            &format!("UNMAP {off:#x} + {size:#x}"),
            unmap_ioctl(fd, off, size),
            libc::EINVAL,
        )?;
    }
    ok0("UNMAP 0 + 0", unmap_ioctl(fd, 0, 0))?;
    ok0(
        "UNMAP of a range nothing maps",
        unmap_ioctl(fd, 0x7000_0000, 1 << 20),
    )?;
    // Ordinary callers: EPERM, with valid arguments.
    let each = || {
        let Ok(fd) = sys::open_rw(NODE) else {
            return 99;
        };
        let results = [
            cr_ioctl(&fd, ACR, 1, OWNER),
            cr_ioctl(&fd, UCR, 1, OWNER),
            vemem_ioctl(&fd, AVM, 1, OWNER),
            vemem_ioctl(&fd, UVM, 1, OWNER),
            unmap_ioctl(&fd, ve1::MAP_CR as i64, 0x1000),
        ];
        results
            .iter()
            .position(|r| *r != Err(libc::EPERM))
            .map_or(0, |i| i as i32 + 1)
    };
    ensure_eq(
        "nobody: first command without EPERM (0: none)",
        sys::as_nobody(each).map_err(errname)?,
        0,
    )?;
    ensure_eq(
        "root without CAP_SYS_ADMIN: first command without EPERM (0: none)",
        sys::without_cap(sys::CAP_SYS_ADMIN, each).map_err(errname)?,
        0,
    )
}

/// In a child with real uid `ruid` and effective uid `euid`: maps the page at file offset
/// `file` through a new open file and writes a tag to its first word. `Ok(true)` if that worked
/// (and the tag landed in the emulator's BAR2), `Ok(false)` if the child died of SIGBUS.
fn touch_as(bar2: &Mapping, ruid: u32, euid: u32, file: u64) -> Result<bool, String> {
    let tag = 0x4f57_0000_0000_0000 | (u64::from(ruid) << 32) | file;
    let code = sys::as_user(ruid, euid, || {
        match sys::child_status(|| {
            let Ok(fd) = sys::open_rw(NODE) else {
                return 99;
            };
            let Ok(m) = map_raw(&fd, file, PAGE) else {
                return 98;
            };
            set(&m, 0, tag);
            0
        }) {
            Ok(st) if sys::died_of(st, libc::SIGBUS) => 200,
            Ok(st) if libc::WIFEXITED(st) => libc::WEXITSTATUS(st),
            _ => 201,
        }
    })
    .map_err(errname)?;
    match code {
        200 => Ok(false),
        0 => {
            ensure_eq(
                &format!("uid {ruid}/{euid}: tag at {file:#x} in BAR2"),
                get(bar2, bar2_at(file)),
                tag,
            )?;
            Ok(true)
        }
        c => Err(format!("uid {ruid}/{euid} at {file:#x}: child exit {c}")),
    }
}

/// Expects `touch_as` to map (`want`) or die of SIGBUS.
#[track_caller]
fn expect_touch(bar2: &Mapping, ruid: u32, euid: u32, file: u64, want: bool) -> R {
    let got = touch_as(bar2, ruid, euid, file)?;
    ensure(got == want, || {
        format!(
            "uid {ruid} (euid {euid}) at file offset {file:#x}: {}, want {}",
            if got { "mapped" } else { "SIGBUS" },
            if want { "mapped" } else { "SIGBUS" }
        )
    })
}

/// An ordinary user maps a CR page and a VE memory page: SIGBUS before ASSIGN; after ASSIGN
/// for its uid the page of that CR page (both 4 KiB halves of the 8 KiB page) and of that
/// PCIATB entry (first and last page of its 2 MiB) map and writes land in the emulator's BAR2,
/// the neighbouring pages and another uid still SIGBUS; the real uid counts, not the effective
/// one (NEC's `current_uid()`); the PCIATB page size follows PCIATBA bit 0 at the fault (64 MiB
/// pages: the entry is offset / 64 MiB).
fn per_uid_pages(fx: &mut Fx) -> R {
    use uapi::{
        VEDRV_CMD_ASSIGN_CR as ACR, VEDRV_CMD_ASSIGN_VEMEM as AVM, VEDRV_CMD_UNASSIGN_CR as UCR,
        VEDRV_CMD_UNASSIGN_VEMEM as UVM,
    };
    let fd = opened(&fx.fd)?;
    let bar2 = bar2_of(fx)?;
    set(bar2, PCIATBA_BAR2, 0);
    let cr = cr_file(CR_PAGE, 0);
    let vm = vemem_file(ENTRY, PCIATB_2M, 0);
    expect_touch(bar2, OWNER, OWNER, cr, false)?;
    expect_touch(bar2, OWNER, OWNER, vm, false)?;
    ok0("ASSIGN_CR", cr_ioctl(fd, ACR, CR_PAGE as i32, OWNER))?;
    ok0("ASSIGN_VEMEM", vemem_ioctl(fd, AVM, ENTRY as i32, OWNER))?;
    let r = (|| {
        for (file, want) in [
            (cr, true),
            (cr_file(CR_PAGE, 0x1000), true),
            (cr_file(CR_PAGE - 1, 0x1000), false),
            (cr_file(CR_PAGE + 1, 0), false),
            (vm, true),
            (vemem_file(ENTRY, PCIATB_2M, PCIATB_2M - PAGE as u64), true),
            (
                vemem_file(ENTRY - 1, PCIATB_2M, PCIATB_2M - PAGE as u64),
                false,
            ),
            (vemem_file(ENTRY + 1, PCIATB_2M, 0), false),
        ] {
            expect_touch(bar2, OWNER, OWNER, file, want)?;
        }
        for file in [cr, vm] {
            expect_touch(bar2, OTHER, OTHER, file, false)?;
            expect_touch(bar2, 65534, 65534, file, false)?;
            // NEC compares the real uid.
            expect_touch(bar2, OWNER, OTHER, file, true)?;
            expect_touch(bar2, OTHER, OWNER, file, false)?;
        }
        // 64 MiB PCIATB pages: the same offset is entry 0, not owned; entry 1 is.
        set(bar2, PCIATBA_BAR2, 1);
        expect_touch(bar2, OWNER, OWNER, vm, false)?;
        ok0("ASSIGN_VEMEM 1", vemem_ioctl(fd, AVM, 1, OWNER))?;
        expect_touch(bar2, OWNER, OWNER, vemem_file(1, PCIATB_64M, 0), true)?;
        expect_touch(
            bar2,
            OWNER,
            OWNER,
            vemem_file(1, PCIATB_64M, 0) - PAGE as u64,
            false,
        )?;
        set(bar2, PCIATBA_BAR2, 0);
        ok0("UNASSIGN_VEMEM 1", vemem_ioctl(fd, UVM, 1, OWNER))?;
        expect_touch(bar2, OWNER, OWNER, vm, true)
    })();
    set(bar2, PCIATBA_BAR2, 0);
    ok0("UNASSIGN_CR", cr_ioctl(fd, UCR, CR_PAGE as i32, OWNER))?;
    ok0("UNASSIGN_VEMEM", vemem_ioctl(fd, UVM, ENTRY as i32, OWNER))?;
    r?;
    // Unassigned: new faults refuse again.
    expect_touch(bar2, OWNER, OWNER, cr, false)?;
    expect_touch(bar2, OWNER, OWNER, vm, false)
}

/// A child of uid [`OWNER`] holding a touched mapping of one page, which touches it again on
/// request (over two pipes: the guest kernel has no Unix sockets).
struct Held {
    pid: libc::pid_t,
    to: std::fs::File,
    from: std::fs::File,
    reaped: bool,
}

/// A pipe: (read end, write end).
fn pipe() -> Result<(std::fs::File, std::fs::File), String> {
    use std::os::fd::FromRawFd;
    let mut p = [0i32; 2];
    // SAFETY: `p` has room for the two descriptors.
    if unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(errname(sys::errno()));
    }
    // SAFETY: two new descriptors that nothing else owns.
    Ok(unsafe {
        (
            std::fs::File::from_raw_fd(p[0]),
            std::fs::File::from_raw_fd(p[1]),
        )
    })
}

impl Held {
    fn spawn(file: u64) -> Result<Self, String> {
        use std::io::{
            Read,
            Write, //
        };
        let (down_r, down_w) = pipe()?;
        let (up_r, up_w) = pipe()?;
        // SAFETY: the child only runs the loop below and leaves with `_exit`.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(errname(sys::errno()));
        }
        if pid == 0 {
            drop(down_w);
            drop(up_r);
            let (mut rx, mut tx) = (down_r, up_w);
            let code = (|| {
                // SAFETY: plain syscalls in the child.
                let switched = unsafe {
                    libc::setgroups(0, std::ptr::null()) == 0
                        && libc::setresgid(65534, 65534, 65534) == 0
                        && libc::setresuid(OWNER, OWNER, OWNER) == 0
                };
                if !switched {
                    return 2;
                }
                let Ok(fd) = sys::open_rw(NODE) else {
                    return 3;
                };
                let Ok(m) = map_raw(&fd, file, PAGE) else {
                    return 4;
                };
                let mut b = [0u8];
                loop {
                    set(&m, 0, get(&m, 0).wrapping_add(1));
                    if tx.write_all(b"k").is_err() {
                        return 5;
                    }
                    if rx.read_exact(&mut b).is_err() || b[0] == b'q' {
                        return 0;
                    }
                }
            })();
            // SAFETY: leave the child without the parent's destructors.
            unsafe { libc::_exit(code) };
        }
        drop(down_r);
        drop(up_w);
        let mut h = Held {
            pid,
            to: down_w,
            from: up_r,
            reaped: false,
        };
        let mut b = [0u8];
        h.from
            .read_exact(&mut b)
            .map_err(|e| format!("held child at {file:#x} did not map: {e}"))?;
        Ok(h)
    }

    /// Asks the child to touch its page again: `Ok(true)` if it did, `Ok(false)` if it died of
    /// SIGBUS doing it.
    fn touch(&mut self) -> Result<bool, String> {
        use std::io::{
            Read,
            Write, //
        };
        ensure(!self.reaped, || "the held child is gone".into())?;
        self.to
            .write_all(b"g")
            .map_err(|e| format!("to child: {e}"))?;
        let mut b = [0u8];
        if self.from.read_exact(&mut b).is_ok() {
            return Ok(true);
        }
        let mut status = 0;
        // SAFETY: reaps our child.
        unsafe { libc::waitpid(self.pid, &mut status, 0) };
        self.reaped = true;
        ensure(sys::died_of(status, libc::SIGBUS), || {
            format!("held child: status {status:#x}, want death by SIGBUS")
        })?;
        Ok(false)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if !self.reaped {
            // SAFETY: kills and reaps our own child.
            unsafe {
                libc::kill(self.pid, libc::SIGKILL);
                libc::waitpid(self.pid, std::ptr::null_mut(), 0);
            }
        }
    }
}

/// NEC's revocation: UNASSIGN leaves pages already mapped in place (a child of the former owner
/// keeps using them); UNMAP of exactly one window's page range then makes the next access die of
/// SIGBUS, while the other window's page, not in the range, still works; an UNMAP while the
/// uid still owns the page only makes it fault back in.
fn revoke(fx: &mut Fx) -> R {
    use uapi::{
        VEDRV_CMD_ASSIGN_CR as ACR, VEDRV_CMD_ASSIGN_VEMEM as AVM, VEDRV_CMD_UNASSIGN_CR as UCR,
        VEDRV_CMD_UNASSIGN_VEMEM as UVM,
    };
    let fd = opened(&fx.fd)?;
    let bar2 = bar2_of(fx)?;
    set(bar2, PCIATBA_BAR2, 0);
    let cr = cr_file(CR_PAGE, 0);
    let vm = vemem_file(ENTRY, PCIATB_2M, 0);
    ok0("ASSIGN_CR", cr_ioctl(fd, ACR, CR_PAGE as i32, OWNER))?;
    ok0("ASSIGN_VEMEM", vemem_ioctl(fd, AVM, ENTRY as i32, OWNER))?;
    let r = (|| {
        let mut a = Held::spawn(cr)?;
        let mut b = Held::spawn(vm)?;
        // Permitted: zapped, the page faults back in.
        ok0(
            "UNMAP of the CR page, owned",
            unmap_ioctl(fd, cr as i64, ve1::CR_PAGE_SIZE as u64),
        )?;
        ensure(a.touch()?, || "owned CR page after UNMAP".into())?;
        ok0("UNASSIGN_CR", cr_ioctl(fd, UCR, CR_PAGE as i32, OWNER))?;
        ok0("UNASSIGN_VEMEM", vemem_ioctl(fd, UVM, ENTRY as i32, OWNER))?;
        ensure(a.touch()?, || {
            "CR page after UNASSIGN (no zap: NEC's)".into()
        })?;
        ensure(b.touch()?, || "VE memory page after UNASSIGN".into())?;
        ok0(
            "UNMAP of the CR page",
            unmap_ioctl(fd, cr as i64, ve1::CR_PAGE_SIZE as u64),
        )?;
        ensure(!a.touch()?, || {
            "CR page after UNASSIGN + UNMAP: no SIGBUS".into()
        })?;
        ensure(b.touch()?, || {
            "VE memory page after the CR page's UNMAP".into()
        })?;
        ok0(
            "UNMAP of the PCIATB entry",
            unmap_ioctl(fd, vm as i64, PCIATB_2M),
        )?;
        ensure(!b.touch()?, || {
            "VE memory page after UNASSIGN + UNMAP: no SIGBUS".into()
        })
    })();
    let _ = cr_ioctl(fd, UCR, CR_PAGE as i32, OWNER);
    let _ = vemem_ioctl(fd, UVM, ENTRY as i32, OWNER);
    r
}

/// This thread's minor faults so far.
fn minflt() -> i64 {
    // SAFETY: an all-zero `rusage` is valid.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: fills `ru`.
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
    ru.ru_minflt
}

/// For each page of `m`: whether reading its first word needed a page fault (its page table
/// entry was gone). A fault the driver handles counts as a minor fault of the thread
/// (`mm_account_fault`); a present entry needs none. `/proc/self/pagemap` cannot tell: the page
/// walk skips `VM_PFNMAP` mappings.
fn refaults(m: &Mapping) -> Vec<bool> {
    let _ = minflt();
    (0..m.len() / PAGE)
        .map(|p| {
            let before = minflt();
            let _ = get(m, p * PAGE);
            minflt() != before
        })
        .collect()
}

/// UNMAP zaps exactly the pages of the range asked (NEC zaps `[offset, 2 * offset + size - 1)`):
/// four touched pages of the VE memory window (root), UNMAP of the second leaves the first,
/// third and fourth mapped (no fault on the next access), the second faults back in; an
/// unaligned range zaps the two pages it touches; one byte zaps one page; another window's
/// range zaps nothing here; a mapping through another open file is zapped too.
fn unmap_exact(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    let base = ve1::MAP_VEMEM;
    let m = map_raw(fd, base, 4 * PAGE).map_err(errname)?;
    // A second open file (from another thread: NEC's one open file per thread).
    let other = sys::open_rw_other_thread(NODE).map_err(errname)?;
    let m2 = map_raw(&other, base, 4 * PAGE).map_err(errname)?;
    for (what, off, size, want) in [
        ("nothing", 0, 0, [false; 4]),
        (
            "the second page",
            base + 0x1000,
            0x1000,
            [false, true, false, false],
        ),
        (
            "0x1800 + 0x1000",
            base + 0x1800,
            0x1000,
            [false, true, true, false],
        ),
        (
            "the last byte",
            base + 0x3fff,
            1,
            [false, false, false, true],
        ),
        ("all four", base, 0x4000, [true; 4]),
        (
            "the CR window",
            ve1::MAP_CR,
            emu::CR_AREA_SIZE as u64,
            [false; 4],
        ),
    ] {
        let _ = refaults(&m);
        let _ = refaults(&m2);
        let want = want.to_vec();
        ok0(what, unmap_ioctl(fd, off as i64, size))?;
        let mut got = refaults(&m);
        // A stray fault elsewhere (the first call of something) would show as a refault of a
        // present page: where that happened, measure the round once more.
        if got != want {
            diag(&format!("UNMAP of {what}: {got:?}, measuring once more"));
            let _ = refaults(&m);
            let _ = refaults(&m2);
            ok0(what, unmap_ioctl(fd, off as i64, size))?;
            got = refaults(&m);
        }
        ensure_eq(
            &format!("UNMAP of {what}: pages that faulted again"),
            got,
            want.clone(),
        )?;
        ensure_eq(
            &format!("UNMAP of {what}: through another open file"),
            refaults(&m2),
            want,
        )?;
    }
    // Everything faulted back in: no page faults now.
    ensure_eq("after refaulting", refaults(&m), vec![false; 4])
}

/// Unbind with live, touched mappings of every window in a child: afterwards each access faults
/// (SIGBUS), mmap on the old file is `ENODEV`; a rebound card maps again.
fn unbind_live(fx: &mut Fx) -> R {
    fx.veos.clear();
    fx.fd = None;
    let bdf = sys::find_pci(pci_id::VENDOR_REDHAT_QUMRANET, pci_id::DEVICE_IVSHMEM)
        .ok_or("no ivshmem device")?;
    let mut pipe = [0i32; 2];
    let mut back = [0i32; 2];
    // SAFETY: two pipes: the child says it has mapped, the parent says go.
    if unsafe { libc::pipe(pipe.as_mut_ptr()) != 0 || libc::pipe(back.as_mut_ptr()) != 0 } {
        return Err("pipe".into());
    }
    let which = [
        (SCR_MAP, scr::SIZE),
        (ve1::MAP_REGS, ve1::UREG_SIZE),
        (ve1::MAP_CR, ve1::CR_PAGE_SIZE),
        (ve1::MAP_VEMEM, PAGE),
    ];
    let mut deaths = 0;
    for (off, len) in which {
        // SAFETY: the child maps, touches, reports, waits, touches again and exits.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let code = (|| {
                let fd = sys::open_rw(NODE).ok()?;
                let m = map_raw(&fd, off, len).ok()?;
                let _ = get(&m, 0);
                let mut b = [1u8];
                // SAFETY: tell the parent, then wait for its go.
                unsafe {
                    libc::write(pipe[1], b.as_ptr().cast(), 1);
                    libc::read(back[0], b.as_mut_ptr().cast(), 1);
                }
                // The card is unbound: this must fault.
                let _ = get(&m, 0);
                Some(0)
            })()
            .unwrap_or(3);
            // SAFETY: leave the child (reaching here means no SIGBUS).
            unsafe { libc::_exit(code) };
        }
        let mut b = [0u8];
        // SAFETY: reads the child's byte.
        let n = unsafe { libc::read(pipe[0], b.as_mut_ptr().cast(), 1) };
        ensure_eq("child mapped", n, 1)?;
        let old = sys::open_rw(NODE).map_err(errname)?;
        sys::write_file(&format!("/sys/bus/pci/drivers/{EMU_DRIVER}/unbind"), &bdf)
            .map_err(|e| format!("unbind: {}", errname(e)))?;
        let mut status = 0;
        // SAFETY: let the child go, then reap it.
        unsafe {
            libc::write(back[1], b.as_ptr().cast(), 1);
            libc::waitpid(pid, &mut status, 0);
        }
        ensure(sys::died_of(status, libc::SIGBUS), || {
            format!("file offset {off:#x}: child status {status:#x}, want death by SIGBUS")
        })?;
        deaths += 1;
        ensure_errno(
            "mmap on the unbound card's file",
            map_raw(&old, off, len).map(drop),
            libc::ENODEV,
        )?;
        drop(old);
        sys::write_file(&format!("/sys/bus/pci/drivers/{EMU_DRIVER}/bind"), &bdf)
            .map_err(|e| format!("bind: {}", errname(e)))?;
        ensure(sys::wait_for(2000, || sys::exists(NODE)), || {
            format!("{NODE} missing after bind")
        })?;
    }
    // SAFETY: closes our pipe ends.
    unsafe {
        for p in pipe.iter().chain(back.iter()) {
            libc::close(*p);
        }
    }
    diag(&format!("{deaths} stale mappings died of SIGBUS"));
    let fd = sys::open_rw(NODE).map_err(errname)?;
    let m = map_raw(&fd, SCR_MAP, scr::SIZE)
        .map_err(|e| format!("map after rebind: {}", errname(e)))?;
    let _ = get(&m, 0x408);
    fx.fd = Some(fd);
    Ok(())
}

fn nothing_pinned_rmmod(fx: &mut Fx) -> R {
    fx.veos.clear();
    fx.fd = None;
    ensure_eq("pins held", pins_held() - fx.held, 0)?;
    sys::rmmod("ve_drv").map_err(|e| format!("rmmod: {}", errname(e)))
}

// ---- VE3 (the emulator presenting one) ----

/// NEC's VE3 windows on the emulator (src/chip.rs, `EMULATOR_VE3`): BAR4's CR part (anyone's,
/// inside BAR4), BAR4, BAR2/3, VE memory.
const WINDOWS_VE3: [Win; 4] = [
    Win {
        name: "CR part of BAR4",
        file: ve3::MAP_BAR4 + ve3::CR_OFFSET as u64,
        size: ve3::CR_PAGES * ve3::CR_PAGE_SIZE,
        bar2: emu::VE3_BAR4_IMAGE + ve3::CR_OFFSET,
    },
    Win {
        name: "BAR4 registers",
        file: ve3::MAP_BAR4,
        size: ve3::BAR4_SIZE,
        bar2: emu::VE3_BAR4_IMAGE,
    },
    Win {
        name: "BAR2/3 registers",
        file: ve3::MAP_BAR2,
        size: ve3::BAR2_SIZE,
        bar2: emu::VE3_BAR2_IMAGE,
    },
    Win {
        name: "VE memory (BAR0)",
        file: ve3::MAP_VEMEM,
        size: emu::VEMEM_AREA_SIZE,
        bar2: emu::VEMEM_AREA,
    },
];

/// The VE3 system-common block in BAR4 and its withheld pages.
const SCR_VE3: Scr = Scr {
    map: ve3::MAP_BAR4 + ve3::SCR_OFFSET as u64,
    size: ve3::SCR_SIZE,
    withheld: ve3::WITHHELD,
    regs: (ve3::MAP_BAR4, ve3::BAR4_SIZE),
    in_regs: ve3::SCR_OFFSET,
};

/// Where file offset `file` of a VE3 register window is in the emulator's BAR2.
fn ve3_bar2_at(file: u64) -> usize {
    if file >= ve3::MAP_BAR2 {
        emu::VE3_BAR2_IMAGE + (file - ve3::MAP_BAR2) as usize
    } else {
        emu::VE3_BAR4_IMAGE + file as usize
    }
}

/// VEOS's VE3 start-up mappings at libved's VE3 offsets: per enabled core its user and system
/// areas in BAR2/3 (512 KiB each) and BAR4 (a page, and 60 KiB), the system-common blocks of
/// BAR2/3 (2 MiB) and BAR4 (1 MiB, twice), one BAR0 page; each reaches the emulator's BAR2 where
/// NEC's layout puts it.
fn ve3_veos_mappings(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    let bar2 = bar2_of(fx)?;
    let mut maps = Vec::new();
    for &c in &fx.cores {
        for (what, file, size) in [
            (
                "user (BAR2/3)",
                ve3::MAP_BAR2 + (c * 0x10_0000) as u64,
                0x8_0000,
            ),
            (
                "user (BAR4)",
                ve3::MAP_BAR4 + (c * ve3::CORE_AREA) as u64,
                0x1000,
            ),
            (
                "system (BAR2/3)",
                ve3::MAP_BAR2 + (0x8_0000 + c * 0x10_0000) as u64,
                0x8_0000,
            ),
            (
                "system (BAR4)",
                ve3::MAP_BAR4 + (0x1000 + c * ve3::CORE_AREA) as u64,
                0xF000,
            ),
        ] {
            let name = format!("core {c} {what} registers");
            let m = map_raw(fd, file, size).map_err(|e| format!("{name}: {}", errname(e)))?;
            let at = ve3_bar2_at(file);
            lands(&format!("{name}, first word"), &m, 0, bar2, at)?;
            lands(
                &format!("{name}, last word"),
                &m,
                size - 8,
                bar2,
                at + size - 8,
            )?;
            maps.push((name, m));
        }
    }
    let file = ve3::MAP_BAR2 + ve3::BAR2_SCR_OFFSET as u64;
    let m = map_raw(fd, file, 0x20_0000).map_err(|e| format!("BAR2/3 SCR: {}", errname(e)))?;
    lands(
        "BAR2/3 SCR, PCIATBA",
        &m,
        ve3::PCIATBA,
        bar2,
        ve3_bar2_at(file) + ve3::PCIATBA,
    )?;
    maps.push(("BAR2/3 system-common registers".into(), m));
    for k in 0..2 {
        let name = format!("BAR4 system-common registers #{k}");
        let m = map_raw(fd, SCR_VE3.map, SCR_VE3.size)
            .map_err(|e| format!("{name}: {}", errname(e)))?;
        // SYNC page, PCISYAR (0x70000), the CR part (0x80000), the last word.
        for off in [0x408, 0x7_0000, 0x8_0000, SCR_VE3.size - 8] {
            lands(&name, &m, off, bar2, ve3_bar2_at(SCR_VE3.map) + off)?;
        }
        maps.push((name, m));
    }
    let m = map_raw(fd, ve3::MAP_VEMEM, PAGE).map_err(|e| format!("BAR0 page: {}", errname(e)))?;
    lands("BAR0 page", &m, 0, bar2, emu::VEMEM_AREA)?;
    maps.push(("BAR0 page".into(), m));
    fx.veos = maps;
    Ok(())
}

/// Each of NEC's VE3 windows maps whole; a page more is `EINVAL`.
fn ve3_whole_windows(fx: &mut Fx) -> R {
    whole_windows_of(fx, &WINDOWS_VE3)
}

/// VE3's withheld pages (INTVEC0-3, `DMADESP`, the page after, `DMACTLP`) fault while the kernel
/// manager has a request; every other page of the block maps.
fn ve3_withheld_while_dma(fx: &mut Fx) -> R {
    withheld_while_dma_of(fx, SCR_VE3)
}

/// Unprivileged callers on a VE3: BAR4's registers `EACCES` (a core's area, the SCR); BAR4's CR
/// part and the VE memory window map for anyone but their pages fault (no uid owns them); root
/// maps and reads all four.
fn ve3_unprivileged(_fx: &mut Fx) -> R {
    let cases = [
        (ve3::MAP_BAR4, 0x1000),
        (SCR_VE3.map, SCR_VE3.size),
        (WINDOWS_VE3[0].file, ve3::CR_PAGE_SIZE),
        (ve3::MAP_VEMEM, PAGE),
    ];
    ensure_eq(
        "nobody: [core 0's BAR4 area, SCR, CR page, BAR0 page] (errno, 0 mapped and read, 200 SIGBUS)",
        outcomes_of(cases, sys::as_nobody)?,
        [libc::EACCES, libc::EACCES, 200, 200],
    )?;
    ensure_eq(
        "root: [core 0's BAR4 area, SCR, CR page, BAR0 page]",
        outcomes_of(cases, sys::in_child)?,
        [0, 0, 0, 0],
    )
}

/// A CR page of BAR4's CR part given to a uid (`ASSIGN_CR`): a mapping inside the CR part is
/// anyone's, and the owner's read of that page reaches the emulator's CR register, another page
/// faults; a mapping that reaches past the CR part into BAR4's other registers is `EACCES` for
/// the owner (it is the register window's, `CAP_SYS_ADMIN`'s).
fn ve3_cr_owner(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    let bar2 = bar2_of(fx)?;
    let cr = &WINDOWS_VE3[0];
    let page = |n: u64| cr.file + n * ve3::CR_PAGE_SIZE as u64;
    ok0(
        "ASSIGN_CR",
        cr_ioctl(fd, uapi::VEDRV_CMD_ASSIGN_CR, CR_PAGE as i32, OWNER),
    )?;
    let tag = 0x5633_4352_0000_0000 | CR_PAGE;
    set(bar2, cr.bar2 + CR_PAGE as usize * ve3::CR_PAGE_SIZE, tag);
    let code = sys::as_user(OWNER, OWNER, || {
        let Ok(fd) = sys::open_rw(NODE) else { return 1 };
        let Ok(m) = map_raw(&fd, page(CR_PAGE), ve3::CR_PAGE_SIZE) else {
            return 2;
        };
        if get(&m, 0) != tag {
            return 3;
        }
        let straddle = map_raw(&fd, cr.file + cr.size as u64 - PAGE as u64, 2 * PAGE);
        if straddle.err() != Some(libc::EACCES) {
            return 4;
        }
        0
    })
    .map_err(errname)?;
    ensure_eq(
        "the owner (1 open, 2 mmap, 3 another value, 4 straddling not EACCES)",
        code,
        0,
    )?;
    let other = sys::as_user(OWNER, OWNER, || {
        match sys::child_status(|| map_and_touch(page(CR_PAGE + 1), ve3::CR_PAGE_SIZE)) {
            Ok(st) if sys::died_of(st, libc::SIGBUS) => 200,
            Ok(st) if libc::WIFEXITED(st) => libc::WEXITSTATUS(st),
            _ => 201,
        }
    })
    .map_err(errname)?;
    ensure_eq(
        "the owner's read of another CR page (200: SIGBUS)",
        other,
        200,
    )?;
    ok0(
        "UNASSIGN_CR",
        cr_ioctl(fd, uapi::VEDRV_CMD_UNASSIGN_CR, CR_PAGE as i32, OWNER),
    )
}

/// The suite on an emulated VE3.
fn ve3_suite() -> Suite<Fx> {
    Suite::new("ve_mmap_test (VE3)")
        .step("insmod emulator=1 (no user_pdma)", insmod)
        .step("open /dev/ve0, map the emulator's BAR2", open_node)
        .case(
            "sysfs: num_of_core equals the cores cores_enable names",
            cores,
        )
        .case(
            "VEOS's VE3 mappings at libved's offsets (per core BAR2/3 and BAR4 areas, both system-common blocks, a BAR0 page) reach the emulator's BAR2",
            ve3_veos_mappings,
        )
        .case(
            "each VE3 window (BAR4's CR part, BAR4, BAR2/3, VE memory) maps whole at its size; a page more is EINVAL",
            ve3_whole_windows,
        )
        .case(
            "the mappings are shared uncached I/O PFN mappings, not copied, never executable",
            mapping_flags,
        )
        .case(
            "withheld VE3 SCR pages (INTVEC0-3, DMADESP, the page after, DMACTLP) fault while the kernel manager has a request; every other page maps",
            ve3_withheld_while_dma,
        )
        .case(
            "the kernel manager moves data while VEOS's mappings exist (4 KiB and 2 MiB pages, compared); no taint",
            kernel_dma_with_mappings,
        )
        .case(
            "unprivileged callers: BAR4 registers EACCES; BAR4's CR part and VE memory map for anyone, pages SIGBUS",
            ve3_unprivileged,
        )
        .case(
            "BAR4's CR part: an assigned page maps for its owner, another faults, a mapping past the CR part EACCES",
            ve3_cr_owner,
        )
        .case("nothing left pinned; rmmod", nothing_pinned_rmmod)
}

fn main() {
    let module = sys::module_arg("ve_mmap_test");
    // The card the emulator presents decides which of NEC's window sets is checked (the module
    // is not loaded yet: the emulator's block says it).
    let ve3 = EmuBar::open().is_ok_and(|b| b.is_ve3());
    let fixture = move || {
        Ok(Fx {
            module,
            held: pins_held(),
            fd: None,
            bar2: None,
            cores: Vec::new(),
            veos: Vec::new(),
            ve3,
        })
    };
    if ve3 {
        std::process::exit(ve3_suite().run(fixture));
    }
    let suite = Suite::new("ve_mmap_test")
        .step("insmod emulator=1 (no user_pdma)", insmod)
        .step("open /dev/ve0, map the emulator's BAR2", open_node)
        .case(
            "sysfs: num_of_core equals the cores cores_enable names",
            cores,
        )
        .case(
            "VEOS's mappings at libved's offsets (per core user and system registers, the SCR twice, a BAR0 page) reach the emulator's BAR2",
            veos_mappings,
        )
        .case(
            "each window (CR, registers, VE memory) maps whole at its size; a page more is EINVAL",
            whole_windows,
        )
        .case(
            "the mappings are shared uncached I/O PFN mappings, not copied, never executable",
            mapping_flags,
        )
        .case(
            "withheld SCR pages (INTVEC, descriptors, the page after, DMACTL) fault (SIGBUS) while the kernel manager has a request; every other page maps",
            withheld_while_dma,
        )
        .case(
            "the kernel manager moves data while VEOS's mappings exist (4 KiB and 2 MiB pages, compared); no taint",
            kernel_dma_with_mappings,
        )
        .case(
            "EINVAL for offsets in no window, straddling, MAP_PRIVATE, PROT_EXEC; mprotect to executable EACCES",
            bad_input,
        )
        .case(
            "unprivileged callers: register window EACCES (EPERM without CAP_SYS_RAWIO); CR and VE memory pages SIGBUS without CAP_SYS_ADMIN",
            unprivileged,
        )
        .case(
            "ASSIGN_CR/_VEMEM, UNASSIGN_CR/_VEMEM, UNMAP: NEC's errnos (ranges, uid, duplicates, EFAULT, overflow), EPERM for ordinary callers",
            owner_errnos,
        )
        .case(
            "per-uid CR and VE memory pages: SIGBUS before ASSIGN, mapped for the owner's real uid only, PCIATB page size from PCIATBA",
            per_uid_pages,
        )
        .case(
            "UNASSIGN leaves mapped pages; UNMAP of the range then revokes them (SIGBUS), and only them",
            revoke,
        )
        .case(
            "UNMAP zaps exactly the requested pages, through every open file (refaults counted)",
            unmap_exact,
        )
        .case(
            "unbind with live mappings of every window: SIGBUS, mmap ENODEV; rebind maps again",
            unbind_live,
        )
        .case("nothing left pinned; rmmod", nothing_pinned_rmmod);
    std::process::exit(suite.run(fixture));
}
