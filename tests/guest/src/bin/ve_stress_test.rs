// SPDX-License-Identifier: GPL-2.0

//! ve_stress_test: the DMA manager under conditions that real systems produce now and then, each
//! with every byte compared and nothing left pinned afterwards:
//! - an interrupt storm: thousands of spurious MSI-X interrupts (no INTVEC bit, nothing
//!   completed) while transfers run;
//! - memory compaction running in a loop while transfers pin THP and 4 KiB buffers;
//! - a long run of random requests (sizes, memory types, directions, two in flight at once) with
//!   exceptions injected at random descriptors: each request either completes with its data intact
//!   or fails with EIO and the injected code, and the others are not disturbed.
//!
//! Usage: ve_stress_test [--seed N] [--requests N]. Needs `ve_drv` loaded with `emulator=1`.

use std::{
    os::fd::OwnedFd,
    sync::atomic::{
        AtomicBool,
        Ordering, //
    },
};

use ve_guest::{
    dma::{
        fill,
        open_card,
        same,
        submit,
        wait,
        xfer,
        xfer_round_trip, //
    },
    emubar::EmuBar,
    hw::{
        desc,
        emu, //
    },
    ksft::{
        diag,
        ensure,
        ensure_eq,
        numeric_args,
        Rng, //
    },
    mem::{
        frames_of,
        Backing,
        Buffer,
        Mapping, //
    },
    nec::pins_held,
    suite::{
        Bail,
        Fixture,
        Suite, //
    },
    sys::{
        self,
        errname, //
    },
    uapi,
};

type R = Result<(), String>;
const MIB: usize = 1 << 20;

/// VH `src` -> VE -> VH `dst` with XFER, compared.
fn round_trip(fd: &OwnedFd, src: &Buffer, dst: &Buffer, len: usize, ve: u64, seed: u64) -> R {
    ensure(len <= src.len && len <= dst.len && len % 8 == 0, || {
        format!("round trip of {len} bytes")
    })?;
    // SAFETY: both buffers are mapped for at least `len` bytes, a multiple of 8, and this thread
    // is the only user of them during the call.
    unsafe { xfer_round_trip(fd, src.ptr, dst.ptr, len, ve, seed) }
}

fn irq_count(fd: &OwnedFd) -> Result<u64, String> {
    let mut info = uapi::VeDrvInfo::default();
    sys::ioctl(fd, uapi::VE_DRV_IOC_INFO, &mut info).map_err(errname)?;
    Ok(info.irq_count)
}

/// The card, the emulator's controls and the random run's parameters.
struct Fx {
    fd: OwnedFd,
    c: EmuBar,
    seed: u64,
    requests: u64,
    baseline: i64,
}

impl Fixture for Fx {}

fn main() {
    let mut seed = 0x5eed_5e55u64;
    let mut requests = 400u64;
    numeric_args(
        "ve_stress_test [--seed N] [--requests N]",
        &mut [("seed", &mut seed), ("requests", &mut requests)],
    );
    let suite = Suite::new("ve_stress_test")
        .case("an interrupt storm (spurious MSI-X) during transfers", storm)
        .case(
            "transfers while memory is compacted and collapsed into huge pages around them",
            compaction,
        )
        .case(
            format!(
                "{requests} random requests, two in flight, exceptions injected at random descriptors"
            ),
            random_exceptions,
        )
        .case("nothing left pinned", nothing_left_pinned);
    std::process::exit(suite.run(|| {
        diag(&format!(
            "seed {seed} (replay: ve_stress_test --seed {seed} --requests {requests})"
        ));
        let baseline = pins_held();
        let (fd, c) =
            open_card().map_err(Bail::as_("open /dev/ve0 and map the emulator's controls"))?;
        Ok(Fx {
            fd,
            c,
            seed,
            requests,
            baseline,
        })
    }));
}

fn nothing_left_pinned(fx: &mut Fx) -> R {
    ensure_eq("pins held", pins_held() - fx.baseline, 0)
}

/// 3000 spurious interrupts, raised from the first doorbell of 20 round trips of 1 MiB.
fn storm(fx: &mut Fx) -> R {
    let (fd, c) = (&fx.fd, &fx.c);
    const STORM: u64 = 3000;
    let held = pins_held();
    let src = Buffer::new(Backing::Anon4k, MIB)?;
    let dst = Buffer::new(Backing::Anon4k, MIB)?;
    let irqs0 = irq_count(fd)?;
    let spurious0 = c.get(emu::OFF_CNT_IRQS_SPURIOUS);
    let g = c.control(emu::OFF_CTL_IRQ_STORM, STORM);
    let r = (0..20u64).try_for_each(|k| round_trip(fd, &src, &dst, MIB, 0x100_0000 + (k << 20), k));
    g.release();
    r?;
    // The storm may outlast the transfers: let it end (3000 x 20 us and more) before counting.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let raised = c.get(emu::OFF_CNT_IRQS_SPURIOUS) - spurious0;
    let handled = irq_count(fd)? - irqs0;
    println!("# figure: interrupt storm: {raised} spurious interrupts raised, {handled} handled by the driver during 20 round trips");
    ensure_eq("spurious interrupts raised", raised, STORM)?;
    ensure(handled >= 100, || {
        format!("the driver handled only {handled} interrupts")
    })?;
    ensure_eq("pins held", pins_held() - held, 0)
}

