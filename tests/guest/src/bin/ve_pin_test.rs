// SPDX-License-Identifier: GPL-2.0

//! ve_pin_test: NEC's translation and pinning ioctls over every kind of VH memory (4 KiB
//! anonymous, THP, hugetlb 2 MiB and 1 GiB, shmem), checked against /proc/<pid>/pagemap and the
//! kernel's own pin counters, plus every documented error.
//!
//! ```text
//! ve_pin_test [--module PATH]
//! ```
//! Loads `ve_drv.ko emulator=1` itself and removes it at the end (removal must release every pin
//! still held).

use std::os::fd::OwnedFd;

use ve_guest::{
    ksft::{
        ensure,
        ensure_eq,
        ensure_errno, //
    },
    mem::{
        phys_of,
        Backing,
        Buffer,
        Mapping, //
    },
    nec::{
        self,
        pins_held, //
    },
    suite::{
        skip,
        Fixture,
        Outcome,
        Suite,
        Variant, //
    },
    sys::{
        self,
        errname, //
    },
    uapi::{
        self,
        VeVpBlk,
        VpBlk, //
    },
};

const NODE: &str = "/dev/ve0";
const OS: u32 = uapi::OS_LIST;
const TD: u32 = uapi::TD_LIST;
const ME: i32 = 0;
const PAGE: u64 = 4096;

type R = Result<(), String>;

fn my_pid() -> i32 {
    std::process::id() as i32
}

fn e(what: &str) -> impl Fn(i32) -> String + '_ {
    move |x| format!("{what}: {}", errname(x))
}

/// Expected `paddr` of each entry of a block answer, from pagemap.
fn expected_paddrs(pid: &str, vaddr: u64, n: usize, pgsz: u64) -> Result<Vec<u64>, String> {
    (0..n as u64)
        .map(|i| {
            let va = if i == 0 {
                vaddr
            } else {
                (vaddr & !(pgsz - 1)) + i * pgsz
            };
            phys_of(pid, va)
                .map(|p| p & !(pgsz - 1))
                .ok_or_else(|| format!("pagemap has no page at {va:#x}"))
        })
        .collect()
}

/// NEC's geometry: entries and bytes covered.
fn plan(vaddr: u64, len: u64, maxpages: u64, pgsz: u64) -> (u64, u64) {
    let units = (vaddr + len - 1) / pgsz - vaddr / pgsz + 1;
    if units <= maxpages {
        (units, len)
    } else {
        (maxpages, pgsz - vaddr % pgsz + pgsz * (maxpages - 1))
    }
}

fn pages_spanned(vaddr: u64, len: u64) -> i64 {
    ((vaddr + len - 1) / PAGE - vaddr / PAGE + 1) as i64
}

/// Block translation without pinning: geometry and addresses as pagemap shows, nothing held.
fn blk_translate(fd: &OwnedFd, b: &Buffer, offset: u64) -> R {
    let pgsz = b.backing.reported_pgsz();
    let vaddr = b.addr() + offset;
    let len = b.len as u64 - offset;
    let held = pins_held();
    let out = nec::blk(fd, false, OS, ME, true, vaddr, len, 100).map_err(e("BLK"))?;
    ensure_eq("pgsz", out.pgsz, pgsz)?;
    let (n, covered) = plan(vaddr, len, 100, pgsz);
    ensure_eq("npages", out.paddr.len() as u64, n)?;
    ensure_eq("length", out.length, covered)?;
    ensure_eq(
        "paddr",
        out.paddr,
        expected_paddrs("self", vaddr, n as usize, pgsz)?,
    )?;
    ensure_eq(
        "pins held after a translation-only call",
        pins_held() - held,
        0,
    )
}

/// Block pin: the pages are held (counted by the kernel), COUNT agrees, release balances.
fn blk_pin_release(fd: &OwnedFd, b: &Buffer) -> R {
    let held = pins_held();
    let out = nec::blk(fd, true, OS, my_pid(), true, b.addr(), b.len as u64, 100)
        .map_err(e("BLK_PIN_DOWN"))?;
    ensure_eq("pgsz", out.pgsz, b.backing.reported_pgsz())?;
    ensure_eq(
        "pages pinned",
        pins_held() - held,
        pages_spanned(b.addr(), out.length),
    )?;
    ensure_eq(
        "COUNT",
        nec::count(fd, OS).map_err(e("COUNT"))?,
        out.paddr.len() as i32,
    )?;
    ensure_eq(
        "COUNT of the other list",
        nec::count(fd, TD).map_err(e("COUNT"))?,
        0,
    )?;
    nec::release_blk(fd, OS, &out.paddr).map_err(e("RELEASE_PD_PAGE_BLK"))?;
    ensure_eq(
        "COUNT after release",
        nec::count(fd, OS).map_err(e("COUNT"))?,
        0,
    )?;
    ensure_eq("pins held after release", pins_held() - held, 0)
}

/// Legacy one-page pins of four pages at an 8-byte offset, released one by one.
fn legacy_pages(fd: &OwnedFd, b: &Buffer) -> R {
    let held = pins_held();
    let mut phys = Vec::new();
    for i in 0..4u64 {
        let va = b.addr() + i * PAGE + 8;
        let p = nec::page(fd, true, TD, ME, false, va).map_err(e("VHVA_TO_VSAA_PIN_DOWN"))?;
        ensure_eq(
            "phys",
            p,
            phys_of("self", va).ok_or("no pagemap entry")? + 8,
        )?;
        phys.push(p);
    }
    ensure_eq("pages pinned", pins_held() - held, 4)?;
    ensure_eq("COUNT", nec::count(fd, TD).map_err(e("COUNT"))?, 4)?;
    let p = nec::page(fd, false, TD, ME, false, b.addr() + 5 * PAGE).map_err(e("VHVA_TO_VSAA"))?;
    ensure_eq(
        "translation-only phys",
        p,
        phys_of("self", b.addr() + 5 * PAGE).ok_or("no pagemap entry")?,
    )?;
    ensure_eq("translation-only call holds nothing", pins_held() - held, 4)?;
    for p in phys {
        nec::release_page(fd, TD, p).map_err(e("RELEASE_PD_PAGE"))?;
    }
    ensure_eq(
        "COUNT after release",
        nec::count(fd, TD).map_err(e("COUNT"))?,
        0,
    )?;
    ensure_eq("pins held after release", pins_held() - held, 0)
}

fn blk_translate_case(fx: &mut Fx, backing: Backing) -> R {
    let b = Buffer::new(backing, backing.default_size())?;
    blk_translate(opened(&fx.fd)?, &b, 0)
}

fn blk_unaligned(fx: &mut Fx, backing: Backing) -> R {
    let b = Buffer::new(backing, backing.default_size())?;
    blk_translate(opened(&fx.fd)?, &b, 0x1238)
}

fn blk_pin_release_case(fx: &mut Fx, backing: Backing) -> R {
    let b = Buffer::new(backing, backing.default_size())?;
    blk_pin_release(opened(&fx.fd)?, &b)
}

fn legacy_pages_case(fx: &mut Fx, backing: Backing) -> R {
    let b = Buffer::new(backing, backing.default_size())?;
    legacy_pages(opened(&fx.fd)?, &b)
}

