// SPDX-License-Identifier: GPL-2.0

//! ve_transport_test: the module, the PCI binding, `/dev/veN`, the info ioctl and the emulator
//! transport (doorbell, BAR2, MSI-X), with the error paths of the driver's own ioctls.
//!
//! ```text
//! ve_transport_test [--module PATH] [--bad-magic]
//! ```
//! It loads and unloads `ve_drv.ko` itself. The expected emulator nonce comes from the kernel
//! command line (`ve_test.nonce=0x...`), put there by the host harness that also gave it to the
//! emulator; the test prints what the driver reported so the harness can compare too.
//! `--bad-magic`: the emulator was started with a wrong magic; the driver must refuse the device.

use std::os::fd::OwnedFd;

use ve_guest::{
    emubar::EmuBar,
    hw::{
        emu,
        pci_id, //
    },
    ksft::{
        ensure,
        ensure_eq,
        ensure_errno, //
    },
    suite::{
        Fixture,
        Suite, //
    },
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

type R = Result<(), String>;
const NODE: &str = "/dev/ve0";
const EMU_DRIVER: &str = "ve_drv_emu";
const PINGS: u64 = 64;

fn info(fd: &OwnedFd) -> Result<VeDrvInfo, String> {
    let mut i = VeDrvInfo::default();
    sys::ioctl(fd, uapi::VE_DRV_IOC_INFO, &mut i).map_err(|e| format!("INFO: {}", errname(e)))?;
    Ok(i)
}

fn ping(fd: &OwnedFd, value: u64) -> Result<VeDrvPing, i32> {
    let mut p = VeDrvPing {
        value,
        ..Default::default()
    };
    sys::ioctl(fd, uapi::VE_DRV_IOC_PING, &mut p).map(|_| p)
}

/// A cheap deterministic sequence of test values (xorshift64).
fn next_value(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

fn main() {
    let mut module = String::from("/lib/modules/ve_drv.ko");
    let mut bad_magic = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--module" => module = args.next().expect("--module needs a path"),
            "--bad-magic" => bad_magic = true,
            _ => {
                eprintln!("usage: ve_transport_test [--module PATH] [--bad-magic]");
                std::process::exit(2);
            }
        }
    }
    let suite = if bad_magic {
        bad_magic_suite()
    } else {
        transport_suite()
    };
    std::process::exit(suite.run(|| {
        Ok(Fx {
            module,
            pins_before: sys::pin_counters(),
            expected_nonce: sys::cmdline_param("ve_test.nonce")
                .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok()),
            bdf: sys::find_pci(pci_id::VENDOR_REDHAT_QUMRANET, pci_id::DEVICE_IVSHMEM),
            fd: None,
            i0: None,
            nonce: 0,
            irqs_before: (0, 0),
        })
    }));
}

/// What the steps of a suite hand on to the later ones: the program runs one script, each case
/// a step of it (the module loaded, the device bound, the file opened, the nonce read).
struct Fx {
    module: String,
    /// The ivshmem device, if there is one.
    bdf: Option<String>,
    /// `/dev/ve0`, open from the step before INFO to the rebind.
    fd: Option<OwnedFd>,
    /// The first INFO's answer.
    i0: Option<Result<VeDrvInfo, String>>,
    nonce: u64,
    expected_nonce: Option<u64>,
    irqs_before: (u64, u64),
    pins_before: Option<(u64, u64)>,
}

impl Fixture for Fx {}

/// The open `/dev/ve0` of `fd`.
fn opened(fd: &Option<OwnedFd>) -> Result<&OwnedFd, String> {
    fd.as_ref().ok_or_else(|| "/dev/ve0 is not open".into())
}

fn open_node(fx: &mut Fx) -> R {
    fx.fd = Some(sys::open_rw(NODE).map_err(errname)?);
    Ok(())
}

/// The emulator advertises a wrong magic: with the opt-in the driver still must not bind.
fn bad_magic_suite() -> Suite<Fx> {
    Suite::new("ve_transport_test --bad-magic")
        .case("ivshmem device present", device_present)
        .case("insmod emulator=1", insmod_emulator)
        .case(
            "wrong magic: device not bound, no /dev/ve0",
            bad_magic_not_bound,
        )
        .case(
            "wrong magic: explicit bind fails with ENODEV",
            bad_magic_bind_refused,
        )
        .case("rmmod", rmmod)
}

fn bad_magic_not_bound(fx: &mut Fx) -> R {
    let bdf = fx.bdf.as_deref().unwrap_or_default();
    ensure(sys::pci_driver(bdf).is_none() && !sys::exists(NODE), || {
        format!(
            "driver {:?}, {NODE} exists: {}",
            sys::pci_driver(bdf),
            sys::exists(NODE)
        )
    })
}

