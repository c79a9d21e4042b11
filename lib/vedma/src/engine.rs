// SPDX-License-Identifier: GPL-2.0

//! One `ve_dma_hdl`: VEOS's file of the card, the library's requests, and a completion thread.
//!
//! A post turns into one or more kernel requests (`VE_DMA_IOC_SUBMIT`), submitted by the posting
//! thread itself; at most `VE_DMA_MAX_REQUESTS` of the file are out at once (a post waits for a
//! free slot rather than fail). A thread in `ve_dma_wait`/`ve_dma_timedwait` collects its own
//! request's kernel requests with `VE_DMA_IOC_WAIT` on their ids (no thread hop on the synchronous
//! path). One completion thread collects, with `VE_DMA_IOC_WAIT` on any id of the file, the kernel
//! requests nobody waits for (or all of them while a post waits for a slot), so that slots free
//! up and requests end whether or not anybody waits; it leaves a request posted through the
//! synchronous API (`VE_DMA_OPT_SYNC_API`) to its poster for [`SYNC_GRACE_MS`]. Whoever collects
//! adds the status to the post's outcome and, when the post's last kernel request is collected,
//! releases the VE page references and the ipc_sync count the post held, then wakes the waiters.
//! The completion thread also polls the pseudo processes' sockets and cancels the requests of
//! those that hung up. Two collectors racing for one id is harmless: the loser sees `ENOENT` and
//! waits for the winner's record.

use std::{
    collections::HashMap,
    sync::{Arc, Condvar, Mutex, MutexGuard},
    thread::JoinHandle,
    time::{Duration, Instant},
};

use libc::c_int;

use crate::{
    ffi::{self, VeIpcSync},
    plan::{self, Outcome, Plan, Status, VeSide, VhSide},
    uapi::{
        VeDmaCancel, VeDmaSubmit, VeDmaWait, VE_DMA_IOC_CANCEL, VE_DMA_IOC_SUBMIT, VE_DMA_IOC_WAIT,
        VE_DMA_MAX_EXTENTS, VE_DMA_MAX_REQUESTS,
    },
};

/// The completion thread's longest wait in the kernel: how late a hung-up socket is noticed.
const REAP_SLICE_MS: u32 = 50;
/// How long the completion thread leaves a synchronous-API request to its poster's wait.
pub const SYNC_GRACE_MS: u64 = 20;
/// A waiter's longest wait in the kernel at once.
const WAIT_SLICE_MS: u32 = 1000;
/// Test hook: extents per kernel request (1..=`VE_DMA_MAX_EXTENTS`) from this environment
/// variable at open, so that the guest test splits VEMVA lists without gigabytes of VE pages.
pub const MAX_EXTENTS_ENV: &str = "VEDMA_TEST_MAX_EXTENTS";
/// Bounce buffer of a VHVA -> VHVA copy.
const BOUNCE: usize = 1 << 20;

fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

fn ioctl<T>(fd: c_int, req: u32, arg: &mut T) -> Result<(), i32> {
    // SAFETY: `arg` is the argument structure of `req` (the uapi's layouts), valid for the call.
    let r = unsafe { libc::ioctl(fd, libc::c_ulong::from(req), core::ptr::from_mut(arg)) };
    if r < 0 {
        Err(errno())
    } else {
        Ok(())
    }
}

/// VEOS's ipc_sync pointer, kept with a request until it ends.
#[derive(Copy, Clone)]
struct Ipc(*mut VeIpcSync);

// SAFETY: VEOS shares a `struct ve_ipc_sync` among its threads (it holds pthread objects); the
// library only uses it through `ffi::ipc_leave` once, from whichever thread ends the request.
unsafe impl Send for Ipc {}

