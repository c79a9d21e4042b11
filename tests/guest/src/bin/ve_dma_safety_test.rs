// SPDX-License-Identifier: GPL-2.0

//! ve_dma_safety_test: the in-kernel DMA manager's safety rules, against the engine emulator.
//!
//! - The pin-release rule: a request whose one 2 MiB block is cut into 512 pieces by a VE extent
//!   list, with the ring full in the middle of the block (the engine stalled), is stopped by
//!   CANCEL, by closing its file and by killing its process, while the engine takes 120 ms to
//!   report HALT. A watcher thread reads the kernel's pin release counter against the emulator's
//!   halt counter: no page of the block may be unpinned before the engine reported HALT.
//! - The VE side's bound: with the card claiming more VE memory than the engine's 48-bit address
//!   fields reach, a range crossing 2^48 is refused at SUBMIT (EINVAL) instead of wedging the
//!   ring for the requests behind it; a range the engine rejects fails alone.
//! - DMA pins are long-term and charged to the pinned process (VmPin) against RLIMIT_MEMLOCK
//!   (ENOMEM without CAP_IPC_LOCK over the limit, nothing pinned).
//!
//! With `--dead-engine` (its own boot, run last): the engine will not halt. Cancelling such a
//! request fails with EIO and every page a posted descriptor can reach stays pinned; the card
//! refuses new requests until it is unbound; rebinding a working engine brings it back. An
//! engine taken back from a register mapping (`user_pdma=1`) that will not halt is dead too,
//! never handed to the kernel manager.
//!
//! Needs `ve_drv` loaded with `emulator=1` (the suite scripts do it).

use std::{
    os::fd::OwnedFd,
    sync::atomic::{
        AtomicBool,
        AtomicU64,
        Ordering::SeqCst, //
    },
    time::Duration,
};

use ve_guest::{
    dma::{
        cancel,
        fill,
        open_card,
        same,
        submit,
        submit_list,
        wait,
        wait_ok,
        xfer,
        xfer_round_trip, //
    },
    emubar::{
        Control,
        EmuBar, //
    },
    hw::{
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
        Suite, //
    },
    sys::{
        self,
        errname, //
    },
    uapi::{
        self,
        VeDmaExtent, //
    },
};

type R = Result<(), String>;
const NODE: &str = "/dev/ve0";
const MIB: usize = 1 << 20;
const PAGE: u64 = 4096;
/// Pages of the hugetlb block that the ring-spanning request pins.
const BLOCK_PAGES: u64 = 512;
/// How long the emulated engine takes to report HALT: within the driver's 200 ms halt timeout,
/// long enough for the watcher to look many times even on the debug kernel.
const HALT_DELAY_US: u64 = 120_000;

/// The card and the emulator's controls. The file is closed before the cases that rebind the
/// card; the dead-engine cases share a hugetlb block that stays pinned from one case to the next.
struct Fx {
    fd: Option<OwnedFd>,
    c: EmuBar,
    /// Pages pinned before the program.
    baseline: i64,
    /// The dead-engine cases' block, and the pages pinned before it was submitted.
    block: Option<Result<Buffer, String>>,
    held: i64,
}

impl Fixture for Fx {}

impl Fx {
    fn fd(&self) -> Result<&OwnedFd, String> {
        self.fd
            .as_ref()
            .ok_or_else(|| "/dev/ve0 already closed".into())
    }
}

