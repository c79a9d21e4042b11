// SPDX-License-Identifier: GPL-2.0

//! ve_info: print what ve_drv knows about a card, and on the emulator measure the transport.
//!
//! ```text
//! ve_info [/dev/veN] [--ping COUNT]
//! ```
//! Works on a real VE host as well (without `--ping`, which only the emulator answers). Output is
//! human-readable lines behind `#`, plus one TAP line per step so the test harness can judge it.

use ve_guest::{
    hw::emu,
    ksft::Tap,
    sys::{
        self,
        errname, //
    },
    uapi::{
        self,
        VeDrvInfo,
        VeDrvPing, //
    },
};

fn variant_name(v: u32) -> &'static str {
    match v {
        x if x == uapi::Variant::Ve1 as u32 => "VE1",
        x if x == uapi::Variant::Ve3 as u32 => "VE3",
        x if x == uapi::Variant::Emulator as u32 => "VE1 engine emulator (QEMU ivshmem)",
        x if x == uapi::Variant::EmulatorVe3 as u32 => "VE3 engine emulator (QEMU ivshmem)",
        _ => "unknown",
    }
}

fn main() {
    let mut node = String::from("/dev/ve0");
    let mut pings = 0u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--ping" => {
                pings = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--ping COUNT")
            }
            s if s.starts_with('/') => node = s.to_string(),
            _ => {
                eprintln!("usage: ve_info [/dev/veN] [--ping COUNT]");
                std::process::exit(2);
            }
        }
    }
    let mut t = Tap::new("ve_info", if pings > 0 { 2 } else { 1 });
    let fd = match sys::open_rw(&node) {
        Ok(fd) => fd,
        Err(e) => t.bail(&format!("open {node}"), errname(e)),
    };
    let mut i = VeDrvInfo::default();
    let r = sys::ioctl(&fd, uapi::VE_DRV_IOC_INFO, &mut i).map_err(errname);
    if r.is_ok() {
        t.diag(&format!(
            "{node}: {} ({:04x}:{:04x}), driver ABI {}",
            variant_name(i.variant),
            i.vendor_id,
            i.device_id,
            i.abi_version
        ));
        t.diag(&format!(
            "  system-common registers: BAR of {} MiB",
            i.scr_bar_size >> 20
        ));
        t.diag(&format!(
            "  privileged DMA interrupt: MSI-X {} of {}, {} handled",
            i.pdma_vector, i.msix_vectors, i.irq_count
        ));
        if i.variant == uapi::Variant::Emulator as u32
            || i.variant == uapi::Variant::EmulatorVe3 as u32
        {
            t.diag(&format!(
                "  emulator: ABI {}, VE memory {} MiB, nonce {:#018x}, {} interrupts raised",
                i.emu_abi_version,
                i.ve_mem_size >> 20,
                i.emu_nonce,
                i.emu_irqs_raised
            ));
            println!("# ve_test: emu_nonce={:#018x}", i.emu_nonce);
        }
    }
    t.result(&format!("{node}: VE_DRV_IOC_INFO"), r.map(|_| ()));
    if pings > 0 {
        let mut rtts = Vec::new();
        let mut res = Ok(());
        for n in 0..pings {
            let value = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let mut p = VeDrvPing {
                value,
                ..Default::default()
            };
            match sys::ioctl(&fd, uapi::VE_DRV_IOC_PING, &mut p) {
                Ok(_) if p.response == emu::ping_response(i.emu_nonce, value) => {
                    rtts.push(p.rtt_ns)
                }
                Ok(_) => {
                    res = Err(format!("ping {n}: wrong response {:#x}", p.response));
                    break;
                }
                Err(e) => {
                    res = Err(format!("ping {n}: {}", errname(e)));
                    break;
                }
            }
        }
        if !rtts.is_empty() {
            rtts.sort_unstable();
            let pct = |p: usize| rtts[(rtts.len() - 1) * p / 100] as f64 / 1000.0;
            t.diag(&format!(
                "  transport round trip (ioctl -> doorbell -> emulator -> MSI-X -> ioctl returns), {} pings: min {:.1} us, median {:.1} us, p90 {:.1} us, p99 {:.1} us",
                rtts.len(),
                pct(0),
                pct(50),
                pct(90),
                pct(99)
            ));
        }
        t.result(&format!("{pings} pings through the emulator"), res);
    }
    std::process::exit(t.finish());
}