/// One post.
struct Req {
    /// The posting thread is still submitting its kernel requests.
    posting: bool,
    /// Kernel request ids submitted and not yet collected.
    live: Vec<u64>,
    outcome: Outcome,
    /// Cancellation asked for (terminate_all, a hung-up socket, a free while running).
    cancel: bool,
    /// The VE page references and ipc_sync count are being released.
    finishing: bool,
    /// Finished: `outcome` is final.
    done: bool,
    /// `ve_dma_req_free` came first: forget it when it is done.
    freed: bool,
    /// The pseudo process's socket, or -1.
    sock: c_int,
    /// VE pages referenced through `veos_virt_to_phy`, released when the request ends.
    refs: Vec<u64>,
    ipc: Option<Ipc>,
    /// Threads in `wait_for` on it: they collect its kernel requests themselves.
    waiters: u32,
    /// Posted through the synchronous API: its poster waits at once.
    sync_api: bool,
    /// When the post registered it.
    since: Instant,
}

#[derive(Default)]
struct State {
    closing: bool,
    /// Kernel requests submitted (or being submitted) and not collected.
    slots: u32,
    /// Kernel requests registered in `ids`: the completion thread waits in the kernel only then.
    in_kernel: u32,
    next: u64,
    reqs: HashMap<u64, Req>,
    /// Kernel id -> post.
    ids: HashMap<u64, u64>,
    /// Kernel requests collected before their poster registered them: id -> status.
    early: HashMap<u64, i32>,
    /// Posts waiting for a free slot: the completion thread then collects everything.
    slot_waiters: u32,
}

impl State {
    /// Whether the completion thread has kernel requests to collect.
    fn reapable(&self) -> bool {
        let grace = Duration::from_millis(SYNC_GRACE_MS);
        self.in_kernel > 0
            && (self.slot_waiters > 0
                || self.reqs.values().any(|r| {
                    !r.live.is_empty()
                        && r.waiters == 0
                        && !(r.sync_api && r.since.elapsed() < grace)
                }))
    }

    /// Whether a running post has a socket to watch.
    fn watching(&self) -> bool {
        self.reqs
            .values()
            .any(|r| !r.done && !r.cancel && r.sock >= 0)
    }
}

/// VEOS's `ve_dma_hdl`.
pub struct Engine {
    fd: c_int,
    /// Extents per kernel request: `VE_DMA_MAX_EXTENTS` unless [`MAX_EXTENTS_ENV`] says less.
    max_extents: usize,
    st: Mutex<State>,
    /// Posts ended, slots freed, records made.
    cv: Condvar,
    /// Work for the completion thread (kept apart so that the synchronous path does not wake it).
    rcv: Condvar,
    reaper: Mutex<Option<JoinHandle<()>>>,
}

/// The arguments of a post.
pub struct Post {
    pub srctype: u32,
    pub srcpid: i32,
    pub src: u64,
    pub dsttype: u32,
    pub dstpid: i32,
    pub dst: u64,
    pub len: u64,
    pub opt: u64,
    pub sock: c_int,
    pub ipc: *mut VeIpcSync,
}

/// One kernel request of a post, before submission.
struct Part {
    sub: VeDmaSubmit,
    /// Extents of the list (first, count), with `VE_DMA_VE_LIST`.
    list: Option<(usize, usize)>,
}

impl Engine {
    /// A handle on VEOS's open file `fd` of the card: checks that the kernel manager answers
    /// (`ENOENT` for an unknown id), starts the completion thread.
    pub fn open(fd: c_int) -> Result<Arc<Self>, i32> {
        let mut w = VeDmaWait {
            id: u64::MAX,
            ..Default::default()
        };
        match ioctl(fd, VE_DMA_IOC_WAIT, &mut w) {
            Err(libc::ENOENT) => {}
            Err(e) => return Err(e),
            Ok(()) => return Err(libc::EBUSY),
        }
        let max_extents = std::env::var(MAX_EXTENTS_ENV)
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .map_or(VE_DMA_MAX_EXTENTS as usize, |n| {
                n.clamp(1, VE_DMA_MAX_EXTENTS as usize)
            });
        let eng = Arc::new(Self {
            fd,
            max_extents,
            st: Mutex::new(State::default()),
            cv: Condvar::new(),
            rcv: Condvar::new(),
            reaper: Mutex::new(None),
        });
        let e2 = Arc::clone(&eng);
        let h = std::thread::Builder::new()
            .name("ve_dma_reaper".into())
            .spawn(move || e2.reap())
            .map_err(|_| libc::EAGAIN)?;
        *eng.reaper.lock().unwrap_or_else(|p| p.into_inner()) = Some(h);
        Ok(eng)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.st.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wait<'a>(&self, g: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        self.cv.wait(g).unwrap_or_else(|p| p.into_inner())
    }

