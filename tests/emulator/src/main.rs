// SPDX-License-Identifier: GPL-2.0

//! `ve-emu`: start the VE engine emulator, wait for QEMU, serve it until QEMU disconnects.
//!
//! ```text
//! ve-emu --socket PATH --ram-file PATH --ram-size SIZE [--ve-mem-size SIZE] [--nonce HEX]
//!        [--stats FILE] [--bad-magic] [--iommu] [--variant ve1|ve3]
//! ```
//! `--variant`: the card BAR2 presents (`layout.rs`), VE1 by default; `ve3` puts a VE3's BAR4 and
//! BAR2/3 images there, its privileged DMA engine on MSI-X 32 and INTVEC1.
//! `--iommu`: the guest has an Intel IOMMU (QEMU's `intel-iommu`); every host-side address the
//! engine is given is an IOVA, translated through the guest's VT-d tables once a guest test has
//! handed them over (`ve_iommu_attach`; `hw::emu::OFF_CTL_IOMMU_ENABLE`), refused until then.
//! Start it before QEMU; QEMU then gets `-object memory-backend-file,mem-path=<ram-file>,share=on`
//! and `-chardev socket,path=<socket>` with `-device ivshmem-doorbell,vectors=96` (`hw::emu::VECTORS`).
//! The socket file appears once the emulator is ready to accept.

use std::{
    io,
    os::{fd::AsRawFd, unix::net::UnixListener},
    path::PathBuf,
    process::ExitCode, //
};

use ve_emu::{
    device::{
        Config,
        Device, //
    },
    hw::emu,
    ivshmem,
    layout::Variant, //
};

struct Args {
    socket: PathBuf,
    ram_file: PathBuf,
    stats: Option<PathBuf>,
    cfg: Config,
}

fn parse_size(s: &str) -> Result<u64, String> {
    let (num, mult) = match s.as_bytes().last() {
        Some(b'K' | b'k') => (&s[..s.len() - 1], 1u64 << 10),
        Some(b'M' | b'm') => (&s[..s.len() - 1], 1 << 20),
        Some(b'G' | b'g') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>()
        .map(|n| n * mult)
        .map_err(|e| format!("bad size {s:?}: {e}"))
}

fn parse_args() -> Result<Args, String> {
    let mut socket = None;
    let mut ram_file = None;
    let mut ram_size = None;
    let mut stats = None;
    let mut cfg = Config {
        ram_size: 0,
        ve_mem_size: 64 << 30,
        nonce: 0,
        bad_magic: false,
        iommu: false,
        variant: Variant::Ve1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--socket" => socket = Some(PathBuf::from(val()?)),
            "--ram-file" => ram_file = Some(PathBuf::from(val()?)),
            "--ram-size" => ram_size = Some(parse_size(&val()?)?),
            "--ve-mem-size" => cfg.ve_mem_size = parse_size(&val()?)?,
            "--nonce" => {
                let v = val()?;
                cfg.nonce = u64::from_str_radix(v.trim_start_matches("0x"), 16)
                    .map_err(|e| format!("bad nonce {v:?}: {e}"))?
            }
            "--stats" => stats = Some(PathBuf::from(val()?)),
            "--bad-magic" => cfg.bad_magic = true,
            "--iommu" => cfg.iommu = true,
            "--variant" => {
                let v = val()?;
                cfg.variant =
                    Variant::parse(&v).ok_or_else(|| format!("--variant {v}: want ve1 or ve3"))?
            }
            _ => return Err(format!("unknown argument {a:?}")),
        }
    }
    cfg.ram_size = ram_size.ok_or("--ram-size is required")?;
    Ok(Args {
        socket: socket.ok_or("--socket is required")?,
        ram_file: ram_file.ok_or("--ram-file is required")?,
        stats,
        cfg,
    })
}

fn run(args: Args) -> io::Result<()> {
    let mut dev = Device::new(args.cfg.clone(), &args.ram_file)?;
    let _ = std::fs::remove_file(&args.socket);
    let listener = UnixListener::bind(&args.socket)?;
    eprintln!(
        "ve-emu: ready on {} ({:?}, RAM {} MiB, VE memory {} MiB, nonce {:#x}{}{})",
        args.socket.display(),
        args.cfg.variant,
        args.cfg.ram_size >> 20,
        args.cfg.ve_mem_size >> 20,
        args.cfg.nonce,
        if args.cfg.bad_magic {
            ", BAD MAGIC"
        } else {
            ""
        },
        if args.cfg.iommu {
            ", VT-d translation"
        } else {
            ""
        }
    );
    let (sock, _) = listener.accept()?;
    let peers = ivshmem::handshake(&sock, dev.bar().fd(), 1, emu::VECTORS)?;
    let doorbell = peers.doorbells[0].try_clone()?;
    dev.attach(peers);

    let mut fds = [
        libc::pollfd {
            fd: sock.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: doorbell.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    loop {
        // SAFETY: `fds` is a valid array of two pollfds for the duration of the call.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if fds[1].revents & libc::POLLIN != 0 && ivshmem::eventfd_take(&doorbell)? > 0 {
            if dev.bar().load64(emu::BLOCK + emu::OFF_CTL_DIE) != 0 {
                eprintln!("ve-emu: dying on request (test control)");
                break;
            }
            dev.service()?;
        }
        if fds[0].revents != 0 {
            // QEMU sends nothing after the handshake: readable means EOF (QEMU is gone).
            break;
        }
    }
    let s = dev.stats();
    eprintln!(
        "ve-emu: QEMU disconnected; wakeups={} irqs={} pings={} ping_bad={}",
        s.wakeups, s.irqs, s.pings, s.ping_bad
    );
    if let Some(path) = args.stats {
        std::fs::write(
            path,
            format!(
                "wakeups={}\nirqs={}\npings={}\nping_bad={}\nbytes={}\ndescs={}\nexceptions={}\nbusy_ns={}\n{}",
                s.wakeups, s.irqs, s.pings, s.ping_bad, s.bytes, s.descs, s.exceptions, s.busy_ns,
                if args.cfg.iommu {
                    format!(
                        "iommu_faults={}\niommu_pages={}\niommu_passthrough={}\n",
                        s.iommu_faults, s.iommu_pages, s.iommu_passthrough
                    )
                } else {
                    String::new()
                }
            ),
        )?;
    }
    let _ = std::fs::remove_file(&args.socket);
    let _ = std::fs::remove_file(&args.ram_file);
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("ve-emu: {e}");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ve-emu: {e}");
            ExitCode::FAILURE
        }
    }
}
