// SPDX-License-Identifier: GPL-2.0

//! ve_userdma_test: NEC's user-space path, as VEOS uses it. With `user_pdma=1` the system-common
//! registers are mapped from `/dev/ve0`; pages are pinned with NEC's block ioctl; descriptors
//! are written through the mapping; the engine is started (DMACTL, plus the emulator's kick);
//! completion comes through `VEDRV_CMD_WAIT_INTR`, in both argument forms. The data goes VH -> VE
//! -> VH and is compared. Without the parameter the mapping withholds the engine's pages and the
//! kernel manager works; with it the kernel manager answers EBUSY. A second mapping through the
//! same file in the same process (VEOS's `ve_dma_open_p`) shares the engine; the kernel gets it
//! back when the last is unmapped, and RECLAIM and unbind zap both.
//!
//! ```text
//! ve_userdma_test [--module PATH]
//! ```
//! Loads and unloads `ve_drv.ko` itself.

use std::os::fd::OwnedFd;

use ve_guest::{
    emubar::EmuBar,
    hw::{
        desc::{
            self,
            AddrSpace,
            Desc, //
        },
        dmactl,
        emu, //
    },
    ksft::{
        diag,
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
    necdma,
    suite::{
        Fixture,
        Suite, //
    },
    sys::{
        self,
        errname, //
    },
    uapi,
    userdma::{
        self,
        map_raw,
        map_with,
        ScrMap,
        UserEngine,
        P_DMA, //
    },
};

type R = Result<(), String>;
const NODE: &str = "/dev/ve0";
const LEN: usize = 64 << 10;
const EMU_DRIVER: &str = "ve_drv_emu";
/// `TAINT_USER` ('U'), bit 6 of /proc/sys/kernel/tainted.
const TAINT_USER: u64 = 1 << 6;

/// The kernel's taint bits.
fn tainted() -> Result<u64, String> {
    std::fs::read_to_string("/proc/sys/kernel/tainted")
        .map_err(|e| format!("tainted: {e}"))?
        .trim()
        .parse()
        .map_err(|e| format!("tainted: {e}"))
}

/// Waits for child `pid`; its wait status.
fn wait_child(pid: i32) -> Result<i32, i32> {
    let mut status = 0;
    // SAFETY: waits for a child we forked.
    if unsafe { libc::waitpid(pid, &mut status, 0) } < 0 {
        return Err(sys::errno());
    }
    Ok(status)
}

/// Whether a wait status is death by SIGBUS.
fn died_of_sigbus(status: i32) -> bool {
    libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGBUS
}

/// The presented card's system-common block (VE1's or VE3's) in the file offset space.
fn regs() -> ScrMap {
    ScrMap::presented()
}

/// Maps the registers with `prot` and `flags`; a mapping that should not have been made is
/// unmapped at once (giving the engine back), so that one failed check does not fail the rest.
fn map_or_unmap(fd: &OwnedFd, prot: i32, flags: i32) -> Result<(), i32> {
    map_with(fd, regs().offset, regs().size, prot, flags).map(drop)
}

/// The mapping's gates that come before the engine is lent: a private mapping and an executable
/// one are refused (EINVAL), a caller without CAP_SYS_RAWIO gets EPERM; none lends the engine
/// (the kernel manager still works) or taints the kernel.
fn mmap_gates(fd: &OwnedFd) -> R {
    ensure_errno(
        "MAP_PRIVATE",
        map_or_unmap(fd, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE),
        libc::EINVAL,
    )?;
    ensure_errno(
        "PROT_EXEC",
        map_or_unmap(fd, libc::PROT_READ | libc::PROT_EXEC, libc::MAP_SHARED),
        libc::EINVAL,
    )?;
    let code = sys::without_cap(sys::CAP_SYS_RAWIO, || {
        let Ok(fd) = sys::open_rw(NODE) else { return 1 };
        match map_or_unmap(&fd, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED) {
            Err(e) if e == libc::EPERM => 0,
            Err(_) => 2,
            Ok(()) => 3,
        }
    })
    .map_err(errname)?;
    ensure_eq(
        "child without CAP_SYS_RAWIO (0: EPERM, 1: open, 2: other errno, 3: mapped)",
        code,
        0,
    )?;
    kernel_xfer(fd)?;
    ensure_eq("taint U", tainted()? & TAINT_USER, 0)
}

/// A live mapping can never be made executable (VM_MAYEXEC cleared: mprotect EACCES).
fn no_exec_later(eng_addr: *mut u8) -> R {
    // SAFETY: changes the protections of the live register mapping; refused.
    let r = unsafe {
        libc::mprotect(
            eng_addr.cast(),
            regs().size,
            libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC,
        )
    };
    ensure_errno(
        "mprotect PROT_EXEC",
        if r == 0 { Ok(()) } else { Err(sys::errno()) },
        libc::EACCES,
    )
}

/// RECLAIM racing mmap, `rounds` times, each in a child process with two threads. Per round the
/// child reports (through a pipe) whether its mmap worked, what RECLAIM answered, and, when
/// RECLAIM took the engine from that mapping, whether a kernel XFER works while the stale
/// mapping exists; then it touches the mapping. Where RECLAIM won, the touch must kill it with
/// SIGBUS and no descriptor may run; where the mapping won, the touch works and XFER answers
/// EBUSY. Returns (rounds RECLAIM won, rounds the mapping won).
fn reclaim_mmap_race(rounds: usize) -> Result<(usize, usize), String> {
    let emu = EmuBar::open()?;
    let scr = ScrMap::presented();
    let (mut reclaim_won, mut map_won) = (0, 0);
    for round in 0..rounds {
        let mut pipe = [0i32; 2];
        // SAFETY: a pipe for the child's report.
        if unsafe { libc::pipe(pipe.as_mut_ptr()) } != 0 {
            return Err("pipe".into());
        }
        let descs0 = emu.get(emu::OFF_CNT_DESCS);
        // SAFETY: the child races, reports, touches and exits with `_exit`.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let report = |b: [u8; 3]| {
                // SAFETY: writes the report to the parent.
                unsafe { libc::write(pipe[1], b.as_ptr().cast(), 3) };
            };
            let Ok(fd) = sys::open_rw(NODE) else {
                report([9, 0, 0]);
                // SAFETY: leave the child.
                unsafe { libc::_exit(1) };
            };
            let fd = std::sync::Arc::new(fd);
            let go = std::sync::Arc::new(std::sync::Barrier::new(2));
            let (fd2, go2) = (fd.clone(), go.clone());
            let reclaimer = std::thread::spawn(move || {
                go2.wait();
                // A delay varied per round, to sweep the window: from none (RECLAIM first) to
                // longer than an mmap takes on the debug kernel under TCG (RECLAIM after it).
                for _ in 0..(round % 16) * 1024 {
                    std::hint::spin_loop();
                }
                sys::ioctl_raw(&fd2, uapi::VE_DRV_IOC_RECLAIM, 0)
            });
            go.wait();
            let m = map_raw(&fd, scr.offset, scr.size);
            let reclaimed = reclaimer.join().unwrap_or(Err(-1));
            let code = match (m, reclaimed) {
                // RECLAIM took the engine from this mapping: the kernel has it, the mapping is
                // dead.
                (Ok(p), Ok(1)) => {
                    let x = u8::from(busy_errno(&fd) == 0);
                    report([1, 1, x]);
                    // SAFETY: a stale register mapping: this must raise SIGBUS.
                    unsafe {
                        p.ptr()
                            .cast::<u64>()
                            .add(scr.desc(0) / 8)
                            .write_volatile(0x1234);
                        p.ptr()
                            .cast::<u64>()
                            .add(scr.ctl0() / 8)
                            .write_volatile(dmactl::PERMIT);
                    }
                    0
                }
                // RECLAIM came first: the mapping is live and has the engine.
                (Ok(p), Ok(0)) => {
                    let x = u8::from(busy_errno(&fd) == libc::EBUSY);
                    report([1, 0, x]);
                    // SAFETY: a live register mapping: reading DMACTL works.
                    let _ = unsafe { p.ptr().cast::<u64>().add(scr.ctl0() / 8).read_volatile() };
                    drop(p);
                    0
                }
                (Err(_), r) => {
                    report([0, r.map_or(2, |v| v as u8), 0]);
                    0
                }
                (Ok(_), _) => {
                    report([1, 2, 0]);
                    0
                }
            };
            // SAFETY: leave the child.
            unsafe { libc::_exit(code) };
        }
        let mut b = [0u8; 3];
        // SAFETY: reads the child's report, then closes the pipe.
        let n = unsafe {
            libc::close(pipe[1]);
            let n = libc::read(pipe[0], b.as_mut_ptr().cast(), 3);
            libc::close(pipe[0]);
            n
        };
        let status = wait_child(pid).map_err(errname)?;
        let what = format!("round {round}: report {b:?}, status {status:#x}");
        ensure_eq(&format!("{what}: report length"), n, 3)?;
        match b {
            [1, 1, xfer_ok] => {
                reclaim_won += 1;
                ensure_eq(
                    &format!("{what}: kernel XFER after RECLAIM worked"),
                    xfer_ok,
                    1,
                )?;
                ensure(died_of_sigbus(status), || {
                    format!("{what}: the stale mapping did not fault (SIGBUS)")
                })?;
                ensure_eq(
                    &format!("{what}: descriptors run"),
                    emu.get(emu::OFF_CNT_DESCS),
                    descs0 + 1,
                )?;
            }
            [1, 0, busy] => {
                map_won += 1;
                ensure_eq(&format!("{what}: XFER EBUSY while mapped"), busy, 1)?;
                ensure_eq(&format!("{what}: exit"), status, 0)?;
            }
            _ => return Err(format!("{what}: unexpected outcome")),
        }
    }
    Ok((reclaim_won, map_won))
}