fn split_thp_entries(fx: &mut Fx) -> Outcome {
    let split = split_thp_blk(opened(&fx.fd)?);
    // SAFETY: plain prctl on our own process: undoes the test's PR_SET_THP_DISABLE.
    unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 0, 0, 0, 0) };
    match split? {
        Some(why) => skip(why),
        None => Ok(()),
    }
}

fn shared_ext2(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    match &fx.ext2_file {
        Some(path) => shared_file(fd, path),
        None => Err("no --ext2-file given (the suite script mounts one)".into()),
    }
}

fn maxpages_clamped(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    let b = Buffer::new(Backing::Anon4k, 1 << 20)?;
    let out = nec::blk(fd, false, OS, ME, false, b.addr(), b.len as u64, 1000).map_err(e("BLK"))?;
    ensure_eq("npages", out.paddr.len(), 100)?;
    ensure_eq("length", out.length, 100 * PAGE)
}

fn range_ends_at_mapping(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    let m = Mapping::anon(
        3 * PAGE as usize,
        libc::PROT_READ | libc::PROT_WRITE,
        libc::MAP_PRIVATE | libc::MAP_POPULATE,
    )
    .map_err(e("mmap"))?;
    let a = m.addr();
    let r = nec::blk(fd, false, OS, ME, false, a + 0x800, 10 * PAGE, 100).map_err(e("BLK"));
    drop(m);
    let out = r?;
    ensure_eq("length", out.length, 3 * PAGE - 0x800)?;
    ensure_eq("npages", out.paddr.len(), 3)
}

fn other_process_case(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    other_process(fd)
}

fn pins_outlive_file(_: &mut Fx) -> R {
    let b = Buffer::new(Backing::Anon4k, 64 * PAGE as usize)?;
    let held = pins_held();
    let fd2 = sys::open_rw_other_thread(NODE).map_err(e("open"))?;
    let out = nec::blk(&fd2, true, TD, ME, true, b.addr(), b.len as u64, 100)
        .map_err(e("BLK_PIN_DOWN"))?;
    drop(fd2);
    let fd3 = sys::open_rw_other_thread(NODE).map_err(e("reopen"))?;
    ensure_eq(
        "COUNT after reopening",
        nec::count(&fd3, TD).map_err(e("COUNT"))?,
        out.paddr.len() as i32,
    )?;
    ensure_eq("pins still held", pins_held() - held, 64)?;
    nec::release_all(&fd3, TD).map_err(e("RELEASE_PD_PAGE_ALL"))?;
    ensure_eq("COUNT", nec::count(&fd3, TD).map_err(e("COUNT"))?, 0)?;
    ensure_eq("pins held", pins_held() - held, 0)
}

fn same_page_twice(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    let b = Buffer::new(Backing::Anon4k, 4 * PAGE as usize)?;
    let held = pins_held();
    let p1 = nec::page(fd, true, OS, ME, false, b.addr()).map_err(e("PIN_DOWN"))?;
    let p2 = nec::page(fd, true, OS, ME, false, b.addr() + 16).map_err(e("PIN_DOWN"))?;
    ensure_eq("pins", pins_held() - held, 2)?;
    nec::release_page(fd, OS, p1).map_err(e("RELEASE 1"))?;
    ensure_eq("pins after one release", pins_held() - held, 1)?;
    nec::release_page(fd, OS, p2).map_err(e("RELEASE 2"))?;
    ensure_errno("third release", nec::release_page(fd, OS, p1), libc::ENOENT)?;
    ensure_eq("pins", pins_held() - held, 0)
}

/// List entries are charged to the pinned process's pinned memory (VmPin): one-page and block
/// entries alike, returned as each entry is released, the rest by RELEASE_PD_PAGE_ALL.
fn charged_to_pinned_vm(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    let b = Buffer::new(Backing::Anon4k, 256 * PAGE as usize)?;
    let kb = || sys::vm_pin_kb("self");
    let before = kb()?;
    let one = nec::page(fd, true, OS, ME, true, b.addr()).map_err(e("PIN_DOWN"))?;
    ensure_eq("VmPin after a one-page entry (kB)", kb()? - before, 4)?;
    let out = nec::blk(
        fd,
        true,
        OS,
        my_pid(),
        true,
        b.addr() + PAGE,
        200 * PAGE,
        100,
    )
    .map_err(e("BLK_PIN_DOWN"))?;
    ensure_eq("block entries", out.paddr.len(), 100)?;
    ensure_eq("VmPin after 100 block entries (kB)", kb()? - before, 404)?;
    nec::release_blk(fd, OS, &out.paddr[..40]).map_err(e("RELEASE_PD_PAGE_BLK"))?;
    ensure_eq("VmPin after 40 released (kB)", kb()? - before, 244)?;
    nec::release_page(fd, OS, one).map_err(e("RELEASE_PD_PAGE"))?;
    ensure_eq("VmPin after the one-page entry (kB)", kb()? - before, 240)?;
    nec::release_all(fd, OS).map_err(e("RELEASE_PD_PAGE_ALL"))?;
    ensure_eq("VmPin after RELEASE_ALL (kB)", kb()? - before, 0)
}

/// The shapes of a block release: exactly one block call's addresses (in one step), part of a
/// call, a call's addresses out of order, and an address not held in the middle of a release.
/// The pages are pinned by several calls at once, so a release that took another call's
/// entries, or too many, shows in the pin and entry counts.
fn release_shapes(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    let b = Buffer::new(Backing::Anon4k, 104 * PAGE as usize)?;
    let held = pins_held();
    let count = || nec::count(fd, OS).map_err(e("COUNT"));
    let pin = |va: u64, pages: u64| {
        nec::blk(fd, true, OS, ME, true, va, pages * PAGE, 100).map_err(e("BLK_PIN_DOWN"))
    };
    let a = pin(b.addr(), 100)?;
    let bb = pin(b.addr(), 100)?;
    ensure_eq("pins of two calls", pins_held() - held, 200)?;
    nec::release_blk(fd, OS, &bb.paddr).map_err(e("release of the second call"))?;
    ensure_eq("pins after the second call", pins_held() - held, 100)?;
    ensure_eq("COUNT after the second call", count()?, 100)?;
    nec::release_blk(fd, OS, &a.paddr[50..]).map_err(e("release of half of the first"))?;
    ensure_eq("pins after half a call", pins_held() - held, 50)?;
    ensure_eq("COUNT after half a call", count()?, 50)?;
    let c = pin(b.addr(), 100)?;
    ensure_eq("COUNT with a third call", count()?, 150)?;
    let mut rest: Vec<u64> = a.paddr[..50].to_vec();
    rest.reverse();
    nec::release_blk(fd, OS, &rest).map_err(e("release of the first call's rest, reversed"))?;
    ensure_eq("pins: the third call's", pins_held() - held, 100)?;
    ensure_eq("COUNT: the third call's", count()?, 100)?;
    nec::release_blk(fd, OS, &c.paddr).map_err(e("release of the third call"))?;
    ensure_errno(
        "the third call released twice",
        nec::release_blk(fd, OS, &c.paddr),
        libc::ENOENT,
    )?;
    ensure_eq("COUNT after every call", count()?, 0)?;
    let d = pin(b.addr() + 100 * PAGE, 4)?;
    ensure_eq("entries of a four-page call", d.paddr.len(), 4)?;
    let bogus = [d.paddr[0], d.paddr[1], 0x1234_5000, d.paddr[3]];
    ensure_errno(
        "an address not held in the middle",
        nec::release_blk(fd, OS, &bogus),
        libc::ENOENT,
    )?;
    ensure_eq("COUNT: the entries before it were released", count()?, 2)?;
    nec::release_blk(fd, OS, &[d.paddr[3], d.paddr[2]]).map_err(e("release of the rest"))?;
    ensure_eq("COUNT at the end", count()?, 0)?;
    ensure_eq("pins at the end", pins_held() - held, 0)
}

