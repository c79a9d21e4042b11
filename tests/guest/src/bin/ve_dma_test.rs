// SPDX-License-Identifier: GPL-2.0

//! ve_dma_test: transfers through the in-kernel DMA manager (`VE_DMA_IOC_XFER`) against the
//! engine emulator: VH -> VE -> VH with every byte compared, over 4 KiB, THP, hugetlb 2 MiB and
//! 1 GiB buffers and page-unaligned (8-byte aligned) offsets; the documented errors; and the
//! failure paths driven through the emulator's test controls (an injected exception, a hung
//! engine, dropped interrupts), after each of which transfers work again and nothing stays pinned.
//!
//! Needs `ve_drv` loaded with `emulator=1` (the suite script does it).

use std::{
    os::fd::{
        OwnedFd, //
    },
    sync::atomic::{
        AtomicBool,
        Ordering, //
    },
};

use ve_guest::{
    dma::{
        fill,
        same,
        submit,
        xfer,
        xfer_round_trip,
        xfer_with, //
    },
    emubar::EmuBar,
    hw::{
        desc,
        emu,
        pci_id, //
    },
    ksft::{
        ensure,
        ensure_eq,
        ensure_errno, //
    },
    mem::{
        Backing,
        Buffer, //
    },
    nec::pins_held,
    suite::{
        Bail,
        Fixture,
        Suite,
        Variant, //
    },
    sys::{
        self,
        errname, //
    },
    uapi,
};

type R = Result<(), String>;
const NODE: &str = "/dev/ve0";

/// VH `src` -> VE `ve` -> VH `dst`, then compare; nothing may stay pinned.
///
/// # Safety
///
/// As [`xfer_round_trip`].
unsafe fn round_trip(
    fd: &OwnedFd,
    src: *mut u8,
    dst: *mut u8,
    len: usize,
    ve: u64,
    seed: u64,
) -> R {
    let held = pins_held();
    // SAFETY: the caller's contract, passed on.
    unsafe { xfer_round_trip(fd, src, dst, len, ve, seed) }?;
    ensure_eq("pins held after the transfers", pins_held() - held, 0)
}

/// [`round_trip`] of 1 MiB between the halves of a fresh 2 MiB buffer of 4 KiB pages: the check
/// that transfers work again after a fault.
fn fresh_round_trip(fd: &OwnedFd, ve: u64, seed: u64) -> R {
    let b = Buffer::new(Backing::Anon4k, 2 << 20)?;
    // SAFETY: the two halves of `b`, which maps 2 MiB.
    unsafe { round_trip(fd, b.ptr, b.ptr.add(1 << 20), 1 << 20, ve, seed) }
}

/// Round trips between the halves of a buffer of `backing`: 16 MiB (halves of 8 MiB) or 1 GiB
/// (the first 64 MiB of each half).
fn halves(backing: Backing) -> (usize, usize) {
    if backing == Backing::Hugetlb1g {
        (1 << 30, 64 << 20)
    } else {
        (16 << 20, 8 << 20)
    }
}

fn big_round_trip(fx: &mut Fx, backing: Backing) -> R {
    let (size, half) = halves(backing);
    let b = Buffer::new(backing, size)?;
    let src = b.ptr;
    // SAFETY: the second half of the buffer.
    let dst = unsafe { b.ptr.add(size / 2) };
    // SAFETY: the two halves of `b`, `half` bytes each at least.
    unsafe { round_trip(&fx.fd, src, dst, half, 0x100_0000, 1) }
}

fn small_round_trips(fx: &mut Fx, backing: Backing) -> R {
    let fd = &fx.fd;
    let (size, _) = halves(backing);
    let b = Buffer::new(backing, size)?;
    let src = b.ptr;
    // SAFETY: the second half of the buffer.
    let dst = unsafe { b.ptr.add(size / 2) };
    // SAFETY: offset plus length stays within each half of `b` (1 MiB + 0x3338 at
    // most, of `size / 2` bytes).
    unsafe {
        round_trip(fd, src, dst, 8, 0x2000_0000, 2)?;
        round_trip(fd, src.add(8), dst.add(8), 4096 + 8, 0x2000_1008, 3)?;
        round_trip(
            fd,
            src.add(0x1238),
            dst.add(0x3338),
            (1 << 20) + 0x1238,
            0x3000_0000,
            4,
        )
    }
}