fn main() {
    let dead_engine = std::env::args().any(|a| a == "--dead-engine");
    let suite = if dead_engine {
        dead_engine_suite()
    } else {
        Suite::new("ve_dma_safety_test")
            .case(
                "a block cut across the ring boundary, stopped by CANCEL: no page unpinned before the engine reports HALT",
                stopped_by_cancel,
            )
            .case(
                "fragmented 4 KiB pages, the second batch one page-array block, stopped by CANCEL: no page unpinned before the engine reports HALT",
                fragmented_stopped_by_cancel,
            )
            .case(
                "a block cut across the ring boundary, stopped by closing its file: no page unpinned before the engine reports HALT",
                stopped_by_close,
            )
            .case(
                "a block cut across the ring boundary, stopped by SIGKILL of its process: no page unpinned before the engine reports HALT",
                stopped_by_kill,
            )
            .case(
                "WAIT and WAIT_INTR interrupted by a signal handled with SA_RESTART: restarted, they time out",
                signal_with_restart,
            )
            .case(
                "WAIT and WAIT_INTR interrupted by a signal handled without SA_RESTART: EINTR",
                signal_without_restart,
            )
            .case(
                "DMA pins are charged to the pinned process while the request holds them (VmPin)",
                charged_while_held,
            )
            .case(
                "RLIMIT_MEMLOCK without CAP_IPC_LOCK: a transfer over it fails with ENOMEM, nothing pinned; within it works",
                memlock_limit,
            )
            .case(
                "a VE range crossing 2^48 is refused at SUBMIT and the requests behind it run",
                ve_bound,
            )
            .case("transfers work after all of it", works_after_all)
            .case("nothing left pinned", nothing_left_pinned)
    };
    std::process::exit(suite.run(|| {
        let baseline = pins_held();
        let (fd, c) =
            open_card().map_err(Bail::as_("open /dev/ve0 and map the emulator's controls"))?;
        let block = dead_engine.then(|| Buffer::new(Backing::Hugetlb2m, 2 * MIB));
        Ok(Fx {
            fd: Some(fd),
            c,
            baseline,
            block,
            held: pins_held(),
        })
    }));
}

fn stopped_by_cancel(fx: &mut Fx) -> R {
    stop_ring_spanning_request(fx.fd()?, &fx.c, Stop::Cancel)
}

fn stopped_by_close(fx: &mut Fx) -> R {
    stop_ring_spanning_request(fx.fd()?, &fx.c, Stop::Close)
}

fn stopped_by_kill(fx: &mut Fx) -> R {
    stop_ring_spanning_request(fx.fd()?, &fx.c, Stop::Kill)
}

fn signal_with_restart(fx: &mut Fx) -> R {
    signal_restart(fx.fd()?, &fx.c, true)
}

fn signal_without_restart(fx: &mut Fx) -> R {
    signal_restart(fx.fd()?, &fx.c, false)
}

fn works_after_all(_: &mut Fx) -> R {
    sys::open_rw(NODE)
        .map_err(errname)
        .and_then(|fd| fresh(&fd, 0x1000_0000))
}

fn nothing_left_pinned(fx: &mut Fx) -> R {
    ensure_eq("pins held", pins_held() - fx.baseline, 0)
}

/// VH -> VE -> VH of 1 MiB through `VE_DMA_IOC_XFER`, compared.
fn fresh(fd: &OwnedFd, ve: u64) -> R {
    let a = Buffer::new(Backing::Anon4k, MIB)?;
    let b = Buffer::new(Backing::Anon4k, MIB)?;
    // SAFETY: two fresh 1 MiB buffers of this thread.
    unsafe { xfer_round_trip(fd, a.ptr, b.ptr, MIB, ve, ve ^ 0x5a) }
}

/// `pages` VE extents of one page each, not adjacent (reverse order, a page apart), from `ve`:
/// every page of the VH side becomes a descriptor of its own.
fn scattered_extents(ve: u64, pages: u64) -> Vec<VeDmaExtent> {
    (0..pages)
        .map(|k| VeDmaExtent {
            addr: ve + (pages - 1 - k) * 2 * PAGE,
            len: PAGE,
        })
        .collect()
}

/// Submits VE -> VH of a hugetlb 2 MiB page (one physically contiguous block) with
/// [`scattered_extents`], the engine stalled: 127 pieces fill the ring, the other 385 wait, and
/// the block is held for all of them. Returns the request id.
fn submit_ring_spanning(fd: &OwnedFd, c: &EmuBar, b: &Buffer, ve: u64) -> Result<u64, String> {
    c.set(emu::OFF_CTL_STALL, 1);
    let held = pins_held();
    let id = submit_list(fd, false, b.addr(), &scattered_extents(ve, BLOCK_PAGES))
        .map_err(|e| format!("SUBMIT: {}", errname(e)))?;
    ensure_eq(
        "pages pinned by the request",
        pins_held() - held,
        BLOCK_PAGES as i64,
    )?;
    Ok(id)
}

/// Lets a stalled engine run again and rings its doorbell.
fn unstall(c: &EmuBar, fd: &OwnedFd) -> R {
    c.set(emu::OFF_CTL_STALL, 0);
    sys::ioctl_raw(fd, uapi::VE_DRV_IOC_KICK, 0)
        .map(|_| ())
        .map_err(|e| format!("kick: {}", errname(e)))
}

