// SPDX-License-Identifier: GPL-2.0

//! ve_async_test: the DMA manager's asynchronous interface (`VE_DMA_IOC_SUBMIT`, `_WAIT`,
//! `_CANCEL`) against the engine emulator: several requests in flight at once, VE extent lists,
//! every documented errno, and the ways a request ends other than by completing (an exception in
//! one request among several, a hung engine recovered by CANCEL, the close of the file or the
//! death of the process with requests in flight, munmap of the buffer during the transfer). Every
//! byte is compared; after each test nothing stays pinned.
//!
//! Needs `ve_drv` loaded with `emulator=1` (the suite script does it).

use std::os::fd::OwnedFd;

use ve_guest::{
    dma::{
        self,
        cancel,
        fill,
        open_card,
        same,
        submit,
        submit_list,
        submit_raw,
        wait,
        wait_ok,
        xfer, //
    },
    emubar::EmuBar,
    hw::{
        desc,
        emu, //
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
    nec::{
        self,
        pins_held, //
    },
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
    uapi::{
        self,
        VeDmaExtent,
        VeDmaSubmit,
        VeDmaWait, //
    },
};

type R = Result<(), String>;
const NODE: &str = "/dev/ve0";
const MIB: usize = 1 << 20;

/// Copies `len` bytes VH `src` -> VE `ve` (XFER) and back into `dst` with SUBMIT + WAIT, and
/// compares.
fn submit_round_trip(fd: &OwnedFd, src: &Buffer, dst: &Buffer, len: usize, ve: u64) -> R {
    ensure(len <= src.len && len <= dst.len && len % 8 == 0, || {
        format!("round trip of {len} bytes")
    })?;
    // SAFETY: `len` bytes (a multiple of 8) of each buffer, checked above; no transfer in flight.
    unsafe {
        fill(src.ptr, len, ve ^ 0x55);
        fill(dst.ptr, len, !ve);
    }
    let id = submit(fd, true, src.addr(), ve, len as u64).map_err(errname)?;
    ensure_eq("bytes VH->VE", wait_ok(fd, id)?, len as u64)?;
    let id = submit(fd, false, dst.addr(), ve, len as u64).map_err(errname)?;
    ensure_eq("bytes VE->VH", wait_ok(fd, id)?, len as u64)?;
    // SAFETY: `len` bytes of each buffer, checked above; both transfers finished.
    unsafe { same(src.ptr, dst.ptr, len) }
}

fn round_trip(fx: &mut Fx, backing: Backing) -> R {
    let fd = &fx.fd;
    let src = Buffer::new(backing, 8 * MIB)?;
    let dst = Buffer::new(backing, 8 * MIB)?;
    let len = 5 * MIB + 8;
    let id = submit(fd, true, src.addr() + 8, 0x1000_0000, len as u64).map_err(errname)?;
    ensure(id != 0, || "id 0".into())?;
    // SAFETY: 8 bytes into buffers of 8 MiB, len < 8 MiB - 8, a multiple of 8.
    unsafe { fill(src.ptr.add(8), len, 3) };
    // The fill came after the submit: wait, then copy again to compare what the
    // engine saw at a known time.
    wait_ok(fd, id)?;
    let id = submit(fd, true, src.addr() + 8, 0x1000_0000, len as u64).map_err(errname)?;
    ensure_eq("bytes", wait_ok(fd, id)?, len as u64)?;
    let id = submit(fd, false, dst.addr() + 16, 0x1000_0000, len as u64).map_err(errname)?;
    ensure_eq("bytes back", wait_ok(fd, id)?, len as u64)?;
    // SAFETY: `len` bytes at 8 and 16 bytes into buffers of 8 MiB (len < 8 MiB - 16);
    // both transfers finished.
    unsafe { same(src.ptr.add(8), dst.ptr.add(16), len) }
}

fn eight_in_flight(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    let c = &fx.c;
    let bufs: Vec<Buffer> = (0..8)
        .map(|_| Buffer::new(Backing::Anon4k, 2 * MIB))
        .collect::<Result<_, _>>()?;
    for (k, b) in bufs.iter().enumerate() {
        // SAFETY: each buffer maps 2 MiB; no transfer in flight.
        unsafe { fill(b.ptr, 2 * MIB, 40 + k as u64) };
    }
    // 16 MiB at 64 MiB/s: about 250 ms of engine time.
    let ctl = c.control(emu::OFF_CTL_BW_MIBS, 64);
    let ids: Result<Vec<u64>, i32> = bufs
        .iter()
        .enumerate()
        .map(|(k, b)| {
            submit(
                fd,
                true,
                b.addr(),
                0x2000_0000 + (k as u64) * (4 << 20),
                (2 * MIB) as u64,
            )
        })
        .collect();
    let early = ids.as_ref().ok().map(|ids| wait(fd, ids[7], 0));
    let mut seen = Vec::new();
    let mut res = Ok(());
    if let Ok(ids) = &ids {
        for _ in 0..ids.len() {
            match wait(fd, 0, 10_000) {
                Ok(w) if w.status == 0 && w.bytes_done == (2 * MIB) as u64 => seen.push(w.id),
                Ok(w) => {
                    res = Err(format!(
                        "request {} status {} bytes {}",
                        w.id, w.status, w.bytes_done
                    ))
                }
                Err(e) => res = Err(format!("wait any: {}", errname(e))),
            }
        }
    }
    ctl.release();
    let mut ids = ids.map_err(|e| format!("submit: {}", errname(e)))?;
    res?;
    ensure_errno(
        "WAIT on the last right after the submits",
        early.unwrap().map(|_| ()),
        libc::ETIMEDOUT,
    )?;
    ensure_errno(
        "WAIT(any) with nothing left",
        wait(fd, 0, 0).map(|_| ()),
        libc::ENOENT,
    )?;
    seen.sort();
    ids.sort();
    ensure_eq("ids reported", seen, ids)?;
    // Read every buffer back from the VE and compare.
    let back = Buffer::new(Backing::Anon4k, 2 * MIB)?;
    for (k, b) in bufs.iter().enumerate() {
        xfer(
            fd,
            false,
            back.addr(),
            0x2000_0000 + (k as u64) * (4 << 20),
            (2 * MIB) as u64,
        )
        .map_err(|(e, _)| errname(e))?;
        // SAFETY: two 2 MiB buffers, their transfers finished.
        unsafe { same(b.ptr, back.ptr, 2 * MIB) }?;
    }
    Ok(())
}

fn extent_lists(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    extent_list(fd)
}

fn threads(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    let shared = fd;
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..4u64)
            .map(|th| {
                s.spawn(move || -> R {
                    let own = sys::open_rw(NODE).map_err(errname)?;
                    let f = if th % 2 == 0 { shared } else { &own };
                    let backing = if th < 2 {
                        Backing::Anon4k
                    } else {
                        Backing::Hugetlb2m
                    };
                    let src = Buffer::new(backing, 4 * MIB)?;
                    let dst = Buffer::new(backing, 4 * MIB)?;
                    // SAFETY: a fresh 4 MiB buffer of this thread.
                    unsafe { fill(src.ptr, 4 * MIB, th) };
                    let ve = |k: u64| 0x3000_0000 + th * (16 << 20) + k * (4 << 20);
                    let ids: Vec<u64> = (0..4u64)
                        .map(|k| {
                            // Quarter k of src.
                            let a = src.addr() + k * MIB as u64;
                            submit(f, true, a, ve(k), MIB as u64)
                        })
                        .collect::<Result<_, _>>()
                        .map_err(errname)?;
                    for id in ids {
                        wait_ok(f, id)?;
                    }
                    for k in 0..4u64 {
                        let id = submit(f, false, dst.addr() + k * MIB as u64, ve(k), MIB as u64)
                            .map_err(errname)?;
                        wait_ok(f, id)?;
                    }
                    // SAFETY: two 4 MiB buffers of this thread, transfers finished.
                    unsafe { same(src.ptr, dst.ptr, 4 * MIB) }
                })
            })
            .collect();
        hs.into_iter()
            .try_for_each(|h| h.join().unwrap_or_else(|_| Err("thread panicked".into())))
    })
}