fn bad_magic_bind_refused(fx: &mut Fx) -> R {
    let bdf = fx.bdf.as_deref().unwrap_or_default();
    ensure_errno(
        "bind",
        sys::write_file(&format!("/sys/bus/pci/drivers/{EMU_DRIVER}/bind"), bdf),
        libc::ENODEV,
    )
}

fn transport_suite() -> Suite<Fx> {
    Suite::new("ve_transport_test")
        .case("ivshmem device present", device_present)
        // Without the opt-in, an ivshmem device is never claimed.
        .case("insmod without emulator=1", insmod_without_opt_in)
        .case(
            "no opt-in: device not bound, no /dev/ve0, no ve_drv_emu driver",
            no_opt_in_not_bound,
        )
        .case("rmmod", rmmod)
        // With the opt-in, the emulator is bound and /dev/ve0 appears.
        .case("insmod emulator=1", insmod_emulator)
        .case(
            "opt-in: bound to ve_drv_emu, /dev/ve0 present",
            opt_in_bound,
        )
        .step("open /dev/ve0", open_node)
        .case(
            "INFO describes the emulated card (VE1 or VE3)",
            info_describes,
        )
        .case(
            "INFO reports the nonce the harness gave the emulator",
            nonce_reported,
        )
        .case(format!("{PINGS} pings answered and checked"), pings)
        // Every interrupt the emulator raised reached the handler (pings are serialised, so
        // none coalesced), and nothing else interrupted.
        .case(
            "interrupts: driver handled == emulator raised == pings",
            interrupts_counted,
        )
        .case(
            "WAIT_INTR reports the privileged DMA interrupt in the card's typed mask only",
            wait_intr_in_the_cards_mask,
        )
        // Error paths.
        .case(
            "unknown ioctls: EINVAL, as NEC's (ours and NEC's unimplemented)",
            unknown_ioctls,
        )
        .case("bad user pointers: EFAULT", bad_pointers)
        .case("nonzero flags or reserved fields: EINVAL", nonzero_flags)
        .case(
            "unprivileged: opens the 0666 node; INFO and PING EPERM",
            unprivileged,
        )
        // Unbinding with a file open: the file stays valid but the card is gone (ENODEV);
        // binding again brings /dev/ve0 back.
        .case(
            "unbind with /dev/ve0 open: node gone, ioctls ENODEV",
            unbind_with_open_file,
        )
        .case(
            "rmmod refused while a file is open (EWOULDBLOCK)",
            rmmod_refused_while_open,
        )
        .case("bind again: /dev/ve0 back, ping works", bind_again)
        .case("rmmod", rmmod)
        .case(
            "after rmmod: /dev/ve0 gone, device unbound",
            after_rmmod_gone,
        )
        .case(
            "pins balanced (nr_foll_pin_acquired == nr_foll_pin_released)",
            pins_balanced,
        )
        .case(
            "reinsert and remove again (no stale state)",
            reinsert_and_remove,
        )
}

fn device_present(fx: &mut Fx) -> R {
    ensure(fx.bdf.is_some(), || "no 1af4:1110 device".into())
}
fn insmod_without_opt_in(fx: &mut Fx) -> R {
    let module = fx.module.as_str();
    sys::insmod(module, "").map_err(errname)
}

fn no_opt_in_not_bound(fx: &mut Fx) -> R {
    let bdf = fx.bdf.as_deref().unwrap_or_default();
    ensure(
        sys::pci_driver(bdf).is_none()
            && !sys::exists(NODE)
            && !sys::exists(&format!("/sys/bus/pci/drivers/{EMU_DRIVER}")),
        || {
            format!(
                "driver {:?}, {NODE} exists: {}",
                sys::pci_driver(bdf),
                sys::exists(NODE)
            )
        },
    )
}

fn rmmod(_: &mut Fx) -> R {
    sys::rmmod("ve_drv").map_err(errname)
}
fn insmod_emulator(fx: &mut Fx) -> R {
    let module = fx.module.as_str();
    sys::insmod(module, "emulator=1").map_err(errname)
}

fn opt_in_bound(fx: &mut Fx) -> R {
    let bdf = fx.bdf.as_deref().unwrap_or_default();
    ensure(
        sys::pci_driver(bdf).as_deref() == Some(EMU_DRIVER)
            && sys::wait_for(2000, || sys::exists(NODE)),
        || {
            format!(
                "driver {:?}, {NODE} exists: {}",
                sys::pci_driver(bdf),
                sys::exists(NODE)
            )
        },
    )
}