fn ptrace_a(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    ptrace_root_without_cap(fd)
}

fn ptrace_b(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    ptrace_other_uid(fd)
}

fn ptrace_c(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    ptrace_root_allowed(fd)
}

fn same_frame(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    same_frame_entries(fd)
}

fn write_keeps_cow(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    translate_write_keeps_cow(fd)
}

fn translation_errors(fx: &mut Fx) -> R {
    fx.errors_held = pins_held();
    let fd = opened(&fx.fd)?;
    ensure_errno(
        "NULL",
        nec::blk(fd, true, OS, ME, false, 0, PAGE, 100),
        libc::EFAULT,
    )?;
    ensure_errno(
        "unmapped",
        nec::blk(fd, true, OS, ME, false, 0x1000_0000_0000, PAGE, 100),
        libc::EFAULT,
    )?;
    ensure_errno(
        "kernel",
        nec::blk(fd, true, OS, ME, false, 0xffff_8880_0000_0000, PAGE, 100),
        libc::EFAULT,
    )?;
    ensure_errno(
        "legacy kernel",
        nec::page(fd, true, OS, ME, false, 0xffff_8880_0000_0000),
        libc::EFAULT,
    )?;
    let m = Mapping::anon(
        PAGE as usize,
        libc::PROT_READ,
        libc::MAP_PRIVATE | libc::MAP_POPULATE,
    )
    .map_err(e("mmap"))?;
    let r1 = nec::blk(fd, true, OS, ME, true, m.addr(), PAGE, 100);
    let r2 = nec::blk(fd, true, OS, ME, false, m.addr(), PAGE, 100).map(|o| o.paddr);
    drop(m);
    ensure_errno("write pin of a read-only mapping", r1, libc::EFAULT)?;
    let p = r2.map_err(e("read pin of a read-only mapping"))?;
    nec::release_blk(fd, OS, &p).map_err(e("release"))
}

fn argument_errors(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    let b = Buffer::new(Backing::Anon4k, 4 * PAGE as usize)?;
    ensure_errno(
        "length 0",
        nec::blk(fd, true, OS, ME, false, b.addr(), 0, 100),
        libc::EINVAL,
    )?;
    ensure_errno(
        "overflow",
        nec::blk(fd, true, OS, ME, false, u64::MAX - 4095, 2 * PAGE, 100),
        libc::EINVAL,
    )?;
    ensure_errno(
        "maxpages 0",
        nec::blk(fd, true, OS, ME, false, b.addr(), PAGE, 0),
        libc::EINVAL,
    )?;
    ensure_errno(
        "list 2",
        nec::blk(fd, true, 2, ME, false, b.addr(), PAGE, 100),
        libc::EINVAL,
    )?;
    ensure_errno(
        "legacy list 7",
        nec::page(fd, true, 7, ME, false, b.addr()),
        libc::EINVAL,
    )?;
    ensure_errno("COUNT list 2", nec::count(fd, 2), libc::EINVAL)?;
    ensure_errno("RELEASE_ALL list 2", nec::release_all(fd, 2), libc::EINVAL)?;
    ensure_errno(
        "no such pid",
        nec::blk(fd, true, OS, 999_999, false, b.addr(), PAGE, 100),
        libc::ESRCH,
    )?;
    ensure_errno(
        "pid -5",
        nec::page(fd, true, OS, -5, false, b.addr()),
        libc::ESRCH,
    )
}

fn release_errors(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    let addrs = [0x1234_5000u64; 101];
    ensure_errno(
        "npages -1",
        nec::release_blk_n(fd, OS, -1, &addrs),
        libc::EINVAL,
    )?;
    ensure_errno(
        "npages 101",
        nec::release_blk_n(fd, OS, 101, &addrs),
        libc::EINVAL,
    )?;
    ensure_errno(
        "not pinned (blk)",
        nec::release_blk(fd, OS, &addrs[..1]),
        libc::ENOENT,
    )?;
    ensure_errno(
        "not pinned (one)",
        nec::release_page(fd, OS, 0x1234_5000),
        libc::ENOENT,
    )?;
    let mut bad = uapi::VeVpBlkRelease {
        list: OS,
        npages: 3,
        addr: 0x10,
    };
    ensure_errno(
        "bad addr array",
        sys::ioctl(fd, uapi::VEDRV_CMD_RELEASE_PD_PAGE_BLK, &mut bad),
        libc::EFAULT,
    )
}

fn bad_paddr_pointer(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    let b = Buffer::new(Backing::Anon4k, 16 * PAGE as usize)?;
    let mut a = VeVpBlk {
        list: OS,
        vp_info: VpBlk {
            pid: ME,
            vaddr: b.addr(),
            length: b.len as u64,
            paddr: 0x10,
            maxpages: 100,
            ..Default::default()
        },
        ..Default::default()
    };
    let before = pins_held();
    ensure_errno("BLK_PIN_DOWN", nec::blk_raw(fd, true, &mut a), libc::EFAULT)?;
    ensure_eq("pins held", pins_held() - before, 0)?;
    ensure_eq("COUNT", nec::count(fd, OS).map_err(e("COUNT"))?, 0)
}

fn without_cap_sys_admin(_: &mut Fx) -> R {
    std::fs::set_permissions(NODE, std::os::unix::fs::PermissionsExt::from_mode(0o666))
        .map_err(|x| format!("chmod: {x}"))?;
    let b = Buffer::new(Backing::Anon4k, PAGE as usize)?;
    let addr = b.addr();
    let code = sys::as_nobody(|| {
        let Ok(fd) = sys::open_rw(NODE) else { return 1 };
        let ok = nec::blk(&fd, true, OS, ME, false, addr, PAGE, 100).err() == Some(libc::EPERM)
            && nec::page(&fd, false, OS, ME, false, addr).err() == Some(libc::EPERM)
            && nec::count(&fd, OS).err() == Some(libc::EPERM)
            && nec::release_all(&fd, OS).err() == Some(libc::EPERM);
        if ok {
            0
        } else {
            2
        }
    })
    .map_err(errname)?;
    ensure_eq("child (1: open failed, 2: not EPERM)", code, 0)
}

fn memlock(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    memlock_limit(fd)
}

fn errors_left_nothing(fx: &mut Fx) -> R {
    ensure_eq("pins held", pins_held() - fx.errors_held, 0)
}
fn rmmod_releases_held(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    let b = Buffer::new(Backing::Anon4k, 50 * PAGE as usize)?;
    let held = pins_held();
    nec::blk(fd, true, OS, ME, true, b.addr(), b.len as u64, 100).map_err(e("BLK_PIN_DOWN"))?;
    ensure_eq("pinned", pins_held() - held, 50)?;
    Ok(())
}