/// Unbind with two live register mappings of one file (both touched, so their pages are
/// mapped): both are zapped, and the second faults (SIGBUS in the child) instead of reaching the
/// engine, no descriptor runs, a new mapping on the old file gets ENODEV; binding again gives a
/// card whose kernel manager works and whose registers can be mapped again.
fn unbind_with_mapping(bdf: &str) -> R {
    let emu = EmuBar::open()?;
    let mut pipe = [0i32; 2];
    let mut back = [0i32; 2];
    // SAFETY: two pipes: the child says it has mapped, the parent says go.
    if unsafe { libc::pipe(pipe.as_mut_ptr()) != 0 || libc::pipe(back.as_mut_ptr()) != 0 } {
        return Err("pipe".into());
    }
    // SAFETY: the child maps, touches, reports, waits, touches again and exits.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let code = (|| {
            let fd = sys::open_rw(NODE).ok()?;
            let first = UserEngine::map(&fd).ok()?;
            let eng = UserEngine::map(&fd).ok()?;
            // Touch both: the fault handler maps the pages now.
            let _ = first.ctl1();
            let _ = eng.ctl1();
            let mut b = [1u8];
            // SAFETY: tell the parent, then wait for its go.
            unsafe {
                libc::write(pipe[1], b.as_ptr().cast(), 1);
                libc::read(back[0], b.as_mut_ptr().cast(), 1);
            }
            // The card is unbound: the mapping is gone, this must fault before any descriptor
            // reaches the engine.
            let slot = (eng.ctl1() & dmactl::READPTR_MASK) as usize;
            eng.post(
                slot,
                &Desc {
                    src_space: AddrSpace::Vemaa,
                    src: 0,
                    dst_space: AddrSpace::Vemaa,
                    dst: 0x1000,
                    len: 8,
                    control: desc::CTL_SYNC,
                    order: 0,
                },
            );
            let _ = eng.start();
            Some(0)
        })()
        .unwrap_or(3);
        // SAFETY: leave the child (reaching here means no SIGBUS).
        unsafe { libc::_exit(code) };
    }
    let mut b = [0u8];
    // SAFETY: reads the child's byte.
    let n = unsafe { libc::read(pipe[0], b.as_mut_ptr().cast(), 1) };
    let old = sys::open_rw(NODE).map_err(errname)?;
    let unbound = sys::write_file(&format!("/sys/bus/pci/drivers/{EMU_DRIVER}/unbind"), bdf);
    let descs0 = emu.get(emu::OFF_CNT_DESCS);
    let status;
    // SAFETY: let the child go, then reap it and close the pipes.
    unsafe {
        libc::write(back[1], b.as_ptr().cast(), 1);
        status = wait_child(pid);
        for p in pipe.iter().chain(back.iter()) {
            libc::close(*p);
        }
    }
    let status = status.map_err(errname)?;
    ensure_eq("child mapped", n, 1)?;
    unbound.map_err(|e| format!("unbind: {}", errname(e)))?;
    ensure(died_of_sigbus(status), || {
        format!("child status {status:#x}, want death by SIGBUS")
    })?;
    // Give an engine that was wrongly left running a moment to show it.
    std::thread::sleep(std::time::Duration::from_millis(50));
    ensure_eq(
        "descriptors run after unbind",
        emu.get(emu::OFF_CNT_DESCS),
        descs0,
    )?;
    ensure_errno(
        "mmap on the unbound card's file",
        map_raw(&old, regs().offset, regs().size).map(|_| ()),
        libc::ENODEV,
    )?;
    drop(old);
    sys::write_file(&format!("/sys/bus/pci/drivers/{EMU_DRIVER}/bind"), bdf)
        .map_err(|e| format!("bind: {}", errname(e)))?;
    ensure(sys::wait_for(2000, || sys::exists(NODE)), || {
        format!("{NODE} missing after bind")
    })?;
    let fd = sys::open_rw(NODE).map_err(errname)?;
    kernel_xfer(&fd)?;
    let eng = UserEngine::map(&fd).map_err(|e| format!("map after rebind: {}", errname(e)))?;
    ensure_eq(
        "exception bit after rebind",
        eng.ctl1() & dmactl::EXCEPTION,
        0,
    )?;
    drop(eng);
    kernel_xfer(&fd)
}