#[derive(Copy, Clone)]
enum Stop {
    Cancel,
    Close,
    Kill,
}

/// Watches, while `stop` runs, whether the kernel releases `pages` pins before the emulator
/// counts a halt. `/proc/vmstat` is read without folding the per-CPU counters: an unpin of
/// hundreds of pages goes over the per-CPU threshold and reaches the global counter at once.
fn watch_release(c: &EmuBar, pages: u64, stop: impl FnOnce() -> R) -> R {
    let released = || sys::vmstat("nr_foll_pin_released").unwrap_or(0);
    let halts0 = c.get(emu::OFF_CNT_HALTS);
    let r0 = released();
    let (stopping, done) = (AtomicBool::new(false), AtomicBool::new(false));
    let (early, looked) = (AtomicU64::new(0), AtomicU64::new(0));
    let outcome = std::thread::scope(|s| {
        s.spawn(|| {
            // Real-time, so that the watcher keeps looking while the stopping task (another
            // process, when it is killed) halts the engine on the other CPU.
            let prio = libc::sched_param { sched_priority: 1 };
            // SAFETY: changes this thread's policy only.
            unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &prio) };
            while !done.load(SeqCst) {
                let during = stopping.load(SeqCst);
                let r = released();
                // Read after the pins: a halt counted now may have come after the release.
                let halted = c.get(emu::OFF_CNT_HALTS) != halts0;
                if !halted {
                    if during {
                        looked.fetch_add(1, SeqCst);
                    }
                    if r - r0 >= pages {
                        early.fetch_add(1, SeqCst);
                    }
                }
            }
        });
        // Let the watcher start looking.
        std::thread::sleep(Duration::from_millis(20));
        stopping.store(true, SeqCst);
        let outcome = stop();
        // The release must come; give it time (a killed process's file closes after it died).
        sys::wait_for(5000, || released() - r0 >= pages);
        done.store(true, SeqCst);
        outcome
    });
    outcome?;
    // Judge once the engine halted (or surely never will).
    sys::wait_for(1000, || c.get(emu::OFF_CNT_HALTS) != halts0);
    ensure_eq(
        "looks at the pin counters that found the block unpinned before HALT",
        early.load(SeqCst),
        0,
    )?;
    ensure(c.get(emu::OFF_CNT_HALTS) != halts0, || {
        "the engine was never halted".into()
    })?;
    // The watcher must have looked while the engine was halting, or it proves nothing.
    let looked = looked.load(SeqCst);
    println!("# {looked} looks at the pin counters between the stop and HALT");
    ensure(looked >= 3, || {
        format!("the watcher looked only {looked} times between the stop and HALT")
    })?;
    ensure(released() - r0 >= pages, || {
        "the block was never released".into()
    })
}

/// 4 MiB of fragmented 4 KiB pages VE -> VH, the engine stalled: the first batch goes as runs
/// and, being fragmented, sends the second (512 pages) as one page-array block; 127 pieces fill
/// the ring. CANCEL must not release any of the 1024 pages before the engine reports HALT.
fn fragmented_stopped_by_cancel(fx: &mut Fx) -> R {
    let (fd, c) = (fx.fd()?, &fx.c);
    let pages = 2 * BLOCK_PAGES;
    let held = pins_held();
    let b = Buffer::new_fragmented((pages * PAGE) as usize)?;
    let halt = c.control(emu::OFF_CTL_HALT_DELAY_US, HALT_DELAY_US);
    let r = (|| {
        c.set(emu::OFF_CTL_STALL, 1);
        let id = submit_list(fd, false, b.addr(), &scattered_extents(0x100_0000, pages))
            .map_err(|e| format!("SUBMIT: {}", errname(e)))?;
        ensure_eq(
            "pages pinned by the request",
            pins_held() - held,
            pages as i64,
        )?;
        watch_release(c, pages, || {
            cancel(fd, id).map_err(|e| format!("CANCEL: {}", errname(e)))
        })?;
        let w = wait(fd, id, 1000).map_err(errname)?;
        ensure_eq("status", w.status, -libc::ECANCELED)
    })();
    after_stop(fd, c, halt, r, b, held)
}

