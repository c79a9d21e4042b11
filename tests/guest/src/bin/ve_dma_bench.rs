// SPDX-License-Identifier: GPL-2.0

//! ve_dma_bench: VH <-> VE bandwidth of four ways to drive the privileged DMA engine, measured
//! side by side in one boot on the same buffers, over NEC's buffer sizes:
//! - `legacy`: VEOS 1.2.2's user-space manager (one pin ioctl per 4 KiB page), on this driver's
//!   NEC ABI with `user_pdma=1` (`ve_guest::necdma`);
//! - `bulk`: NEC >= 2.1's user-space manager (<= 100 entries per pin ioctl, posting every 64 page
//!   steps);
//! - `kernel`: this driver's in-kernel manager, one `VE_DMA_IOC_XFER` per transfer;
//! - `raw`: the engine's own busy time for the kernel manager's descriptors (the limit here: the
//!   host's copy rate).
//! It loads the module itself, once with `user_pdma=1` (legacy, bulk) and once without (kernel).
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
        OwnedFd, //
    },
    time::Instant, //
};

use ve_guest::{
    emubar::EmuBar,
    hw::emu,
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

#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Mode {
    Legacy,
    Bulk,
    Kernel,
}

/// One measurement: wall ns, engine busy ns, descriptors.
#[derive(Copy, Clone, Debug)]
struct Sample {
    wall: f64,
    busy: f64,
    descs: u64,
}

fn run_once(
    mode: Mode,
    fd: &OwnedFd,
    eng: Option<&UserEngine<'_>>,
    c: &EmuBar,
    to_ve: bool,
    vh: u64,
    len: u64,
) -> Result<Sample, String> {
    const VE: u64 = 0x1_0000_0000;
    let busy0 = c.get(emu::OFF_CNT_BUSY_NS);
    let t = Instant::now();
    let descs = match mode {
        Mode::Kernel => {
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
            sys::ioctl(fd, uapi::VE_DMA_IOC_XFER, &mut a)
                .map_err(|e| format!("XFER: {}", errname(e)))?;
            a.descs as u64
        }
        Mode::Legacy => necdma::legacy(fd, eng.ok_or("no engine mapping")?, vh, VE, len, to_ve)?,
        Mode::Bulk => necdma::bulk(fd, eng.ok_or("no engine mapping")?, vh, VE, len, to_ve)?,
    };
    let wall = t.elapsed().as_nanos() as f64;
    let busy = (c.get(emu::OFF_CNT_BUSY_NS) - busy0) as f64;
    Ok(Sample {
        wall,
        busy: busy.max(1.0),
        descs,
    })
}

fn mibs(bytes: u64, ns: f64) -> f64 {
    bytes as f64 / 1048576.0 / (ns / 1e9)
}

type Key = (usize, bool, u64, Mode);