/// Copies `len` bytes between `vh` (pinned with NEC's block ioctl) and VE address `ve` with the
/// mapped engine, one descriptor per page, waiting with WAIT_INTR.
fn user_copy(
    fd: &OwnedFd,
    eng: &UserEngine,
    vh: u64,
    ve: u64,
    len: u64,
    to_ve: bool,
    compat: bool,
) -> R {
    let blk = nec::blk(fd, true, uapi::OS_LIST, 0, !to_ve, vh, len, 100)
        .map_err(|e| format!("BLK_PIN_DOWN: {}", errname(e)))?;
    ensure_eq("covered", blk.length, len)?;
    let mut slot = (eng.ctl1() & dmactl::READPTR_MASK) as usize;
    let first = slot;
    let n = blk.paddr.len();
    let mut off = 0u64;
    for (i, &pa) in blk.paddr.iter().enumerate() {
        // The first entry starts at `vh`'s offset in its page, the others at their page base.
        let skip = if i == 0 { vh % blk.pgsz } else { 0 };
        let phys = pa + skip;
        let chunk = (blk.pgsz - skip).min(len - off);
        let (src_space, src, dst_space, dst) = if to_ve {
            (AddrSpace::Vhsaa, phys, AddrSpace::Vemaa, ve + off)
        } else {
            (AddrSpace::Vemaa, ve + off, AddrSpace::Vhsaa, phys)
        };
        let control = if i + 1 == n {
            desc::CTL_INTR_COMPLETION | desc::CTL_SYNC
        } else {
            0
        };
        eng.post(
            slot,
            &Desc {
                src_space,
                src,
                dst_space,
                dst,
                len: chunk as u32,
                control,
                order: 0,
            },
        );
        slot = (slot + 1) % desc::NUM;
        off += chunk;
    }
    eng.start().map_err(|e| format!("KICK: {}", errname(e)))?;
    if regs() == ScrMap::VE3 {
        // VE3's typed mask; VE1's compat form is EINVAL there (the transport suite's case).
        let caught = userdma::wait_intr_pdma(fd, 2000, true)
            .map_err(|e| format!("WAIT_INTR: {}", errname(e)))?;
        ensure(caught, || "the privileged DMA bit not caught".into())?;
    } else {
        let caught = userdma::wait_intr(fd, P_DMA, 2000, compat)
            .map_err(|e| format!("WAIT_INTR: {}", errname(e)))?;
        ensure_eq("caught bits", caught, P_DMA)?;
    }
    ensure_eq(
        "read pointer",
        (eng.ctl1() & dmactl::READPTR_MASK) as usize,
        slot,
    )?;
    for k in 0..n {
        ensure_eq(
            "status",
            desc::status(eng.word0((first + k) % desc::NUM)),
            desc::STATUS_COMPLETED,
        )?;
    }
    nec::release_blk(fd, uapi::OS_LIST, &blk.paddr).map_err(|e| format!("release: {}", errname(e)))
}