/// The end of a stop case whose outcome is `r`: the halt delay `halt` goes, the engine runs
/// again, the buffer `b` goes; nothing may stay pinned beyond `held`, and transfers work.
fn after_stop(fd: &OwnedFd, c: &EmuBar, halt: Control<'_>, r: R, b: Buffer, held: i64) -> R {
    halt.release();
    let u = unstall(c, fd);
    r?;
    u?;
    drop(b);
    ensure_eq("pins held", pins_held() - held, 0)?;
    fresh(fd, 0x200_0000)
}

fn stop_ring_spanning_request(fd: &OwnedFd, c: &EmuBar, how: Stop) -> R {
    let held = pins_held();
    let b = Buffer::new(Backing::Hugetlb2m, 2 * MIB)?;
    let halt = c.control(emu::OFF_CTL_HALT_DELAY_US, HALT_DELAY_US);
    let r = (|| match how {
        Stop::Cancel => {
            let id = submit_ring_spanning(fd, c, &b, 0x100_0000)?;
            watch_release(c, BLOCK_PAGES, || {
                cancel(fd, id).map_err(|e| format!("CANCEL: {}", errname(e)))
            })?;
            let w = wait(fd, id, 1000).map_err(errname)?;
            ensure_eq("status", w.status, -libc::ECANCELED)
        }
        Stop::Close => {
            let other = sys::open_rw_other_thread(NODE).map_err(errname)?;
            submit_ring_spanning(&other, c, &b, 0x100_0000)?;
            watch_release(c, BLOCK_PAGES, || {
                drop(other);
                Ok(())
            })
        }
        Stop::Kill => {
            let (rd, wr) = pipe()?;
            // SAFETY: the child submits, reports, and waits to be killed.
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                let code = (|| {
                    let fd = sys::open_rw(NODE).ok()?;
                    let b = Buffer::new(Backing::Hugetlb2m, 2 * MIB).ok()?;
                    submit_ring_spanning(&fd, c, &b, 0x100_0000).ok()?;
                    // SAFETY: writes one byte to the pipe.
                    unsafe { libc::write(wr, [1u8].as_ptr().cast(), 1) };
                    loop {
                        std::thread::sleep(Duration::from_secs(1));
                    }
                })();
                let _: Option<()> = code;
                // SAFETY: leave the child.
                unsafe { libc::_exit(1) };
            }
            let mut byte = 0u8;
            // SAFETY: reads one byte from the pipe (0 if the child exited first).
            let n = unsafe { libc::read(rd, std::ptr::from_mut::<u8>(&mut byte).cast(), 1) };
            // SAFETY: closes our pipe ends.
            unsafe {
                libc::close(rd);
                libc::close(wr);
            }
            let killed = watch_release(c, BLOCK_PAGES, || {
                ensure_eq("the child submitted", n, 1)?;
                // SAFETY: kills our child.
                unsafe { libc::kill(pid, libc::SIGKILL) };
                Ok(())
            });
            let mut status = 0;
            // SAFETY: reaps our child.
            unsafe { libc::waitpid(pid, &mut status, 0) };
            killed?;
            ensure(libc::WIFSIGNALED(status), || {
                "the child was not killed".into()
            })
        }
    })();
    after_stop(fd, c, halt, r, b, held)
}

fn pipe() -> Result<(i32, i32), String> {
    let mut p = [0i32; 2];
    // SAFETY: `p` has room for the two descriptors.
    if unsafe { libc::pipe(p.as_mut_ptr()) } != 0 {
        return Err(format!("pipe: {}", errname(sys::errno())));
    }
    Ok((p[0], p[1]))
}

/// The emulator's PCI address, for unbinding and binding the card.
fn card_bdf() -> Result<String, String> {
    sys::find_pci(pci_id::VENDOR_REDHAT_QUMRANET, pci_id::DEVICE_IVSHMEM)
        .ok_or_else(|| "no ivshmem device".into())
}

/// Unbinds and binds the card again (probe reads the identification block afresh); waits for
/// the node.
fn rebind() -> R {
    let bdf = card_bdf()?;
    sys::write_file("/sys/bus/pci/drivers/ve_drv_emu/unbind", &bdf)
        .map_err(|e| format!("unbind: {}", errname(e)))?;
    sys::write_file("/sys/bus/pci/drivers/ve_drv_emu/bind", &bdf)
        .map_err(|e| format!("bind: {}", errname(e)))?;
    ensure(sys::wait_for(2000, || sys::exists(NODE)), || {
        "no /dev/ve0 after rebinding".into()
    })
}