    /// `ve_dma_close_p`: `EBUSY` while requests are in flight or a close is under way.
    pub fn close(&self) -> Result<(), i32> {
        {
            let mut st = self.lock();
            if st.closing || Self::busy(&st) {
                return Err(libc::EBUSY);
            }
            st.closing = true;
            self.cv.notify_all();
            self.rcv.notify_all();
        }
        let h = self.reaper.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = h {
            let _ = h.join();
        }
        Ok(())
    }

    fn busy(st: &State) -> bool {
        st.slots > 0 || st.reqs.values().any(|r| !r.done)
    }

    /// `ve_dma_is_busy`.
    pub fn is_busy(&self) -> bool {
        Self::busy(&self.lock())
    }

    /// `ve_dma_post_p_va_with_opt`: the post's serial number, or the errno.
    pub fn post(&self, p: &Post) -> Result<u64, i32> {
        let ipc = (!p.ipc.is_null()).then_some(Ipc(p.ipc));
        let checked = plan::check_post(p.src, p.dst, p.len)
            .and_then(|()| plan::classify(p.srctype, p.srcpid, p.src, p.dsttype, p.dstpid, p.dst));
        let plan = match checked {
            Ok(plan) => plan,
            Err(e) => {
                if let Some(Ipc(s)) = ipc {
                    // SAFETY: VEOS handed this reference over with the post (`vhve.c`: "ipc_sync
                    // will be put in DMA Manager").
                    unsafe { ffi::ve_put_ipc_sync(s) };
                }
                return Err(e);
            }
        };
        if let Some(Ipc(s)) = ipc {
            // SAFETY: as above; the count is dropped by `ipc_leave` when the request ends.
            unsafe { ffi::ipc_enter(s) };
        }
        let fail = |e: i32, refs: &[u64]| {
            release(refs, ipc);
            Err(e)
        };
        let opt = plan::submit_opt(p.opt);
        let mut refs = Vec::new();
        let mut extents = Vec::new();
        let mut parts = Vec::new();
        if p.len > 0 {
            match plan {
                Plan::HostCopy {
                    src_pid,
                    src,
                    dst_pid,
                    dst,
                } => {
                    if let Err(e) = host_copy(src_pid, src, dst_pid, dst, p.len) {
                        return fail(e, &refs);
                    }
                }
                Plan::VeToVe { src, dst } => parts.push(Part {
                    sub: VeDmaSubmit {
                        ve_addr: src,
                        ve_dst_addr: dst,
                        len: p.len,
                        flags: plan::ve_ve_flags(),
                        opt,
                        ..Default::default()
                    },
                    list: None,
                }),
                Plan::VhVe { to_ve, vh, ve } => {
                    let flags = plan::vh_ve_flags(to_ve, &vh, &ve);
                    let (vh_addr, pid) = match vh {
                        VhSide::Virt { pid, addr } => (addr, pid),
                        VhSide::Bus { addr } => (addr, 0),
                    };
                    let base = VeDmaSubmit {
                        vh_addr,
                        pid,
                        flags,
                        opt,
                        ..Default::default()
                    };
                    match ve {
                        VeSide::Phys { addr } | VeSide::Regs { addr } => parts.push(Part {
                            sub: VeDmaSubmit {
                                ve_addr: addr,
                                len: p.len,
                                ..base
                            },
                            list: None,
                        }),
                        VeSide::Virt {
                            pid: vepid,
                            addr,
                            check,
                        } => {
                            // VEOS checks write protection of a VEMVA destination only.
                            let write = to_ve && check;
                            if let Err(e) = translate(vepid, addr, p.len, write, &mut refs) {
                                return fail(e, &refs);
                            }
                            extents = plan::extents(addr, p.len, &refs);
                            for c in plan::chunks(&extents, self.max_extents) {
                                parts.push(Part {
                                    sub: VeDmaSubmit {
                                        vh_addr: vh_addr + c.vh_off,
                                        len: c.len,
                                        num_extents: c.count as u32,
                                        ..base
                                    },
                                    list: Some((c.first, c.count)),
                                });
                            }
                        }
                    }
                }
            }
        }
        let serial = {
            let mut st = self.lock();
            st.next += 1;
            let serial = st.next;
            st.reqs.insert(
                serial,
                Req {
                    posting: true,
                    live: Vec::new(),
                    outcome: Outcome::default(),
                    cancel: false,
                    finishing: false,
                    done: false,
                    freed: false,
                    sock: p.sock,
                    refs,
                    ipc,
                    waiters: 0,
                    sync_api: p.opt & plan::VE_DMA_OPT_SYNC_API != 0,
                    since: Instant::now(),
                },
            );
            serial
        };
        let mut submitted = 0;
        for part in &mut parts {
            if p.sock >= 0 && hung_up(p.sock) {
                self.cancel(serial);
            }
            if let Some((first, count)) = part.list {
                part.sub.ve_addr = extents[first..first + count].as_ptr() as u64;
            }
            match self.submit(serial, part.sub) {
                Ok(true) => submitted += 1,
                Ok(false) => {
                    // Cancelled before it went out.
                    if let Some(r) = self.lock().reqs.get_mut(&serial) {
                        r.outcome.canceled = true;
                    }
                    break;
                }
                Err(e) if submitted == 0 => {
                    let req = self.lock().reqs.remove(&serial);
                    if let Some(req) = req {
                        release(&req.refs, req.ipc);
                    }
                    return Err(e);
                }
                Err(_) => {
                    if let Some(r) = self.lock().reqs.get_mut(&serial) {
                        r.outcome.failed = true;
                    }
                    self.cancel(serial);
                    break;
                }
            }
        }
        if let Some(r) = self.lock().reqs.get_mut(&serial) {
            r.posting = false;
        }
        self.finalize(serial);
        Ok(serial)
    }