fn rmmod_every_pin(fx: &mut Fx) -> R {
    fx.fd = None;
    sys::rmmod("ve_drv").map_err(e("rmmod"))?;
    ensure_eq(
        "pins held against the start of the test",
        pins_held() - fx.baseline,
        0,
    )
}

/// The module's and the ext2 file's paths, the card's file, and the pin counts the last cases
/// compare against.
struct Fx {
    module: String,
    ext2_file: Option<String>,
    fd: Option<OwnedFd>,
    /// Pages pinned before the program.
    baseline: i64,
    /// Pages pinned before the error cases.
    errors_held: i64,
}

impl Fixture for Fx {}

/// The open `/dev/ve0` of `fd`.
fn opened(fd: &Option<OwnedFd>) -> Result<&OwnedFd, String> {
    fd.as_ref().ok_or_else(|| "/dev/ve0 is not open".into())
}

fn insmod(fx: &mut Fx) -> R {
    sys::insmod(&fx.module, "emulator=1").map_err(errname)
}

fn open_node(fx: &mut Fx) -> R {
    fx.fd = Some(sys::open_rw(NODE).map_err(errname)?);
    Ok(())
}

fn main() {
    let mut module = String::from("/lib/modules/ve_drv.ko");
    let mut ext2_file = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--module" => module = args.next().expect("--module needs a path"),
            "--ext2-file" => ext2_file = args.next(),
            _ => {
                eprintln!("usage: ve_pin_test [--module PATH] [--ext2-file PATH]");
                std::process::exit(2);
            }
        }
    }
    let suite = Suite::new("ve_pin_test")
        .step("insmod emulator=1", insmod)
        .step("open /dev/ve0", open_node)
        .per_backing(
            &Backing::ALL,
            vec![
                Variant::named(
                    |b| {
                        format!(
                            "{}: BLK translates as pagemap shows, pgsz {}",
                            b.name(),
                            b.reported_pgsz()
                        )
                    },
                    blk_translate_case,
                )
                .balanced(),
                Variant::new("{backing}: BLK from an unaligned start", blk_unaligned).balanced(),
                Variant::new(
                    "{backing}: BLK_PIN_DOWN holds the pages, COUNT, RELEASE_PD_PAGE_BLK",
                    blk_pin_release_case,
                )
                .balanced(),
                Variant::new(
                    "{backing}: one-page PIN_DOWN and RELEASE_PD_PAGE",
                    legacy_pages_case,
                )
                .balanced(),
            ],
        )
        .case("maxpages over 100 is clamped to 100", maxpages_clamped)
        .case("the range ends at the end of the mapping", range_ends_at_mapping)
        .case("another process's buffer by pid; its pins outlive it", other_process_case)
        .case("pins outlive the file: COUNT after reopening, RELEASE_PD_PAGE_ALL", pins_outlive_file)
        .case("pinning the same page twice holds it twice", same_page_twice)
        .case("entries are charged to VmPin, returned as they are released", charged_to_pinned_vm)
        .case("block releases: a whole call, part of one, out of order, an address not held", release_shapes)
        .case("ptrace (a): root without CAP_SYS_PTRACE, non-dumpable target of another uid: EPERM; own pid needs no check", ptrace_a)
        .case("ptrace (b): CAP_SYS_ADMIN caller of another uid without CAP_SYS_PTRACE: EPERM", ptrace_b)
        .case("ptrace (c): root with every capability pins a dumpable child and a non-dumpable one of another uid", ptrace_c)
        .case("split THP: 4 KiB entries; intact THP and hugetlb 2 MiB; units pinned one at a time", split_thp_entries)
        .case("a 2 MiB and a 4 KiB entry of the same frame: release by address releases the right one", same_frame)
        .case("VHVA_TO_VSAA write=1 translation does not break COW; PIN_DOWN write=1 does", write_keeps_cow)
        .case("shared ext2 file mapping: long-term write pin refused (EFAULT), read pin and short-term write translation work", shared_ext2)
        .case("translation errors: EFAULT for unmapped, NULL, kernel and read-only-for-write addresses", translation_errors)
        .case("argument errors: EINVAL for length 0, overflow, maxpages 0, bad list; ESRCH for no such pid", argument_errors)
        .case("release errors: EINVAL for npages -1 and 101, ENOENT for an address not pinned", release_errors)
        .case("a bad paddr pointer: EFAULT and nothing left pinned", bad_paddr_pointer)
        .case("without CAP_SYS_ADMIN: EPERM", without_cap_sys_admin)
        .case("RLIMIT_MEMLOCK without CAP_IPC_LOCK: ENOMEM, nothing pinned", memlock)
        .case("errors left nothing pinned", errors_left_nothing)
        .case("removing the module releases the pins still held", rmmod_releases_held)
        .case("rmmod; every pin released", rmmod_every_pin);
    std::process::exit(suite.run(|| {
        Ok(Fx {
            module,
            ext2_file,
            fd: None,
            baseline: pins_held(),
            errors_held: 0,
        })
    }));
}

/// A child maps a buffer and reports its addresses; the parent pins it by pid, the child exits,
/// the pins stay until released.
fn other_process(fd: &OwnedFd) -> R {
    let mut to_parent = [0i32; 2];
    let mut to_child = [0i32; 2];
    // SAFETY: plain syscalls creating pipes we own.
    unsafe {
        libc::pipe(to_parent.as_mut_ptr());
        libc::pipe(to_child.as_mut_ptr());
    }
    // SAFETY: the child only uses its own memory and the pipes, then `_exit`s.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let b = Buffer::new(Backing::Anon4k, 16 * PAGE as usize).expect("child buffer");
        let mut msg = vec![b.addr()];
        for i in 0..16 {
            msg.push(phys_of("self", b.addr() + i * PAGE).unwrap_or(0));
        }
        // SAFETY: writes our message and blocks until the parent is done.
        unsafe {
            libc::write(to_parent[1], msg.as_ptr().cast(), msg.len() * 8);
            let mut x = 0u8;
            libc::read(to_child[0], std::ptr::from_mut::<u8>(&mut x).cast(), 1);
            libc::_exit(0);
        }
    }
    let mut msg = [0u64; 17];
    // SAFETY: reads the child's message into `msg`.
    unsafe { libc::read(to_parent[0], msg.as_mut_ptr().cast(), msg.len() * 8) };
    let held = pins_held();
    let r = nec::blk(fd, true, OS, pid, true, msg[0], 16 * PAGE, 100)
        .map_err(e("BLK_PIN_DOWN of the child"));
    let mut status = 0;
    // SAFETY: lets the child exit and reaps it.
    unsafe {
        libc::write(to_child[1], [1u8].as_ptr().cast(), 1);
        libc::waitpid(pid, &mut status, 0);
    }
    let out = r?;
    ensure_eq("paddr", &out.paddr[..], &msg[1..])?;
    ensure_eq("pinned", pins_held() - held, 16)?;
    ensure_eq(
        "COUNT after the child exited",
        nec::count(fd, OS).map_err(e("COUNT"))?,
        16,
    )?;
    nec::release_blk(fd, OS, &out.paddr).map_err(e("release"))?;
    ensure_eq("pins held after release", pins_held() - held, 0)
}