fn every_bad_argument(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    bad_arguments(fd)
}

fn poll(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    let c = &fx.c;
    let other = sys::open_rw_other_thread(NODE).map_err(errname)?;
    let b = Buffer::new(Backing::Anon4k, 2 * MIB)?;
    let stall = c.stall(fd);
    let mine = submit(fd, true, b.addr(), 0, MIB as u64);
    let before = poll_in(fd, 0);
    let theirs = submit(&other, true, b.addr() + MIB as u64, 1 << 24, MIB as u64);
    stall.release()?;
    let (mine, theirs) = (mine.map_err(errname)?, theirs.map_err(errname)?);
    ensure_eq("revents while stalled", before?, 0)?;
    ensure_eq("revents once done", poll_in(fd, 5000)?, libc::POLLIN)?;
    wait_ok(fd, mine)?;
    // The other file's request finished too, but it is not this file's to collect.
    ensure_eq("other file readable", poll_in(&other, 5000)?, libc::POLLIN)?;
    ensure_eq("revents after collecting", poll_in(fd, 0)?, 0)?;
    wait_ok(&other, theirs).map(|_| ())
}

fn foreign_ids(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    let c = &fx.c;
    let other = sys::open_rw_other_thread(NODE).map_err(errname)?;
    let b = Buffer::new(Backing::Anon4k, MIB)?;
    let stall = c.stall(fd);
    let id = submit(&other, true, b.addr(), 0, MIB as u64);
    let w = id.map(|id| wait(fd, id, 0).map(|_| ()));
    let x = id.map(|id| cancel(fd, id));
    stall.release()?;
    let id = id.map_err(errname)?;
    ensure_errno("WAIT on another file's id", w.unwrap(), libc::ENOENT)?;
    ensure_errno("CANCEL of another file's id", x.unwrap(), libc::ENOENT)?;
    wait_ok(&other, id)?;
    ensure_errno(
        "WAIT on a collected id",
        wait(&other, id, 0).map(|_| ()),
        libc::ENOENT,
    )
}

