// SPDX-License-Identifier: GPL-2.0

//! ve_dma_cache_test: the DMA manager's registration cache (`dma_cache_mib`) against the engine
//! emulator. A second transfer of the same bytes pins nothing (the kernel's pin counters do not
//! move) and moves the same data; every change the core mm makes to a cached buffer (munmap,
//! mremap, `MADV_DONTNEED`, fork with the child writing, compaction, `MADV_COLLAPSE`, the
//! process's exit) is followed: the next transfer moves the buffer's bytes as they are now,
//! compared byte for byte, and the change is counted as an invalidation where the cache must drop
//! the entry. Also while a request is using the entry (its pages stay pinned until its
//! descriptors are done); the cap, RLIMIT_MEMLOCK, memory pressure (the shrinker) and the close
//! of the file. After each test
//! nothing stays pinned once the file's entries are dropped.
//!
//! Needs `ve_drv` loaded with `emulator=1 dma_cache_mib=16` (the suite script does it).

use std::os::fd::OwnedFd;

use ve_guest::{
    dma::{
        self,
        fill,
        open_card,
        same,
        submit,
        wait,
        xfer,
        xfer_with, //
    },
    emubar::EmuBar,
    ksft::{
        ensure,
        ensure_eq, //
    },
    mem::{
        Backing,
        Buffer,
        Mapping, //
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
    uapi::{
        self,
        VeDmaCache, //
    },
};

type R = Result<(), String>;
const MIB: usize = 1 << 20;
/// The cache the suite loads the module with (`dma_cache_mib`).
const CAP: u64 = 16 << 20;
/// VE addresses the tests use.
const VE_A: u64 = 0x100_0000;
const VE_B: u64 = 0x300_0000;

struct Fx {
    fd: OwnedFd,
    c: EmuBar,
}

impl Fixture for Fx {
    /// Drops this file's entries, so that the pin check sees what the test left behind.
    fn teardown(&mut self) -> R {
        dma::cache(&self.fd, uapi::VE_DMA_CACHE_DROP).map(|_| ())
    }
}

/// `nr_foll_pin_acquired` now (pins ever taken).
fn acquired() -> u64 {
    sys::pin_counters()
        .expect("nr_foll_pin_acquired unreadable in /proc/vmstat")
        .0
}

fn info(fd: &OwnedFd) -> Result<VeDmaCache, String> {
    dma::cache(fd, 0)
}

/// Fills `b` with the pattern of `seed`.
fn set(b: &Buffer, seed: u64) {
    // SAFETY: the buffer's own bytes (a multiple of 8), no transfer in flight into it.
    unsafe { fill(b.ptr, b.len, seed) };
}

/// Copies `b` VH -> VE at `ve` (cached unless `flags` says), reads it back through a scratch
/// buffer with the cache off, and compares: what the engine took is `b`'s bytes as they are now.
fn send_and_check(fd: &OwnedFd, b: &Buffer, ve: u64, flags: u32) -> R {
    let len = b.len as u64;
    let x = xfer_with(fd, true, b.addr(), ve, len, flags)
        .map_err(|(e, _)| format!("XFER VH->VE: {}", errname(e)))?;
    ensure_eq("bytes VH->VE", x.bytes_done, len)?;
    let back = Buffer::new(Backing::Anon4k, b.len)?;
    xfer_with(fd, false, back.addr(), ve, len, uapi::VE_DMA_NO_CACHE)
        .map_err(|(e, _)| format!("XFER VE->VH: {}", errname(e)))?;
    // SAFETY: both buffers' own bytes, no transfer in flight.
    unsafe { same(b.ptr, back.ptr, b.len) }
}

/// Writes the pattern of `seed` to VE `ve` (cache off) and copies it VE -> VH into `b` (cached
/// unless `flags` says); compares.
fn receive_and_check(fd: &OwnedFd, b: &Buffer, ve: u64, seed: u64, flags: u32) -> R {
    let len = b.len as u64;
    let src = Buffer::new(Backing::Anon4k, b.len)?;
    set(&src, seed);
    xfer_with(fd, true, src.addr(), ve, len, uapi::VE_DMA_NO_CACHE)
        .map_err(|(e, _)| format!("XFER VH->VE: {}", errname(e)))?;
    set(b, !seed);
    let x = xfer_with(fd, false, b.addr(), ve, len, flags)
        .map_err(|(e, _)| format!("XFER VE->VH: {}", errname(e)))?;
    ensure_eq("bytes VE->VH", x.bytes_done, len)?;
    // SAFETY: both buffers' own bytes, no transfer in flight.
    unsafe { same(src.ptr, b.ptr, b.len) }
}

/// The counters moved by exactly `hits`, `misses`, at least `inval` invalidations since `before`.
fn counted(fd: &OwnedFd, before: &VeDmaCache, hits: u64, misses: u64, inval: u64) -> R {
    let now = info(fd)?;
    ensure_eq("hits", now.hits - before.hits, hits)?;
    ensure_eq("misses", now.misses - before.misses, misses)?;
    ensure(now.invalidations - before.invalidations >= inval, || {
        format!(
            "invalidations: {} new, want at least {inval}",
            now.invalidations - before.invalidations
        )
    })
}

/// Waits (up to 2 s) for the sweep queued by the MMU notifier to count `n` more invalidations
/// than `before`.
fn swept(fd: &OwnedFd, before: &VeDmaCache, n: u64) -> R {
    let mut seen = 0;
    let ok = sys::wait_for(2000, || {
        seen = info(fd).map_or(0, |i| i.invalidations - before.invalidations);
        seen >= n
    });
    ensure(ok, || format!("{seen} invalidations swept, want {n}"))
}

/// Waits until a sweep in progress has let go of what it took out of the index: a removal
/// (`VE_DMA_CACHE_DROP`, here of nothing else) returns only after it.
fn settled(fd: &OwnedFd) -> R {
    dma::cache(fd, uapi::VE_DMA_CACHE_DROP).map(|_| ())
}

/// Both directions, twice each: the first transfer misses, the second hits with no pin taken
/// and the same data; the buffer's new contents are what the hit moves.
fn hit_after_miss(fx: &mut Fx, backing: Backing) -> R {
    let fd = &fx.fd;
    let b = Buffer::new(backing, 4 * MIB)?;
    let before = info(fd)?;
    set(&b, 1);
    send_and_check(fd, &b, VE_A, 0)?;
    counted(fd, &before, 0, 1, 0)?;
    let held = pins_held();
    ensure(held > 0, || "nothing pinned by the cache entry".into())?;
    set(&b, 2);
    let pins = acquired();
    send_and_check(fd, &b, VE_A, 0)?;
    // The check's own read-back (cache off) pins its scratch buffer: 1024 pages.
    ensure_eq(
        "pins taken by the hit",
        acquired() - pins,
        (4 * MIB / 4096) as u64,
    )?;
    counted(fd, &before, 1, 1, 0)?;
    // The other direction is another entry.
    receive_and_check(fd, &b, VE_B, 3, 0)?;
    receive_and_check(fd, &b, VE_B, 4, 0)?;
    counted(fd, &before, 2, 2, 0)?;
    // A part of a cached range hits too (8-byte aligned, inside).
    let part = xfer(fd, true, b.addr() + 4096 + 8, VE_A, 64 << 10).map_err(|(e, _)| errname(e))?;
    ensure_eq("bytes", part.bytes_done, 64 << 10)?;
    counted(fd, &before, 3, 2, 0)?;
    let i = info(fd)?;
    ensure_eq("entries", i.entries, 2)?;
    ensure_eq("bytes held", i.bytes, (8 * MIB) as u64)?;
    ensure_eq("cap", i.cap, CAP)
}

/// `VE_DMA_NO_CACHE` neither looks up nor keeps: nothing stays pinned after the transfer.
fn no_cache_flag(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    let b = Buffer::new(Backing::Anon4k, 2 * MIB)?;
    let before = info(fd)?;
    let held = pins_held();
    set(&b, 5);
    send_and_check(fd, &b, VE_A, uapi::VE_DMA_NO_CACHE)?;
    ensure_eq("pins held", pins_held() - held, 0)?;
    counted(fd, &before, 0, 0, 0)?;
    // Cached, then NO_CACHE again: the entry is not used (pins taken).
    send_and_check(fd, &b, VE_A, 0)?;
    let pins = acquired();
    let x = xfer_with(
        fd,
        true,
        b.addr(),
        VE_A,
        b.len as u64,
        uapi::VE_DMA_NO_CACHE,
    )
    .map_err(|(e, _)| errname(e))?;
    ensure_eq("bytes", x.bytes_done, b.len as u64)?;
    ensure_eq("pins taken", acquired() - pins, (2 * MIB / 4096) as u64)?;
    counted(fd, &before, 0, 1, 0)
}

/// munmap, then fresh memory at the same address: the entry goes (invalidation) and the next
/// transfer moves the new pages' bytes.
fn munmap_and_remap(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    let b = Buffer::new(Backing::Anon4k, 2 * MIB)?;
    set(&b, 6);
    send_and_check(fd, &b, VE_A, 0)?;
    let before = info(fd)?;
    apply(Change::Remap, &b, None)?;
    swept(fd, &before, 1)?;
    set(&b, 7);
    send_and_check(fd, &b, VE_A, 0)?;
    counted(fd, &before, 0, 1, 1)?;
    receive_and_check(fd, &b, VE_B, 8, 0)
}

/// mremap moves the pages away and fresh memory takes the old address: both addresses move
/// their own bytes.
fn mremap_away(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    let b = Buffer::new(Backing::Anon4k, 2 * MIB)?;
    set(&b, 9);
    send_and_check(fd, &b, VE_A, 0)?;
    let before = info(fd)?;
    let dest = Mapping::anon_rw(2 * MIB)?;
    apply(Change::Mremap, &b, Some(&dest))?;
    swept(fd, &before, 1)?;
    set(&b, 10);
    send_and_check(fd, &b, VE_A, 0)?;
    // The moved pages still hold the first pattern, now at `dest`.
    let moved =
        xfer_with(fd, true, dest.addr(), VE_B, b.len as u64, 0).map_err(|(e, _)| errname(e))?;
    ensure_eq("bytes", moved.bytes_done, b.len as u64)?;
    let back = Buffer::new(Backing::Anon4k, b.len)?;
    xfer_with(
        fd,
        false,
        back.addr(),
        VE_B,
        b.len as u64,
        uapi::VE_DMA_NO_CACHE,
    )
    .map_err(|(e, _)| errname(e))?;
    let want = Buffer::new(Backing::Anon4k, b.len)?;
    set(&want, 9);
    // SAFETY: both buffers' own bytes, no transfer in flight.
    unsafe { same(want.ptr, back.ptr, b.len) }?;
    counted(fd, &before, 0, 2, 1)
}

/// `MADV_DONTNEED` drops the pages (private anonymous memory reads as zero after): the next
/// transfer moves what is there now.
fn madv_dontneed(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    let b = Buffer::new(Backing::Anon4k, 2 * MIB)?;
    set(&b, 11);
    receive_and_check(fd, &b, VE_A, 12, 0)?;
    let before = info(fd)?;
    apply(Change::DontNeed, &b, None)?;
    swept(fd, &before, 1)?;
    // SAFETY: the buffer's own bytes, no transfer in flight.
    let zero = unsafe { std::slice::from_raw_parts(b.ptr, b.len) }
        .iter()
        .all(|&x| x == 0);
    ensure(zero, || "MADV_DONTNEED left data behind".into())?;
    receive_and_check(fd, &b, VE_A, 13, 0)?;
    set(&b, 14);
    send_and_check(fd, &b, VE_B, 0)?;
    counted(fd, &before, 0, 2, 1)
}

/// fork: the child writes its copy of the buffer and exits; the parent's cached transfers move
/// the parent's bytes, both ways.
fn fork_and_child_writes(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    let b = Buffer::new(Backing::Anon4k, 2 * MIB)?;
    set(&b, 15);
    send_and_check(fd, &b, VE_A, 0)?;
    receive_and_check(fd, &b, VE_B, 16, 0)?;
    apply(Change::Fork, &b, None)?;
    set(&b, 17);
    send_and_check(fd, &b, VE_A, 0)?;
    receive_and_check(fd, &b, VE_B, 18, 0)
}

/// Compaction: pinned pages stay where they are; the next transfers move the buffer's bytes.
fn compaction(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    let b = Buffer::new(Backing::Anon4k, 4 * MIB)?;
    set(&b, 19);
    send_and_check(fd, &b, VE_A, 0)?;
    apply(Change::Compact, &b, None)?;
    set(&b, 20);
    send_and_check(fd, &b, VE_A, 0)?;
    receive_and_check(fd, &b, VE_B, 21, 0)
}

/// `MADV_COLLAPSE` of a cached 4 KiB range (refused or done, as the kernel decides for pinned
/// pages): the next transfers move the buffer's bytes.
fn collapse(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    let b = Buffer::new(Backing::Anon4k, 2 * MIB)?;
    set(&b, 22);
    send_and_check(fd, &b, VE_A, 0)?;
    let (_, collapsed) = apply(Change::Collapse, &b, None)?;
    let why = if collapsed { "collapsed" } else { "refused" };
    ve_guest::ksft::diag(&format!("MADV_COLLAPSE of the cached range: {why}"));
    set(&b, 23);
    send_and_check(fd, &b, VE_A, 0)?;
    receive_and_check(fd, &b, VE_B, 24, 0)
}

/// A change the core mm makes to a cached buffer.
#[derive(Copy, Clone, Debug)]
enum Change {
    /// munmap, then fresh memory at the address.
    Remap,
    /// mremap to another address, fresh memory at the old one.
    Mremap,
    /// `MADV_DONTNEED`.
    DontNeed,
    /// fork, the child writes its copy and exits.
    Fork,
    /// `compact_memory`.
    Compact,
    /// `MADV_COLLAPSE`.
    Collapse,
}

/// Makes `change` to `b` (`dest`: where mremap moves it). Returns whether the entry must go, and
/// for a collapse whether it was done.
fn apply(change: Change, b: &Buffer, dest: Option<&Mapping>) -> Result<(bool, bool), String> {
    let advise = |advice| {
        // SAFETY: advice on the buffer's own range.
        match unsafe { libc::madvise(b.ptr.cast(), b.len, advice) } {
            0 => Ok(()),
            _ => Err(sys::errno()),
        }
    };
    match change {
        Change::Remap => b.remap_fresh().map(|()| (true, false)),
        Change::Mremap => b
            .move_to(dest.ok_or("mremap needs a destination")?)
            .map(|()| (true, false)),
        Change::DontNeed => advise(libc::MADV_DONTNEED)
            .map(|()| (true, false))
            .map_err(|e| format!("madvise: {}", errname(e))),
        Change::Fork => {
            let (ptr, len) = (b.ptr as usize, b.len);
            let code = sys::in_child(|| {
                // SAFETY: the child's own copy of the buffer.
                unsafe { fill(ptr as *mut u8, len, 0xc41d) };
                0
            })
            .map_err(errname)?;
            ensure_eq("child", code, 0).map(|()| (false, false))
        }
        Change::Compact => std::fs::write("/proc/sys/vm/compact_memory", "1")
            .map(|()| (false, false))
            .map_err(|e| format!("compact_memory: {e}")),
        Change::Collapse => {
            let _ = advise(libc::MADV_HUGEPAGE);
            Ok((false, advise(25 /* MADV_COLLAPSE */).is_ok()))
        }
    }
}

/// `change` while a VE -> VH request uses the buffer's entry, the engine stalled: the request's
/// pages stay pinned until it completes, and its bytes land in the pages it was given: the
/// process's pages still (fork, compaction, a refused collapse), the moved pages (mremap), or
/// none of the process's (munmap, `MADV_DONTNEED`: the fresh pages are untouched). Afterwards
/// transfers move the buffer's bytes as they are, and a dropped entry's pages are unpinned.
fn while_in_use(fx: &mut Fx, change: Change) -> R {
    let fd = &fx.fd;
    let len = 4 * MIB;
    let b = Buffer::new(Backing::Anon4k, len)?;
    // The write entry, and VE_A holding pattern 26.
    receive_and_check(fd, &b, VE_A, 26, 0)?;
    set(&b, 99);
    let dest = Mapping::anon_rw(len)?;
    let before = info(fd)?;
    let held = pins_held();
    let stall = fx.c.stall(fd);
    let id = submit(fd, false, b.addr(), VE_A, len as u64);
    let changed = apply(change, &b, Some(&dest));
    let pins_during = pins_held();
    stall.release()?;
    let id = id.map_err(errname)?;
    let (must_go, collapsed) = changed?;
    let w = wait(fd, id, 10_000).map_err(errname)?;
    ensure_eq("status", w.status, 0)?;
    ensure_eq("bytes", w.bytes_done, len as u64)?;
    ensure_eq("pins while the request ran", pins_during, held)?;
    let want = Buffer::new(Backing::Anon4k, len)?;
    set(&want, 26);
    // Where the request's bytes must be: in the pages it was given, wherever those are now.
    let landed = match change {
        Change::Remap | Change::DontNeed => Some(None),
        Change::Mremap => Some(Some(dest.ptr())),
        Change::Collapse if collapsed => {
            // Not with a page pinned, as far as 7.3 goes; were it, the bytes went to the old
            // pages, which the buffer no longer maps.
            ve_guest::ksft::diag("MADV_COLLAPSE of a pinned range done");
            None
        }
        Change::Fork | Change::Compact | Change::Collapse => Some(Some(b.ptr)),
    };
    match landed {
        // SAFETY: `len` bytes of our own mappings, no transfer in flight.
        Some(Some(p)) => unsafe { same(want.ptr, p, len) }?,
        Some(None) => {
            // SAFETY: the buffer's own bytes, no transfer in flight.
            let now = unsafe { std::slice::from_raw_parts(b.ptr, len) };
            // Fresh pages: zero, or 1 at each page's start (`Buffer::remap_fresh`).
            ensure(now.iter().step_by(4096).all(|&x| x <= 1), || {
                format!("{change:?}: the request's bytes reached the fresh pages")
            })?;
        }
        None => {}
    }
    if must_go {
        swept(fd, &before, 1)?;
    }
    settled(fd)?;
    counted(fd, &before, 1, 0, 0)?;
    if must_go {
        ensure_eq("pins after", pins_held(), held - (len / 4096) as i64)?;
    }
    set(&b, 27);
    send_and_check(fd, &b, VE_B, 0)?;
    receive_and_check(fd, &b, VE_A, 28, 0)
}

/// The cap: entries beyond 16 MiB evict the least recently used; a buffer longer than the cap
/// is not cached (bypass), and nothing of it stays pinned.
fn cap_and_eviction(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    let bufs = [
        Buffer::new(Backing::Anon4k, 6 * MIB)?,
        Buffer::new(Backing::Anon4k, 6 * MIB)?,
        Buffer::new(Backing::Anon4k, 6 * MIB)?,
    ];
    let before = info(fd)?;
    for (i, b) in bufs.iter().enumerate() {
        set(b, 30 + i as u64);
        send_and_check(fd, b, VE_A, 0)?;
    }
    let i = info(fd)?;
    ensure_eq("evictions", i.evictions - before.evictions, 1)?;
    ensure_eq("entries", i.entries, 2)?;
    ensure(i.bytes <= CAP, || {
        format!("{} bytes held over the cap", i.bytes)
    })?;
    // The first was evicted: it misses again.
    send_and_check(fd, &bufs[0], VE_A, 0)?;
    counted(fd, &before, 0, 4, 0)?;
    let big = Buffer::new(Backing::Anon4k, 20 * MIB)?;
    let held = pins_held();
    set(&big, 33);
    let x = xfer(fd, true, big.addr(), VE_B, big.len as u64).map_err(|(e, _)| errname(e))?;
    ensure_eq("bytes", x.bytes_done, big.len as u64)?;
    ensure_eq("pins held after the long transfer", pins_held() - held, 0)?;
    ensure_eq("bypasses", info(fd)?.bypasses - before.bypasses, 1)
}

/// RLIMIT_MEMLOCK: in a child without CAP_IPC_LOCK and 3 MiB of it, a 1 MiB buffer is cached
/// (charged to VmPin while it is), a 2.5 MiB one evicts it to fit, and the first evicts that
/// one in turn. (No read-back here: it would pin more than the limit.)
fn memlock_limit(_fx: &mut Fx) -> R {
    let code = sys::in_child_with_memlock(3 * MIB as u64, || {
        let run = || -> R {
            let (fd, _c) = open_card()?;
            let a = Buffer::new(Backing::Anon4k, MIB)?;
            let b = Buffer::new(Backing::Anon4k, 5 * MIB / 2)?;
            let before = info(&fd)?;
            let send = |buf: &Buffer| -> R {
                let x = xfer(&fd, true, buf.addr(), VE_A, buf.len as u64)
                    .map_err(|(e, _)| errname(e))?;
                ensure_eq("bytes", x.bytes_done, buf.len as u64)
            };
            send(&a)?;
            ensure_eq(
                "VmPin kB with the first cached",
                sys::vm_pin_kb("self")?,
                1024,
            )?;
            send(&b)?;
            ensure_eq(
                "VmPin kB with the second cached",
                sys::vm_pin_kb("self")?,
                2560,
            )?;
            send(&a)?;
            ensure_eq(
                "VmPin kB with the first again",
                sys::vm_pin_kb("self")?,
                1024,
            )?;
            let i = info(&fd)?;
            ensure_eq("misses", i.misses - before.misses, 3)?;
            ensure_eq("evictions", i.evictions - before.evictions, 2)?;
            // A hit charges nothing more.
            send(&a)?;
            ensure_eq("VmPin kB after a hit", sys::vm_pin_kb("self")?, 1024)?;
            ensure_eq("hits", info(&fd)?.hits - before.hits, 1)
        };
        match run() {
            Ok(()) => 0,
            Err(e) => {
                ve_guest::ksft::diag(&e);
                10
            }
        }
    })
    .map_err(errname)?;
    ensure_eq("child", code, 0)
}

/// Closing the file drops its entries: nothing stays pinned. (Another thread: NEC's open allows
/// one file per thread.)
fn close_drops(_fx: &mut Fx) -> R {
    let held = pins_held();
    std::thread::spawn(move || -> R {
        let (fd, _c) = open_card()?;
        let b = Buffer::new(Backing::Anon4k, 2 * MIB)?;
        set(&b, 50);
        send_and_check(&fd, &b, VE_A, 0)?;
        ensure(pins_held() > held, || "nothing cached".into())
    })
    .join()
    .map_err(|_| "the thread panicked".to_string())??;
    ensure_eq("pins held after close", pins_held() - held, 0)
}

/// A process the cache holds pages of exits (VEOS's case: transfers for another pid): the
/// notifier sees the address space go, the entry is swept, its pages unpinned.
fn other_process_exits(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    let held = pins_held();
    let before = info(fd)?;
    let b = Buffer::new(Backing::Anon4k, 2 * MIB)?;
    set(&b, 60);
    let (addr, len) = (b.addr(), b.len);
    // `go`: parent -> child (exit now); `ready`: child -> parent (its copy is written).
    let (mut go, mut ready) = ([0i32; 2], [0i32; 2]);
    // SAFETY: plain syscalls into local arrays.
    if unsafe { libc::pipe(go.as_mut_ptr()) != 0 || libc::pipe(ready.as_mut_ptr()) != 0 } {
        return Err(format!("pipe: {}", errname(sys::errno())));
    }
    // SAFETY: the child only writes its copy of the buffer, talks through the pipes and exits.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(format!("fork: {}", errname(sys::errno())));
    }
    if pid == 0 {
        let mut x = 0u8;
        // SAFETY: the child's own copy of the buffer and its pipe ends; it leaves without
        // destructors. Writing the copy makes its pages the child's own, so that pinning them
        // changes nothing in its page tables (a copy-on-write break would invalidate the range
        // while it is pinned, and the entry would rightly not be kept).
        unsafe {
            libc::close(go[1]);
            libc::close(ready[0]);
            fill(addr as *mut u8, len, 60);
            libc::write(ready[1], std::ptr::from_ref(&x).cast(), 1);
            libc::read(go[0], std::ptr::from_mut(&mut x).cast(), 1);
            libc::_exit(0);
        }
    }
    let mut x = 0u8;
    // SAFETY: the child's ends closed here; then waits for its byte on our end of `ready`.
    unsafe {
        libc::close(go[0]);
        libc::close(ready[1]);
        libc::read(ready[0], std::ptr::from_mut(&mut x).cast(), 1)
    };
    let mut a = uapi::VeDmaXfer {
        vh_addr: addr,
        ve_addr: VE_A,
        len: len as u64,
        pid,
        flags: uapi::VE_DMA_VH_TO_VE,
        ..Default::default()
    };
    let r = sys::ioctl(fd, uapi::VE_DMA_IOC_XFER, &mut a);
    let cached = pins_held() - held;
    // SAFETY: closing the pipes lets the child exit; then it is reaped.
    unsafe {
        libc::close(go[1]);
        libc::close(ready[0]);
        libc::waitpid(pid, std::ptr::null_mut(), 0);
    }
    r.map_err(|e| format!("XFER for pid {pid}: {}", errname(e)))?;
    ensure_eq("pins cached", cached, (len / 4096) as i64)?;
    swept(fd, &before, 1)?;
    settled(fd)?;
    ensure_eq("pins after the exit", pins_held() - held, 0)?;
    // The child's copy held the same bytes.
    let back = Buffer::new(Backing::Anon4k, len)?;
    xfer_with(
        fd,
        false,
        back.addr(),
        VE_A,
        len as u64,
        uapi::VE_DMA_NO_CACHE,
    )
    .map_err(|(e, _)| errname(e))?;
    // SAFETY: both buffers' own bytes, no transfer in flight.
    unsafe { same(b.ptr, back.ptr, len) }
}