/// An 8-byte XFER through the in-kernel manager.
fn kernel_xfer(fd: &OwnedFd) -> Result<(), String> {
    let b = Buffer::new(Backing::Anon4k, 4096)?;
    ve_guest::dma::xfer(fd, true, b.addr(), 0x10_0000, 8)
        .map(|_| ())
        .map_err(|(e, _)| format!("XFER: {}", errname(e)))
}

/// The errno of an 8-byte XFER (0 if it worked).
/// While the engine is lent: the kernel manager refuses XFER and SUBMIT with `EBUSY`.
fn kernel_manager_busy(fd: &OwnedFd) -> R {
    ensure_errno(
        "XFER",
        kernel_xfer(fd).map_err(|_| busy_errno(fd)),
        libc::EBUSY,
    )?;
    let b = Buffer::new(Backing::Anon4k, 4096)?;
    ensure_errno(
        "SUBMIT",
        ve_guest::dma::submit(fd, true, b.addr(), 0, 8).map(|_| ()),
        libc::EBUSY,
    )
}

fn busy_errno(fd: &OwnedFd) -> i32 {
    let b = Buffer::new(Backing::Anon4k, 4096).expect("buffer");
    ve_guest::dma::xfer(fd, true, b.addr(), 0x10_0000, 8).map_or_else(|(e, _)| e, |_| 0)
}

/// A child maps the registers twice through one file (as VEOS does) and touches both, so that
/// both have their pages mapped; the parent reclaims the engine; the child's next access to
/// mapping `which` (0 or 1, both stale now) must kill it with SIGBUS, and no descriptor runs.
/// While the child still holds its stale mappings the parent maps the registers itself (a new
/// grant): the child's death, which unmaps the stale ones, must leave that grant alone (XFER
/// EBUSY, its registers readable) until the parent unmaps it.
fn reclaim(fd: &OwnedFd, which: usize) -> Result<(), String> {
    let mut pipe = [0i32; 2];
    // SAFETY: a pipe for the child to say it has mapped, and for the parent to say go.
    if unsafe { libc::pipe(pipe.as_mut_ptr()) } != 0 {
        return Err("pipe".into());
    }
    let mut back = [0i32; 2];
    // SAFETY: as above.
    if unsafe { libc::pipe(back.as_mut_ptr()) } != 0 {
        return Err("pipe".into());
    }
    // SAFETY: the child maps, reports, waits, touches the mapping and exits.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let code = (|| {
            let fd = sys::open_rw(NODE).ok()?;
            let engs = [UserEngine::map(&fd).ok()?, UserEngine::map(&fd).ok()?];
            // Touch both: their pages are mapped now, and only a zap removes them.
            let mut b = [u8::from(
                engs.iter().all(|e| e.ctl1() & dmactl::EXCEPTION == 0),
            )];
            // SAFETY: tell the parent, then wait for its go.
            unsafe {
                libc::write(pipe[1], b.as_ptr().cast(), 1);
                libc::read(back[0], b.as_mut_ptr().cast(), 1);
            }
            // The engine was taken back: this must fault.
            let eng = engs.get(which)?;
            eng.write(eng.scr().desc(0), 0x1234);
            let _ = eng.read(eng.scr().ctl0());
            Some(0)
        })()
        .unwrap_or(3);
        // SAFETY: leave the child (reaching here means no SIGBUS).
        unsafe { libc::_exit(code) };
    }
    let mut b = [0u8];
    // SAFETY: reads the child's byte.
    let n = unsafe { libc::read(pipe[0], b.as_mut_ptr().cast(), 1) };
    let reclaimed = sys::ioctl_raw(fd, uapi::VE_DRV_IOC_RECLAIM, 0);
    let descs0 = EmuBar::open().map(|c| c.get(emu::OFF_CNT_DESCS));
    // A new grant while the child's stale mappings exist.
    let mine = UserEngine::map(fd);
    let mut status = 0;
    // SAFETY: let the child go (one byte from `b`), then reap it and close our pipe ends.
    unsafe {
        libc::write(back[1], b.as_ptr().cast(), 1);
        libc::waitpid(pid, &mut status, 0);
        for p in pipe.iter().chain(back.iter()) {
            libc::close(*p);
        }
    }
    ensure_eq("child mapped twice and read both", (n, b[0]), (1, 1))?;
    ensure_eq(
        "RECLAIM (1: the engine was lent)",
        reclaimed.map_err(errname)?,
        1,
    )?;
    ensure(
        libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGBUS,
        || format!("mapping {which}: child status {status:#x}, want death by SIGBUS"),
    )?;
    // The descriptor slot the child aimed at still holds nothing the engine would run.
    let c = EmuBar::open()?;
    ensure_eq(
        "engine descriptors run",
        Ok(c.get(emu::OFF_CNT_DESCS)),
        descs0,
    )?;
    let mine = mine.map_err(|e| format!("the parent's mapping after RECLAIM: {}", errname(e)))?;
    ensure_errno(
        "XFER after the stale mappings went, the parent's mapped",
        kernel_xfer(fd).map_err(|_| busy_errno(fd)),
        libc::EBUSY,
    )?;
    ensure_eq(
        "the parent's mapping: exception bit",
        mine.ctl1() & dmactl::EXCEPTION,
        0,
    )?;
    drop(mine);
    ensure_eq(
        "RECLAIM again (0: the kernel has it)",
        sys::ioctl_raw(fd, uapi::VE_DRV_IOC_RECLAIM, 0).map_err(errname)?,
        0,
    )
}