fn request_limit(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    let c = &fx.c;
    let b = Buffer::new(Backing::Anon4k, MIB)?;
    let stall = c.stall(fd);
    let mut ids = Vec::new();
    let mut err = None;
    for k in 0..=u64::from(uapi::VE_DMA_MAX_REQUESTS) {
        match submit(fd, true, b.addr(), k * 4096, 4096) {
            Ok(id) => ids.push(id),
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    stall.release()?;
    for id in &ids {
        wait_ok(fd, *id)?;
    }
    ensure_eq("accepted", ids.len(), uapi::VE_DMA_MAX_REQUESTS as usize)?;
    ensure_errno("the one over", err.map_or(Ok(()), Err), libc::EAGAIN)
}

fn hung_engine(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    let c = &fx.c;
    let b = Buffer::new(Backing::Anon4k, 4 * MIB)?;
    let stall = c.stall(fd);
    let id = submit(fd, true, b.addr(), 0, (4 * MIB) as u64);
    let w = id.map(|id| wait(fd, id, 100).map(|_| ()));
    let pinned = pins_held();
    let x = id.map(|id| cancel(fd, id));
    let unpinned = pins_held();
    let w2 = id.map(|id| wait(fd, id, 0));
    stall.release()?;
    let id = id.map_err(errname)?;
    ensure_errno("WAIT 100 ms", w.unwrap(), libc::ETIMEDOUT)?;
    x.unwrap().map_err(|e| format!("cancel: {}", errname(e)))?;
    ensure(pinned - unpinned >= 1024, || {
        format!("cancel released {} pages, want 1024", pinned - unpinned)
    })?;
    let w2 = w2
        .unwrap()
        .map_err(|e| format!("wait after cancel: {}", errname(e)))?;
    ensure_eq("id", w2.id, id)?;
    ensure_eq("status", w2.status, -libc::ECANCELED)?;
    ensure_eq("bytes done", w2.bytes_done, 0)
}

fn works_after_cancel(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    fresh(fd, 0x100_0000)
}

fn exception_among_three(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    let c = &fx.c;
    exception_among_others(fd, c)
}

fn works_after_exception(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    fresh(fd, 0x200_0000)
}

/// Requests that hold more than the bounce buffers: 24 requests of 4 MiB (one bounced window
/// each) submitted behind a stalled engine, 96 MiB against swiotlb's 64 MiB pool. With every
/// mapping bounced, those that find the pool full fail with `ENOMEM` at SUBMIT, with nothing of
/// them left pinned, and the others complete once the engine runs; with direct mapping or an
/// IOMMU nothing runs out and all complete. Their data is read back and compared.
fn mapping_pressure(fx: &mut Fx) -> R {
    const N: usize = 24;
    const LEN: usize = 4 * MIB;
    let fd = &fx.fd;
    let c = &fx.c;
    let bounce = ve_guest::dma_mode_of_boot() == uapi::VE_DRV_DMA_BOUNCE;
    let bufs: Vec<Buffer> = (0..N)
        .map(|_| Buffer::new(Backing::Anon4k, LEN))
        .collect::<Result<_, _>>()?;
    for (k, b) in bufs.iter().enumerate() {
        // SAFETY: each buffer maps `LEN` bytes; no transfer in flight.
        unsafe { fill(b.ptr, LEN, 500 + k as u64) };
    }
    let held = pins_held();
    let stall = c.stall(fd);
    let ve = |k: usize| 0x2000_0000 + (k * LEN) as u64;
    let subs: Vec<Result<u64, i32>> = bufs
        .iter()
        .enumerate()
        .map(|(k, b)| submit(fd, true, b.addr(), ve(k), LEN as u64))
        .collect();
    let pinned_while_stalled = pins_held() - held;
    stall.release()?;
    let mut done = 0usize;
    let mut refused = 0usize;
    for (k, r) in subs.iter().enumerate() {
        match r {
            Ok(id) => {
                ensure_eq("status", wait(fd, *id, 10_000).map_err(errname)?.status, 0)?;
                done += 1;
            }
            Err(e) if *e == libc::ENOMEM && bounce => refused += 1,
            Err(e) => return Err(format!("request {k}: SUBMIT {}", errname(*e))),
        }
    }
    println!(
        "# figure: mapping pressure: {done} of {N} 4 MiB requests mapped behind a stalled engine, \
         {refused} ENOMEM; {pinned_while_stalled} pages pinned meanwhile"
    );
    ensure(pinned_while_stalled <= (done * LEN / 4096) as i64, || {
        format!("{pinned_while_stalled} pages pinned for {done} requests: refused ones kept pins")
    })?;
    if bounce {
        ensure(refused > 0 && done > 0, || {
            format!("{done} mapped, {refused} refused: the pool never ran out")
        })?;
    } else {
        ensure_eq("requests refused", refused, 0)?;
    }
    ensure_eq("pins held after", pins_held() - held, 0)?;
    // What went through arrived: read each back.
    let back = Buffer::new(Backing::Anon4k, LEN)?;
    for (k, b) in bufs.iter().enumerate() {
        if subs[k].is_err() {
            continue;
        }
        let id = submit(fd, false, back.addr(), ve(k), LEN as u64).map_err(errname)?;
        ensure_eq(
            "status back",
            wait(fd, id, 10_000).map_err(errname)?.status,
            0,
        )?;
        // SAFETY: both map `LEN` bytes; the transfer finished.
        unsafe { same(b.ptr, back.ptr, LEN) }?;
    }
    Ok(())
}

fn cancel_first_of_two(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    let c = &fx.c;
    let a = Buffer::new(Backing::Anon4k, 4 * MIB)?;
    let b = Buffer::new(Backing::Hugetlb2m, 4 * MIB)?;
    let back = Buffer::new(Backing::Anon4k, 4 * MIB)?;
    // SAFETY: a fresh 4 MiB buffer.
    unsafe { fill(b.ptr, 4 * MIB, 77) };
    let stall = c.stall(fd);
    let ia = submit(fd, true, a.addr(), 0x400_0000, (4 * MIB) as u64);
    let ib = submit(fd, true, b.addr(), 0x800_0000, (4 * MIB) as u64);
    let x = ia.map(|ia| cancel(fd, ia));
    stall.release()?;
    let (ia, ib) = (ia.map_err(errname)?, ib.map_err(errname)?);
    x.unwrap().map_err(errname)?;
    let wa = wait(fd, ia, 10_000).map_err(errname)?;
    ensure_eq("cancelled status", wa.status, -libc::ECANCELED)?;
    wait_ok(fd, ib)?;
    xfer(fd, false, back.addr(), 0x800_0000, (4 * MIB) as u64).map_err(|(e, _)| errname(e))?;
    // SAFETY: two 4 MiB buffers, their transfers finished.
    unsafe { same(b.ptr, back.ptr, 4 * MIB) }
}

fn cancel_finished(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    let b = Buffer::new(Backing::Anon4k, MIB)?;
    let held = pins_held();
    let id = submit(fd, true, b.addr(), 0, MIB as u64).map_err(errname)?;
    // Let it finish (its pages are unpinned as its descriptors complete) without
    // collecting it.
    ensure(sys::wait_for(5000, || pins_held() == held), || {
        "never finished".into()
    })?;
    cancel(fd, id).map_err(errname)?;
    ensure_eq("bytes", wait_ok(fd, id)?, MIB as u64)
}

fn close_in_flight(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    let c = &fx.c;
    let other = sys::open_rw_other_thread(NODE).map_err(errname)?;
    let b = Buffer::new(Backing::Anon4k, 8 * MIB)?;
    let descs = c.get(emu::OFF_CNT_DESCS);
    let stall = c.stall(fd);
    let ids: Result<Vec<u64>, i32> = (0..3u64)
        .map(|k| {
            submit(
                &other,
                true,
                b.addr() + k * (2 * MIB) as u64,
                k << 24,
                (2 * MIB) as u64,
            )
        })
        .collect();
    let pinned = pins_held();
    drop(other);
    let after_close = pins_held();
    stall.release()?;
    std::thread::sleep(std::time::Duration::from_millis(100));
    let ran = c.get(emu::OFF_CNT_DESCS) - descs;
    ids.map_err(errname)?;
    ensure(pinned - after_close >= 1536, || {
        format!("close released {} pages", pinned - after_close)
    })?;
    ensure_eq("descriptors the engine ran after the close", ran, 0)?;
    fresh(fd, 0x300_0000)
}

fn kill_in_flight(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    let c = &fx.c;
    // Slow, but halting between descriptors within the driver's 40 ms.
    let ctl = c.control(emu::OFF_CTL_DELAY_US, 2000);
    // SAFETY: the child only submits and waits, and is killed.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let fd = sys::open_rw(NODE).expect("open");
        let b = Buffer::new_fragmented(16 * MIB).expect("buffer");
        for k in 0..4u64 {
            let _ = submit(
                &fd,
                false,
                b.addr() + k * (4 * MIB) as u64,
                0x500_0000,
                (4 * MIB) as u64,
            );
        }
        loop {
            let _ = wait(&fd, 0, 1000);
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut status = 0;
    // SAFETY: kills and reaps our child.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, &mut status, 0);
    }
    ctl.release();
    ensure(libc::WIFSIGNALED(status), || {
        "the child was not killed".into()
    })?;
    fresh(fd, 0x600_0000)
}

fn munmap_in_flight(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    let c = &fx.c;
    let b = Buffer::new(Backing::Anon4k, 8 * MIB)?;
    let held = pins_held();
    let ctl = c.control(emu::OFF_CTL_BW_MIBS, 32);
    let id = submit(fd, false, b.addr(), 0x700_0000, (8 * MIB) as u64);
    drop(b);
    let after_unmap = pins_held() - held;
    let w = id.map(|id| wait(fd, id, 10_000));
    ctl.release();
    let w = w.map_err(errname)?.map_err(errname)?;
    ensure_eq("status", w.status, 0)?;
    ensure_eq("bytes", w.bytes_done, (8 * MIB) as u64)?;
    ensure(after_unmap > 0, || {
        "nothing was pinned right after munmap".into()
    })
}

/// VE memory to VE memory (`VE_DMA_VE_TO_VE`): 3 MiB + 8 B written to VE A, copied A -> B by
/// the engine with no VH side (nothing pinned), read back from B and compared; a destination
/// past the VE memory and a VH address with it are refused.
fn ve_to_ve(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    let len = 3 * MIB + 8;
    let src = Buffer::new(Backing::Anon4k, 4 * MIB)?;
    let dst = Buffer::new(Backing::Anon4k, 4 * MIB)?;
    let (a, b) = (0x2000_0000u64, 0x2100_0008u64);
    // SAFETY: `len` bytes of 4 MiB buffers, no transfer in flight.
    unsafe {
        fill(src.ptr, len, 0x7e);
        fill(dst.ptr, len, 0);
    }
    let id = submit(fd, true, src.addr(), a, len as u64).map_err(errname)?;
    wait_ok(fd, id)?;
    let pins = pins_held();
    let mut v = VeDmaSubmit {
        ve_addr: a,
        ve_dst_addr: b,
        len: len as u64,
        flags: uapi::VE_DMA_VE_TO_VE,
        ..Default::default()
    };
    // Held in the engine while the pins are counted.
    let stall = fx.c.stall(fd);
    let id = submit_raw(fd, &mut v).map_err(|e| format!("VE_TO_VE: {}", errname(e)));
    let pins_during = pins_held();
    stall.release()?;
    let id = id?;
    v.id = 0;
    ensure_eq("pins while VE_TO_VE runs", pins_during, pins)?;
    ensure_eq("bytes VE->VE", wait_ok(fd, id)?, len as u64)?;
    let id = submit(fd, false, dst.addr(), b, len as u64).map_err(errname)?;
    wait_ok(fd, id)?;
    // SAFETY: `len` bytes of each buffer; every transfer finished.
    unsafe { same(src.ptr, dst.ptr, len) }?;
    let mut info = uapi::VeDrvInfo::default();
    sys::ioctl(fd, uapi::VE_DRV_IOC_INFO, &mut info).map_err(errname)?;
    for (what, mut bad) in [
        (
            "a destination past VE memory",
            VeDmaSubmit {
                ve_dst_addr: info.ve_mem_size - 8,
                ..v
            },
        ),
        (
            "a source past VE memory",
            VeDmaSubmit {
                ve_addr: info.ve_mem_size - 8,
                ..v
            },
        ),
        (
            "a VH address",
            VeDmaSubmit {
                vh_addr: src.addr(),
                ..v
            },
        ),
        (
            "a VE list",
            VeDmaSubmit {
                flags: uapi::VE_DMA_VE_TO_VE | uapi::VE_DMA_VE_LIST,
                num_extents: 1,
                ..v
            },
        ),
    ] {
        bad.id = 0;
        ensure_errno(what, submit_raw(fd, &mut bad), libc::EINVAL)?;
    }
    Ok(())
}

/// VE register space (`VE_DMA_VE_REGS`, VE1's VERAA, as VEOS saves and restores a core's
/// context): 4 KiB VH -> registers at 0x800 and back, compared; past the emulator's 64 KiB of
/// registers and as a VE list refused.
fn ve_registers(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    let len = 4096usize;
    let src = Buffer::new(Backing::Anon4k, MIB)?;
    let dst = Buffer::new(Backing::Anon4k, MIB)?;
    // SAFETY: `len` bytes of 1 MiB buffers, no transfer in flight.
    unsafe {
        fill(src.ptr, len, 0x5e6);
        fill(dst.ptr, len, 1);
    }
    let regs = |vh: u64, to_ve: bool, ve: u64| VeDmaSubmit {
        vh_addr: vh,
        ve_addr: ve,
        len: len as u64,
        flags: dma::dir(to_ve) | uapi::VE_DMA_VE_REGS,
        ..Default::default()
    };
    let id = submit_raw(fd, &mut regs(src.addr(), true, 0x800))
        .map_err(|e| format!("VH -> VERAA: {}", errname(e)))?;
    ensure_eq("bytes VH->VERAA", wait_ok(fd, id)?, len as u64)?;
    let id = submit_raw(fd, &mut regs(dst.addr(), false, 0x800))
        .map_err(|e| format!("VERAA -> VH: {}", errname(e)))?;
    ensure_eq("bytes VERAA->VH", wait_ok(fd, id)?, len as u64)?;
    // SAFETY: `len` bytes of each buffer; both transfers finished.
    unsafe { same(src.ptr, dst.ptr, len) }?;
    ensure_errno(
        "past the register space",
        submit_raw(fd, &mut regs(src.addr(), true, emu::VERAA_SIZE as u64 - 8)),
        libc::EINVAL,
    )?;
    let ext = [VeDmaExtent { addr: 0, len: 4096 }];
    ensure_errno(
        "registers as a VE list",
        submit_raw(
            fd,
            &mut VeDmaSubmit {
                ve_addr: ext.as_ptr() as u64,
                flags: uapi::VE_DMA_VH_TO_VE | uapi::VE_DMA_VE_REGS | uapi::VE_DMA_VE_LIST,
                num_extents: 1,
                ..regs(src.addr(), true, 0)
            },
        ),
        libc::EINVAL,
    )
}

/// A VH bus address (`VE_DMA_VH_BUS`, VEOS's VHSAA): a page pinned and translated by NEC's
/// `VHVA_TO_VSAA_PIN_DOWN`, written by the engine at its bus address with nothing pinned by the
/// request, compared; a pid with it is `EINVAL`, a caller without `CAP_SYS_RAWIO` `EPERM`.
fn vh_bus_address(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    let len = 4096usize;
    let src = Buffer::new(Backing::Anon4k, MIB)?;
    let page = Buffer::new(Backing::Anon4k, MIB)?;
    // SAFETY: `len` bytes of 1 MiB buffers, no transfer in flight.
    unsafe {
        fill(src.ptr, len, 0xb05);
        fill(page.ptr, len, 0);
    }
    let id = submit(fd, true, src.addr(), 0x3000_0000, len as u64).map_err(errname)?;
    wait_ok(fd, id)?;
    let bus = nec::page(fd, true, uapi::OS_LIST, 0, true, page.addr())
        .map_err(|e| format!("PIN_DOWN: {}", errname(e)))?;
    let pins = pins_held();
    let mut v = VeDmaSubmit {
        vh_addr: bus,
        ve_addr: 0x3000_0000,
        len: len as u64,
        flags: uapi::VE_DMA_VE_TO_VH | uapi::VE_DMA_VH_BUS,
        ..Default::default()
    };
    // Held in the engine while the pins are counted.
    let stall = fx.c.stall(fd);
    let id = submit_raw(fd, &mut v);
    let pins_during = pins_held();
    let unstalled = stall.release();
    let r = id.map(|id| wait_ok(fd, id));
    let released = nec::release_page(fd, uapi::OS_LIST, bus);
    let bytes = r.map_err(|e| format!("VE -> VHSAA: {}", errname(e)))??;
    released.map_err(|e| format!("RELEASE_PD_PAGE: {}", errname(e)))?;
    unstalled?;
    ensure_eq("bytes VE->VHSAA", bytes, len as u64)?;
    ensure_eq("pins by the bus-address request", pins_during, pins)?;
    // SAFETY: `len` bytes of each buffer; every transfer finished.
    unsafe { same(src.ptr, page.ptr, len) }?;
    v.id = 0;
    ensure_errno(
        "a pid with a bus address",
        submit_raw(fd, &mut VeDmaSubmit { pid: 1, ..v }),
        libc::EINVAL,
    )?;
    let code = sys::without_cap(sys::CAP_SYS_RAWIO, || {
        let Ok(own) = sys::open_rw(NODE) else {
            return 1;
        };
        let mut w = v;
        match submit_raw(&own, &mut w) {
            Err(e) if e == libc::EPERM => 0,
            _ => 2,
        }
    })
    .map_err(errname)?;
    ensure_eq("without CAP_SYS_RAWIO (1: open; 2: not EPERM)", code, 0)
}

/// `opt`: relaxed and ID-based ordering reach every descriptor of the request (the emulator
/// counts them); `VE_DMA_SUBMIT_SYNC` is accepted; an unknown option bit is `EINVAL`.
fn ordering_options(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    let c = &fx.c;
    let len = 2 * MIB;
    let src =
        Buffer::new(Backing::Hugetlb2m, len).or_else(|_| Buffer::new(Backing::Anon4k, len))?;
    // SAFETY: `len` bytes of the buffer, no transfer in flight.
    unsafe { fill(src.ptr, len, 9) };
    let (ro, ido) = (c.get(emu::OFF_CNT_DESCS_RO), c.get(emu::OFF_CNT_DESCS_IDO));
    let mut v = VeDmaSubmit {
        vh_addr: src.addr(),
        ve_addr: 0x3100_0000,
        len: len as u64,
        flags: uapi::VE_DMA_VH_TO_VE,
        opt: uapi::VE_DMA_SUBMIT_RO | uapi::VE_DMA_SUBMIT_SYNC,
        ..Default::default()
    };
    let id = submit_raw(fd, &mut v).map_err(errname)?;
    let w = wait(fd, id, 10_000).map_err(errname)?;
    ensure_eq("status", w.status, 0)?;
    ensure_eq(
        "RO descriptors",
        c.get(emu::OFF_CNT_DESCS_RO) - ro,
        w.descs.into(),
    )?;
    ensure_eq("IDO descriptors", c.get(emu::OFF_CNT_DESCS_IDO), ido)?;
    v.id = 0;
    v.opt = uapi::VE_DMA_SUBMIT_IDO;
    let id = submit_raw(fd, &mut v).map_err(errname)?;
    let w = wait(fd, id, 10_000).map_err(errname)?;
    ensure_eq(
        "IDO descriptors",
        c.get(emu::OFF_CNT_DESCS_IDO) - ido,
        w.descs.into(),
    )?;
    v.id = 0;
    v.opt = 8;
    ensure_errno("option 8", submit_raw(fd, &mut v), libc::EINVAL)
}

fn nothing_left_pinned(fx: &mut Fx) -> R {
    ensure_eq("pins held", pins_held() - fx.baseline, 0)
}

/// The card and the emulator's controls, opened once; `baseline` is what was pinned before.
struct Fx {
    fd: OwnedFd,
    c: EmuBar,
    baseline: i64,
}

impl Fixture for Fx {}

fn main() {
    let suite = Suite::new("ve_async_test")
        .per_backing(
            &[Backing::Anon4k, Backing::Hugetlb2m],
            vec![Variant::new(
                "SUBMIT + WAIT round trip, 5 MiB + 8 B at an 8-byte offset, {backing}",
                round_trip,
            )
            .balanced()],
        )
        .balanced("8 requests in flight at once from one file: SUBMIT returns before the engine is done, WAIT(any) reports each once", eight_in_flight)
        .balanced("VE extent list: scattered, unordered, adjacent and page-unaligned extents, both directions", extent_lists)
        .balanced("4 threads, each with 4 requests in flight, on one file and on their own files", threads)
        .balanced("every bad argument gets its documented errno", every_bad_argument)
        .balanced("poll: readable once a request of this file finished, not before, not for another file's", poll)
        .balanced("another file's requests are unknown to this one", foreign_ids)
        .balanced("64 requests not yet collected: the 65th gets EAGAIN", request_limit)
        .balanced("a hung engine: WAIT times out and the request stays; CANCEL stops it (-ECANCELED) and unpins", hung_engine)
        .case("after the cancel, transfers work again", works_after_cancel)
        .balanced("an exception in one request of three fails only that one, with its code; the others complete", exception_among_three)
        .case("after the exception, transfers work again", works_after_exception)
        .balanced("24 x 4 MiB behind a stalled engine: ENOMEM where bounce buffers run out (nothing left pinned), the rest complete, data compared", mapping_pressure)
        .balanced("CANCEL of the first of two requests in the ring: the second completes, its data intact", cancel_first_of_two)
        .balanced("CANCEL of a finished request changes nothing; WAIT still reports its success", cancel_finished)
        .balanced("closing the file with requests in flight: they never run, nothing stays pinned", close_in_flight)
        .balanced("a process killed with requests in flight: nothing stays pinned, the engine works", kill_in_flight)
        .balanced("munmap during a VE->VH transfer: the pages stay pinned until their descriptors complete", munmap_in_flight)
        .balanced("VE memory to VE memory: no VH side, nothing pinned, data compared", ve_to_ve)
        .balanced("VE register space (VERAA) both ways, compared; out of range and as a list refused", ve_registers)
        .balanced("a VH bus address (VHSAA) written by the engine, nothing pinned by it; EPERM without CAP_SYS_RAWIO", vh_bus_address)
        .balanced("ordering options reach every descriptor; an unknown option is EINVAL", ordering_options)
        .case("nothing left pinned", nothing_left_pinned);
    std::process::exit(suite.run(|| {
        let baseline = pins_held();
        let (fd, c) =
            open_card().map_err(Bail::as_("open /dev/ve0 and map the emulator's controls"))?;
        Ok(Fx { fd, c, baseline })
    }));
}

/// `poll(POLLIN)` on `fd` for up to `ms`: the returned events.
fn poll_in(fd: &OwnedFd, ms: i32) -> Result<i16, String> {
    let mut p = libc::pollfd {
        fd: std::os::fd::AsRawFd::as_raw_fd(fd),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    match unsafe { libc::poll(&mut p, 1, ms) } {
        n if n < 0 => Err(format!("poll: {}", errname(sys::errno()))),
        _ => Ok(p.revents),
    }
}

/// A 1 MiB round trip through fresh 4 KiB-page buffers.
fn fresh(fd: &OwnedFd, ve: u64) -> R {
    let src = Buffer::new(Backing::Anon4k, MIB)?;
    let dst = Buffer::new(Backing::Anon4k, MIB)?;
    submit_round_trip(fd, &src, &dst, MIB, ve)
}

/// VH -> VE through a list of extents, then each extent read back on its own; VE -> VH through
/// the same list, compared with the source.
fn extent_list(fd: &OwnedFd) -> R {
    // (VE address, length): out of order, two adjacent, page-unaligned starts and lengths.
    let list: Vec<VeDmaExtent> = [
        (0x90_0000u64, 3 * 4096 + 8),
        (0x10_0008, 40),
        (0x10_0030, 8192), // adjacent to the one before
        (0x400_0ff8, 2 * MIB as u64),
        (0x8, 16),
        (0x20_0000, 600_000),
    ]
    .iter()
    .map(|&(addr, len)| VeDmaExtent { addr, len })
    .collect();
    let total: u64 = list.iter().map(|e| e.len).sum();
    let src = Buffer::new(Backing::Anon4k, 4 * MIB)?;
    let dst = Buffer::new(Backing::Anon4k, 4 * MIB)?;
    let one = Buffer::new(Backing::Anon4k, 4 * MIB)?;
    let off = 24u64; // 8-byte aligned, not page aligned
                     // SAFETY: within the 4 MiB buffers (total + off < 4 MiB; both multiples of 8).
    unsafe {
        fill(src.ptr.add(off as usize), total as usize, 0xe47);
        fill(dst.ptr, 4 * MIB, 1);
    }
    let id = submit_list(fd, true, src.addr() + off, &list).map_err(errname)?;
    let w = wait(fd, id, 10_000).map_err(errname)?;
    ensure_eq("status", w.status, 0)?;
    ensure_eq("bytes", w.bytes_done, total)?;
    ensure(w.descs as usize >= list.len() - 1, || {
        format!("{} descriptors for {} extents", w.descs, list.len())
    })?;
    // Each extent holds its slice of the source.
    let mut at = off;
    for e in &list {
        xfer(fd, false, one.addr(), e.addr, e.len).map_err(|(e, _)| errname(e))?;
        // SAFETY: `at + e.len` stays within `src`, `e.len` within `one`; transfers finished.
        unsafe { same(src.ptr.add(at as usize), one.ptr, e.len as usize) }
            .map_err(|m| format!("extent at VE {:#x}: {m}", e.addr))?;
        at += e.len;
    }
    // And back through the list in one request.
    let id = submit_list(fd, false, dst.addr() + 8, &list).map_err(errname)?;
    ensure_eq("bytes back", wait_ok(fd, id)?, total)?;
    // SAFETY: `total` bytes at `off` and 8 stay within both 4 MiB buffers; transfers finished.
    unsafe { same(src.ptr.add(off as usize), dst.ptr.add(8), total as usize) }
}

/// Three requests posted behind a stalled engine; an exception injected at the second
/// descriptor of the middle one (its only one behind an IOMMU). Only that one fails (EIO with the injected code); the first and
/// the third complete and their data arrives.
fn exception_among_others(fd: &OwnedFd, c: &EmuBar) -> R {
    // Fragmented memory: one descriptor per page, so the middle request has many.
    let bufs: Vec<Buffer> = (0..3)
        .map(|_| Buffer::new_fragmented(MIB))
        .collect::<Result<_, _>>()?;
    for (k, b) in bufs.iter().enumerate() {
        // SAFETY: each buffer maps 1 MiB; no transfer in flight.
        unsafe { fill(b.ptr, MIB, 900 + k as u64) };
    }
    let stall = c.stall(fd);
    let started = c.get(emu::OFF_CNT_STARTED);
    let ids: Result<Vec<u64>, i32> = bufs
        .iter()
        .enumerate()
        .map(|(k, b)| {
            submit(
                fd,
                true,
                b.addr(),
                0x1000_0000 + ((k as u64) << 24),
                MIB as u64,
            )
        })
        .collect();
    // The first request takes 256 descriptors; the middle one starts after them. Behind an IOMMU
    // each request is one descriptor (its pages linked into one IOVA range): the middle one's
    // first.
    let (descs_first, nth) = if ve_guest::dma_mode_of_boot() == uapi::VE_DRV_DMA_IOMMU {
        (1, 1)
    } else {
        (256, 2)
    };
    let ctl = c.control(emu::OFF_CTL_EXC_AT, started + descs_first + nth);
    stall.release()?;
    let ids = ids.map_err(errname)?;
    let ws: Vec<Result<VeDmaWait, i32>> = ids.iter().map(|&id| wait(fd, id, 10_000)).collect();
    ctl.release();
    let ws: Vec<VeDmaWait> = ws.into_iter().collect::<Result<_, _>>().map_err(errname)?;
    ensure_eq("first status", ws[0].status, 0)?;
    ensure_eq("middle status", ws[1].status, -libc::EIO)?;
    ensure_eq(
        "middle exception",
        ws[1].exception,
        u32::from(desc::EXC_INJECTED),
    )?;
    ensure(ws[1].bytes_done < MIB as u64, || {
        "the failed request reports all bytes done".into()
    })?;
    ensure_eq("last status", ws[2].status, 0)?;
    let back = Buffer::new(Backing::Anon4k, MIB)?;
    for k in [0usize, 2] {
        xfer(
            fd,
            false,
            back.addr(),
            0x1000_0000 + ((k as u64) << 24),
            MIB as u64,
        )
        .map_err(|(e, _)| errname(e))?;
        // SAFETY: two 1 MiB buffers, their transfers finished.
        unsafe { same(bufs[k].ptr, back.ptr, MIB) }.map_err(|m| format!("request {k}: {m}"))?;
    }
    Ok(())
}

/// Every bad argument of SUBMIT, WAIT and CANCEL.
fn bad_arguments(fd: &OwnedFd) -> R {
    let b = Buffer::new(Backing::Anon4k, MIB)?;
    let mut info = uapi::VeDrvInfo::default();
    sys::ioctl(fd, uapi::VE_DRV_IOC_INFO, &mut info).map_err(errname)?;
    let ve_size = info.ve_mem_size;
    let good = VeDmaSubmit {
        vh_addr: b.addr(),
        ve_addr: 0,
        len: 4096,
        flags: uapi::VE_DMA_VH_TO_VE,
        ..Default::default()
    };
    let ext = [VeDmaExtent { addr: 0, len: 4096 }];
    let listed = VeDmaSubmit {
        ve_addr: ext.as_ptr() as u64,
        num_extents: 1,
        flags: uapi::VE_DMA_VH_TO_VE | uapi::VE_DMA_VE_LIST,
        ..good
    };
    let cases: Vec<(&str, VeDmaSubmit, i32)> = vec![
        (
            "no direction",
            VeDmaSubmit { flags: 0, ..good },
            libc::EINVAL,
        ),
        (
            "both directions",
            VeDmaSubmit { flags: 3, ..good },
            libc::EINVAL,
        ),
        (
            "unknown flag",
            VeDmaSubmit {
                flags: uapi::VE_DMA_VH_TO_VE | 32,
                ..good
            },
            libc::EINVAL,
        ),
        ("zero length", VeDmaSubmit { len: 0, ..good }, libc::EINVAL),
        (
            "length not a multiple of 8",
            VeDmaSubmit { len: 4092, ..good },
            libc::EINVAL,
        ),
        (
            "VH address not 8-byte aligned",
            VeDmaSubmit {
                vh_addr: b.addr() + 4,
                ..good
            },
            libc::EINVAL,
        ),
        (
            "VE address not 8-byte aligned",
            VeDmaSubmit { ve_addr: 4, ..good },
            libc::EINVAL,
        ),
        (
            "VE range beyond VE memory",
            VeDmaSubmit {
                ve_addr: ve_size - 8,
                len: 16,
                ..good
            },
            libc::EINVAL,
        ),
        (
            "VH range wraps",
            VeDmaSubmit {
                vh_addr: u64::MAX - 7,
                len: 16,
                ..good
            },
            libc::EINVAL,
        ),
        (
            "an unknown option",
            VeDmaSubmit { opt: 8, ..good },
            libc::EINVAL,
        ),
        (
            "a VE destination without VE_TO_VE",
            VeDmaSubmit {
                ve_dst_addr: 8,
                ..good
            },
            libc::EINVAL,
        ),
        (
            "nonzero reserved",
            VeDmaSubmit {
                reserved: 1,
                ..good
            },
            libc::EINVAL,
        ),
        ("nonzero id", VeDmaSubmit { id: 5, ..good }, libc::EINVAL),
        (
            "num_extents without VE_LIST",
            VeDmaSubmit {
                num_extents: 1,
                ..good
            },
            libc::EINVAL,
        ),
        (
            "VE_LIST with no extents",
            VeDmaSubmit {
                num_extents: 0,
                ..listed
            },
            libc::EINVAL,
        ),
        (
            "VE_LIST with too many extents",
            VeDmaSubmit {
                num_extents: uapi::VE_DMA_MAX_EXTENTS + 1,
                ..listed
            },
            libc::EINVAL,
        ),
        (
            "extents shorter than len",
            VeDmaSubmit {
                len: 8192,
                ..listed
            },
            libc::EINVAL,
        ),
        (
            "extent list at an unmapped address",
            VeDmaSubmit {
                ve_addr: 8,
                ..listed
            },
            libc::EFAULT,
        ),
        (
            "VH buffer unmapped",
            VeDmaSubmit {
                vh_addr: 0x1000,
                ..good
            },
            libc::EFAULT,
        ),
        (
            "no such pid",
            VeDmaSubmit {
                pid: 0x3fff_fff0,
                ..good
            },
            libc::ESRCH,
        ),
    ];
    for (name, mut a, want) in cases {
        ensure_errno(name, submit_raw(fd, &mut a).map(|_| ()), want)?;
    }
    let bad_ext: Vec<(&str, VeDmaExtent)> = vec![
        ("extent of zero length", VeDmaExtent { addr: 0, len: 0 }),
        (
            "extent address misaligned",
            VeDmaExtent { addr: 4, len: 4096 },
        ),
        (
            "extent length misaligned",
            VeDmaExtent { addr: 0, len: 4090 },
        ),
        (
            "extent beyond VE memory",
            VeDmaExtent {
                addr: ve_size,
                len: 4096,
            },
        ),
    ];
    for (name, e) in bad_ext {
        let list = [e, VeDmaExtent { addr: 0, len: 4096 }];
        let mut a = VeDmaSubmit {
            ve_addr: list.as_ptr() as u64,
            num_extents: 2,
            len: 4096 + e.len,
            ..listed
        };
        ensure_errno(name, submit_raw(fd, &mut a).map(|_| ()), libc::EINVAL)?;
    }
    let mut w = VeDmaWait {
        flags: 1,
        ..Default::default()
    };
    ensure_errno(
        "WAIT with flags",
        sys::ioctl(fd, uapi::VE_DMA_IOC_WAIT, &mut w).map(|_| ()),
        libc::EINVAL,
    )?;
    let mut w = VeDmaWait {
        reserved: [1, 0],
        ..Default::default()
    };
    ensure_errno(
        "WAIT with reserved",
        sys::ioctl(fd, uapi::VE_DMA_IOC_WAIT, &mut w).map(|_| ()),
        libc::EINVAL,
    )?;
    ensure_errno(
        "WAIT for an id never given",
        dma::wait(fd, 1 << 60, 0).map(|_| ()),
        libc::ENOENT,
    )?;
    ensure_errno(
        "WAIT at a bad address",
        sys::ioctl_raw(fd, uapi::VE_DMA_IOC_WAIT, 8).map(|_| ()),
        libc::EFAULT,
    )?;
    let mut x = uapi::VeDmaCancel {
        id: 1,
        flags: 1,
        ..Default::default()
    };
    ensure_errno(
        "CANCEL with flags",
        sys::ioctl(fd, uapi::VE_DMA_IOC_CANCEL, &mut x).map(|_| ()),
        libc::EINVAL,
    )?;
    ensure_errno(
        "CANCEL of an id never given",
        cancel(fd, 1 << 60),
        libc::ENOENT,
    )?;
    // As nobody (the node opened to everyone for the test): EPERM for all three.
    std::fs::set_permissions(NODE, std::os::unix::fs::PermissionsExt::from_mode(0o666))
        .map_err(|e| format!("chmod: {e}"))?;
    for (name, cmd) in [
        ("SUBMIT", uapi::VE_DMA_IOC_SUBMIT),
        ("WAIT", uapi::VE_DMA_IOC_WAIT),
        ("CANCEL", uapi::VE_DMA_IOC_CANCEL),
    ] {
        let got = sys::as_nobody(|| {
            let Ok(fd) = sys::open_rw(NODE) else {
                return -1;
            };
            let mut a = good;
            match sys::ioctl(&fd, cmd, &mut a) {
                Ok(_) => 0,
                Err(e) => e,
            }
        })
        .map_err(errname)?;
        ensure_eq(&format!("{name} as nobody"), got, libc::EPERM)?;
    }
    Ok(())
}