fn info_describes(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    // INFO describes the emulated card, including the nonce only the emulator knows.
    let i0 = info(fd);
    fx.i0 = Some(i0.clone());
    let i = i0?;
    ensure_eq("abi_version", i.abi_version, uapi::VE_DRV_ABI_VERSION)?;
    // The card the emulator presents, as its block says (`ve-harness --variant`): VE1's
    // privileged DMA engine on MSI-X 48 of VE1's 96 entries, VE3's on 32 of its 36.
    let (variant, pdma_vector, msix_vectors) = if EmuBar::open()?.is_ve3() {
        (uapi::Variant::EmulatorVe3, 32, 36)
    } else {
        (uapi::Variant::Emulator, 48, 96)
    };
    ensure_eq("variant", i.variant, variant as u32)?;
    ensure_eq("card_index", i.card_index, 0)?;
    ensure_eq("vendor_id", i.vendor_id, pci_id::VENDOR_REDHAT_QUMRANET)?;
    ensure_eq("device_id", i.device_id, pci_id::DEVICE_IVSHMEM)?;
    ensure_eq("pdma_vector", i.pdma_vector, pdma_vector)?;
    ensure_eq("msix_vectors", i.msix_vectors, msix_vectors)?;
    ensure_eq("emu_abi_version", i.emu_abi_version, emu::ABI_VERSION)?;
    ensure_eq("scr_bar_size", i.scr_bar_size, emu::BAR2_SIZE as u64)?;
    ensure(i.ve_mem_size > 0, || "ve_mem_size is 0".into())?;
    // Probe mapped a page through the DMA API for this device: without a vIOMMU or forced
    // bounce buffers its DMA address is its physical address.
    let mode = ve_guest::dma_mode_of_boot();
    ensure_eq("dma_mode", i.dma_mode, mode)?;
    ensure_eq(
        "dma_is_phys",
        i.dma_is_phys,
        u64::from(mode == uapi::VE_DRV_DMA_DIRECT),
    )?;
    // This program's file: its task.
    ensure_eq("tasks", i.tasks, 1)?;
    ensure_eq("reserved", i.reserved, [0; 2])
}
fn nonce_reported(fx: &mut Fx) -> R {
    let i0 = fx.i0.as_ref().ok_or("/dev/ve0 not opened")?;
    let nonce = i0.as_ref().map(|i| i.emu_nonce).unwrap_or(0);
    fx.nonce = nonce;
    println!("# ve_test: emu_nonce={nonce:#018x}");
    match fx.expected_nonce {
        Some(want) => ensure_eq("emu_nonce", nonce, want),
        None => Err("no ve_test.nonce= on the kernel command line".into()),
    }
}
/// The privileged DMA interrupt reaches `VEDRV_CMD_WAIT_INTR` in the presented card's typed mask
/// (NEC's `struct ve1_wait_irq` bit 48 or `struct ve3_wait_irq` `intvec[1]` bit 0): the emulator
/// answers a ping on that entry with its INTVEC bit set, so a ping's interrupt is caught, and
/// then nothing until the next; the other card's type word is `EINVAL`, and so is VE1's compat
/// form on a VE3.
fn wait_intr_in_the_cards_mask(fx: &mut Fx) -> R {
    use ve_guest::userdma::{
        wait_intr,
        wait_intr_pdma,
        P_DMA, //
    };
    let fd = opened(&fx.fd)?;
    let ve3 = EmuBar::open()?.is_ve3();
    ping(fd, 1).map_err(|e| format!("ping: {}", errname(e)))?;
    ensure_eq(
        "caught after a ping",
        wait_intr_pdma(fd, 1000, ve3),
        Ok(true),
    )?;
    ensure_errno(
        "again, nothing new",
        wait_intr_pdma(fd, 20, ve3),
        libc::ETIMEDOUT,
    )?;
    ensure_errno(
        "the other card's mask",
        wait_intr_pdma(fd, 20, !ve3),
        libc::EINVAL,
    )?;
    let compat = wait_intr(fd, P_DMA, 20, true).map(|_| ());
    ensure_errno(
        "VE1's compat form",
        compat,
        if ve3 { libc::EINVAL } else { libc::ETIMEDOUT },
    )
}

