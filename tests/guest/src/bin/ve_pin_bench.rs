// SPDX-License-Identifier: GPL-2.0

//! ve_pin_bench: the pinning micro-benchmark. In one boot, on the same buffers, it measures
//! nanoseconds per 4 KiB page (pin + unpin) for:
//! - the kernel's own `pin_user_pages_fast` in batches of 512 (`gup_test -a -n 512`, debugfs),
//!   and one page per call (`gup_test -a -n 1`: what one page's GUP costs a one-page ioctl),
//! - this driver's pin engine (test-only ioctl; `test_ioctls=1`), short-term and long-term,
//! - NEC's bulk ioctls (`VHVA_TO_VSAA_BLK_PIN_DOWN` <= 100 entries + `RELEASE_PD_PAGE_BLK`),
//! - NEC's one-page ioctls (`VHVA_TO_VSAA_PIN_DOWN` + `RELEASE_PD_PAGE` per 4 KiB page).
//!
//! Each over 64 and 256 MiB of 4 KiB and 2 MiB (hugetlb) pages. A benchmark, not a test: it asserts
//! only that every mode ran and released everything.
//!
//! ```text
//! ve_pin_bench [--reps N] [--sizes 64,256]
//! ```

use std::{
    os::fd::OwnedFd,
    time::Instant, //
};

use ve_guest::{
    ksft::{
        ensure_eq,
        Tap, //
    },
    mem::{
        Backing,
        Buffer, //
    },
    nec::{
        self,
        pins_held, //
    },
    sys::{
        self,
        errname, //
    },
    uapi::{
        self,
        VeDrvPinBench, //
    },
};

/// `struct gup_test` (mm/gup_test.h).
#[repr(C)]
#[derive(Default)]
struct GupTest {
    get_delta_usec: u64,
    put_delta_usec: u64,
    addr: u64,
    size: u64,
    nr_pages_per_call: u32,
    gup_flags: u32,
    test_flags: u32,
    which_pages: [u32; 8],
}

/// `PIN_FAST_BENCHMARK`: `_IOWR('g', 2, struct gup_test)`.
const PIN_FAST_BENCHMARK: u32 = uapi::ioc(3, b'g' as u32, 2, std::mem::size_of::<GupTest>());
const FOLL_WRITE: u32 = 1;

/// (pin ns, unpin ns) for the whole buffer.
type Sample = (f64, f64);

/// `gup_test -a -n per_call`: pins the buffer `per_call` pages per `pin_user_pages_fast` call,
/// then unpins it.
fn gup_test(gup: &OwnedFd, b: &Buffer, per_call: u32) -> Result<Sample, String> {
    let mut g = GupTest {
        addr: b.addr(),
        size: b.len as u64,
        nr_pages_per_call: per_call,
        gup_flags: FOLL_WRITE,
        ..Default::default()
    };
    sys::ioctl(gup, PIN_FAST_BENCHMARK, &mut g).map_err(|x| format!("gup_test: {}", errname(x)))?;
    Ok((g.get_delta_usec as f64 * 1e3, g.put_delta_usec as f64 * 1e3))
}

fn engine(dev: &OwnedFd, b: &Buffer, flags: u32) -> Result<Sample, String> {
    let mut a = VeDrvPinBench {
        addr: b.addr(),
        len: b.len as u64,
        flags,
        ..Default::default()
    };
    sys::ioctl(dev, uapi::VE_DRV_IOC_PIN_BENCH, &mut a)
        .map_err(|x| format!("PIN_BENCH: {}", errname(x)))?;
    Ok((a.pin_ns as f64, a.unpin_ns as f64))
}

fn bulk(dev: &OwnedFd, b: &Buffer) -> Result<Sample, String> {
    let end = b.addr() + b.len as u64;
    let mut blocks = Vec::new();
    let t = Instant::now();
    let mut va = b.addr();
    while va < end {
        let out = nec::blk(dev, true, uapi::OS_LIST, 0, true, va, end - va, 100)
            .map_err(|x| format!("BLK_PIN_DOWN: {}", errname(x)))?;
        va += out.length;
        blocks.push(out.paddr);
    }
    let pin = t.elapsed().as_nanos() as f64;
    let t = Instant::now();
    for p in &blocks {
        nec::release_blk(dev, uapi::OS_LIST, p)
            .map_err(|x| format!("RELEASE_PD_PAGE_BLK: {}", errname(x)))?;
    }
    Ok((pin, t.elapsed().as_nanos() as f64))
}

fn one_page(dev: &OwnedFd, b: &Buffer) -> Result<Sample, String> {
    let mut phys = Vec::with_capacity(b.len / 4096);
    let t = Instant::now();
    for off in (0..b.len as u64).step_by(4096) {
        phys.push(
            nec::page(dev, true, uapi::OS_LIST, 0, true, b.addr() + off)
                .map_err(|x| format!("PIN_DOWN: {}", errname(x)))?,
        );
    }
    let pin = t.elapsed().as_nanos() as f64;
    let t = Instant::now();
    for p in phys {
        nec::release_page(dev, uapi::OS_LIST, p)
            .map_err(|x| format!("RELEASE_PD_PAGE: {}", errname(x)))?;
    }
    Ok((pin, t.elapsed().as_nanos() as f64))
}