/// The card claims 2^50 bytes of VE memory (the identification block rewritten before a
/// rebind), more than the engine's 48-bit address fields reach: the driver must bound the VE side
/// by the engine's width. A range crossing 2^48 behind a full ring used to pass SUBMIT and then
/// stop every request behind it.
fn ve_bound(fx: &mut Fx) -> R {
    // Rebinds the card: the file opened by the fixture is dead afterwards.
    drop(fx.fd.take());
    let c = &fx.c;
    let real = c.get(emu::OFF_VE_MEM_SIZE);
    c.set(emu::OFF_VE_MEM_SIZE, 1 << 50);
    let r = rebind().and_then(|()| {
        let fd = sys::open_rw(NODE).map_err(errname)?;
        let held = pins_held();
        let a = Buffer::new(Backing::Hugetlb2m, 2 * MIB)?;
        let cbuf = Buffer::new(Backing::Anon4k, MIB)?;
        // SAFETY: `cbuf` is a fresh 1 MiB buffer.
        unsafe { fill(cbuf.ptr, MIB, 77) };
        let r = (|| {
            let first = submit_ring_spanning(&fd, c, &a, 0x100_0000)?;
            let top = 1u64 << 48;
            let bad = [VeDmaExtent {
                addr: top - PAGE,
                len: 2 * PAGE,
            }];
            ensure_errno(
                "SUBMIT across 2^48",
                submit_list(&fd, false, a.addr(), &bad),
                libc::EINVAL,
            )?;
            ensure_errno(
                "SUBMIT at 2^48",
                submit(&fd, true, cbuf.addr(), top, PAGE),
                libc::EINVAL,
            )?;
            let behind = submit(&fd, true, cbuf.addr(), 0x300_0000, MIB as u64)
                .map_err(|e| format!("SUBMIT behind: {}", errname(e)))?;
            unstall(c, &fd)?;
            ensure_eq(
                "bytes of the ring-spanning request",
                wait_ok(&fd, first)?,
                2 * MIB as u64,
            )?;
            ensure_eq(
                "bytes of the request behind",
                wait_ok(&fd, behind)?,
                MIB as u64,
            )?;
            let back = Buffer::new(Backing::Anon4k, MIB)?;
            xfer(&fd, false, back.addr(), 0x300_0000, MIB as u64)
                .map_err(|(e, _)| format!("XFER back: {}", errname(e)))?;
            // SAFETY: two 1 MiB buffers, their transfers finished.
            unsafe { same(cbuf.ptr, back.ptr, MIB) }
        })();
        c.set(emu::OFF_CTL_STALL, 0);
        r?;
        drop((a, cbuf));
        ensure_eq("pins held", pins_held() - held, 0)
    });
    c.set(emu::OFF_VE_MEM_SIZE, real);
    let again = rebind();
    r?;
    again
}

extern "C" fn on_sigusr1(_: libc::c_int) {}

/// Sets the SIGUSR1 handler, with or without SA_RESTART.
fn handle_sigusr1(restart: bool) -> R {
    // SAFETY: a zeroed sigaction with a handler that does nothing is valid.
    let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
    sa.sa_sigaction = on_sigusr1 as extern "C" fn(libc::c_int) as usize;
    sa.sa_flags = if restart { libc::SA_RESTART } else { 0 };
    // SAFETY: installs the handler above for SIGUSR1.
    if unsafe { libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut()) } != 0 {
        return Err(format!("sigaction: {}", errname(sys::errno())));
    }
    Ok(())
}

/// Runs `call` in a thread, signals that thread (SIGUSR1) after 200 ms; returns what `call`
/// returned and how long it took.
fn interrupted<T: Send>(call: impl FnOnce() -> T + Send) -> (T, Duration) {
    let me = AtomicU64::new(0);
    std::thread::scope(|s| {
        let h = s.spawn(|| {
            // SAFETY: no preconditions.
            me.store(unsafe { libc::pthread_self() } as u64, SeqCst);
            let start = std::time::Instant::now();
            let r = call();
            (r, start.elapsed())
        });
        std::thread::sleep(Duration::from_millis(200));
        // SAFETY: the thread stored its id and is alive until joined below (the call blocks
        // for a second at least).
        unsafe { libc::pthread_kill(me.load(SeqCst) as libc::pthread_t, libc::SIGUSR1) };
        h.join().expect("waiter thread")
    })
}