/// `MADV_COLLAPSE` (Linux 6.1): collapse the range into huge pages now, migrating its pages.
const MADV_COLLAPSE: i32 = 25;

/// A 2 MiB-aligned anonymous mapping with no THP advice: 4 KiB pages at fault, collapsible.
struct Plain {
    map: Mapping,
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the mapping is plain process memory; the threads sharing a `Plain` only pass its
// address to system calls or touch it through the DMA under test.
unsafe impl Sync for Plain {}

impl Plain {
    fn new(len: usize) -> Result<Self, String> {
        // 2 MiB of slack for the alignment.
        let map = Mapping::anon(
            len + 2 * MIB,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE,
        )
        .map_err(|_| "mmap")?;
        // SAFETY: the 2 MiB-aligned start is within the first 2 MiB of the mapping.
        let ptr = unsafe { map.ptr().add(map.ptr().align_offset(2 * MIB)) };
        // SAFETY: `ptr` is 2 MiB-aligned within the fresh mapping of `len + 2 MiB` bytes; the
        // callers' `len` are multiples of 8.
        unsafe { fill(ptr, len, 0x77) }; // fault in as 4 KiB pages
        Ok(Self { map, ptr, len })
    }

    fn addr(&self) -> u64 {
        self.ptr as u64
    }

