// SPDX-License-Identifier: GPL-2.0

//! `libvedma`: VEOS 3.5's DMA manager API (`src/veos/dma/dma.h` of veos-sxarr-NEC/veos) over
//! ve_drv's in-kernel DMA manager (`VE_DMA_IOC_SUBMIT`, `_WAIT`, `_CANCEL`), so that VEOS links
//! it in place of its own `src/veos/dma` with no source change. The C header is
//! `include/veos/dma.h`; the callbacks into VEOS and libved are listed there and in [`ffi`].
//!
//! [`plan`] holds the hardware-independent logic (tested on the host), [`engine`] the handle and
//! its requests; this file is the C ABI.

#[path = "../../../src/uapi.rs"]
#[allow(dead_code)]
pub mod uapi;

pub mod compat;
pub mod engine;
pub mod ffi;
pub mod plan;

use std::sync::Arc;

use libc::{c_int, c_void, pid_t, timespec};

pub use plan::Status;

use engine::{Engine, Post};

/// VEOS's `ve_dma_hdl` (opaque to C): an `Arc<Engine>` turned into a pointer.
pub type VeDmaHdl = Engine;

/// VEOS's `ve_dma_req_hdl` (opaque to C).
pub struct VeDmaReqHdl {
    eng: Arc<Engine>,
    serial: u64,
}

fn set_errno(e: i32) {
    // SAFETY: the calling thread's errno.
    unsafe { *libc::__errno_location() = e };
}

/// A new reference on the engine behind `hdl`.
///
/// # Safety
/// `hdl` came from [`ve_dma_open_p`] and was not closed.
unsafe fn engine(hdl: *const VeDmaHdl) -> Arc<Engine> {
    // SAFETY: `hdl` is `Arc::into_raw` of a live engine (the caller's contract); the count taken
    // here is given back by the returned `Arc`.
    unsafe {
        Arc::increment_strong_count(hdl);
        Arc::from_raw(hdl)
    }
}

/// `ve_dma_open_p`: a DMA handle on the card VEOS opened with libved (its file, from
/// `vedl_get_fd`). NULL with errno on failure (`EINVAL` for NULL; the kernel's errno if its DMA
/// manager does not answer on the file, e.g. `EPERM` without `CAP_SYS_ADMIN`).
///
/// # Safety
/// `vh` is NULL or a libved handle.
#[no_mangle]
pub unsafe extern "C" fn ve_dma_open_p(vh: *mut c_void) -> *mut VeDmaHdl {
    if vh.is_null() {
        set_errno(libc::EINVAL);
        return core::ptr::null_mut();
    }
    // SAFETY: `vh` is a libved handle (the caller's contract).
    let fd = unsafe { ffi::vedl_get_fd(vh) };
    if fd < 0 {
        set_errno(libc::EBADF);
        return core::ptr::null_mut();
    }
    match Engine::open(fd) {
        Ok(e) => Arc::into_raw(e).cast_mut(),
        Err(e) => {
            set_errno(e);
            core::ptr::null_mut()
        }
    }
}

/// `ve_dma_close_p`: 0, or `-EBUSY` while requests are in flight or a close is under way.
///
/// # Safety
/// `hdl` came from [`ve_dma_open_p`] and was not closed.
#[no_mangle]
pub unsafe extern "C" fn ve_dma_close_p(hdl: *mut VeDmaHdl) -> c_int {
    if hdl.is_null() {
        return -libc::EINVAL;
    }
    // SAFETY: the caller's contract.
    let eng = unsafe { engine(hdl) };
    match eng.close() {
        Ok(()) => {
            // SAFETY: the reference `ve_dma_open_p` returned, given back once.
            drop(unsafe { Arc::from_raw(hdl.cast_const()) });
            0
        }
        Err(e) => -e,
    }
}