fn main() {
    let mut max_mib = 256u64;
    let mut reps = 3;
    let mut module = String::from("/lib/modules/ve_drv.ko");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--max-mib" => {
                max_mib = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--max-mib N")
            }
            "--reps" => reps = args.next().and_then(|n| n.parse().ok()).expect("--reps N"),
            "--module" => module = args.next().expect("--module PATH"),
            _ => {
                eprintln!("usage: ve_dma_bench [--max-mib N] [--reps N] [--module PATH]");
                std::process::exit(2);
            }
        }
    }
    // NEC's scan: 32 KiB .. 512 KiB, then 1 MiB doubling.
    let mut sizes: Vec<u64> = [32u64, 64, 128, 256, 512].iter().map(|k| k << 10).collect();
    let mut m = 1u64;
    while m <= max_mib {
        sizes.push(m << 20);
        m *= 2;
    }
    // 4 KiB pages as a fresh guest hands them out (often physically contiguous), 4 KiB pages
    // fragmented on purpose (one descriptor per page), hugetlb 2 MiB.
    type Alloc = fn(usize) -> Result<Buffer, String>;
    let backings: [(&str, Alloc); 3] = [
        ("anon_4k", |n| Buffer::new(Backing::Anon4k, n)),
        ("anon_4k_fragmented", Buffer::new_fragmented),
        ("hugetlb_2m", |n| Buffer::new(Backing::Hugetlb2m, n)),
    ];
    let mut t = Tap::new("ve_dma_bench", 3);
    let buffers: Result<Vec<Buffer>, String> = backings
        .iter()
        .map(|(_, a)| a((max_mib << 20) as usize))
        .collect();
    let (buffers, c) = match (buffers, EmuBar::open()) {
        (Ok(b), Ok(c)) => (b, c),
        (b, c) => {
            t.result(
                "buffers and the emulator's counters",
                Err(format!("{:?} {:?}", b.err(), c.err())),
            );
            std::process::exit(t.finish());
        }
    };
    let held = pins_held();
    let mut results: BTreeMap<Key, Sample> = BTreeMap::new();
    let mut ok = Ok(());
    for (params, modes) in [
        (
            "emulator=1 user_pdma=1",
            [Mode::Legacy, Mode::Bulk].as_slice(),
        ),
        ("emulator=1", [Mode::Kernel].as_slice()),
    ] {
        let r = (|| {
            sys::insmod(&module, params).map_err(|e| format!("insmod {params}: {}", errname(e)))?;
            let run = (|| {
                let fd = sys::open_rw("/dev/ve0").map_err(|e| format!("open: {}", errname(e)))?;
                let eng = if modes.contains(&Mode::Kernel) {
                    None
                } else {
                    Some(UserEngine::map(&fd).map_err(|e| format!("mmap: {}", errname(e)))?)
                };
                for &mode in modes {
                    for (bi, b) in buffers.iter().enumerate() {
                        for to_ve in [false, true] {
                            for &len in &sizes {
                                let mut v = Vec::new();
                                for _ in 0..reps {
                                    v.push(run_once(
                                        mode,
                                        &fd,
                                        eng.as_ref(),
                                        &c,
                                        to_ve,
                                        b.addr(),
                                        len,
                                    )?);
                                }
                                v.sort_by(|x, y| x.wall.total_cmp(&y.wall));
                                results.insert((bi, to_ve, len, mode), v[v.len() / 2]);
                            }
                        }
                        eprintln!("ve_dma_bench: {mode:?} {} done", backings[bi].0);
                    }
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
    t.diag("DMA bandwidth, MiB/s (median of the runs). TCG guest against a native emulator: not hardware numbers.");
    t.diag("legacy and bulk are NEC's user-space managers run on this driver's pin ioctls (faster or slower than");
    t.diag("NEC's vp.ko: see the pinning micro-benchmark); raw = the engine's busy time for the kernel manager's descriptors.");
    for (bi, (bname, _)) in backings.iter().enumerate() {
        for to_ve in [false, true] {
            let dir = if to_ve { "vh2ve" } else { "ve2vh" };
            t.diag(&format!("{bname} {dir}:"));
            t.diag("| buff kb | legacy MiB/s | bulk MiB/s | kernel MiB/s | raw MiB/s | kernel/raw | kernel/bulk | kernel/legacy | descriptors legacy/bulk/kernel |");
            t.diag("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            for &len in &sizes {
                let get = |m| results.get(&(bi, to_ve, len, m)).copied();
                let (Some(l), Some(b), Some(k)) =
                    (get(Mode::Legacy), get(Mode::Bulk), get(Mode::Kernel))
                else {
                    continue;
                };
                t.diag(&format!(
                    "| {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} | {}/{}/{} |",
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
                    k.descs
                ));
            }
        }
    }
    t.result("every mode ran every transfer", ok);
    t.result(
        "results for every size",
        if results.len() == 3 * 2 * sizes.len() * 3 {
            Ok(())
        } else {
            Err(format!("{} results", results.len()))
        },
    );
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
