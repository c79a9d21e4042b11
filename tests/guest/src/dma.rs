// SPDX-License-Identifier: GPL-2.0

//! The in-kernel DMA manager's ioctls (`VE_DMA_IOC_*`) as plain functions, and the data pattern
//! the DMA tests write and compare.

use std::os::fd::OwnedFd;

use crate::{
    emubar::EmuBar,
    sys,
    uapi::{
        self,
        VeDmaCache,
        VeDmaCancel,
        VeDmaExtent,
        VeDmaSubmit,
        VeDmaWait,
        VeDmaXfer, //
    },
};

/// Opens `/dev/ve0` and maps the emulator's controls, which the DMA tests need both of.
pub fn open_card() -> Result<(OwnedFd, EmuBar), String> {
    let fd = sys::open_rw("/dev/ve0").map_err(|e| format!("open /dev/ve0: {}", sys::errname(e)))?;
    Ok((fd, EmuBar::open()?))
}

/// The direction flag.
pub fn dir(to_ve: bool) -> u32 {
    if to_ve {
        uapi::VE_DMA_VH_TO_VE
    } else {
        uapi::VE_DMA_VE_TO_VH
    }
}

/// `VE_DMA_IOC_XFER`. On failure: the errno and what the driver reported.
pub fn xfer(
    fd: &OwnedFd,
    to_ve: bool,
    vh: u64,
    ve: u64,
    len: u64,
) -> Result<VeDmaXfer, (i32, VeDmaXfer)> {
    xfer_with(fd, to_ve, vh, ve, len, 0)
}

/// [`xfer`] with `flags` (`VE_DMA_NO_POLL`, `VE_DMA_NO_COPY`, or anything, to test refusals)
/// added to the direction.
pub fn xfer_with(
    fd: &OwnedFd,
    to_ve: bool,
    vh: u64,
    ve: u64,
    len: u64,
    flags: u32,
) -> Result<VeDmaXfer, (i32, VeDmaXfer)> {
    let mut a = VeDmaXfer {
        vh_addr: vh,
        ve_addr: ve,
        len,
        flags: dir(to_ve) | flags,
        ..Default::default()
    };
    match sys::ioctl(fd, uapi::VE_DMA_IOC_XFER, &mut a) {
        Ok(_) => Ok(a),
        Err(e) => Err((e, a)),
    }
}

/// `VE_DMA_IOC_CACHE` with `flags` (0 or `VE_DMA_CACHE_DROP`): the registration cache's
/// counters.
pub fn cache(fd: &OwnedFd, flags: u32) -> Result<VeDmaCache, String> {
    let mut a = VeDmaCache {
        flags,
        ..Default::default()
    };
    sys::ioctl(fd, uapi::VE_DMA_IOC_CACHE, &mut a)
        .map_err(|e| format!("VE_DMA_IOC_CACHE: {}", sys::errname(e)))?;
    Ok(a)
}

/// `VE_DMA_IOC_SUBMIT` of `a` as given; returns the id.
pub fn submit_raw(fd: &OwnedFd, a: &mut VeDmaSubmit) -> Result<u64, i32> {
    sys::ioctl(fd, uapi::VE_DMA_IOC_SUBMIT, a).map(|_| a.id)
}

/// `VE_DMA_IOC_SUBMIT` of one VE range.
pub fn submit(fd: &OwnedFd, to_ve: bool, vh: u64, ve: u64, len: u64) -> Result<u64, i32> {
    submit_raw(
        fd,
        &mut VeDmaSubmit {
            vh_addr: vh,
            ve_addr: ve,
            len,
            flags: dir(to_ve),
            ..Default::default()
        },
    )
}

/// `VE_DMA_IOC_SUBMIT` with a VE extent list; `len` is the sum of the extents.
pub fn submit_list(
    fd: &OwnedFd,
    to_ve: bool,
    vh: u64,
    extents: &[VeDmaExtent],
) -> Result<u64, i32> {
    submit_raw(
        fd,
        &mut VeDmaSubmit {
            vh_addr: vh,
            ve_addr: extents.as_ptr() as u64,
            len: extents.iter().map(|e| e.len).sum(),
            flags: dir(to_ve) | uapi::VE_DMA_VE_LIST,
            num_extents: extents.len() as u32,
            ..Default::default()
        },
    )
}