    /// Submits one kernel request of post `serial` once a slot is free: `Ok(false)` if the post
    /// was cancelled first.
    fn submit(&self, serial: u64, sub: VeDmaSubmit) -> Result<bool, i32> {
        let mut st = self.lock();
        loop {
            if st.reqs.get(&serial).is_none_or(|r| r.cancel) {
                return Ok(false);
            }
            if st.slots < VE_DMA_MAX_REQUESTS {
                break;
            }
            st.slot_waiters += 1;
            self.rcv.notify_one();
            st = self.wait(st);
            st.slot_waiters -= 1;
        }
        st.slots += 1;
        drop(st);
        let mut s = sub;
        let r = loop {
            s.id = 0;
            match ioctl(self.fd, VE_DMA_IOC_SUBMIT, &mut s) {
                // Another user of the file holds slots: wait for the kernel, not fail (unless
                // the post is cancelled meanwhile).
                Err(libc::EAGAIN) | Err(libc::EINTR) => {
                    let mut st = self.lock();
                    if st.reqs.get(&serial).is_none_or(|r| r.cancel) {
                        st.slots -= 1;
                        self.cv.notify_all();
                        return Ok(false);
                    }
                    drop(st);
                    std::thread::sleep(Duration::from_millis(1));
                }
                r => break r,
            }
        };
        let mut st = self.lock();
        if let Err(e) = r {
            st.slots -= 1;
            self.cv.notify_all();
            return Err(e);
        }
        let early = st.early.remove(&s.id);
        let Some(req) = st.reqs.get_mut(&serial) else {
            return Ok(true);
        };
        if let Some(status) = early {
            req.outcome.add(status);
            return Ok(true);
        }
        req.live.push(s.id);
        let cancel = req.cancel;
        // A synchronous-API post is waited for by its poster: the completion thread looks only
        // after its grace time, on its own.
        let reaper = !req.sync_api || req.sock >= 0;
        st.ids.insert(s.id, serial);
        st.in_kernel += 1;
        if reaper {
            self.rcv.notify_one();
        }
        drop(st);
        if cancel {
            self.cancel_ids(&[s.id]);
        }
        Ok(true)
    }