fn argument_errors(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    let a = fx.a.addr();
    let ve_size = fx.ve_size;
    ensure_errno(
        "VH misaligned",
        xfer(fd, true, a + 4, 0, 8).map_err(|e| e.0),
        libc::EINVAL,
    )?;
    ensure_errno(
        "VE misaligned",
        xfer(fd, true, a, 4, 8).map_err(|e| e.0),
        libc::EINVAL,
    )?;
    ensure_errno(
        "length 12",
        xfer(fd, true, a, 0, 12).map_err(|e| e.0),
        libc::EINVAL,
    )?;
    ensure_errno(
        "length 0",
        xfer(fd, true, a, 0, 0).map_err(|e| e.0),
        libc::EINVAL,
    )?;
    ensure_errno(
        "VE range beyond VE memory",
        xfer(fd, true, a, ve_size - 8, 16).map_err(|e| e.0),
        libc::EINVAL,
    )?;
    let mut x = uapi::VeDmaXfer {
        vh_addr: a,
        len: 8,
        flags: 3,
        ..Default::default()
    };
    ensure_errno(
        "flags 3",
        sys::ioctl(fd, uapi::VE_DMA_IOC_XFER, &mut x),
        libc::EINVAL,
    )?;
    let mut x = uapi::VeDmaXfer {
        vh_addr: a,
        len: 8,
        flags: uapi::VE_DMA_VH_TO_VE,
        reserved: [0, 1],
        ..Default::default()
    };
    ensure_errno(
        "reserved",
        sys::ioctl(fd, uapi::VE_DMA_IOC_XFER, &mut x),
        libc::EINVAL,
    )?;
    ensure_errno(
        "unmapped VH",
        xfer(fd, true, 0x1000_0000_0000, 0, 4096).map_err(|e| e.0),
        libc::EFAULT,
    )?;
    ensure_errno(
        "NULL argument",
        sys::ioctl_raw(fd, uapi::VE_DMA_IOC_XFER, 0),
        libc::EFAULT,
    )
}

/// `VE_DMA_NO_POLL`: transfers completed by interrupt only carry the same data as polled ones;
/// WAIT takes the flag too; any other flag is `EINVAL`.
fn interrupt_only_completion(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    let held = pins_held();
    let b = Buffer::new(Backing::Anon4k, 64 << 10)?;
    let (src, dst) = (b.ptr, b.ptr.wrapping_add(32 << 10));
    let ve = 0x2100_0000;
    let xfer_flags = |to_ve: bool, vh: *mut u8, len: u64, flags: u32| {
        xfer_with(fd, to_ve, vh as u64, ve, len, flags)
            .map(|a| a.bytes_done)
            .map_err(|e| e.0)
    };
    for (len, seed) in [(8u64, 11u64), (4096 + 8, 12), (32 << 10, 13)] {
        // SAFETY: `src` and `dst` are the two 32 KiB halves of `b`; `len` fits in each.
        unsafe {
            fill(src, len as usize, seed);
            fill(dst, len as usize, !seed);
        }
        let to = xfer_flags(true, src, len, uapi::VE_DMA_NO_POLL);
        ensure_eq("VH -> VE, interrupt only: bytes done", to, Ok(len))?;
        let back = xfer_flags(false, dst, len, uapi::VE_DMA_NO_POLL);
        ensure_eq("VE -> VH, interrupt only: bytes done", back, Ok(len))?;
        // SAFETY: as above.
        unsafe { same(src, dst, len as usize) }?;
    }
    let id =
        submit(fd, false, dst as u64, ve, 4096).map_err(|e| format!("submit: {}", errname(e)))?;
    let mut w = uapi::VeDmaWait {
        id,
        timeout_ms: 10_000,
        flags: uapi::VE_DMA_NO_POLL,
        ..Default::default()
    };
    sys::ioctl(fd, uapi::VE_DMA_IOC_WAIT, &mut w).map_err(|e| format!("wait: {}", errname(e)))?;
    ensure_eq(
        "WAIT with VE_DMA_NO_POLL: status, bytes",
        (w.status, w.bytes_done),
        (0, 4096),
    )?;
    ensure_errno("XFER flag 256", xfer_flags(true, src, 8, 256), libc::EINVAL)?;
    let mut w = uapi::VeDmaWait {
        timeout_ms: 0,
        flags: uapi::VE_DMA_NO_COPY,
        ..Default::default()
    };
    ensure_errno(
        "WAIT with VE_DMA_NO_COPY",
        sys::ioctl(fd, uapi::VE_DMA_IOC_WAIT, &mut w),
        libc::EINVAL,
    )?;
    ensure_eq("pins held", pins_held() - held, 0)
}