/// `VE_DMA_IOC_WAIT` for `id` (0: any), at most `timeout_ms`. The report, or the ioctl's errno.
pub fn wait(fd: &OwnedFd, id: u64, timeout_ms: u32) -> Result<VeDmaWait, i32> {
    let mut a = VeDmaWait {
        id,
        timeout_ms,
        ..Default::default()
    };
    sys::ioctl(fd, uapi::VE_DMA_IOC_WAIT, &mut a).map(|_| a)
}

/// [`wait`] that wants the request to have succeeded; returns bytes done.
pub fn wait_ok(fd: &OwnedFd, id: u64) -> Result<u64, String> {
    let w = wait(fd, id, 10_000).map_err(|e| format!("wait {id}: {}", sys::errname(e)))?;
    if w.status != 0 {
        return Err(format!(
            "request {id} failed: {} (exception {:#x})",
            sys::errname(-w.status),
            w.exception
        ));
    }
    Ok(w.bytes_done)
}

/// `VE_DMA_IOC_CANCEL`.
pub fn cancel(fd: &OwnedFd, id: u64) -> Result<(), i32> {
    let mut a = VeDmaCancel {
        id,
        ..Default::default()
    };
    sys::ioctl(fd, uapi::VE_DMA_IOC_CANCEL, &mut a).map(|_| ())
}

/// VH `src` -> VE `ve` -> VH `dst` by `VE_DMA_IOC_XFER`, `len` bytes of a pattern of `seed`, then
/// compared; each transfer must report all bytes done.
///
/// # Safety
///
/// `src` and `dst` must each point to `len` bytes of mapped, writable memory, `len` a multiple
/// of 8, that nothing else accesses during the call.
pub unsafe fn xfer_round_trip(
    fd: &OwnedFd,
    src: *mut u8,
    dst: *mut u8,
    len: usize,
    ve: u64,
    seed: u64,
) -> Result<(), String> {
    // SAFETY: `src` and `dst` are `len` writable bytes each, `len` a multiple of 8 (the
    // caller's contract).
    unsafe {
        fill(src, len, seed);
        fill(dst, len, !seed);
    }
    for (to_ve, vh) in [(true, src), (false, dst)] {
        let x = xfer(fd, to_ve, vh as u64, ve, len as u64).map_err(|(e, a)| {
            format!(
                "{}: {} ({a:?})",
                if to_ve { "VH->VE" } else { "VE->VH" },
                sys::errname(e)
            )
        })?;
        if x.bytes_done != len as u64 {
            return Err(format!("bytes_done {} of {len}", x.bytes_done));
        }
    }
    // SAFETY: `src` and `dst` are `len` mapped bytes each (the caller's contract).
    unsafe { same(src, dst, len) }
}

/// Fills `len` bytes (a multiple of 8) at `p` with a pattern of `seed`.
///
/// # Safety
///
/// `p` must point to `len` bytes of mapped, writable memory, `len` a multiple of 8.
pub unsafe fn fill(p: *mut u8, len: usize, seed: u64) {
    for k in (0..len).step_by(8) {
        // SAFETY: `k + 8 <= len` (`len` is a multiple of 8), within the caller's `len` bytes.
        unsafe {
            p.add(k)
                .cast::<u64>()
                .write_unaligned(seed ^ (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
        };
    }
}

/// Whether `len` bytes at `a` and `b` are equal; the first difference otherwise.
///
/// # Safety
///
/// `a` and `b` must each point to `len` bytes of mapped memory that nothing writes during the
/// call (no transfer in flight into them).
pub unsafe fn same(a: *const u8, b: *const u8, len: usize) -> Result<(), String> {
    // SAFETY: both are `len` mapped bytes, not written meanwhile (the caller's contract).
    let (x, y) = unsafe {
        (
            std::slice::from_raw_parts(a, len),
            std::slice::from_raw_parts(b, len),
        )
    };
    match x.iter().zip(y).position(|(p, q)| p != q) {
        None => Ok(()),
        Some(i) => Err(format!("data differs at byte {i} of {len}")),
    }
}