/// Median of `reps` runs, as ns per 4 KiB page.
fn measure(
    reps: usize,
    pages: f64,
    mut f: impl FnMut() -> Result<Sample, String>,
) -> Result<Sample, String> {
    let mut v = Vec::new();
    for _ in 0..reps {
        v.push(f()?);
    }
    v.sort_by(|a, b| (a.0 + a.1).total_cmp(&(b.0 + b.1)));
    let (p, u) = v[v.len() / 2];
    Ok((p / pages, u / pages))
}

fn main() {
    let mut reps = 3;
    let mut sizes = vec![64usize, 256];
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--reps" => reps = args.next().and_then(|n| n.parse().ok()).expect("--reps N"),
            "--sizes" => {
                sizes = args
                    .next()
                    .expect("--sizes")
                    .split(',')
                    .map(|s| s.parse().expect("MiB"))
                    .collect()
            }
            _ => {
                eprintln!("usage: ve_pin_bench [--reps N] [--sizes 64,256]");
                std::process::exit(2);
            }
        }
    }
    let mut t = Tap::new("ve_pin_bench", 2 * sizes.len() + 2);
    let dev = sys::open_rw("/dev/ve0");
    let gup = sys::open_rw("/sys/kernel/debug/gup_test");
    let (Ok(dev), Ok(gup)) = (dev, gup) else {
        t.bail(
            "open /dev/ve0 and /sys/kernel/debug/gup_test",
            "cannot open (module loaded with test_ioctls=1? CONFIG_GUP_TEST?)".into(),
        );
    };
    let held = pins_held();
    t.diag("pinning micro-benchmark: ns per 4 KiB page, pin + unpin (median of the runs)");
    t.diag("TCG guest: compare rows of one boot, not absolute numbers");
    // The fixed cost of one ioctl: the cheapest command through the driver's dispatch, which
    // NEC's block calls pay once per 100 pages and its one-page calls once per page.
    let floor = {
        const CALLS: u32 = 2000;
        let t0 = Instant::now();
        for _ in 0..CALLS {
            let _ = nec::count(&dev, uapi::OS_LIST);
        }
        t0.elapsed().as_nanos() as f64 / f64::from(CALLS)
    };
    t.diag(&format!(
        "ioctl floor (COUNT_PD_PAGE_ALL): {floor:.0} ns per call, {:.0} ns per page of a 100-page block call",
        floor / 100.0
    ));
    t.diag(
        "1page/floor: one-page pin + release against two ioctl floors and one page's GUP (-n 1)",
    );
    t.diag(&format!(
        "{:<11} {:>5} | {:>15} | {:>15} | {:>15} | {:>15} | {:>15} | {:>15} | {:>9} | {:>9} | {:>11}",
        "memory",
        "MiB",
        "gup_test -n 512",
        "gup_test -n 1",
        "engine",
        "engine longterm",
        "bulk ioctls",
        "one-page ioctls",
        "eng/gup",
        "bulk/gup",
        "1page/floor"
    ));
    for backing in [Backing::Anon4k, Backing::Hugetlb2m] {
        for &mib in &sizes {
            let name = format!("{} {} MiB", backing.name(), mib);
            let r = (|| {
                let b = Buffer::new(backing, mib << 20)?;
                let pages = (b.len / 4096) as f64;
                let g = measure(reps, pages, || gup_test(&gup, &b, 512))?;
                let g1 = measure(reps, pages, || gup_test(&gup, &b, 1))?;
                let e = measure(reps, pages, || {
                    engine(&dev, &b, uapi::VE_DRV_PIN_BENCH_WRITE)
                })?;
                let l = measure(reps, pages, || {
                    engine(
                        &dev,
                        &b,
                        uapi::VE_DRV_PIN_BENCH_WRITE | uapi::VE_DRV_PIN_BENCH_LONGTERM,
                    )
                })?;
                let k = measure(reps, pages, || bulk(&dev, &b))?;
                let o = measure(1, pages, || one_page(&dev, &b))?;
                let cell = |s: Sample| format!("{:>6.0} +{:>6.0}", s.0, s.1);
                println!(
                    "# {:<11} {:>5} | {:>15} | {:>15} | {:>15} | {:>15} | {:>15} | {:>15} | {:>8.2}x | {:>8.2}x | {:>10.2}x",
                    backing.name(),
                    mib,
                    cell(g),
                    cell(g1),
                    cell(e),
                    cell(l),
                    cell(k),
                    cell(o),
                    (g.0 + g.1) / (e.0 + e.1),
                    (k.0 + k.1) / (g.0 + g.1),
                    (o.0 + o.1) / (2.0 * floor + g1.0 + g1.1)
                );
                Ok::<(), String>(())
            })();
            t.result(&format!("{name}: every mode ran"), r);
        }
    }
    t.result(
        "no entries left on the list",
        ensure_eq("COUNT", nec::count(&dev, uapi::OS_LIST).unwrap_or(-1), 0),
    );
    t.result(
        "nothing left pinned",
        ensure_eq("pins held", pins_held() - held, 0),
    );
    std::process::exit(t.finish());
}