/// Short transfers of the caller's own memory (at most `dma_copy_max`, 4096 bytes by default)
/// go through the card's DMA buffer: no page is pinned, the descriptor names the buffer, not the
/// VH page, and the data arrives both ways; `VE_DMA_NO_COPY` pins; an unmapped VH side is `EFAULT`
/// with nothing transferred.
fn copied_short_transfers(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    let c = fx.ctl.as_ref().map_err(|e| e.clone())?;
    let held = pins_held();
    let b = Buffer::new(Backing::Anon4k, 64 << 10)?;
    let (src, dst) = (b.ptr, b.ptr.wrapping_add(32 << 10));
    let ve = 0x2200_0000;
    let acquired = || sys::pin_counters().map_or(0, |(a, _)| a);
    let xfer_flags = |to_ve: bool, vh: u64, len: u64, flags: u32| {
        xfer_with(fd, to_ve, vh, ve, len, flags)
            .map(|a| a.bytes_done)
            .map_err(|e| e.0)
    };
    for (len, seed) in [(8u64, 21u64), (4096, 22)] {
        // SAFETY: `src` and `dst` are the two 32 KiB halves of `b`; `len` fits in each.
        unsafe {
            fill(src, len as usize, seed);
            fill(dst, len as usize, !seed);
        }
        let page = ve_guest::mem::phys_of("self", src as u64).ok_or("no physical address")?;
        let before = acquired();
        ensure_eq(
            "VH -> VE copied: bytes done",
            xfer_flags(true, src as u64, len, 0),
            Ok(len),
        )?;
        let named = c.get(emu::OFF_LAST_VH_ADDR);
        ensure_eq(
            "VE -> VH copied: bytes done",
            xfer_flags(false, dst as u64, len, 0),
            Ok(len),
        )?;
        ensure_eq(
            "pages pinned by two copied transfers",
            acquired() - before,
            0,
        )?;
        ensure(named != page, || {
            format!("the descriptor names the VH page ({page:#x}), not the card's buffer")
        })?;
        // SAFETY: as above; the transfers are done.
        unsafe { same(src, dst, len as usize) }?;
    }
    let before = acquired();
    ensure_eq(
        "VE_DMA_NO_COPY: bytes done",
        xfer_flags(false, dst as u64, 8, uapi::VE_DMA_NO_COPY),
        Ok(8),
    )?;
    ensure_eq("pages pinned with VE_DMA_NO_COPY", acquired() - before, 1)?;
    let unmapped = 0x1000_0000_0000;
    ensure_errno(
        "VH -> VE copied from an unmapped address",
        xfer_flags(true, unmapped, 8, 0),
        libc::EFAULT,
    )?;
    match xfer(fd, false, unmapped, ve, 8) {
        Err((e, a)) => {
            ensure_errno(
                "VE -> VH copied to an unmapped address",
                Err::<(), _>(e),
                libc::EFAULT,
            )?;
            ensure_eq("bytes done when the copy-out failed", a.bytes_done, 0)?;
        }
        Ok(_) => return Err("VE -> VH copied to an unmapped address succeeded".into()),
    }
    ensure_eq("pins held", pins_held() - held, 0)
}

fn without_cap_sys_admin(fx: &mut Fx) -> R {
    let a = fx.a.addr();
    std::fs::set_permissions(NODE, std::os::unix::fs::PermissionsExt::from_mode(0o666))
        .map_err(|e| format!("chmod: {e}"))?;
    let code = sys::as_nobody(|| {
        let Ok(fd) = sys::open_rw(NODE) else { return 1 };
        if xfer(&fd, true, a, 0, 8).err().map(|e| e.0) == Some(libc::EPERM) {
            0
        } else {
            2
        }
    })
    .map_err(errname)?;
    ensure_eq("child (1: open failed, 2: not EPERM)", code, 0)
}

fn injected_exception(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    let a = fx.a.addr();
    let ctl = &fx.ctl;
    let c = ctl.as_ref().map_err(|e| e.clone())?;
    let held = pins_held();
    let g = c.control(emu::OFF_CTL_EXC_AT, c.get(emu::OFF_CNT_STARTED) + 1);
    let r = xfer(fd, true, a, 0, 1 << 20);
    g.release();
    match r {
        Err((e, x)) if e == libc::EIO => {
            ensure_eq("exception code", x.exception, u32::from(desc::EXC_INJECTED))?;
            ensure_eq("bytes_done", x.bytes_done, 0)?;
        }
        other => return Err(format!("want EIO, got {other:?}")),
    }
    ensure_eq("pins held", pins_held() - held, 0)
}

fn works_after_exception(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    fresh_round_trip(fd, 0x4000_0000, 5)
}

fn hung_engine(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    let a = fx.a.addr();
    let ctl = &fx.ctl;
    let c = ctl.as_ref().map_err(|e| e.clone())?;
    let held = pins_held();
    let g = c.control(emu::OFF_CTL_STALL, 1);
    let r = xfer(fd, true, a, 0, 64 << 10);
    g.release();
    ensure_errno("stalled transfer", r.map_err(|e| e.0), libc::ETIMEDOUT)?;
    ensure_eq("pins held", pins_held() - held, 0)
}

fn works_after_timeout(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    fresh_round_trip(fd, 0x4010_0000, 6)
}

fn dropped_irqs(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    let ctl = &fx.ctl;
    let c = ctl.as_ref().map_err(|e| e.clone())?;
    let g = c.control(emu::OFF_CTL_IRQ_DROP, 1000);
    let r = fresh_round_trip(fd, 0x4020_0000, 7);
    let dropped = 1000 - c.get(emu::OFF_CTL_IRQ_DROP);
    g.release();
    r?;
    ensure(dropped > 0, || "the emulator dropped no interrupt".into())
}