/// WAIT (1 s) for a request on a stalled engine, and WAIT_INTR (1 s) with nothing to come, both
/// signalled after 200 ms: with SA_RESTART the kernel restarts them (with the whole timeout) and
/// they end with ETIMEDOUT after more than a second; without it they fail with EINTR at once.
fn signal_restart(fd: &OwnedFd, c: &EmuBar, restart: bool) -> R {
    handle_sigusr1(restart)?;
    let b = Buffer::new(Backing::Anon4k, MIB)?;
    let stall = c.stall(fd);
    let id = submit(fd, true, b.addr(), 0x900_0000, MIB as u64);
    let r = (|| -> R {
        let id = id.map_err(errname)?;
        let (w, took) = interrupted(|| wait(fd, id, 1000).map(|_| ()));
        // Forget interrupts caught before (earlier transfers'): WAIT_INTR reports those at once.
        // The mask is the presented card's (VE1 or VE3).
        let ve3 = c.is_ve3();
        let _ = ve_guest::userdma::wait_intr_pdma(fd, 0, ve3);
        let (i, took_intr) =
            interrupted(|| ve_guest::userdma::wait_intr_pdma(fd, 1000, ve3).map(|_| ()));
        let want = if restart {
            libc::ETIMEDOUT
        } else {
            libc::EINTR
        };
        ensure_errno("WAIT", w, want)?;
        ensure_errno("WAIT_INTR", i, want)?;
        for (what, t) in [("WAIT", took), ("WAIT_INTR", took_intr)] {
            if restart {
                ensure(t >= Duration::from_millis(1150), || {
                    format!("{what} ended after {t:?}: not restarted with its timeout")
                })?;
            } else {
                ensure(t < Duration::from_millis(900), || {
                    format!("{what} took {t:?}")
                })?;
            }
        }
        Ok(())
    })();
    let u = stall.release();
    if let Ok(id) = id {
        wait_ok(fd, id)?;
    }
    r?;
    u
}

/// VmPin of this process, in kB.
fn vm_pin_kb() -> Result<u64, String> {
    sys::vm_pin_kb("self")
}

fn charged_while_held(fx: &mut Fx) -> R {
    let (fd, c) = (fx.fd()?, &fx.c);
    let b = Buffer::new(Backing::Anon4k, 4 * MIB)?;
    let before = vm_pin_kb()?;
    let stall = c.stall(fd);
    let id = submit(fd, false, b.addr(), 0x600_0000, (4 * MIB) as u64);
    let during = vm_pin_kb();
    let u = stall.release();
    let id = id.map_err(errname)?;
    u?;
    ensure_eq("bytes", wait_ok(fd, id)?, (4 * MIB) as u64)?;
    let during = during?;
    ensure_eq(
        "VmPin while the request held the buffer (kB)",
        during - before,
        4096,
    )?;
    ensure_eq("VmPin after (kB)", vm_pin_kb()? - before, 0)
}

/// In a child: RLIMIT_MEMLOCK 1 MiB, CAP_IPC_LOCK dropped, CAP_SYS_ADMIN kept.
fn memlock_limit(_: &mut Fx) -> R {
    let held = pins_held();
    let code = sys::in_child_with_memlock(1 << 20, || {
        let Ok(fd) = sys::open_rw(NODE) else {
            return 10;
        };
        let Ok(b) = Buffer::new(Backing::Anon4k, 4 * MIB) else {
            return 11;
        };
        match xfer(&fd, true, b.addr(), 0x700_0000, (4 * MIB) as u64) {
            Err((e, _)) if e == libc::ENOMEM => {}
            _ => return 12,
        }
        match xfer(&fd, true, b.addr(), 0x700_0000, (512 << 10) as u64) {
            Ok(x) if x.bytes_done == 512 << 10 => 0,
            _ => 13,
        }
    })
    .map_err(errname)?;
    ensure_eq(
        "child (1-3: set-up, 10-11: open/buffer, 12: not ENOMEM over the limit, 13: failed within it)",
        code,
        0,
    )?;
    ensure_eq("pins held", pins_held() - held, 0)
}