/// In a child: RLIMIT_MEMLOCK 64 KiB, CAP_IPC_LOCK dropped, CAP_SYS_ADMIN kept; pinning 400 KiB
/// must fail with ENOMEM and pin nothing.
fn memlock_limit(fd: &OwnedFd) -> R {
    let b = Buffer::new(Backing::Anon4k, 100 * PAGE as usize)?;
    let addr = b.addr();
    let held = pins_held();
    let code = sys::in_child_with_memlock(64 << 10, || {
        match nec::blk(fd, true, OS, ME, false, addr, 100 * PAGE, 100) {
            Err(x) if x == libc::ENOMEM => {}
            _ => return 4,
        }
        // Within the limit it works.
        match nec::blk(fd, true, OS, ME, false, addr, 8 * PAGE, 100) {
            Ok(out) if nec::release_blk(fd, OS, &out.paddr).is_ok() => 0,
            _ => 5,
        }
    })
    .map_err(errname)?;
    ensure_eq(
        "child (1-3: set-up, 4: not ENOMEM over the limit, 5: failed within it)",
        code,
        0,
    )?;
    ensure_eq("pins held", pins_held() - held, 0)?;
    ensure_eq("COUNT", nec::count(fd, OS).map_err(e("COUNT"))?, 0)
}

/// A shared mapping of a file on ext2 (which needs writeback tracking): GUP refuses long-term
/// write pins of it, as it must; NEC's page references accepted them.
fn shared_file(fd: &OwnedFd, path: &str) -> R {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|x| format!("{path}: {x}"))?;
    let len = 16 * PAGE as usize;
    let mut m = Mapping::shared(&f, 0, len, libc::PROT_READ | libc::PROT_WRITE)
        .map_err(|x| format!("mmap: {}", std::io::Error::from_raw_os_error(x)))?;
    for off in (0..len).step_by(PAGE as usize) {
        m.as_mut_slice()[off] = 1;
    }
    let a = m.addr();
    let held = pins_held();
    let r = (|| {
        ensure_errno(
            "write PIN_DOWN",
            nec::blk(fd, true, OS, ME, true, a, len as u64, 100),
            libc::EFAULT,
        )?;
        ensure_eq("pins held after the refusal", pins_held() - held, 0)?;
        let out =
            nec::blk(fd, true, OS, ME, false, a, len as u64, 100).map_err(e("read PIN_DOWN"))?;
        ensure_eq("pinned for reading", pins_held() - held, 16)?;
        nec::release_blk(fd, OS, &out.paddr).map_err(e("release"))?;
        let out = nec::blk(fd, false, OS, ME, true, a, len as u64, 100)
            .map_err(e("write translation"))?;
        ensure_eq("entries", out.paddr.len(), 16)?;
        ensure_eq("pins held", pins_held() - held, 0)
    })();
    drop(m);
    r
}

// ---- Issue 10: the ptrace check for another process, 2 MiB entries only for one folio, list
// keys by entry size, translation without COW break.

/// Capability numbers (linux/capability.h).
const CAP_IPC_LOCK: u32 = 14;
const CAP_SYS_PTRACE: u32 = 19;
const CAP_SYS_ADMIN: u32 = 21;

/// Sets the calling process's effective capabilities (the low 32: all this test needs) with
/// `edit(effective, permitted)`; 0 on success.
fn set_effective(edit: impl FnOnce(u32, u32) -> u32) -> i32 {
    // capget/capset, version 3: [effective, permitted, inheritable] for bits 0-31, then 32-63.
    let mut hdr = [0x2008_0522u32, 0];
    let mut data = [0u32; 6];
    // SAFETY: capget/capset on our own process with correctly sized buffers.
    unsafe {
        if libc::syscall(libc::SYS_capget, hdr.as_mut_ptr(), data.as_mut_ptr()) != 0 {
            return -1;
        }
        data[0] = edit(data[0], data[1]) & data[1];
        if libc::syscall(libc::SYS_capset, hdr.as_mut_ptr(), data.as_ptr()) != 0 {
            return -2;
        }
    }
    0
}

/// Runs `f` in a forked child and returns its exit code (128 + signal if it died).
fn in_child(f: impl FnOnce() -> i32) -> Result<i32, String> {
    // SAFETY: the child runs `f` (plain syscalls and ioctls in this single-threaded program) and
    // leaves with `_exit`.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(format!("fork: {}", errname(sys::errno())));
    }
    if pid == 0 {
        let code = f();
        // SAFETY: leave the child without running the parent's destructors.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: reaps the child forked above.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    Ok(if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    })
}

/// A child process holding 4 pages of anonymous memory until [`Target::finish`]; `setup` runs in
/// it first (change uid, dumpability).
struct Target {
    pid: i32,
    addr: u64,
    /// Physical addresses of its pages, from its pagemap (read by the parent, as root).
    phys: Vec<u64>,
    go: i32,
}