fn coalesced_irqs(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    let ctl = &fx.ctl;
    let c = ctl.as_ref().map_err(|e| e.clone())?;
    // Physically fragmented: one descriptor per page, so the driver asks for an interrupt
    // about every 64 slots; the emulator raises only every 1,000,000th.
    let b = Buffer::new_fragmented(16 << 20)?;
    let irqs = c.get(emu::OFF_CNT_IRQS);
    let g = c.control(emu::OFF_CTL_IRQ_COALESCE, 1_000_000);
    // SAFETY: the two 8 MiB halves of `b`.
    let r = unsafe { round_trip(fd, b.ptr, b.ptr.add(8 << 20), 8 << 20, 0x4400_0000, 8) };
    g.release();
    r?;
    ensure_eq("interrupts raised", c.get(emu::OFF_CNT_IRQS) - irqs, 0)
}

fn overlap_and_early_unpin(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    let ctl = &fx.ctl;
    let c = ctl.as_ref().map_err(|e| e.clone())?;
    overlap(fd, c)
}

/// The driver's windows of pinned, not completed bytes (src/dma/submit.rs) in this boot's DMA
/// mode: for 4 KiB pages and for huge pages.
fn windows() -> (i64, i64) {
    match ve_guest::dma_mode_of_boot() {
        uapi::VE_DRV_DMA_IOMMU => (128 << 20, 128 << 20),
        uapi::VE_DRV_DMA_BOUNCE => (4 << 20, 4 << 20),
        _ => (64 << 20, 256 << 20),
    }
}