fn pings(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    let nonce = fx.nonce;
    let i0 = fx.i0.as_ref().ok_or("/dev/ve0 not opened")?;
    // Pings: the driver writes a value and a check word only a nonce holder can compute, the
    // emulator checks and transforms it and answers by MSI-X 48; the driver checks the answer.
    fx.irqs_before = i0
        .as_ref()
        .map(|i| (i.irq_count, i.emu_irqs_raised))
        .unwrap_or_default();
    let mut x = nonce | 1;
    let mut rtts = Vec::new();
    let mut ping_result = Ok(());
    for _ in 0..PINGS {
        let v = next_value(&mut x);
        match ping(fd, v) {
            Ok(p) if p.response == emu::ping_response(nonce, v) => rtts.push(p.rtt_ns),
            Ok(p) => {
                ping_result = Err(format!("value {v:#x}: response {:#x}", p.response));
                break;
            }
            Err(e) => {
                ping_result = Err(format!("value {v:#x}: {}", errname(e)));
                break;
            }
        }
    }
    rtts.sort_unstable();
    if !rtts.is_empty() {
        println!(
            "# figure: ping round trip (doorbell to MSI-X): median {} us, max {} us",
            rtts[rtts.len() / 2] / 1000,
            rtts[rtts.len() - 1] / 1000
        );
    }
    ping_result
}
fn interrupts_counted(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    info(fd).and_then(|i| {
        println!(
            "# irq_count={} emu_irqs_raised={}",
            i.irq_count, i.emu_irqs_raised
        );
        ensure_eq("driver irq_count", i.irq_count - fx.irqs_before.0, PINGS)?;
        ensure_eq(
            "emulator irqs_raised",
            i.emu_irqs_raised - fx.irqs_before.1,
            PINGS,
        )
    })
}

fn unknown_ioctls(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    let mut i = VeDrvInfo::default();
    ensure_errno(
        "nr 0x9f",
        sys::ioctl(fd, uapi::iowr::<VeDrvInfo>(0x9f), &mut i),
        libc::EINVAL,
    )?;
    // VE3's VEDRV_CMD_NOTIFY_FAULT (nr 27) and VEDRV_CMD_OWNERSHIP (nr 26): on a VE1 they are
    // unknown, as on NEC's; a VE3 knows them (nobody holds the card: ESRCH; a value that is
    // neither request nor release: EINVAL).
    let ve3 = EmuBar::open()?.is_ve3();
    ensure_errno(
        "NOTIFY_FAULT",
        sys::ioctl_raw(fd, 0x0000_f51b, 0),
        if ve3 { libc::ESRCH } else { libc::EINVAL },
    )?;
    ensure_errno(
        "OWNERSHIP",
        sys::ioctl_raw(fd, 0x8004_f51a, if ve3 { 2 } else { 1 }),
        libc::EINVAL,
    )?;
    // Right number, wrong size: a different command.
    ensure_errno(
        "INFO with size 8",
        sys::ioctl_raw(fd, uapi::ioc(3, 0xf5, 0x80, 8), 0),
        libc::EINVAL,
    )
}

fn bad_pointers(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    ensure_errno(
        "INFO NULL",
        sys::ioctl_raw(fd, uapi::VE_DRV_IOC_INFO, 0),
        libc::EFAULT,
    )?;
    ensure_errno(
        "INFO unmapped",
        sys::ioctl_raw(fd, uapi::VE_DRV_IOC_INFO, 0x10),
        libc::EFAULT,
    )?;
    ensure_errno(
        "INFO kernel address",
        sys::ioctl_raw(fd, uapi::VE_DRV_IOC_INFO, 0xffff_ffff_8100_0000),
        libc::EFAULT,
    )?;
    ensure_errno(
        "PING NULL",
        sys::ioctl_raw(fd, uapi::VE_DRV_IOC_PING, 0),
        libc::EFAULT,
    )
}

fn nonzero_flags(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    let mut i = VeDrvInfo {
        flags: 1,
        ..Default::default()
    };
    ensure_errno(
        "INFO flags",
        sys::ioctl(fd, uapi::VE_DRV_IOC_INFO, &mut i),
        libc::EINVAL,
    )?;
    let mut i = VeDrvInfo::default();
    i.reserved[1] = 1;
    ensure_errno(
        "INFO reserved",
        sys::ioctl(fd, uapi::VE_DRV_IOC_INFO, &mut i),
        libc::EINVAL,
    )?;
    let mut i = VeDrvInfo {
        dma_mode: 1,
        ..Default::default()
    };
    ensure_errno(
        "INFO dma_mode",
        sys::ioctl(fd, uapi::VE_DRV_IOC_INFO, &mut i),
        libc::EINVAL,
    )?;
    let mut i = VeDrvInfo {
        tasks: 1,
        ..Default::default()
    };
    ensure_errno(
        "INFO tasks",
        sys::ioctl(fd, uapi::VE_DRV_IOC_INFO, &mut i),
        libc::EINVAL,
    )?;
    let mut p = VeDrvPing {
        flags: 2,
        ..Default::default()
    };
    ensure_errno(
        "PING flags",
        sys::ioctl(fd, uapi::VE_DRV_IOC_PING, &mut p),
        libc::EINVAL,
    )?;
    let mut p = VeDrvPing {
        reserved: 1,
        ..Default::default()
    };
    ensure_errno(
        "PING reserved",
        sys::ioctl(fd, uapi::VE_DRV_IOC_PING, &mut p),
        libc::EINVAL,
    )
}