/// 64 KiB of a pattern VH -> VE -> VH through the in-kernel manager (XFER), every byte compared.
fn kernel_round_trip(fd: &OwnedFd, ve: u64) -> R {
    let a = Buffer::new(Backing::Anon4k, LEN)?;
    let b = Buffer::new(Backing::Anon4k, LEN)?;
    for k in (0..LEN).step_by(8) {
        // SAFETY: both buffers are LEN bytes.
        unsafe {
            a.ptr
                .add(k)
                .cast::<u64>()
                .write(0x5ca1_ab1e_0000_0000 ^ k as u64);
            b.ptr.add(k).cast::<u64>().write(0);
        }
    }
    for (to_ve, buf) in [(true, &a), (false, &b)] {
        ve_guest::dma::xfer(fd, to_ve, buf.addr(), ve, LEN as u64)
            .map_err(|(e, _)| format!("XFER (to VE: {to_ve}): {}", errname(e)))?;
    }
    // SAFETY: both buffers are LEN bytes.
    let (x, y) = unsafe {
        (
            std::slice::from_raw_parts(a.ptr, LEN),
            std::slice::from_raw_parts(b.ptr, LEN),
        )
    };
    ensure(x == y, || "kernel round trip: data differs".into())
}

/// The module's path and what the cases hand on: the card's file, the register mapping while
/// the cases need it, the buffers of the user-space copies.
struct Fx {
    module: String,
    /// Pages pinned before the program.
    held: i64,
    fd: Option<OwnedFd>,
    eng: Option<UserEngine>,
    /// The second mapping (VEOS's `ve_dma_open_p`), through the same file.
    eng2: Option<UserEngine>,
    bufs: Option<(Buffer, Buffer)>,
}

impl Fixture for Fx {}

/// The open `/dev/ve0` of `fd`.
fn opened(fd: &Option<OwnedFd>) -> Result<&OwnedFd, String> {
    fd.as_ref().ok_or_else(|| "/dev/ve0 is not open".into())
}

fn insmod_user_pdma(fx: &mut Fx) -> R {
    sys::insmod(&fx.module, "emulator=1 user_pdma=1").map_err(errname)
}

fn open_node(fx: &mut Fx) -> R {
    fx.fd = Some(sys::open_rw(NODE).map_err(errname)?);
    Ok(())
}

fn map_registers(fx: &mut Fx) -> R {
    fx.eng = Some(UserEngine::map(opened(&fx.fd)?).map_err(errname)?);
    Ok(())
}

/// `LEN` bytes of a pattern and `LEN` zero bytes.
fn buffers(fx: &mut Fx) -> R {
    let src = Buffer::new(Backing::Anon4k, LEN)?;
    let dst = Buffer::new(Backing::Anon4k, LEN)?;
    for k in (0..LEN).step_by(8) {
        // SAFETY: both buffers are LEN bytes.
        unsafe {
            src.ptr
                .add(k)
                .cast::<u64>()
                .write(0xfeed_0000_0000_0000 | k as u64);
            dst.ptr.add(k).cast::<u64>().write(0);
        }
    }
    fx.bufs = Some((src, dst));
    Ok(())
}

fn main() {
    let module = sys::module_arg("ve_userdma_test");
    let suite = Suite::new("ve_userdma_test")
        .case(
            "without user_pdma: the registers map with the DMA pages withheld (SIGBUS); the kernel manager keeps the engine",
            without_user_pdma,
        )
        .step("insmod emulator=1 user_pdma=1", insmod_user_pdma)
        .step("open", open_node)
        .case(
            "with user_pdma, before any mapping: the in-kernel manager owns the engine (XFER works)",
            kernel_owns_engine,
        )
        .case(
            "mmap: EINVAL for an offset in no window or more than the registers, EACCES without CAP_SYS_ADMIN (NEC's)",
            mmap_errors,
        )
        .case(
            "mmap: EINVAL for MAP_PRIVATE and PROT_EXEC, EPERM without CAP_SYS_RAWIO; none lends the engine or taints",
            mmap_gates_case,
        )
        .step("map the system-common registers", map_registers)
        .case(
            "the first mapping taints the kernel (U); the mapping cannot be made executable",
            taint_and_no_exec,
        )
        .case(
            "while mapped: XFER and SUBMIT answer EBUSY, a mapping through another open file of this process EBUSY",
            busy_while_mapped,
        )
        .case(
            "fork: the child gets no copy of the mapping (SIGSEGV there; MADV_DOFORK EINVAL), its mmap through the inherited file or its own EBUSY; the parent keeps the engine",
            fork_while_mapped,
        )
        .case(
            "the mapping shows the engine's registers (DMACTL halted or idle, no exception)",
            registers_visible,
        )
        .case(
            "WAIT_INTR times out when nothing happens (ETIMEDOUT)",
            wait_intr_times_out,
        )
        .step("buffers", buffers)
        .case(
            "VH -> VE through the mapped engine, WAIT_INTR (upstream form)",
            user_vh_to_ve,
        )
        .case(
            "VE -> VH, WAIT_INTR (VE1 compat form), data compared",
            user_ve_to_vh,
        )
        .case(
            "NEC's legacy and bulk managers (as the benchmark runs them) move the data intact, 4 KiB and 2 MiB pages",
            nec_managers,
        )
        .step(
            "map the registers a second time through the same file (VEOS's ve_dma_open_p)",
            map_second,
        )
        .case(
            "two mappings share the engine: each sees what the other writes, VH -> VE through one and VE -> VH through the other, data compared; XFER EBUSY",
            shared_copies,
        )
        .case(
            "munmap of the first keeps the engine lent: XFER, SUBMIT and another process EBUSY; a copy through the second, data compared",
            unmap_first_keeps,
        )
        .case(
            "munmap of the last gives the engine back: a kernel round trip VH -> VE -> VH, data compared",
            unmap_last_gives_back,
        )
        .case(
            "RECLAIM zaps both mappings of a process: an access to either faults (SIGBUS), no descriptor runs; their end leaves a newer grant alone",
            reclaim_case,
        )
        .case(
            "after RECLAIM the kernel manager works, and a new mapping takes the engine again",
            after_reclaim,
        )
        .case(
            "mmap while the kernel manager has a request: EBUSY",
            mmap_while_request,
        )
        .case(
            "RECLAIM racing mmap (64 rounds): where RECLAIM won, the mapping faults (SIGBUS) and the kernel manager works",
            reclaim_race,
        )
        .case(
            "unbind with two live mappings: the second faults (SIGBUS), no descriptor runs, mmap on the old file ENODEV; rebind works",
            unbind_live_mapping,
        )
        .case("nothing left pinned; rmmod", nothing_pinned_rmmod);
    std::process::exit(suite.run(|| {
        Ok(Fx {
            module,
            held: pins_held(),
            fd: None,
            eng: None,
            eng2: None,
            bufs: None,
        })
    }));
}