/// Memory pressure (`drop_caches` runs every shrinker): the cache gives its entries back, counted
/// as evictions, their pages unpinned once the sweep has run; the next transfer misses.
fn shrinker_gives_back(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    let held = pins_held();
    let a = Buffer::new(Backing::Anon4k, 2 * MIB)?;
    let b =
        Buffer::new(Backing::Hugetlb2m, 2 * MIB).or_else(|_| Buffer::new(Backing::Thp, 2 * MIB))?;
    set(&a, 70);
    set(&b, 71);
    send_and_check(fd, &a, VE_A, 0)?;
    receive_and_check(fd, &b, VE_B, 72, 0)?;
    let before = info(fd)?;
    ensure_eq("entries", before.entries, 2)?;
    std::fs::write("/proc/sys/vm/drop_caches", "2").map_err(|e| format!("drop_caches: {e}"))?;
    let mut now = before;
    let gone = sys::wait_for(2000, || {
        now = info(fd).unwrap_or(now);
        now.entries == 0
    });
    ensure(gone, || {
        format!("{} entries left after drop_caches", now.entries)
    })?;
    ensure_eq("evictions", now.evictions - before.evictions, 2)?;
    ensure_eq("bytes held", now.bytes, 0)?;
    settled(fd)?;
    ensure_eq("pins held", pins_held() - held, 0)?;
    set(&a, 73);
    send_and_check(fd, &a, VE_A, 0)?;
    counted(fd, &before, 0, 1, 0)
}