/// The engine will not halt (a wedged card): every page a posted descriptor can reach stays
/// pinned; the card is out of service until it is unbound; a rebind with a working engine brings
/// it back. The engine's controls stay set from the first case to the fourth on purpose: the
/// engine stays dead in between.
fn dead_engine_suite() -> Suite<Fx> {
    Suite::new("ve_dma_safety_test")
        .case(
            "CANCEL of a ring-spanning request on an engine that will not halt: EIO, the whole block stays pinned",
            dead_cancel,
        )
        .case(
            "the dead engine takes no request: SUBMIT and XFER fail with EIO, nothing more pinned",
            dead_refuses,
        )
        .case(
            "closing the file and unmapping the buffer keep the block pinned",
            dead_close_unmap,
        )
        .case(
            "unbound and bound again with an engine that halts: the card works",
            dead_rebind,
        )
        .case(
            "a register mapping unmapped while the engine will not halt: the engine is dead, not given to the kernel manager (EIO)",
            dead_after_mapping,
        )
        .case(
            "rmmod works; only the dead engine's block stays pinned",
            dead_rmmod,
        )
}

fn dead_cancel(fx: &mut Fx) -> R {
    let (fd, c, held) = (fx.fd()?, &fx.c, fx.held);
    let b = fx.block.as_ref().ok_or("no block")?;
    let b = b.as_ref().map_err(|e| e.clone())?;
    let id = submit_ring_spanning(fd, c, b, 0x100_0000)?;
    c.set(emu::OFF_CTL_HALT_DELAY_US, u64::MAX);
    ensure_errno("CANCEL", cancel(fd, id), libc::EIO)?;
    ensure_eq("pages kept pinned", pins_held() - held, BLOCK_PAGES as i64)?;
    let w = wait(fd, id, 0).map_err(errname)?;
    ensure_eq("status", w.status, -libc::ECANCELED)
}

fn dead_refuses(fx: &mut Fx) -> R {
    let (fd, held) = (fx.fd()?, fx.held);
    let a = Buffer::new(Backing::Anon4k, MIB)?;
    ensure_errno(
        "SUBMIT",
        submit(fd, true, a.addr(), 0, MIB as u64),
        libc::EIO,
    )?;
    ensure_errno(
        "XFER",
        xfer(fd, true, a.addr(), 0, MIB as u64).map_err(|(e, _)| e),
        libc::EIO,
    )?;
    ensure_eq("pages pinned", pins_held() - held, BLOCK_PAGES as i64)
}

fn dead_close_unmap(fx: &mut Fx) -> R {
    drop(fx.fd.take());
    // Unmapping the buffer does not free pages the dead engine may write.
    drop(fx.block.take());
    ensure_eq("pages pinned", pins_held() - fx.held, BLOCK_PAGES as i64)
}

fn dead_rebind(fx: &mut Fx) -> R {
    let c = &fx.c;
    c.set(emu::OFF_CTL_HALT_DELAY_US, 0);
    c.set(emu::OFF_CTL_STALL, 0);
    rebind()?;
    let fd = sys::open_rw(NODE).map_err(errname)?;
    fresh(&fd, 0x800_0000)
}

fn dead_after_mapping(fx: &mut Fx) -> R {
    let c = &fx.c;
    let fd = sys::open_rw(NODE).map_err(errname)?;
    let m = ve_guest::userdma::UserEngine::map(&fd).map_err(|e| format!("mmap: {}", errname(e)))?;
    let halt = c.control(emu::OFF_CTL_HALT_DELAY_US, u64::MAX);
    // The last unmap gives the engine back: only if it halts.
    drop(m);
    let a = Buffer::new(Backing::Anon4k, MIB)?;
    let r = ensure_errno(
        "SUBMIT after the mapping went",
        submit(&fd, true, a.addr(), 0, MIB as u64),
        libc::EIO,
    );
    halt.release();
    r?;
    drop(fd);
    rebind()?;
    let fd = sys::open_rw(NODE).map_err(errname)?;
    fresh(&fd, 0x900_0000)
}

fn dead_rmmod(fx: &mut Fx) -> R {
    let kept = pins_held() - fx.baseline;
    println!("# figure: dead engine: {kept} pages kept pinned by design (one 2 MiB block)");
    sys::rmmod("ve_drv").map_err(|e| format!("rmmod: {}", errname(e)))?;
    ensure_eq(
        "pages pinned",
        pins_held() - fx.baseline,
        BLOCK_PAGES as i64,
    )
}