/// Without `user_pdma` the system-common registers map for VEOS, but the privileged DMA pages
/// are withheld (an access faults with SIGBUS), and the kernel manager keeps the engine: XFER
/// works while the mapping exists, and nothing taints the kernel.
fn without_user_pdma(fx: &mut Fx) -> R {
    let module = fx.module.as_str();
    sys::insmod(module, "emulator=1").map_err(|e| format!("insmod: {}", errname(e)))?;
    let r = (|| {
        let fd = sys::open_rw(NODE).map_err(errname)?;
        let m = map_raw(&fd, regs().offset, regs().size).map_err(errname)?;
        for off in [regs().pdma.desc, regs().ctl0()] {
            // The child maps the registers itself: mappings are not inherited (VM_DONTCOPY).
            let status = sys::child_status(|| {
                let Ok(c) = map_raw(&fd, regs().offset, regs().size) else {
                    return 1;
                };
                // SAFETY: a withheld page of the live mapping: this must raise SIGBUS.
                let _ = unsafe { c.ptr().add(off).cast::<u64>().read_volatile() };
                0
            })
            .map_err(errname)?;
            ensure(died_of_sigbus(status), || {
                format!("SCR + {off:#x}: child status {status:#x}, want death by SIGBUS")
            })?;
        }
        kernel_xfer(&fd)?;
        drop(m);
        ensure_eq("taint U", tainted()? & TAINT_USER, 0)
    })();
    sys::rmmod("ve_drv").map_err(|e| format!("rmmod: {}", errname(e)))?;
    r
}

fn kernel_owns_engine(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    kernel_xfer(fd)
}

fn mmap_errors(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    // Between NEC's windows: VE1's CR window (BAR3) and its BAR2 window; VE3's BAR4 (8 MiB)
    // and its BAR2/3 window.
    let nowhere = if regs() == ScrMap::VE3 {
        0x0080_0000
    } else {
        0x0800_0000
    };
    ensure_errno(
        "an offset in no window",
        map_raw(fd, nowhere, 4096).map(|_| ()),
        libc::EINVAL,
    )?;
    ensure_errno(
        "twice the block",
        map_raw(fd, regs().offset, 2 * regs().size).map(|_| ()),
        libc::EINVAL,
    )?;
    std::fs::set_permissions(NODE, std::os::unix::fs::PermissionsExt::from_mode(0o666))
        .map_err(|e| format!("chmod: {e}"))?;
    // Read before: the emulator's block is root's to map.
    let scr = regs();
    let code = sys::as_nobody(|| {
        let Ok(fd) = sys::open_rw(NODE) else { return 1 };
        match map_raw(&fd, scr.offset, scr.size) {
            Err(e) if e == libc::EACCES => 0,
            _ => 2,
        }
    })
    .map_err(errname)?;
    ensure_eq("child (1: open, 2: not EACCES)", code, 0)
}

fn mmap_gates_case(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    mmap_gates(fd)
}

fn taint_and_no_exec(fx: &mut Fx) -> R {
    let eng = fx.eng.as_ref().ok_or("the registers are not mapped")?;
    ensure_eq("taint U", tainted()? & TAINT_USER, TAINT_USER)?;
    no_exec_later(eng.base())
}

fn busy_while_mapped(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    kernel_manager_busy(fd)?;
    // The same process, another open file: not the same user of the engine.
    let other = sys::open_rw_other_thread(NODE).map_err(errname)?;
    ensure_errno(
        "mapping through another open file",
        map_raw(&other, regs().offset, regs().size).map(|_| ()),
        libc::EBUSY,
    )
}