/// Unknown flags and nonzero output fields are refused.
fn bad_arguments(fx: &mut Fx) -> R {
    let fd = &fx.fd;
    for a in [
        VeDmaCache {
            flags: 2,
            ..Default::default()
        },
        VeDmaCache {
            hits: 1,
            ..Default::default()
        },
        VeDmaCache {
            reserved: [0, 1],
            ..Default::default()
        },
    ] {
        let mut a = a;
        ve_guest::ksft::ensure_errno(
            "VE_DMA_IOC_CACHE",
            sys::ioctl(fd, uapi::VE_DMA_IOC_CACHE, &mut a),
            libc::EINVAL,
        )?;
    }
    let mut a = uapi::VeDmaXfer {
        vh_addr: 0,
        len: 8,
        flags: uapi::VE_DMA_VH_TO_VE | 256,
        ..Default::default()
    };
    ve_guest::ksft::ensure_errno(
        "XFER with an unknown flag",
        sys::ioctl(fd, uapi::VE_DMA_IOC_XFER, &mut a),
        libc::EINVAL,
    )
}

fn main() {
    let suite = Suite::new("ve_dma_cache_test")
        .per_backing(
            &[Backing::Anon4k, Backing::Thp, Backing::Hugetlb2m],
            vec![Variant::new(
                "a second transfer of the same bytes pins nothing and moves them, both ways, {backing}",
                hit_after_miss,
            )
            .balanced()],
        )
        .balanced("VE_DMA_NO_CACHE neither looks up nor keeps", no_cache_flag)
        .balanced("munmap and fresh memory at the address: invalidated, the new bytes move", munmap_and_remap)
        .balanced("mremap away and fresh memory at the address: each address moves its own bytes", mremap_away)
        .balanced("MADV_DONTNEED: invalidated, the zeroed pages and then new bytes move", madv_dontneed)
        .balanced("fork, the child writes its copy: the parent's bytes move, both ways", fork_and_child_writes)
        .balanced("compaction: the buffer's bytes move, both ways", compaction)
        .balanced("MADV_COLLAPSE of a cached range: the buffer's bytes move, both ways", collapse)
        .balanced("munmap while a request uses the entry: pinned until it completes, the fresh pages untouched", |fx| while_in_use(fx, Change::Remap))
        .balanced("mremap while a request uses the entry: its bytes land in the moved pages", |fx| while_in_use(fx, Change::Mremap))
        .balanced("MADV_DONTNEED while a request uses the entry: pinned until it completes, the fresh pages untouched", |fx| while_in_use(fx, Change::DontNeed))
        .balanced("fork and child writes while a request uses the entry: its bytes land in the parent's pages", |fx| while_in_use(fx, Change::Fork))
        .balanced("compaction while a request uses the entry: its bytes land in the buffer", |fx| while_in_use(fx, Change::Compact))
        .balanced("MADV_COLLAPSE while a request uses the entry: its bytes land in the buffer", |fx| while_in_use(fx, Change::Collapse))
        .balanced("the cap: least recently used evicted, a longer buffer not cached", cap_and_eviction)
        .balanced("RLIMIT_MEMLOCK: entries charged while cached, evicted to fit", memlock_limit)
        .balanced("close drops the file's entries", close_drops)
        .balanced("the exit of a process served for its pid drops its entry", other_process_exits)
        .balanced("memory pressure: the shrinker gives the entries back", shrinker_gives_back)
        .balanced("bad arguments: EINVAL", bad_arguments);
    std::process::exit(suite.run(|| {
        let (fd, c) =
            open_card().map_err(Bail::as_("open /dev/ve0 and map the emulator's controls"))?;
        Ok(Fx { fd, c })
    }));
}
