// SPDX-License-Identifier: GPL-2.0

//! What the library calls back in VEOS and libved (the list and the reasons are in
//! `include/veos/dma.h`), and VEOS's `struct ve_ipc_sync` (`src/veos/main/veos_ipc.h`), whose
//! swap exclusion the library takes part in as VEOS's own manager does.

use core::ptr::addr_of_mut;

use libc::{c_int, c_void, pid_t, pthread_cond_t, pthread_mutex_t};

/// VEOS's `struct ve_ipc_sync`, field by field.
#[repr(C)]
pub struct VeIpcSync {
    /// Protects `ref_count` (VEOS's `ve_put_ipc_sync` takes it).
    pub ref_lock: pthread_mutex_t,
    /// References (VEOS's).
    pub ref_count: c_int,
    /// Protects `handling_request` and `swapping`.
    pub swap_exclusion_lock: pthread_mutex_t,
    /// Requests in progress for the process; swap-out waits until it is 0.
    pub handling_request: c_int,
    /// Signalled when `handling_request` becomes 0.
    pub handling_request_cond: pthread_cond_t,
    /// 1 while the process is being swapped.
    pub swapping: c_int,
    /// Signalled when `swapping` becomes 0.
    pub swapping_cond: pthread_cond_t,
}

extern "C" {
    /// libved: the file descriptor of the card VEOS opened.
    pub fn vedl_get_fd(handle: *const c_void) -> c_int;
    /// VEOS AMM: VEMAA of `vaddr` in VE process `pid`, with `inc_ref` a reference on its VE page
    /// taken; `prot` out: `PROT_READ`, `PROT_WRITE` or `PROT_NONE`. Negative errno on failure.
    pub fn veos_virt_to_phy(vaddr: u64, pid: pid_t, inc_ref: bool, prot: *mut c_int) -> i64;
    /// VEOS AMM: drops a reference on the VE page at `paddr`.
    pub fn veos_put_page(paddr: u64) -> c_int;
    /// VEOS: drops the reference on an ipc_sync that the poster handed to the DMA manager.
    pub fn ve_put_ipc_sync(sync: *mut VeIpcSync) -> c_int;
}

/// Waits while VEOS swaps the process out and counts one request in `handling_request`, as
/// VEOS's post does.
///
/// # Safety
/// `s` points to a live, initialised `struct ve_ipc_sync` the caller holds a reference on.
pub unsafe fn ipc_enter(s: *mut VeIpcSync) {
    // SAFETY: `s` is valid (the caller's contract); the fields are VEOS's initialised pthread
    // objects, used as VEOS uses them (the lock around the flag and the counter).
    unsafe {
        libc::pthread_mutex_lock(addr_of_mut!((*s).swap_exclusion_lock));
        while (*s).swapping != 0 {
            libc::pthread_cond_wait(
                addr_of_mut!((*s).swapping_cond),
                addr_of_mut!((*s).swap_exclusion_lock),
            );
        }
        (*s).handling_request += 1;
        libc::pthread_mutex_unlock(addr_of_mut!((*s).swap_exclusion_lock));
    }
}

/// Ends a request counted by [`ipc_enter`] (waking a swap-out waiting for 0) and drops the
/// poster's reference, as VEOS's manager does when a request ends.
///
/// # Safety
/// As for [`ipc_enter`], which was called for this request; `s` is not used afterwards.
pub unsafe fn ipc_leave(s: *mut VeIpcSync) {
    // SAFETY: as in `ipc_enter`; `ve_put_ipc_sync` consumes the reference the poster handed over.
    unsafe {
        libc::pthread_mutex_lock(addr_of_mut!((*s).swap_exclusion_lock));
        (*s).handling_request -= 1;
        if (*s).handling_request == 0 {
            libc::pthread_cond_signal(addr_of_mut!((*s).handling_request_cond));
        }
        libc::pthread_mutex_unlock(addr_of_mut!((*s).swap_exclusion_lock));
        ve_put_ipc_sync(s);
    }
}