fn unprivileged(_: &mut Fx) -> R {
    // The node is mode 0666, as NEC's; the capability rule is NEC's: every ioctl needs
    // CAP_SYS_ADMIN. The child reports where it failed: 1 open, 2 INFO, 3 PING not EPERM (plus
    // 8 * errno where one applies).
    let code = sys::as_nobody(|| {
        let fd = match sys::open_rw(NODE) {
            Ok(fd) => fd,
            Err(e) => return 1 + 8 * e.min(30),
        };
        let mut i = VeDrvInfo::default();
        match sys::ioctl(&fd, uapi::VE_DRV_IOC_INFO, &mut i) {
            Err(e) if e == libc::EPERM => {}
            Err(e) => return 2 + 8 * e.min(30),
            Ok(_) => return 2,
        }
        match ping(&fd, 1) {
            Err(e) if e == libc::EPERM => 0,
            Err(e) => 3 + 8 * e.min(30),
            Ok(_) => 3,
        }
    })
    .map_err(errname)?;
    ensure(code == 0, || {
        format!(
            "child failed at step {} with {}",
            code % 8,
            errname(code / 8)
        )
    })
}

fn unbind_with_open_file(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    let bdf = fx.bdf.as_deref().unwrap_or_default();
    sys::write_file(&format!("/sys/bus/pci/drivers/{EMU_DRIVER}/unbind"), bdf).map_err(errname)?;
    ensure(!sys::exists(NODE), || {
        format!("{NODE} still exists after unbind")
    })?;
    let mut i = VeDrvInfo::default();
    ensure_errno(
        "INFO after unbind",
        sys::ioctl(fd, uapi::VE_DRV_IOC_INFO, &mut i),
        libc::ENODEV,
    )?;
    ensure_errno("PING after unbind", ping(fd, 5), libc::ENODEV)
}

fn rmmod_refused_while_open(_: &mut Fx) -> R {
    ensure_errno(
        "rmmod with an open fd",
        sys::rmmod("ve_drv"),
        libc::EWOULDBLOCK,
    )
}

fn bind_again(fx: &mut Fx) -> R {
    // The file opened for INFO is closed first.
    fx.fd = None;
    let bdf = fx.bdf.as_deref().unwrap_or_default();
    let nonce = fx.nonce;
    sys::write_file(&format!("/sys/bus/pci/drivers/{EMU_DRIVER}/bind"), bdf).map_err(errname)?;
    ensure(sys::wait_for(2000, || sys::exists(NODE)), || {
        format!("{NODE} missing after bind")
    })?;
    let fd = sys::open_rw(NODE).map_err(errname)?;
    let p = ping(&fd, 0x1234).map_err(errname)?;
    ensure_eq("response", p.response, emu::ping_response(nonce, 0x1234))
}

fn after_rmmod_gone(fx: &mut Fx) -> R {
    let bdf = fx.bdf.as_deref().unwrap_or_default();
    ensure(!sys::exists(NODE) && sys::pci_driver(bdf).is_none(), || {
        format!(
            "{NODE} exists: {}, driver {:?}",
            sys::exists(NODE),
            sys::pci_driver(bdf)
        )
    })
}

fn pins_balanced(fx: &mut Fx) -> R {
    match (fx.pins_before, sys::pin_counters()) {
        (Some(_), Some((acq, rel))) => ensure_eq("pins held", acq - rel, 0),
        _ => Err("no pin counters in /proc/vmstat".into()),
    }
}

fn reinsert_and_remove(fx: &mut Fx) -> R {
    let module = fx.module.as_str();
    sys::insmod(module, "emulator=1").map_err(errname)?;
    let fd = sys::open_rw(NODE).map_err(errname)?;
    ensure_eq("card_index", info(&fd)?.card_index, 0)?;
    drop(fd);
    sys::rmmod("ve_drv").map_err(errname)
}