/// A fork of the process holding the mapping: the child gets no copy of it (`VM_DONTCOPY`, and
/// `MADV_DOFORK` cannot undo it on an I/O mapping), so the parent's address is unmapped there
/// (SIGSEGV); the child, another process, gets `EBUSY` for a mapping through the file it
/// inherited and through its own. Neither touches the parent's grant: its mapping still reads
/// the engine and the kernel manager still answers EBUSY.
fn fork_while_mapped(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    let eng = fx.eng.as_ref().ok_or("the registers are not mapped")?;
    let base = eng.base();
    // SAFETY: asks for the live mapping to be copied on fork; refused.
    let r = unsafe { libc::madvise(base.cast(), regs().size, libc::MADV_DOFORK) };
    ensure_errno(
        "MADV_DOFORK",
        if r == 0 { Ok(()) } else { Err(sys::errno()) },
        libc::EINVAL,
    )?;
    let status = sys::child_status(|| {
        // SAFETY: the parent's register mapping, which the child does not have: SIGSEGV.
        let _ = unsafe { base.add(regs().ctl1()).cast::<u64>().read_volatile() };
        0
    })
    .map_err(errname)?;
    ensure(sys::died_of(status, libc::SIGSEGV), || {
        format!("child touching the parent's mapping: status {status:#x}, want SIGSEGV")
    })?;
    let code = sys::in_child(|| {
        let inherited = match map_raw(fd, regs().offset, regs().size) {
            Err(e) if e == libc::EBUSY => 0,
            Err(_) => 1,
            Ok(_) => 2,
        };
        let Ok(own) = sys::open_rw(NODE) else {
            return 9;
        };
        let mine = match map_raw(&own, regs().offset, regs().size) {
            Err(e) if e == libc::EBUSY => 0,
            Err(_) => 1,
            Ok(_) => 2,
        };
        inherited * 3 + mine
    })
    .map_err(errname)?;
    ensure_eq(
        "child's mmaps (inherited file * 3 + own file; 0: EBUSY, 1: other errno, 2: mapped)",
        code,
        0,
    )?;
    ensure_eq("exception bit", eng.ctl1() & dmactl::EXCEPTION, 0)?;
    ensure_errno(
        "XFER",
        kernel_xfer(fd).map_err(|_| busy_errno(fd)),
        libc::EBUSY,
    )
}

fn registers_visible(fx: &mut Fx) -> R {
    let eng = fx.eng.as_ref().ok_or("the registers are not mapped")?;
    ensure_eq("exception bit", eng.ctl1() & dmactl::EXCEPTION, 0)?;
    ensure(
        eng.read(regs().ctl0()) & dmactl::STATUS_MASK <= dmactl::STATUS_HALT,
        || "bad DMACTL".into(),
    )
}

fn wait_intr_times_out(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    ensure_errno(
        "wait",
        userdma::wait_intr_pdma(fd, 100, regs() == ScrMap::VE3),
        libc::ETIMEDOUT,
    )
}

fn user_vh_to_ve(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    let eng = fx.eng.as_ref().ok_or("the registers are not mapped")?;
    let (src, _) = fx.bufs.as_ref().ok_or("no buffers")?;
    user_copy(fd, eng, src.addr(), 0x200_0000, LEN as u64, true, false)
}

fn user_ve_to_vh(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    let eng = fx.eng.as_ref().ok_or("the registers are not mapped")?;
    let (src, dst) = fx.bufs.as_ref().ok_or("no buffers")?;
    // 8-byte aligned but not page aligned: the first descriptor starts mid-page.
    user_copy(
        fd,
        eng,
        dst.addr() + 8,
        0x200_0008,
        LEN as u64 - 8,
        false,
        true,
    )?;
    // SAFETY: both buffers are LEN bytes.
    let (a, b) = unsafe {
        (
            std::slice::from_raw_parts(src.ptr.add(8), LEN - 8),
            std::slice::from_raw_parts(dst.ptr.add(8), LEN - 8),
        )
    };
    ensure(a == b, || "data differs".into())
}

fn nec_managers(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    let eng = fx.eng.as_ref().ok_or("the registers are not mapped")?;
    for backing in [Backing::Anon4k, Backing::Hugetlb2m] {
        let len = 4 << 20;
        let a = Buffer::new(backing, len)?;
        let b = Buffer::new(backing, len)?;
        for k in (0..len).step_by(8) {
            // SAFETY: both buffers are `len` bytes.
            unsafe {
                a.ptr.add(k).cast::<u64>().write(!(k as u64));
                b.ptr.add(k).cast::<u64>().write(0);
            }
        }
        // Page-unaligned, 8-byte aligned: 0x1238 into the buffers.
        let (off, n) = (0x1238u64, len as u64 - 0x2000);
        necdma::legacy(fd, eng, a.addr() + off, 0x300_0000, n, true)?;
        necdma::bulk(fd, eng, b.addr() + off, 0x300_0000, n, false)?;
        // SAFETY: both ranges are inside the buffers.
        let (x, y) = unsafe {
            (
                std::slice::from_raw_parts(a.ptr.add(off as usize), n as usize),
                std::slice::from_raw_parts(b.ptr.add(off as usize), n as usize),
            )
        };
        ensure(x == y, || format!("{}: data differs", backing.name()))?;
    }
    Ok(())
}

fn map_second(fx: &mut Fx) -> R {
    fx.eng2 = Some(UserEngine::map(opened(&fx.fd)?).map_err(errname)?);
    Ok(())
}