/// Huge pages: a 320 MiB VH -> VE transfer from a 1 GiB hugetlb page, the engine throttled and
/// sampled from another thread. Its pages are resident huge pages, so with direct mapping the
/// request may hold more than the 4 KiB window (64 MiB), and never more than the huge-page window
/// (256 MiB) plus one batch.
fn huge_page_window(fx: &mut Fx) -> R {
    const LEN: usize = 320 << 20;
    let c = fx.ctl.as_ref().map_err(|e| e.clone())?;
    // In pages, plus one batch.
    let (small, huge) = windows();
    let (small, huge) = (small / 4096 + 512, huge / 4096 + 512);
    let b = Buffer::new(Backing::Hugetlb1g, 1 << 30)?;
    let base = pins_held();
    let g = c.control(emu::OFF_CTL_BW_MIBS, 512);
    let done = AtomicBool::new(false);
    let (res, max_held) = std::thread::scope(|s| {
        let sampler = s.spawn(|| {
            let mut max_held = 0i64;
            while !done.load(Ordering::Relaxed) {
                max_held = max_held.max(pins_held() - base);
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            max_held
        });
        let res = xfer(&fx.fd, true, b.addr(), 0x1_0000_0000, LEN as u64);
        done.store(true, Ordering::Relaxed);
        (res, sampler.join().unwrap_or(i64::MAX))
    });
    g.release();
    res.map_err(|(e, _)| format!("transfer: {}", errname(e)))?;
    let slack = sys::pin_counter_error()?;
    println!(
        "# figure: huge-page window: at most {max_held} pages pinned during a {} page transfer \
         (vmstat's error: {slack})",
        LEN / 4096
    );
    ensure(max_held <= huge + slack, || {
        format!(
            "{max_held} pages pinned at once, the huge-page window is {huge} \
             (+{slack} of vmstat's per-CPU error)"
        )
    })?;
    if huge > small {
        ensure(max_held > small, || {
            format!("{max_held} pages pinned at most: the huge-page window ({huge}) was not used")
        })?;
    }
    ensure_eq("pins held after", pins_held() - base, 0)
}

/// Huge pages over `RLIMIT_MEMLOCK`: in a child without `CAP_IPC_LOCK` and the 4 KiB window plus
/// 32 MiB of it (96 MiB with direct mapping, under the huge-page window), a 192 MiB round trip
/// through a 1 GiB hugetlb page, the engine throttled, still works (the request goes on with the
/// 4 KiB window, which fits the limit), every byte compared, nothing left pinned.
fn huge_pages_within_memlock(fx: &mut Fx) -> R {
    const LEN: usize = 192 << 20;
    let limit = windows().0 as u64 + (32 << 20);
    let c = fx.ctl.as_ref().map_err(|e| e.clone())?;
    let held = pins_held();
    let fd = &fx.fd;
    // Throttled, so that the request would pin past the limit before the engine frees anything.
    let g = c.control(emu::OFF_CTL_BW_MIBS, 512);
    let code = sys::in_child_with_memlock(limit, || {
        let Ok(b) = Buffer::new(Backing::Hugetlb1g, 1 << 30) else {
            return 10;
        };
        // SAFETY: two disjoint `LEN`-byte parts of the 1 GiB buffer.
        match unsafe { xfer_round_trip(fd, b.ptr, b.ptr.add(LEN), LEN, 0x1_0000_0000, 7) } {
            Ok(()) => 0,
            Err(e) => {
                println!("# child: {e}");
                11
            }
        }
    })
    .map_err(|e| format!("child: {}", errname(e)));
    g.release();
    ensure_eq("child's exit code", code?, 0)?;
    ensure_eq("pins held after", pins_held() - held, 0)
}

fn threads_and_processes(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    concurrent(fd)
}

fn fork_during_ve_to_vh(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    let ctl = &fx.ctl;
    let c = ctl.as_ref().map_err(|e| e.clone())?;
    fork_during_transfer(fd, c)
}

fn killed_mid_transfer(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    let ctl = &fx.ctl;
    let c = ctl.as_ref().map_err(|e| e.clone())?;
    let held = pins_held();
    // Slow the engine down so the child is surely inside the transfer when it is killed.
    let g = c.control(emu::OFF_CTL_DELAY_US, 2000);
    // SAFETY: the child only runs transfers and exits.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let fd = sys::open_rw(NODE).expect("open");
        let b = Buffer::new(Backing::Anon4k, 16 << 20).expect("buffer");
        loop {
            let _ = xfer(&fd, false, b.addr(), 0x5000_0000, b.len as u64);
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut status = 0;
    // SAFETY: kills and reaps our child.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, &mut status, 0);
    }
    g.release();
    ensure(libc::WIFSIGNALED(status), || {
        "the child was not killed".into()
    })?;
    ensure_eq("pins held", pins_held() - held, 0)?;
    fresh_round_trip(fd, 0x4030_0000, 8)
}

fn unbind_mid_transfer(fx: &mut Fx) -> R {
    let ctl = &fx.ctl;
    let c = ctl.as_ref().map_err(|e| e.clone())?;
    let bdf =
        sys::find_pci(pci_id::VENDOR_REDHAT_QUMRANET, pci_id::DEVICE_IVSHMEM).ok_or("no device")?;
    let held = pins_held();
    let g = c.control(emu::OFF_CTL_DELAY_US, 2000);
    let b = Buffer::new(Backing::Anon4k, 16 << 20)?;
    let addr = b.addr();
    let r = std::thread::scope(|s| {
        let h = s.spawn(|| {
            let fd = sys::open_rw(NODE).map_err(errname)?;
            let mut last = Ok(0);
            // Transfer until the unbind stops us (bounded, should it never come).
            let end = std::time::Instant::now() + std::time::Duration::from_secs(60);
            while std::time::Instant::now() < end {
                match xfer(&fd, false, addr, 0x5000_0000, 16 << 20) {
                    Ok(_) => last = Ok(0),
                    Err((e, _)) => {
                        last = Err(e);
                        break;
                    }
                }
            }
            Ok::<_, String>(last)
        });
        std::thread::sleep(std::time::Duration::from_millis(300));
        let u = sys::write_file("/sys/bus/pci/drivers/ve_drv_emu/unbind", &bdf);
        (u, h.join())
    });
    g.release();
    let (u, joined) = r;
    u.map_err(|e| format!("unbind: {}", errname(e)))?;
    let last = joined.map_err(|_| "thread panicked".to_string())??;
    ensure_errno("the transfer running at unbind", last, libc::ENODEV)?;
    ensure_eq("pins held", pins_held() - held, 0)?;
    sys::write_file("/sys/bus/pci/drivers/ve_drv_emu/bind", &bdf)
        .map_err(|e| format!("bind: {}", errname(e)))?;
    ensure(sys::wait_for(2000, || sys::exists(NODE)), || {
        "no /dev/ve0 after rebinding".into()
    })?;
    let fd2 = sys::open_rw(NODE).map_err(errname)?;
    fresh_round_trip(&fd2, 0x4040_0000, 9)
}

/// Every host address a descriptor names comes from the DMA API: the page's physical address
/// with direct mapping, something else behind an IOMMU (an IOVA) or under forced bounce buffers
/// (a bounce slot). The emulator records the host address of the last descriptor it ran; 64 KiB
/// of a 2 MiB page are one descriptor in every mode (VH -> VE: the address is the buffer's first
/// byte as the card sees it).
fn descriptor_addresses(fx: &mut Fx) -> R {
    let c = fx.ctl.as_ref().map_err(|e| e.clone())?;
    // A file of its own: the fixture's lost its card to the unbind case.
    let fd = sys::open_rw(NODE).map_err(errname)?;
    // A 2 MiB page: the 64 KiB are physically contiguous, one run, one mapping.
    let b = Buffer::new(Backing::Hugetlb2m, 2 << 20)?;
    // SAFETY: `b` maps 64 KiB.
    unsafe { fill(b.ptr, 64 << 10, 41) };
    let out = xfer(&fd, true, b.addr(), 0x4800_0000, 64 << 10)
        .map_err(|(e, _)| format!("transfer: {}", errname(e)))?;
    ensure_eq("descriptors", out.descs, 1)?;
    let seen = c.get(emu::OFF_LAST_VH_ADDR);
    let phys: Vec<u64> = (0..16u64)
        .map(|k| ve_guest::mem::phys_of("self", b.addr() + k * 4096).unwrap_or(0))
        .collect();
    ensure(phys.iter().all(|&p| p != 0), || {
        "pagemap gave no frame".into()
    })?;
    let mode = ve_guest::dma_mode_of_boot();
    println!(
        "# dma mode {mode}: descriptor address {seen:#x}, first page at {:#x}",
        phys[0]
    );
    if mode == uapi::VE_DRV_DMA_DIRECT {
        ensure_eq("descriptor address", seen, phys[0])
    } else {
        ensure(phys.iter().all(|&p| seen & !0xfff != p), || {
            format!("descriptor address {seen:#x} is a physical address of the buffer")
        })
    }
}

/// Descriptors over physically fragmented 4 KiB memory. Behind an IOMMU the pinned runs of a
/// block are linked into one IOVA range: 96 MiB take at most ceil(len / 64 MiB) + 1 descriptors.
/// Otherwise every run is mapped alone: 8 MiB take about one descriptor per page (at least half
/// as many as pages: a few neighbours may be physically contiguous). Both ways, every byte
/// compared.
fn fragmented_descriptors(fx: &mut Fx) -> R {
    let fd = sys::open_rw(NODE).map_err(errname)?;
    let iommu = ve_guest::dma_mode_of_boot() == uapi::VE_DRV_DMA_IOMMU;
    let len: usize = if iommu { 96 << 20 } else { 8 << 20 };
    ensure(fx.ve_size >= len as u64, || {
        format!("VE memory is {} bytes", fx.ve_size)
    })?;
    let src = Buffer::new_fragmented(len)?;
    let dst = Buffer::new_fragmented(len)?;
    // SAFETY: `src` maps `len` bytes.
    unsafe { fill(src.ptr, len, 43) };
    let held = pins_held();
    for (to_ve, b) in [(true, &src), (false, &dst)] {
        let out = xfer(&fd, to_ve, b.addr(), 0, len as u64)
            .map_err(|(e, _)| format!("transfer: {}", errname(e)))?;
        println!(
            "# {}: {} descriptors for {} MiB of fragmented 4 KiB pages",
            if to_ve { "VH -> VE" } else { "VE -> VH" },
            out.descs,
            len >> 20
        );
        if iommu {
            let most = len.div_ceil(64 << 20) as u32 + 1;
            ensure(out.descs <= most, || {
                format!("{} descriptors, at most {most} expected", out.descs)
            })?;
        } else {
            let least = (len / 4096 / 2) as u32;
            ensure(out.descs >= least, || {
                format!("{} descriptors, at least {least} expected", out.descs)
            })?;
        }
    }
    // SAFETY: both map `len` bytes; the transfers finished.
    unsafe { same(src.ptr, dst.ptr, len) }?;
    ensure_eq("pins held after the transfers", pins_held() - held, 0)
}

fn nothing_left_pinned(fx: &mut Fx) -> R {
    ensure_eq("pins held", pins_held() - fx.baseline, 0)
}

/// The card, a 1 MiB buffer for the error cases, the emulator's controls (the cases that need
/// them fail one by one if they cannot be mapped) and the card's VE memory size.
struct Fx {
    fd: OwnedFd,
    baseline: i64,
    ve_size: u64,
    a: Buffer,
    ctl: Result<EmuBar, String>,
}

impl Fixture for Fx {}

fn main() {
    let suite = Suite::new("ve_dma_test")
        .per_backing(
            &[
                Backing::Anon4k,
                Backing::Thp,
                Backing::Hugetlb2m,
                Backing::Hugetlb1g,
            ],
            vec![
                Variant::named(
                    |b| {
                        format!(
                            "{}: {} MiB VH -> VE -> VH, every byte compared",
                            b.name(),
                            halves(b).1 >> 20
                        )
                    },
                    big_round_trip,
                ),
                Variant::new(
                    "{backing}: small and page-unaligned transfers (8 B, 4 KiB + 8 at +8, 1 MiB + 0x1238)",
                    small_round_trips,
                ),
            ],
        )
        .case("argument errors: EINVAL (alignment, length, flags, reserved, VE range), EFAULT (unmapped)", argument_errors)
        .case("VE_DMA_NO_POLL: completion by interrupt only, the same data; WAIT takes it; unknown flags EINVAL", interrupt_only_completion)
        .case("short transfers are copied through the card's DMA buffer: nothing pinned, the data arrives; VE_DMA_NO_COPY pins; EFAULT", copied_short_transfers)
        .case("without CAP_SYS_ADMIN: EPERM", without_cap_sys_admin)
        .case("an injected exception fails the transfer with EIO and its code", injected_exception)
        .case("after the exception, transfers work again", works_after_exception)
        .case("a hung engine: ETIMEDOUT, engine halted, pins released", hung_engine)
        .case("after the timeout, transfers work again", works_after_timeout)
        .case("dropped interrupts: the transfer still completes", dropped_irqs)
        .case("coalesced interrupts (none raised): 2 x 2048 descriptors complete by the wait slices", coalesced_irqs)
        .case("overlap and early unpin: the engine starts before the last batch is pinned; pins stay within the window", overlap_and_early_unpin)
        .case("huge pages: a request holds more than the 4 KiB window, within the huge-page window", huge_page_window)
        .case("huge pages over RLIMIT_MEMLOCK: the request goes on with the 4 KiB window", huge_pages_within_memlock)
        .case("4 threads and 2 processes at once, every byte verified", threads_and_processes)
        .case("fork during a VE->VH transfer: the parent gets the data, the children's writes stay theirs", fork_during_ve_to_vh)
        .case("a process killed in the middle of a transfer: nothing stays pinned, the engine works", killed_mid_transfer)
        .case("unbinding the card in the middle of a transfer: ENODEV, nothing pinned, rebind works", unbind_mid_transfer)
        .case("descriptor host addresses come from the DMA API (physical only with direct mapping)", descriptor_addresses)
        .case("fragmented 4 KiB pages: at most ceil(len / 64 MiB) + 1 descriptors behind an IOMMU, about one per page otherwise", fragmented_descriptors)
        .case("nothing left pinned", nothing_left_pinned);
    std::process::exit(suite.run(|| {
        let fd = sys::open_rw(NODE).map_err(|e| Bail {
            name: "open /dev/ve0".into(),
            why: errname(e),
        })?;
        let baseline = pins_held();
        let mut info = uapi::VeDrvInfo::default();
        let ve_size = sys::ioctl(&fd, uapi::VE_DRV_IOC_INFO, &mut info)
            .map(|_| info.ve_mem_size)
            .unwrap_or(0);
        let a = Buffer::new(Backing::Anon4k, 1 << 20).map_err(Bail::as_("buffer"))?;
        Ok(Fx {
            fd,
            baseline,
            ve_size,
            a,
            ctl: EmuBar::open(),
        })
    }));
}

/// Round trips from 4 threads of this process and from a child process at once, each on its own
/// buffers and VE range.
fn concurrent(fd: &OwnedFd) -> R {
    let held = pins_held();
    // SAFETY: the child runs round trips on its own memory and exits with the result.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let fd = sys::open_rw(NODE).expect("open");
        let ok = (0..8).all(|k| {
            let b = Buffer::new(Backing::Anon4k, 2 << 20).expect("buffer");
            // SAFETY: the two 1 MiB halves of `b`.
            unsafe {
                xfer_round_trip(
                    &fd,
                    b.ptr,
                    b.ptr.add(1 << 20),
                    1 << 20,
                    0x6000_0000 + (k << 21),
                    100 + k,
                )
            }
            .is_ok()
        });
        // SAFETY: leave the child.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let results: Vec<R> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4u64)
            .map(|th| {
                s.spawn(move || -> R {
                    for k in 0..4u64 {
                        let backing = if th % 2 == 0 {
                            Backing::Anon4k
                        } else {
                            Backing::Hugetlb2m
                        };
                        let b = Buffer::new(backing, 4 << 20)?;
                        let len = (1 << 20) + 8 * (th * 4 + k) as usize;
                        let ve = 0x7000_0000 + ((th * 4 + k) << 22);
                        // SAFETY: `len` < 2 MiB at the start and in the second half of `b`
                        // (4 MiB), which only this thread uses.
                        unsafe {
                            xfer_round_trip(fd, b.ptr, b.ptr.add(2 << 20), len, ve, th * 10 + k)
                        }?;
                    }
                    Ok(())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("thread panicked".into())))
            .collect()
    });
    let mut status = 0;
    // SAFETY: reaps the child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    for r in results {
        r?;
    }
    ensure(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        || "the child process's transfers failed".into(),
    )?;
    ensure_eq("pins held", pins_held() - held, 0)
}