    fn cancel_ids(&self, ids: &[u64]) {
        for &id in ids {
            let mut c = VeDmaCancel {
                id,
                ..Default::default()
            };
            // ENOENT: it finished and was collected meanwhile.
            let _ = ioctl(self.fd, VE_DMA_IOC_CANCEL, &mut c);
        }
    }

    /// Cancels post `serial`: what is out is stopped, nothing more is submitted.
    fn cancel(&self, serial: u64) {
        let ids = {
            let mut st = self.lock();
            let Some(r) = st.reqs.get_mut(&serial) else {
                return;
            };
            r.cancel = true;
            let ids = r.live.clone();
            self.cv.notify_all();
            self.rcv.notify_one();
            ids
        };
        self.cancel_ids(&ids);
    }

    /// Ends post `serial` if nothing of it is out any more: releases its VE pages and ipc_sync
    /// count, then marks it done and wakes the waiters.
    fn finalize(&self, serial: u64) {
        let (refs, ipc) = {
            let mut st = self.lock();
            let Some(r) = st.reqs.get_mut(&serial) else {
                return;
            };
            if r.posting || !r.live.is_empty() || r.finishing || r.done {
                return;
            }
            r.finishing = true;
            (core::mem::take(&mut r.refs), r.ipc.take())
        };
        release(&refs, ipc);
        let mut st = self.lock();
        if let Some(r) = st.reqs.get_mut(&serial) {
            r.done = true;
            if r.freed {
                st.reqs.remove(&serial);
            }
        }
        self.cv.notify_all();
    }

    /// Records the collection of kernel request `id` with `status`: the post it belongs to, to
    /// [`Engine::finalize`] after the lock is dropped.
    fn collected(&self, st: &mut State, id: u64, status: i32) -> Option<u64> {
        st.slots = st.slots.saturating_sub(1);
        let fin = match st.ids.remove(&id) {
            Some(serial) => {
                st.in_kernel -= 1;
                if let Some(r) = st.reqs.get_mut(&serial) {
                    r.live.retain(|&x| x != id);
                    r.outcome.add(status);
                }
                Some(serial)
            }
            None => {
                st.early.insert(id, status);
                None
            }
        };
        self.cv.notify_all();
        fin
    }