impl Target {
    fn spawn(setup: fn() -> bool) -> Result<Self, String> {
        let mut up = [0i32; 2];
        let mut go = [0i32; 2];
        // SAFETY: plain syscalls creating pipes we own.
        unsafe {
            libc::pipe(up.as_mut_ptr());
            libc::pipe(go.as_mut_ptr());
        }
        // SAFETY: the child only sets itself up, maps its buffer, talks through the pipes and
        // `_exit`s.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let addr = if setup() {
                Buffer::new(Backing::Anon4k, 4 * PAGE as usize)
                    .map(|b| {
                        let a = b.addr();
                        std::mem::forget(b);
                        a
                    })
                    .unwrap_or(0)
            } else {
                0
            };
            // SAFETY: reports the address and blocks until the parent is done.
            unsafe {
                libc::write(up[1], std::ptr::from_ref::<u64>(&addr).cast(), 8);
                let mut x = 0u8;
                libc::read(go[0], std::ptr::from_mut::<u8>(&mut x).cast(), 1);
                libc::_exit(0);
            }
        }
        let mut addr = 0u64;
        // SAFETY: reads the child's report.
        unsafe { libc::read(up[0], std::ptr::from_mut::<u64>(&mut addr).cast(), 8) };
        let mut t = Target {
            pid,
            addr,
            phys: Vec::new(),
            go: go[1],
        };
        if addr == 0 {
            t.finish();
            return Err("target set-up failed".into());
        }
        for i in 0..4 {
            let p = phys_of(&pid.to_string(), addr + i * PAGE);
            t.phys.push(p.ok_or("no pagemap entry for the target")?);
        }
        Ok(t)
    }

    fn finish(&mut self) {
        if self.pid > 0 {
            let mut status = 0;
            // SAFETY: lets the child exit and reaps it.
            unsafe {
                libc::write(self.go, [1u8].as_ptr().cast(), 1);
                libc::waitpid(self.pid, &mut status, 0);
            }
            self.pid = 0;
        }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Target set-up: user nobody, then not dumpable.
fn nobody_not_dumpable() -> bool {
    // SAFETY: plain syscalls on our own process.
    unsafe {
        libc::setgid(65534) == 0
            && libc::setuid(65534) == 0
            && libc::prctl(libc::PR_SET_DUMPABLE, 0) == 0
    }
}

/// Target set-up: none (root, dumpable).
fn as_is() -> bool {
    true
}

/// Whether a block pin was refused with EPERM; what it pinned otherwise is released.
fn refused(fd: &OwnedFd, r: Result<nec::BlkOut, i32>) -> bool {
    match r {
        Ok(out) => {
            let _ = nec::release_blk(fd, OS, &out.paddr);
            false
        }
        Err(x) => x == libc::EPERM,
    }
}

/// Whether a one-page pin was refused with EPERM; what it pinned otherwise is released.
fn refused_page(fd: &OwnedFd, r: Result<u64, i32>) -> bool {
    match r {
        Ok(p) => {
            let _ = nec::release_page(fd, OS, p);
            false
        }
        Err(x) => x == libc::EPERM,
    }
}

/// (a) A non-dumpable target of another uid; the caller is root with CAP_SYS_ADMIN (and
/// CAP_IPC_LOCK) but not CAP_SYS_PTRACE: EPERM for every way in, nothing pinned. The caller's
/// own pid still needs no check, even when it is not dumpable itself.
fn ptrace_root_without_cap(fd: &OwnedFd) -> R {
    let t = Target::spawn(nobody_not_dumpable)?;
    let (pid, addr) = (t.pid, t.addr);
    let held = pins_held();
    let code = in_child(|| {
        if set_effective(|e, _| e & !(1 << CAP_SYS_PTRACE)) != 0 {
            return 1;
        }
        if !refused(fd, nec::blk(fd, true, OS, pid, false, addr, 4 * PAGE, 100)) {
            return 2;
        }
        if nec::blk(fd, false, OS, pid, false, addr, 4 * PAGE, 100).err() != Some(libc::EPERM) {
            return 3;
        }
        if !refused_page(fd, nec::page(fd, true, OS, pid, true, addr)) {
            return 4;
        }
        if nec::page(fd, false, OS, pid, false, addr).err() != Some(libc::EPERM) {
            return 5;
        }
        // Its own memory, by its own pid, while not dumpable: no check.
        let Ok(b) = Buffer::new(Backing::Anon4k, 4 * PAGE as usize) else {
            return 6;
        };
        // SAFETY: plain prctl on our own process.
        if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0) } != 0 {
            return 6;
        }
        let me = std::process::id() as i32;
        match nec::blk(fd, true, OS, me, false, b.addr(), 4 * PAGE, 100) {
            Ok(out) if out.paddr.len() == 4 => {
                if nec::release_blk(fd, OS, &out.paddr).is_err() {
                    return 8;
                }
            }
            _ => return 7,
        }
        0
    })?;
    ensure_eq(
        "child (1: capset, 2-5: not EPERM for BLK_PIN_DOWN/BLK/PIN_DOWN/VHVA_TO_VSAA, 6-8: own pid)",
        code,
        0,
    )?;
    ensure_eq("pins held", pins_held() - held, 0)?;
    ensure_eq("COUNT", nec::count(fd, OS).map_err(e("COUNT"))?, 0)
}

/// (b) A caller of another uid (nobody) with CAP_SYS_ADMIN and CAP_IPC_LOCK but not
/// CAP_SYS_PTRACE, against a dumpable root process (this test program): EPERM. The capability
/// check is not what refuses it: its own memory pins.
fn ptrace_other_uid(fd: &OwnedFd) -> R {
    let b = Buffer::new(Backing::Anon4k, 4 * PAGE as usize)?;
    let (parent, addr) = (my_pid(), b.addr());
    let held = pins_held();
    let code = in_child(|| {
        // SAFETY: plain syscalls on our own process: keep the permitted capabilities across
        // the uid change.
        unsafe {
            if libc::prctl(libc::PR_SET_KEEPCAPS, 1) != 0
                || libc::setgid(65534) != 0
                || libc::setuid(65534) != 0
            {
                return 1;
            }
        }
        if set_effective(|_, _| (1 << CAP_SYS_ADMIN) | (1 << CAP_IPC_LOCK)) != 0 {
            return 2;
        }
        if !refused(
            fd,
            nec::blk(fd, true, OS, parent, false, addr, 4 * PAGE, 100),
        ) {
            return 3;
        }
        if nec::page(fd, false, OS, parent, false, addr).err() != Some(libc::EPERM) {
            return 4;
        }
        let Ok(own) = Buffer::new(Backing::Anon4k, 4 * PAGE as usize) else {
            return 5;
        };
        match nec::blk(fd, true, OS, ME, true, own.addr(), 4 * PAGE, 100) {
            Ok(out) if out.paddr.len() == 4 && nec::release_blk(fd, OS, &out.paddr).is_ok() => 0,
            _ => 6,
        }
    })?;
    ensure_eq(
        "child (1-2: set-up, 3-4: not EPERM for BLK_PIN_DOWN/VHVA_TO_VSAA, 5-6: own memory failed)",
        code,
        0,
    )?;
    ensure_eq("pins held", pins_held() - held, 0)?;
    ensure_eq("COUNT", nec::count(fd, OS).map_err(e("COUNT"))?, 0)
}

/// (c) Root with every capability (VEOS) pins a dumpable child, and a non-dumpable child of
/// another uid (CAP_SYS_PTRACE overrides both rules), at the addresses their pagemaps show.
fn ptrace_root_allowed(fd: &OwnedFd) -> R {
    for (what, setup) in [
        ("dumpable root child", as_is as fn() -> bool),
        ("non-dumpable child of nobody", nobody_not_dumpable),
    ] {
        let t = Target::spawn(setup)?;
        let held = pins_held();
        let out = nec::blk(fd, true, OS, t.pid, true, t.addr, 4 * PAGE, 100)
            .map_err(|x| format!("{what}: BLK_PIN_DOWN: {}", errname(x)))?;
        ensure_eq(&format!("{what}: paddr"), &out.paddr, &t.phys)?;
        ensure_eq(&format!("{what}: pinned"), pins_held() - held, 4)?;
        let p = nec::page(fd, false, OS, t.pid, false, t.addr + PAGE + 8)
            .map_err(|x| format!("{what}: VHVA_TO_VSAA: {}", errname(x)))?;
        ensure_eq(&format!("{what}: phys"), p, t.phys[1] + 8)?;
        nec::release_blk(fd, OS, &out.paddr).map_err(e("release"))?;
        ensure_eq(&format!("{what}: pins held"), pins_held() - held, 0)?;
    }
    Ok(())
}

/// `/proc/kpageflags` of frame `pfn`.
fn kpageflags(pfn: u64) -> Result<u64, String> {
    use std::io::{
        Read,
        Seek,
        SeekFrom, //
    };
    let mut f = std::fs::File::open("/proc/kpageflags").map_err(|x| format!("kpageflags: {x}"))?;
    f.seek(SeekFrom::Start(pfn * 8))
        .map_err(|x| format!("kpageflags: {x}"))?;
    let mut b = [0u8; 8];
    f.read_exact(&mut b)
        .map_err(|x| format!("kpageflags: {x}"))?;
    Ok(u64::from_le_bytes(b))
}

const KPF_COMPOUND_HEAD: u64 = 1 << 15;
const KPF_COMPOUND_TAIL: u64 = 1 << 16;
const KPF_THP: u64 = 1 << 22;