/// `ve_dma_post_p_va_with_opt`: starts a transfer; NULL with errno on failure.
///
/// # Safety
/// `hdl` came from [`ve_dma_open_p`]; `ipc_sync` is NULL or VEOS's `struct ve_ipc_sync` with a
/// reference the library drops when the request ends.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn ve_dma_post_p_va_with_opt(
    hdl: *mut VeDmaHdl,
    srctype: u32,
    srcpid: pid_t,
    srcaddr: u64,
    dsttype: u32,
    dstpid: pid_t,
    dstaddr: u64,
    length: u64,
    opt: u64,
    vh_sock_fd: c_int,
    ipc_sync: *mut ffi::VeIpcSync,
) -> *mut VeDmaReqHdl {
    if hdl.is_null() {
        set_errno(libc::EINVAL);
        return core::ptr::null_mut();
    }
    // SAFETY: the caller's contract.
    let eng = unsafe { engine(hdl) };
    let p = Post {
        srctype,
        srcpid,
        src: srcaddr,
        dsttype,
        dstpid,
        dst: dstaddr,
        len: length,
        opt,
        sock: vh_sock_fd,
        ipc: ipc_sync,
    };
    match eng.post(&p) {
        Ok(serial) => Box::into_raw(Box::new(VeDmaReqHdl { eng, serial })),
        Err(e) => {
            set_errno(e);
            core::ptr::null_mut()
        }
    }
}

/// `ve_dma_post_p_va`: `_with_opt` with SYNC and SYNC_API, no socket, no ipc_sync.
///
/// # Safety
/// As for [`ve_dma_post_p_va_with_opt`].
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn ve_dma_post_p_va(
    hdl: *mut VeDmaHdl,
    srctype: u32,
    srcpid: pid_t,
    srcaddr: u64,
    dsttype: u32,
    dstpid: pid_t,
    dstaddr: u64,
    length: u64,
) -> *mut VeDmaReqHdl {
    let opt = plan::VE_DMA_OPT_SYNC | plan::VE_DMA_OPT_SYNC_API;
    // SAFETY: the caller's contract.
    unsafe {
        ve_dma_post_p_va_with_opt(
            hdl,
            srctype,
            srcpid,
            srcaddr,
            dsttype,
            dstpid,
            dstaddr,
            length,
            opt,
            -1,
            core::ptr::null_mut(),
        )
    }
}

/// `ve_dma_xfer_p_va`: post, wait and free; `ERROR` if the post fails.
///
/// # Safety
/// As for [`ve_dma_post_p_va_with_opt`].
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn ve_dma_xfer_p_va(
    hdl: *mut VeDmaHdl,
    srctype: u32,
    srcpid: pid_t,
    srcaddr: u64,
    dsttype: u32,
    dstpid: pid_t,
    dstaddr: u64,
    length: u64,
) -> Status {
    // SAFETY: the caller's contract.
    let req = unsafe {
        ve_dma_post_p_va(
            hdl, srctype, srcpid, srcaddr, dsttype, dstpid, dstaddr, length,
        )
    };
    if req.is_null() {
        return Status::Error;
    }
    // SAFETY: `req` was just returned by the post.
    let s = unsafe { ve_dma_wait(req) };
    // SAFETY: as above; not used afterwards.
    unsafe { ve_dma_req_free(req) };
    s
}

/// The request behind a C handle.
///
/// # Safety
/// `req` is NULL or came from a post and was not freed.
unsafe fn request<'a>(req: *mut VeDmaReqHdl) -> Option<&'a VeDmaReqHdl> {
    // SAFETY: the caller's contract.
    unsafe { req.as_ref() }
}

/// `ve_dma_test`: the status, `NOT_FINISHED` while it runs.
///
/// # Safety
/// `req` came from a post and was not freed.
#[no_mangle]
pub unsafe extern "C" fn ve_dma_test(req: *mut VeDmaReqHdl) -> Status {
    // SAFETY: the caller's contract.
    match unsafe { request(req) } {
        Some(r) => r.eng.test(r.serial),
        None => Status::Error,
    }
}