    /// Collapses it into huge pages; how many of its 4 KiB pages moved.
    fn collapse(&self) -> Result<usize, String> {
        let before = frames_of(self.addr(), self.len / 4096)?;
        // The result only tells whether it collapsed.
        let off = self.ptr as usize - self.map.ptr() as usize;
        let _ = self.map.advise(off, self.len, MADV_COLLAPSE);
        let after = frames_of(self.addr(), self.len / 4096)?;
        Ok(before
            .iter()
            .zip(&after)
            .filter(|(a, b)| a.is_some() && a != b)
            .count())
    }
}

/// Pages that move under a transfer: one thread compacts memory and collapses fresh 4 KiB
/// regions into huge pages (migrating their pages) in a loop, while round trips run on 4 KiB
/// buffers that another thread tries to collapse in the middle of each transfer (the engine
/// slowed down so that the collapse meets pinned pages). The data must arrive intact: a pinned
/// page is never migrated away from under the device.
fn compaction(fx: &mut Fx) -> R {
    let (fd, c) = (&fx.fd, &fx.c);
    const PATH: &str = "/proc/sys/vm/compact_memory";
    ensure(sys::exists(PATH), || {
        format!("{PATH} missing: the kernel lacks CONFIG_COMPACTION")
    })?;
    let held = pins_held();
    let stop = AtomicBool::new(false);
    let (r, (compactions, moved)) = std::thread::scope(|s| {
        let h = s.spawn(|| {
            let (mut n, mut moved) = (0u64, 0usize);
            while !stop.load(Ordering::Relaxed) {
                if sys::write_file(PATH, "1").is_ok() {
                    n += 1;
                }
                if let Ok(p) = Plain::new(2 * MIB) {
                    moved += p.collapse().unwrap_or(0);
                }
            }
            (n, moved)
        });
        // 8 MiB per round trip at 256 MiB/s: about 30 ms of engine time to collapse into.
        let g = c.control(emu::OFF_CTL_BW_MIBS, 256);
        let r = (0..12u64).try_for_each(|k| {
            let src = Plain::new(4 * MIB)?;
            let dst = Plain::new(4 * MIB)?;
            std::thread::scope(|s2| {
                s2.spawn(|| {
                    std::thread::sleep(std::time::Duration::from_millis(3));
                    let _ = src.collapse();
                    std::thread::sleep(std::time::Duration::from_millis(10));
                    let _ = dst.collapse();
                });
                // SAFETY: two 4 MiB mappings; the other thread only asks the kernel to collapse
                // them (MADV_COLLAPSE moves pages, not bytes).
                unsafe {
                    xfer_round_trip(
                        fd,
                        src.ptr,
                        dst.ptr,
                        4 * MIB,
                        0x800_0000 + (k << 22),
                        500 + k,
                    )
                }
            })
        });
        g.release();
        stop.store(true, Ordering::Relaxed);
        (r, h.join().unwrap_or((0, 0)))
    });
    r?;
    println!("# figure: compaction: {compactions} compaction runs, {moved} pages moved by collapses during 12 round trips of 4 MiB");
    ensure(compactions > 0, || "no compaction ran".into())?;
    ensure(moved > 0, || "no page moved: no pressure".into())?;
    ensure_eq("pins held", pins_held() - held, 0)
}

/// The memory types of the random run.
fn buffers() -> Result<Vec<(Buffer, Buffer)>, String> {
    let mut v = Vec::new();
    for backing in [Backing::Anon4k, Backing::Thp, Backing::Hugetlb2m] {
        v.push((
            Buffer::new(backing, 4 * MIB)?,
            Buffer::new(backing, 4 * MIB)?,
        ));
    }
    v.push((
        Buffer::new_fragmented(4 * MIB)?,
        Buffer::new_fragmented(4 * MIB)?,
    ));
    Ok(v)
}

/// Pairs of requests (VH -> VE, then back) of random sizes and memory, submitted together;
/// every third pair gets an exception injected at a random one of its first descriptors.
fn random_exceptions(fx: &mut Fx) -> R {
    let (fd, c, seed, requests) = (&fx.fd, &fx.c, fx.seed, fx.requests);
    let held = pins_held();
    let bufs = buffers()?;
    let mut rng = Rng(seed | 1);
    let (mut ok, mut failed) = (0u64, 0u64);
    for i in 0..requests / 2 {
        // Two requests: each with its own buffers and VE range.
        let picks: Vec<(usize, usize, u64)> = (0..2u64)
            .map(|k| {
                let b = rng.below(bufs.len() as u64) as usize;
                let off = 8 * rng.below(512) as usize;
                (
                    b,
                    off,
                    0x1000_0000 + (((2 * i + k) % 64) << 23) + 8 * rng.below(1000),
                )
            })
            .collect();
        let lens: Vec<usize> = (0..2)
            .map(|_| 8 * (1 + rng.below((2 * MIB / 8) as u64)) as usize)
            .collect();
        // Distinct buffers for the two requests.
        let picks = if picks[0].0 == picks[1].0 {
            vec![
                picks[0],
                ((picks[1].0 + 1) % bufs.len(), picks[1].1, picks[1].2),
            ]
        } else {
            picks
        };
        for (k, &(b, off, _)) in picks.iter().enumerate() {
            // SAFETY: off + len < 4 MiB, inside the source buffer; the lengths are multiples of 8.
            unsafe { fill(bufs[b].0.ptr.add(off), lens[k], seed ^ i ^ k as u64) };
        }
        let inject = rng.below(3) == 0;
        let exc = inject.then(|| {
            c.control(
                emu::OFF_CTL_EXC_AT,
                c.get(emu::OFF_CNT_STARTED) + 1 + rng.below(6),
            )
        });
        let ids: Vec<Result<u64, i32>> = picks
            .iter()
            .enumerate()
            .map(|(k, &(b, off, ve))| {
                submit(fd, true, bufs[b].0.addr() + off as u64, ve, lens[k] as u64)
            })
            .collect();
        let mut outcome = Vec::new();
        for id in &ids {
            let id = id.map_err(|e| format!("pair {i}: submit: {}", errname(e)))?;
            let w = wait(fd, id, 10_000).map_err(|e| format!("pair {i}: wait: {}", errname(e)))?;
            outcome.push(w);
        }
        drop(exc);
        for (k, w) in outcome.iter().enumerate() {
            let (b, off, ve) = picks[k];
            match w.status {
                0 => {
                    ensure_eq("bytes", w.bytes_done, lens[k] as u64)?;
                    let dst = &bufs[b].1;
                    // SAFETY: `dst` is a 4 MiB buffer, idle (its transfer finished).
                    unsafe { fill(dst.ptr, 4 * MIB, !i) };
                    xfer(fd, false, dst.addr() + off as u64, ve, lens[k] as u64)
                        .map_err(|(e, _)| format!("pair {i}: read back: {}", errname(e)))?;
                    // SAFETY: the same range of both 4 MiB buffers (off + len < 4 MiB), whose
                    // transfers have finished.
                    unsafe { same(bufs[b].0.ptr.add(off), dst.ptr.add(off), lens[k]) }.map_err(
                        |m| format!("pair {i} request {k} ({}): {m}", bufs[b].0.backing.name()),
                    )?;
                    ok += 1;
                }
                s if s == -libc::EIO => {
                    ensure(inject, || {
                        format!("pair {i}: EIO without an injected exception")
                    })?;
                    ensure_eq("exception code", w.exception, u32::from(desc::EXC_INJECTED))?;
                    failed += 1;
                }
                s => return Err(format!("pair {i} request {k}: status {s}")),
            }
        }
        if inject {
            ensure(
                outcome.iter().filter(|w| w.status != 0).count() <= 1,
                || format!("pair {i}: one injected exception failed both requests"),
            )?;
        }
    }
    println!("# figure: random run: {ok} requests completed and verified, {failed} failed by injected exceptions");
    ensure(ok > 0 && failed > 0, || {
        format!("{ok} completed, {failed} failed: the run proves nothing")
    })?;
    ensure_eq("pins held", pins_held() - held, 0)
}