    /// The completion thread.
    fn reap(&self) {
        let slice = Duration::from_millis(SYNC_GRACE_MS);
        let every = Duration::from_millis(REAP_SLICE_MS.into());
        let mut last_check = Instant::now();
        loop {
            {
                let mut st = self.lock();
                loop {
                    if st.closing {
                        return;
                    }
                    if st.reapable() {
                        break;
                    }
                    let watching = st.watching();
                    if st.in_kernel == 0 && !watching {
                        st = self.rcv.wait(st).unwrap_or_else(|p| p.into_inner());
                        continue;
                    }
                    st = self
                        .rcv
                        .wait_timeout(st, slice)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                    if watching && last_check.elapsed() >= every {
                        drop(st);
                        self.check_sockets();
                        last_check = Instant::now();
                        st = self.lock();
                    }
                }
            }
            if last_check.elapsed() >= every {
                self.check_sockets();
                last_check = Instant::now();
            }
            let mut w = VeDmaWait {
                id: 0,
                timeout_ms: REAP_SLICE_MS,
                ..Default::default()
            };
            match ioctl(self.fd, VE_DMA_IOC_WAIT, &mut w) {
                Ok(()) => {
                    let fin = self.collected(&mut self.lock(), w.id, w.status);
                    if let Some(serial) = fin {
                        self.finalize(serial);
                    }
                }
                Err(libc::ETIMEDOUT) | Err(libc::EINTR) => {}
                Err(libc::ENOENT) => std::thread::sleep(Duration::from_millis(1)),
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }

    /// Cancels the running posts whose pseudo process's socket hung up.
    fn check_sockets(&self) {
        let socks: Vec<(u64, c_int)> = {
            let st = self.lock();
            st.reqs
                .iter()
                .filter(|(_, r)| !r.done && !r.cancel && r.sock >= 0)
                .map(|(&s, r)| (s, r.sock))
                .collect()
        };
        for (serial, sock) in socks {
            if hung_up(sock) {
                self.cancel(serial);
            }
        }
    }

    /// `ve_dma_test`.
    pub fn test(&self, serial: u64) -> Status {
        match self.lock().reqs.get(&serial) {
            Some(r) if r.done => r.outcome.status(),
            Some(_) => Status::NotFinished,
            None => Status::Error,
        }
    }

    /// `ve_dma_timedwait` with `deadline` (CLOCK_REALTIME), `ve_dma_wait` without. The caller
    /// collects its request's kernel requests itself.
    pub fn wait_for(&self, serial: u64, deadline: Option<(i64, i64)>) -> Status {
        let mut st = self.lock();
        loop {
            let Some(r) = st.reqs.get_mut(&serial) else {
                return Status::Error;
            };
            if r.done {
                return r.outcome.status();
            }
            let ms = match deadline {
                None => WAIT_SLICE_MS,
                Some(d) => match plan::remaining_ms(d, realtime()) {
                    Some(ms) => ms.min(WAIT_SLICE_MS),
                    None => return Status::TimedOut,
                },
            };
            let Some(&id) = r.live.first() else {
                // Still posting, or being finished: whoever does it wakes us.
                let t = Duration::from_millis(ms.into());
                st = self
                    .cv
                    .wait_timeout(st, t)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
                continue;
            };
            r.waiters += 1;
            drop(st);
            let mut w = VeDmaWait {
                id,
                timeout_ms: ms,
                ..Default::default()
            };
            let res = ioctl(self.fd, VE_DMA_IOC_WAIT, &mut w);
            st = self.lock();
            if let Some(r) = st.reqs.get_mut(&serial) {
                r.waiters -= 1;
            }
            match res {
                Ok(()) => {
                    if let Some(fin) = self.collected(&mut st, w.id, w.status) {
                        drop(st);
                        self.finalize(fin);
                        st = self.lock();
                    }
                }
                Err(libc::ETIMEDOUT) | Err(libc::EINTR) => {}
                // Another thread collected it: wait for its record.
                Err(_) => {
                    let t = Duration::from_millis(1);
                    st = self
                        .cv
                        .wait_timeout(st, t)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
            }
        }
    }

    /// `ve_dma_req_free`: forgets a finished post; one still running is cancelled and forgotten
    /// when it ends.
    pub fn free(&self, serial: u64) {
        {
            let mut st = self.lock();
            let Some(r) = st.reqs.get_mut(&serial) else {
                return;
            };
            if r.done {
                st.reqs.remove(&serial);
                return;
            }
            r.freed = true;
        }
        self.cancel(serial);
    }

    /// `ve_dma_terminate_all`: cancels every post of the handle and returns when they are over.
    pub fn terminate_all(&self) {
        let (serials, ids) = {
            let mut st = self.lock();
            let mut serials = Vec::new();
            let mut ids = Vec::new();
            for (&s, r) in st.reqs.iter_mut().filter(|(_, r)| !r.done) {
                r.cancel = true;
                serials.push(s);
                ids.extend_from_slice(&r.live);
            }
            self.cv.notify_all();
            self.rcv.notify_one();
            (serials, ids)
        };
        self.cancel_ids(&ids);
        let mut st = self.lock();
        while serials
            .iter()
            .any(|s| st.reqs.get(s).is_some_and(|r| !r.done))
        {
            st = self.wait(st);
        }
    }
}

fn realtime() -> (i64, i64) {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-parameter.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    (ts.tv_sec, ts.tv_nsec)
}

/// Whether the peer of `sock` hung up (VEOS's check: `POLLRDHUP`, `POLLHUP`, an error or a
/// closed descriptor).
fn hung_up(sock: c_int) -> bool {
    let mut p = libc::pollfd {
        fd: sock,
        events: libc::POLLRDHUP,
        revents: 0,
    };
    // SAFETY: one valid pollfd, no wait.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    n < 0
        || (n > 0
            && p.revents & (libc::POLLRDHUP | libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0)
}

/// Releases VE page references and the ipc_sync count of a request that ends.
fn release(refs: &[u64], ipc: Option<Ipc>) {
    for &page in refs {
        // SAFETY: a reference taken by `veos_virt_to_phy(.., inc_ref = true, ..)` for this page.
        unsafe { ffi::veos_put_page(page) };
    }
    if let Some(Ipc(s)) = ipc {
        // SAFETY: `ipc_enter` counted this request; VEOS handed its reference over with the post.
        unsafe { ffi::ipc_leave(s) };
    }
}

/// Translates every VE page of `[addr, addr + len)` of VE process `pid`, taking a reference on
/// each (pushed on `refs` as VE page addresses, so that they are dropped on every path).
fn translate(pid: i32, addr: u64, len: u64, write: bool, refs: &mut Vec<u64>) -> Result<(), i32> {
    for va in plan::ve_pages(addr, len) {
        let mut prot: c_int = -1;
        // SAFETY: a plain call of VEOS's translation with a valid out-parameter.
        let pa = unsafe { ffi::veos_virt_to_phy(va, pid, true, &mut prot) };
        if pa < 0 {
            return Err(i32::try_from(-pa).unwrap_or(libc::EINVAL));
        }
        refs.push(pa as u64 & !(plan::VE_PAGE_SIZE - 1));
        plan::check_prot(prot, write)?;
    }
    Ok(())
}

/// VHVA -> VHVA in user space, through a bounce buffer (either side may be another process):
/// `process_vm_readv`/`process_vm_writev`, or `/proc/<pid>/mem` on a kernel without them
/// (`CONFIG_CROSS_MEMORY_ATTACH=n`: `ENOSYS`).
fn host_copy(src_pid: i32, src: u64, dst_pid: i32, dst: u64, len: u64) -> Result<(), i32> {
    // SAFETY: getpid has no preconditions.
    let me = unsafe { libc::getpid() };
    let pid = |p: i32| if p == 0 { me } else { p };
    let mut buf = vec![0u8; BOUNCE.min(len as usize)];
    let mut off = 0u64;
    while off < len {
        let n = buf.len().min((len - off) as usize);
        remote_io(pid(src_pid), src + off, &mut buf[..n], false)?;
        remote_io(pid(dst_pid), dst + off, &mut buf[..n], true)?;
        off += n as u64;
    }
    Ok(())
}

/// Reads (`write` false) or writes all of `buf` at `addr` of process `pid`.
fn remote_io(pid: i32, addr: u64, buf: &mut [u8], write: bool) -> Result<(), i32> {
    let n = buf.len();
    let local = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: n,
    };
    let remote = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: n,
    };
    let r = if write {
        // SAFETY: `local` is our buffer of `n` bytes; the remote range is checked by the kernel.
        unsafe { libc::process_vm_writev(pid, &local, 1, &remote, 1, 0) }
    } else {
        // SAFETY: as above.
        unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) }
    };
    if r < 0 && errno() == libc::ENOSYS {
        return proc_mem_io(pid, addr, buf, write);
    }
    if r < 0 {
        return Err(errno());
    }
    if r as usize != n {
        return Err(libc::EFAULT);
    }
    Ok(())
}

fn proc_mem_io(pid: i32, addr: u64, buf: &mut [u8], write: bool) -> Result<(), i32> {
    use std::os::unix::fs::FileExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(write)
        .open(format!("/proc/{pid}/mem"))
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ENOENT) => libc::ESRCH,
            Some(e) => e,
            None => libc::EIO,
        })?;
    let r = if write {
        f.write_all_at(buf, addr)
    } else {
        f.read_exact_at(buf, addr)
    };
    // Unmapped memory reads as EIO (or a short read) there.
    r.map_err(|_| libc::EFAULT)
}