/// `ve_dma_wait`: waits for the end; `OK`, `CANCELED` or `ERROR`.
///
/// # Safety
/// As for [`ve_dma_test`].
#[no_mangle]
pub unsafe extern "C" fn ve_dma_wait(req: *mut VeDmaReqHdl) -> Status {
    // SAFETY: the caller's contract.
    match unsafe { request(req) } {
        Some(r) => plan::wait_status(r.eng.wait_for(r.serial, None)),
        None => Status::Error,
    }
}

/// `ve_dma_timedwait`: as [`ve_dma_wait`] until the absolute CLOCK_REALTIME time `t`, then
/// `TIMEDOUT` (the request goes on).
///
/// # Safety
/// As for [`ve_dma_test`]; `t` is NULL (no deadline) or a valid timespec.
#[no_mangle]
pub unsafe extern "C" fn ve_dma_timedwait(req: *mut VeDmaReqHdl, t: *const timespec) -> Status {
    // SAFETY: the caller's contract.
    let deadline = unsafe { t.as_ref() }.map(|t| (t.tv_sec, t.tv_nsec));
    // SAFETY: the caller's contract.
    match unsafe { request(req) } {
        Some(r) => plan::wait_status(r.eng.wait_for(r.serial, deadline)),
        None => Status::Error,
    }
}

/// `ve_dma_req_free`: 0. A request still running is cancelled.
///
/// # Safety
/// As for [`ve_dma_test`]; `req` is not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn ve_dma_req_free(req: *mut VeDmaReqHdl) -> c_int {
    if req.is_null() {
        return 0;
    }
    // SAFETY: a handle `Box::into_raw` made, freed once (the caller's contract).
    let r = unsafe { Box::from_raw(req) };
    r.eng.free(r.serial);
    0
}

/// `ve_dma_terminate_all`: cancels every request of the handle; returns when they have ended.
/// The handle stays usable.
///
/// # Safety
/// As for [`ve_dma_close_p`].
#[no_mangle]
pub unsafe extern "C" fn ve_dma_terminate_all(hdl: *mut VeDmaHdl) {
    if hdl.is_null() {
        return;
    }
    // SAFETY: the caller's contract.
    unsafe { engine(hdl) }.terminate_all();
}

/// `ve_dma_is_busy`: 1 while a request of the handle is in flight, else 0.
///
/// # Safety
/// As for [`ve_dma_close_p`].
#[no_mangle]
pub unsafe extern "C" fn ve_dma_is_busy(hdl: *const VeDmaHdl) -> c_int {
    if hdl.is_null() {
        return 0;
    }
    // SAFETY: the caller's contract.
    c_int::from(unsafe { engine(hdl) }.is_busy())
}

#[cfg(test)]
mod doubles {
    //! Test doubles of the VEOS and libved symbols the library calls back, so that the unit
    //! tests link (the hardware-independent logic they test is in `plan`).
    use libc::{c_int, c_void, pid_t};

    #[no_mangle]
    extern "C" fn vedl_get_fd(_h: *const c_void) -> c_int {
        -1
    }

    #[no_mangle]
    extern "C" fn veos_virt_to_phy(_v: u64, _p: pid_t, _inc: bool, _prot: *mut c_int) -> i64 {
        -i64::from(libc::ENOSYS)
    }

    #[no_mangle]
    extern "C" fn veos_put_page(_pa: u64) -> c_int {
        0
    }

    #[no_mangle]
    extern "C" fn ve_put_ipc_sync(_s: *mut c_void) -> c_int {
        0
    }

    #[test]
    fn open_without_fd() {
        let mut h = 0u8;
        // SAFETY: the double of vedl_get_fd ignores the handle.
        let e = unsafe { super::ve_dma_open_p(core::ptr::from_mut(&mut h).cast()) };
        assert!(e.is_null());
        assert_eq!(
            std::io::Error::last_os_error().raw_os_error(),
            Some(libc::EBADF)
        );
    }
}