/// Whether the 2 MiB unit at `va` (2 MiB aligned) of this process is one THP folio: mapped at
/// contiguous frames, the first a compound head, the others tails, all THP.
fn unit_is_thp(va: u64) -> Result<bool, String> {
    let frames = ve_guest::mem::frames_of(va, 512)?;
    let Some(Some(f0)) = frames.first().copied() else {
        return Ok(false);
    };
    for (i, f) in frames.iter().enumerate() {
        if *f != Some(f0 + i as u64) {
            return Ok(false);
        }
        let flags = kpageflags(f0 + i as u64)?;
        let part = if i == 0 {
            KPF_COMPOUND_HEAD
        } else {
            KPF_COMPOUND_TAIL
        };
        if flags & part == 0 || flags & KPF_THP == 0 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether the unit at `va` is 512 order-0 pages at contiguous frames on a 2 MiB boundary: what
/// the old 2 MiB rule mistook for a huge page.
fn unit_is_split_contiguous(va: u64) -> Result<bool, String> {
    let frames = ve_guest::mem::frames_of(va, 512)?;
    let Some(Some(f0)) = frames.first().copied() else {
        return Ok(false);
    };
    if f0 % 512 != 0 {
        return Ok(false);
    }
    for (i, f) in frames.iter().enumerate() {
        if *f != Some(f0 + i as u64) {
            return Ok(false);
        }
        if kpageflags(f0 + i as u64)? & (KPF_COMPOUND_HEAD | KPF_COMPOUND_TAIL | KPF_THP) != 0 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Splits the THPs mapped in `[va, va + len)` of this process into order-0 pages in place
/// (debugfs `split_huge_pages`), mounting debugfs if needed.
fn split_thp(va: u64, len: u64) -> Result<(), String> {
    const CTL: &str = "/sys/kernel/debug/split_huge_pages";
    if !sys::exists(CTL) {
        let _ = std::fs::create_dir_all("/sys/kernel/debug");
        // SAFETY: mounts debugfs with constant, NUL-terminated arguments.
        unsafe {
            libc::mount(
                c"debugfs".as_ptr(),
                c"/sys/kernel/debug".as_ptr(),
                c"debugfs".as_ptr(),
                0,
                std::ptr::null(),
            )
        };
    }
    sys::write_file(CTL, &format!("{},{:#x},{:#x}", my_pid(), va, va + len))
        .map_err(|x| format!("{CTL}: {}", errname(x)))
}

/// 2 MiB entries only for one folio: a THP split into order-0 pages (still physically contiguous
/// and 2 MiB aligned) is answered in 4 KiB entries, the intact THP next to it and hugetlb in
/// 2 MiB ones; a block over intact, split and intact units stops after the first, having pinned
/// no more than the probe, the good unit and the one unfit unit. Skipped without THP.
fn split_thp_blk(fd: &OwnedFd) -> Result<Option<String>, String> {
    let b = Buffer::new(Backing::Thp, 6 << 20)?;
    let units = [b.addr(), b.addr() + (2 << 20), b.addr() + (4 << 20)];
    for u in units {
        if !unit_is_thp(u)? {
            return Ok(Some(format!(
                "no THP at {u:#x} (THP not available: transparent_hugepage=never?)"
            )));
        }
    }
    split_thp(units[1], 2 << 20)?;
    // khugepaged must not collapse it again while we look (a madvise would split the mapping).
    // SAFETY: plain prctl on our own process; undone by the caller.
    unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    ensure(unit_is_split_contiguous(units[1])?, || {
        "after split_huge_pages the unit is not 512 contiguous, aligned order-0 pages".into()
    })?;
    ensure(unit_is_thp(units[0])? && unit_is_thp(units[2])?, || {
        "the neighbouring units were split too".into()
    })?;
    let held = pins_held();
    // The split unit: 4 KiB entries, as pagemap shows.
    let out = nec::blk(fd, false, OS, ME, false, units[1], 2 << 20, 100).map_err(e("BLK split"))?;
    ensure_eq("split unit: pgsz", out.pgsz, PAGE)?;
    ensure_eq("split unit: npages", out.paddr.len(), 100)?;
    ensure_eq("split unit: length", out.length, 100 * PAGE)?;
    ensure_eq(
        "split unit: paddr",
        &out.paddr,
        &expected_paddrs("self", units[1], 100, PAGE)?,
    )?;
    // Pinned and kept: 4 KiB entries too, holding exactly their pages.
    let out = nec::blk(fd, true, OS, ME, true, units[1] + 0x1000, 8 * PAGE, 100)
        .map_err(e("BLK_PIN_DOWN split"))?;
    ensure_eq("split unit kept: pgsz", out.pgsz, PAGE)?;
    ensure_eq("split unit kept: pinned", pins_held() - held, 8)?;
    nec::release_blk(fd, OS, &out.paddr).map_err(e("release"))?;
    // The intact THP units: 2 MiB.
    for u in [units[0], units[2]] {
        let out = nec::blk(fd, false, OS, ME, false, u, 2 << 20, 100).map_err(e("BLK THP"))?;
        ensure_eq("intact THP: pgsz", out.pgsz, 2 << 20)?;
        ensure_eq(
            "intact THP: paddr",
            &out.paddr,
            &expected_paddrs("self", u, 1, 2 << 20)?,
        )?;
    }
    // hugetlb 2 MiB: 2 MiB.
    let h = Buffer::new(Backing::Hugetlb2m, 4 << 20)?;
    let out =
        nec::blk(fd, false, OS, ME, false, h.addr(), 4 << 20, 100).map_err(e("BLK hugetlb"))?;
    ensure_eq("hugetlb: pgsz", out.pgsz, 2 << 20)?;
    ensure_eq(
        "hugetlb: paddr",
        &out.paddr,
        &expected_paddrs("self", h.addr(), 2, 2 << 20)?,
    )?;
    // Intact, split, intact, pinned: one 2 MiB entry, and the split unit was the last one pinned.
    let (acq0, _) = sys::pin_counters().ok_or("nr_foll_pin_* unreadable")?;
    let out =
        nec::blk(fd, true, OS, ME, false, units[0], 6 << 20, 100).map_err(e("BLK_PIN_DOWN all"))?;
    let (acq1, _) = sys::pin_counters().ok_or("nr_foll_pin_* unreadable")?;
    let kept = pins_held() - held;
    nec::release_blk(fd, OS, &out.paddr).map_err(e("release"))?;
    ensure_eq("intact+split+intact: pgsz", out.pgsz, 2 << 20)?;
    ensure_eq("intact+split+intact: npages", out.paddr.len(), 1)?;
    ensure_eq("intact+split+intact: length", out.length, 2 << 20)?;
    ensure_eq("intact+split+intact: pages kept", kept, 512)?;
    ensure(acq1 - acq0 <= 100 + 2 * 512, || {
        format!(
            "pins taken for the answer: {} (at most 100 to probe + 512 good + 512 unfit; the \
             third unit must not be pinned)",
            acq1 - acq0
        )
    })?;
    ensure(unit_is_split_contiguous(units[1])?, || {
        "the split unit changed during the test (khugepaged?)".into()
    })?;
    ensure_eq("pins held", pins_held() - held, 0)?;
    Ok(None)
}

/// A 2 MiB entry (unit base U, 16 pages pinned) and a 4 KiB entry of the unit's first page (U + 8,
/// 1 page pinned) on one list, in both orders: a release by each address releases its own entry.
fn same_frame_entries(fd: &OwnedFd) -> R {
    let h = Buffer::new(Backing::Hugetlb2m, 2 << 20)?;
    let u = phys_of("self", h.addr()).ok_or("no pagemap entry")?;
    for huge_first in [false, true] {
        let held = pins_held();
        let pin_huge = || -> Result<u64, String> {
            let out = nec::blk(fd, true, OS, ME, true, h.addr() + PAGE, 16 * PAGE, 100)
                .map_err(e("BLK_PIN_DOWN"))?;
            ensure_eq("pgsz", out.pgsz, 2 << 20)?;
            ensure_eq("paddr", &out.paddr, &vec![u])?;
            Ok(out.paddr[0])
        };
        let pin_small = || -> Result<u64, String> {
            let p = nec::page(fd, true, OS, ME, true, h.addr() + 8).map_err(e("PIN_DOWN"))?;
            ensure_eq("phys", p, u + 8)?;
            Ok(p)
        };
        let (big, small) = if huge_first {
            let big = pin_huge()?;
            (big, pin_small()?)
        } else {
            let small = pin_small()?;
            (pin_huge()?, small)
        };
        let order = if huge_first {
            "2 MiB first"
        } else {
            "4 KiB first"
        };
        ensure_eq(&format!("{order}: pinned"), pins_held() - held, 17)?;
        ensure_eq(
            &format!("{order}: COUNT"),
            nec::count(fd, OS).map_err(e("COUNT"))?,
            2,
        )?;
        if huge_first {
            // The newer entry is the 4 KiB one; the block release of U means the 2 MiB entry.
            nec::release_blk(fd, OS, &[big]).map_err(e("RELEASE_PD_PAGE_BLK of U"))?;
            ensure_eq(
                &format!("{order}: pins after releasing U (the 2 MiB entry's 16 pages)"),
                pins_held() - held,
                1,
            )?;
            nec::release_page(fd, OS, small).map_err(e("RELEASE_PD_PAGE of U + 8"))?;
        } else {
            // The newer entry is the 2 MiB one; U + 8 means the 4 KiB entry.
            nec::release_page(fd, OS, small).map_err(e("RELEASE_PD_PAGE of U + 8"))?;
            ensure_eq(
                &format!("{order}: pins after releasing U + 8 (the 4 KiB entry's page)"),
                pins_held() - held,
                16,
            )?;
            nec::release_blk(fd, OS, &[big]).map_err(e("RELEASE_PD_PAGE_BLK of U"))?;
        }
        ensure_eq(&format!("{order}: pins held"), pins_held() - held, 0)?;
        ensure_eq(
            &format!("{order}: COUNT"),
            nec::count(fd, OS).map_err(e("COUNT"))?,
            0,
        )?;
    }
    Ok(())
}

/// VHVA_TO_VSAA (and the block translation) with write=1 on a private page shared copy-on-write
/// with a forked child: the answer is the shared page, COW is not broken (both pagemaps keep the
/// frame), nothing stays pinned; a write translation of a read-only mapping is still EFAULT.
/// PIN_DOWN with write=1 does break COW, as it must before the device writes.
fn translate_write_keeps_cow(fd: &OwnedFd) -> R {
    let b = Buffer::new(Backing::Anon4k, 4 * PAGE as usize)?;
    let va = b.addr();
    let mut go = [0i32; 2];
    // SAFETY: a pipe we own.
    unsafe { libc::pipe(go.as_mut_ptr()) };
    // SAFETY: the child only waits on the pipe and `_exit`s, touching nothing.
    let child = unsafe { libc::fork() };
    if child == 0 {
        // SAFETY: blocks until the parent is done, then leaves.
        unsafe {
            let mut x = 0u8;
            libc::read(go[0], std::ptr::from_mut::<u8>(&mut x).cast(), 1);
            libc::_exit(0);
        }
    }
    let r = (|| {
        let cpid = child.to_string();
        let f0 = phys_of("self", va).ok_or("no pagemap entry")?;
        ensure_eq(
            "the child maps the same frame (COW-shared)",
            phys_of(&cpid, va),
            Some(f0),
        )?;
        let held = pins_held();
        let p = nec::page(fd, false, OS, ME, true, va + 8).map_err(e("VHVA_TO_VSAA write"))?;
        ensure_eq("phys (the shared page)", p, f0 + 8)?;
        let out = nec::blk(fd, false, OS, ME, true, va, 2 * PAGE, 100)
            .map_err(e("VHVA_TO_VSAA_BLK write"))?;
        ensure_eq("BLK paddr[0]", out.paddr[0], f0)?;
        ensure_eq(
            "parent's frame after the translations",
            phys_of("self", va),
            Some(f0),
        )?;
        ensure_eq(
            "child's frame after the translations",
            phys_of(&cpid, va),
            Some(f0),
        )?;
        ensure_eq("pins held", pins_held() - held, 0)?;
        // SAFETY: reads our own mapped buffer.
        let v = unsafe { b.ptr.cast::<u64>().read() };
        ensure_eq("data", v, 0x5a5a_5a5a)?;
        // Pinning for the device to write breaks COW first: the parent gets its own copy.
        let p = nec::page(fd, true, OS, ME, true, va).map_err(e("PIN_DOWN write"))?;
        let f1 = phys_of("self", va).ok_or("no pagemap entry")?;
        ensure(p == f1 && f1 != f0, || {
            format!("PIN_DOWN write=1: phys {p:#x}, parent now {f1:#x}, shared {f0:#x}")
        })?;
        ensure_eq("child's frame after PIN_DOWN", phys_of(&cpid, va), Some(f0))?;
        nec::release_page(fd, OS, p).map_err(e("release"))?;
        ensure_eq("pins held after release", pins_held() - held, 0)?;
        // A read-only mapping: a write translation is refused as before.
        let m = Mapping::anon(
            PAGE as usize,
            libc::PROT_READ,
            libc::MAP_PRIVATE | libc::MAP_POPULATE,
        )
        .map_err(e("mmap"))?;
        let r1 = nec::page(fd, false, OS, ME, true, m.addr());
        let r2 = nec::blk(fd, false, OS, ME, true, m.addr(), PAGE, 100);
        let r3 = nec::page(fd, false, OS, ME, false, m.addr());
        drop(m);
        ensure_errno(
            "VHVA_TO_VSAA write of a read-only mapping",
            r1,
            libc::EFAULT,
        )?;
        ensure_errno(
            "VHVA_TO_VSAA_BLK write of a read-only mapping",
            r2,
            libc::EFAULT,
        )?;
        r3.map_err(e("VHVA_TO_VSAA read of a read-only mapping"))?;
        ensure_eq("pins held at the end", pins_held() - held, 0)
    })();
    let mut status = 0;
    // SAFETY: lets the child go and reaps it.
    unsafe {
        libc::write(go[1], [1u8].as_ptr().cast(), 1);
        libc::waitpid(child, &mut status, 0);
    }
    r
}