/// Both mappings show the same registers, the withheld pages included: a descriptor word written
/// through one reads back through the other (in a slot the copies below overwrite). Then one
/// copy's descriptors go through the first mapping and the other's through the second.
fn shared_copies(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    let one = fx.eng.as_ref().ok_or("the registers are not mapped")?;
    let two = fx
        .eng2
        .as_ref()
        .ok_or("the registers are not mapped twice")?;
    ensure(one.base() != two.base(), || "one mapping, not two".into())?;
    ensure_eq("taint U", tainted()? & TAINT_USER, TAINT_USER)?;
    ensure_eq("DMACTL word 1 through both", two.ctl1(), one.ctl1())?;
    let slot = (one.ctl1() & dmactl::READPTR_MASK) as usize;
    let word2 = regs().pdma.desc + slot * desc::SIZE + 16;
    for (w, r, v) in [(two, one, 0x0123_4567_89ab_cdf8u64), (one, two, 0)] {
        w.write(word2, v);
        ensure_eq(
            "a descriptor word written through the other",
            r.read(word2),
            v,
        )?;
    }
    let (src, dst) = fx.bufs.as_ref().ok_or("no buffers")?;
    // SAFETY: `dst` is LEN bytes.
    unsafe { core::ptr::write_bytes(dst.ptr, 0, LEN) };
    user_copy(fd, one, src.addr(), 0x400_0000, LEN as u64, true, false)?;
    user_copy(fd, two, dst.addr(), 0x400_0000, LEN as u64, false, true)?;
    // SAFETY: both buffers are LEN bytes.
    let (a, b) = unsafe {
        (
            std::slice::from_raw_parts(src.ptr, LEN),
            std::slice::from_raw_parts(dst.ptr, LEN),
        )
    };
    ensure(a == b, || "data differs".into())?;
    ensure_errno(
        "XFER",
        kernel_xfer(fd).map_err(|_| busy_errno(fd)),
        libc::EBUSY,
    )
}

/// The first mapping goes; the second still holds the engine: the kernel manager answers EBUSY,
/// another process cannot map, and a copy VH -> VE -> VH through the second works.
fn unmap_first_keeps(fx: &mut Fx) -> R {
    fx.eng = None;
    let fd = opened(&fx.fd)?;
    kernel_manager_busy(fd)?;
    let code = sys::in_child(|| {
        let Ok(own) = sys::open_rw(NODE) else {
            return 9;
        };
        match map_raw(&own, regs().offset, regs().size) {
            Err(e) if e == libc::EBUSY => 0,
            Err(_) => 1,
            Ok(_) => 2,
        }
    })
    .map_err(errname)?;
    ensure_eq(
        "another process's mmap (0: EBUSY, 1: other errno, 2: mapped)",
        code,
        0,
    )?;
    let two = fx
        .eng2
        .as_ref()
        .ok_or("the registers are not mapped twice")?;
    let (src, dst) = fx.bufs.as_ref().ok_or("no buffers")?;
    // SAFETY: `dst` is LEN bytes.
    unsafe { core::ptr::write_bytes(dst.ptr, 0, LEN) };
    user_copy(fd, two, src.addr(), 0x500_0000, LEN as u64, true, false)?;
    user_copy(fd, two, dst.addr(), 0x500_0000, LEN as u64, false, false)?;
    // SAFETY: both buffers are LEN bytes.
    let (a, b) = unsafe {
        (
            std::slice::from_raw_parts(src.ptr, LEN),
            std::slice::from_raw_parts(dst.ptr, LEN),
        )
    };
    ensure(a == b, || "data differs".into())
}

fn unmap_last_gives_back(fx: &mut Fx) -> R {
    fx.eng2 = None;
    let fd = opened(&fx.fd)?;
    kernel_round_trip(fd, 0x600_0000)
}

fn reclaim_case(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    reclaim(fd, 0)?;
    reclaim(fd, 1)
}

fn after_reclaim(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    kernel_xfer(fd)?;
    let eng = UserEngine::map(fd).map_err(|e| format!("map: {}", errname(e)))?;
    ensure_errno(
        "XFER",
        kernel_xfer(fd).map_err(|_| busy_errno(fd)),
        libc::EBUSY,
    )?;
    drop(eng);
    kernel_xfer(fd)
}

fn mmap_while_request(fx: &mut Fx) -> R {
    let fd = opened(&fx.fd)?;
    let c = EmuBar::open()?;
    let b = Buffer::new(Backing::Anon4k, 1 << 20)?;
    let stall = c.stall(fd);
    let id = ve_guest::dma::submit(fd, true, b.addr(), 0, 1 << 20);
    // A mapping made, should the test fail, is unmapped at once.
    let m = map_raw(fd, regs().offset, regs().size).map(drop);
    // The kick's result is not the test's.
    let _ = stall.release();
    let id = id.map_err(errname)?;
    ve_guest::dma::wait_ok(fd, id)?;
    ensure_errno("mmap", m, libc::EBUSY)
}

fn reclaim_race(fx: &mut Fx) -> R {
    let race = reclaim_mmap_race(64);
    if let Ok((r, m)) = race {
        diag(&format!(
            "RECLAIM vs mmap: RECLAIM won {r} rounds, the mapping {m}"
        ));
    }
    let fd = opened(&fx.fd)?;
    // Without a round that RECLAIM won the test would show nothing.
    let (r, _) = race?;
    ensure(r > 0, || {
        "RECLAIM never took the engine from a mapping".into()
    })?;
    kernel_xfer(fd)
}

fn unbind_live_mapping(fx: &mut Fx) -> R {
    fx.fd = None;
    let bdf = sys::find_pci(
        ve_guest::hw::pci_id::VENDOR_REDHAT_QUMRANET,
        ve_guest::hw::pci_id::DEVICE_IVSHMEM,
    )
    .unwrap_or_default();
    unbind_with_mapping(&bdf)
}
fn nothing_pinned_rmmod(fx: &mut Fx) -> R {
    let held = fx.held;
    ensure_eq("pins held", pins_held() - held, 0)?;
    sys::rmmod("ve_drv").map_err(|e| format!("rmmod: {}", errname(e)))
}