/// A 128 MiB transfer of 4 KiB pages with the engine throttled to 512 MiB/s, sampled from another
/// thread: the engine must have started while part of the buffer was still unpinned, and the pages
/// held at any time must stay within the driver's window (64 MiB) plus one batch. The samples
/// are vmstat's counters, which may over-count by the CPUs' unfolded deltas while the driver
/// pins and unpins ([`sys::pin_counter_error`], 80 pages on the test VM): the bound
/// allows for that.
fn overlap(fd: &OwnedFd, c: &EmuBar) -> R {
    const LEN: usize = 128 << 20;
    // The driver's window for 4 KiB pages, plus one batch.
    let window_pages = windows().0 / 4096 + 512;
    let b = Buffer::new(Backing::Anon4k, LEN)?;
    let base = pins_held();
    let started0 = c.get(emu::OFF_CNT_STARTED);
    let g = c.control(emu::OFF_CTL_BW_MIBS, 512);
    let done = AtomicBool::new(false);
    let (res, max_held, overlapped) = std::thread::scope(|s| {
        let sampler = s.spawn(|| {
            let (mut max_held, mut overlapped) = (0i64, false);
            while !done.load(Ordering::Relaxed) {
                let held = pins_held() - base;
                max_held = max_held.max(held);
                // The engine has started and not everything has been pinned at once.
                if c.get(emu::OFF_CNT_STARTED) > started0 && held > 0 && held < (LEN / 4096) as i64
                {
                    overlapped = true;
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            (max_held, overlapped)
        });
        let res = xfer(fd, true, b.addr(), 0x1_0000_0000, LEN as u64);
        done.store(true, Ordering::Relaxed);
        let (m, o) = sampler.join().unwrap_or((i64::MAX, false));
        (res, m, o)
    });
    g.release();
    res.map_err(|(e, _)| format!("transfer: {}", errname(e)))?;
    let slack = sys::pin_counter_error()?;
    println!(
        "# figure: overlap: at most {max_held} pages pinned during a {} page transfer \
         (vmstat's error: {slack})",
        LEN / 4096
    );
    ensure(overlapped, || {
        "never saw the engine running while pages were still to be pinned".into()
    })?;
    ensure(max_held <= window_pages + slack, || {
        format!(
            "{max_held} pages pinned at once, window is {window_pages} \
             (+{slack} of vmstat's per-CPU error)"
        )
    })?;
    ensure_eq("pins held after", pins_held() - base, 0)
}

/// Copy-on-write safety of the transfer's long-term pins: while the engine (throttled) writes a
/// 16 MiB private buffer, the process forks 4 times and each child overwrites every page of its
/// copy. The parent's buffer must end up with exactly the VE data (a pin on a page the parent
/// loses to a COW break would leave the device's writes invisible to it), and nothing stays pinned.
fn fork_during_transfer(fd: &OwnedFd, c: &EmuBar) -> R {
    const LEN: usize = 16 << 20;
    const VE: u64 = 0x1_0000_0000;
    let held = pins_held();
    let src = Buffer::new(Backing::Anon4k, LEN)?;
    let dst = Buffer::new(Backing::Anon4k, LEN)?;
    // SAFETY: two fresh buffers of `LEN` bytes.
    unsafe {
        fill(src.ptr, LEN, 0xf0f0);
        fill(dst.ptr, LEN, 0x0f0f);
    }
    xfer(fd, true, src.addr(), VE, LEN as u64)
        .map_err(|(e, _)| format!("VH->VE: {}", errname(e)))?;
    // 16 MiB at 32 MiB/s: about 500 ms of engine time to fork into.
    let g = c.control(emu::OFF_CTL_BW_MIBS, 32);
    let done = AtomicBool::new(false);
    let addr = dst.addr();
    let (res, forks_in_flight) = std::thread::scope(|s| {
        let h = s.spawn(|| {
            let r = xfer(fd, false, addr, VE, LEN as u64);
            done.store(true, Ordering::SeqCst);
            r
        });
        let mut in_flight = 0;
        for _ in 0..4 {
            std::thread::sleep(std::time::Duration::from_millis(15));
            let during = !done.load(Ordering::SeqCst);
            // SAFETY: the child only writes its own copy of the buffer and leaves with _exit.
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                for off in (0..LEN).step_by(4096) {
                    // SAFETY: the child's copy of `dst` is mapped for LEN bytes.
                    unsafe { (addr as *mut u8).add(off).write_volatile(0xaa) };
                }
                // SAFETY: leave the child without running the parent's destructors.
                unsafe { libc::_exit(0) };
            }
            let mut status = 0;
            // SAFETY: reaps the child.
            unsafe { libc::waitpid(pid, &mut status, 0) };
            if pid > 0 && during {
                in_flight += 1;
            }
        }
        (h.join(), in_flight)
    });
    g.release();
    res.map_err(|_| "thread panicked".to_string())?
        .map_err(|(e, _)| format!("VE->VH: {}", errname(e)))?;
    ensure(forks_in_flight > 0, || {
        "no fork happened while the transfer was in flight".into()
    })?;
    // SAFETY: two buffers of `LEN` bytes, their transfers finished.
    unsafe { same(src.ptr, dst.ptr, LEN) }?;
    ensure_eq("pins held", pins_held() - held, 0)
}
