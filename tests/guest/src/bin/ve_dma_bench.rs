// SPDX-License-Identifier: GPL-2.0

//! ve_dma_bench: bandwidth of the in-kernel DMA manager (`VE_DMA_IOC_XFER`), side by side with the
//! engine's own time for the same descriptors, over NEC's buffer sizes.
//!
//! For every transfer it reads the emulator's counters (through BAR2, mapped from sysfs) before
//! and after: `raw` is bytes over the engine's busy time for exactly the descriptors this transfer
//! posted (the limit of this setup: the host's copy rate), `kernel` is bytes over the wall time of
//! the ioctl (pinning, posting, interrupts, unpinning included). Buffers are unregistered and
//! pinned on the fly, as in NEC's benchmark. A benchmark, not a test: it checks only that every
//! transfer succeeded and that the data arrived.
//!
//! ```text
//! ve_dma_bench [--max-mib N] [--reps N]
//! ```
//! The guest runs under TCG: guest CPU work is about 18x slower than on hardware while the
//! emulator copies natively, so these are not hardware numbers.

use std::{
    os::fd::{
        AsRawFd,
        OwnedFd, //
    },
    time::Instant, //
};

use ve_guest::{
    hw::{
        emu,
        pci_id, //
    },
    ksft::Tap,
    mem::{
        Backing,
        Buffer, //
    },
    nec::pins_held,
    sys::{
        self,
        errname, //
    },
    uapi::{
        self,
        VeDmaXfer, //
    },
};

/// The emulator's counters, mapped from BAR2.
struct Counters(*const u64);

impl Counters {
    fn open() -> Result<Self, String> {
        let bdf = sys::find_pci(pci_id::VENDOR_REDHAT_QUMRANET, pci_id::DEVICE_IVSHMEM)
            .ok_or("no ivshmem device")?;
        let f = std::fs::File::open(format!("/sys/bus/pci/devices/{bdf}/resource2"))
            .map_err(|e| format!("resource2: {e}"))?;
        // SAFETY: maps the first page of BAR2 read-only.
        let m = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ,
                libc::MAP_SHARED,
                f.as_raw_fd(),
                0,
            )
        };
        if m == libc::MAP_FAILED {
            return Err(format!("mmap: {}", std::io::Error::last_os_error()));
        }
        Ok(Self(m.cast()))
    }

    fn get(&self, off: usize) -> u64 {
        // SAFETY: an aligned offset within the mapped page.
        unsafe { self.0.add(off / 8).read_volatile() }
    }
}

/// One measured transfer: (wall ns, engine busy ns, descriptors).
fn measure(
    fd: &OwnedFd,
    c: &Counters,
    to_ve: bool,
    vh: u64,
    len: u64,
) -> Result<(f64, f64, u64), String> {
    let busy0 = c.get(emu::OFF_CNT_BUSY_NS);
    let mut a = VeDmaXfer {
        vh_addr: vh,
        ve_addr: 0x1_0000_0000,
        len,
        flags: if to_ve {
            uapi::VE_DMA_VH_TO_VE
        } else {
            uapi::VE_DMA_VE_TO_VH
        },
        ..Default::default()
    };
    let t = Instant::now();
    sys::ioctl(fd, uapi::VE_DMA_IOC_XFER, &mut a).map_err(|e| format!("XFER: {}", errname(e)))?;
    let wall = t.elapsed().as_nanos() as f64;
    let busy = (c.get(emu::OFF_CNT_BUSY_NS) - busy0) as f64;
    Ok((wall, busy.max(1.0), a.descs as u64))
}

fn mibs(bytes: u64, ns: f64) -> f64 {
    bytes as f64 / 1048576.0 / (ns / 1e9)
}

fn main() {
    let mut max_mib = 256u64;
    let mut reps = 3;
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
            _ => {
                eprintln!("usage: ve_dma_bench [--max-mib N] [--reps N]");
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
    // (name, how to allocate): 4 KiB pages as they come in a fresh guest (often physically
    // contiguous), 4 KiB pages fragmented on purpose (no two neighbours adjacent: one descriptor
    // per page), hugetlb 2 MiB.
    type Alloc = fn(usize) -> Result<Buffer, String>;
    let backings: [(&str, Alloc); 3] = [
        ("anon_4k", |n| Buffer::new(Backing::Anon4k, n)),
        ("anon_4k_fragmented", Buffer::new_fragmented),
        ("hugetlb_2m", |n| Buffer::new(Backing::Hugetlb2m, n)),
    ];
    let mut t = Tap::new("ve_dma_bench", 2 * backings.len() + 1);
    let (dev, c) = match (sys::open_rw("/dev/ve0"), Counters::open()) {
        (Ok(d), Ok(c)) => (d, c),
        _ => {
            t.result(
                "open /dev/ve0 and the emulator's BAR2",
                Err("cannot open".into()),
            );
            std::process::exit(t.finish());
        }
    };
    let held = pins_held();
    t.diag("DMA bandwidth, MiB/s (median of the runs); TCG guest against a native emulator: not hardware numbers");
    t.diag("kernel = one VE_DMA_IOC_XFER, wall time; raw = the engine's busy time for the same descriptors");
    for (bname, alloc) in backings {
        for to_ve in [false, true] {
            let dir = if to_ve { "vh2ve" } else { "ve2vh" };
            let name = format!("{bname} {dir}");
            let r = (|| {
                let b = alloc((max_mib << 20) as usize)?;
                t.diag(&format!("{name}:"));
                t.diag(&format!(
                    "| {:>8} | {:>12} | {:>12} | {:>10} | {:>11} |",
                    "buff kb", "kernel MiB/s", "raw MiB/s", "kernel/raw", "descriptors"
                ));
                t.diag("|---:|---:|---:|---:|---:|");
                for &len in &sizes {
                    let mut runs = Vec::new();
                    for _ in 0..reps {
                        runs.push(measure(&dev, &c, to_ve, b.addr(), len)?);
                    }
                    runs.sort_by(|x, y| x.0.total_cmp(&y.0));
                    let (wall, busy, descs) = runs[runs.len() / 2];
                    t.diag(&format!(
                        "| {:>8} | {:>12.0} | {:>12.0} | {:>10.2} | {:>11} |",
                        len >> 10,
                        mibs(len, wall),
                        mibs(len, busy),
                        busy / wall,
                        descs
                    ));
                }
                Ok::<(), String>(())
            })();
            t.result(&format!("{name}: every transfer ran"), r);
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
