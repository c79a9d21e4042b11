// SPDX-License-Identifier: GPL-2.0

//! NEC's translation and pinning ioctls, as libved calls them.

use std::os::fd::OwnedFd;

use crate::{
    sys,
    uapi::{
        self,
        VeVp,
        VeVpBlk,
        VeVpBlkRelease,
        VeVpRelease,
        Vp,
        VpBlk, //
    },
};

/// The answer of a block call.
#[derive(Clone, Debug, Default)]
pub struct BlkOut {
    pub length: u64,
    pub pgsz: u64,
    pub paddr: Vec<u64>,
}

/// `VEDRV_CMD_VHVA_TO_VSAA_BLK[_PIN_DOWN]` with room for `maxpages` entries.
#[expect(
    clippy::too_many_arguments,
    reason = "one argument per field of NEC's ioctl argument, as its callers read"
)]
pub fn blk(
    fd: &OwnedFd,
    pin: bool,
    list: u32,
    pid: i32,
    write: bool,
    vaddr: u64,
    length: u64,
    maxpages: u32,
) -> Result<BlkOut, i32> {
    let mut paddr = vec![0u64; maxpages.max(1) as usize];
    let mut a = VeVpBlk {
        list,
        vp_info: VpBlk {
            pid,
            write: i32::from(write),
            vaddr,
            length,
            paddr: paddr.as_mut_ptr() as u64,
            maxpages,
            pfnmap: -1,
            pgsz: -1,
            ..Default::default()
        },
        ..Default::default()
    };
    let cmd = if pin {
        uapi::VEDRV_CMD_VHVA_TO_VSAA_BLK_PIN_DOWN
    } else {
        uapi::VEDRV_CMD_VHVA_TO_VSAA_BLK
    };
    sys::ioctl(fd, cmd, &mut a)?;
    paddr.truncate(a.vp_info.npages as usize);
    Ok(BlkOut {
        length: a.vp_info.length,
        pgsz: a.vp_info.pgsz as u64,
        paddr,
    })
}

/// A block call with a caller-built argument (for bad-input tests).
pub fn blk_raw(fd: &OwnedFd, pin: bool, a: &mut VeVpBlk) -> Result<i32, i32> {
    let cmd = if pin {
        uapi::VEDRV_CMD_VHVA_TO_VSAA_BLK_PIN_DOWN
    } else {
        uapi::VEDRV_CMD_VHVA_TO_VSAA_BLK
    };
    sys::ioctl(fd, cmd, a)
}

/// `VEDRV_CMD_VHVA_TO_VSAA[_PIN_DOWN]`: returns `phys`.
pub fn page(
    fd: &OwnedFd,
    pin: bool,
    list: u32,
    pid: i32,
    write: bool,
    virt: u64,
) -> Result<u64, i32> {
    let mut a = VeVp {
        list,
        vp_info: Vp {
            pid,
            write: i32::from(write),
            virt,
            pfnmap: -1,
            ..Default::default()
        },
        ..Default::default()
    };
    let cmd = if pin {
        uapi::VEDRV_CMD_VHVA_TO_VSAA_PIN_DOWN
    } else {
        uapi::VEDRV_CMD_VHVA_TO_VSAA
    };
    sys::ioctl(fd, cmd, &mut a)?;
    Ok(a.vp_info.phys)
}

/// `VEDRV_CMD_RELEASE_PD_PAGE`.
pub fn release_page(fd: &OwnedFd, list: u32, addr: u64) -> Result<(), i32> {
    let mut a = VeVpRelease {
        list,
        addr,
        ..Default::default()
    };
    sys::ioctl(fd, uapi::VEDRV_CMD_RELEASE_PD_PAGE, &mut a).map(|_| ())
}

/// `VEDRV_CMD_RELEASE_PD_PAGE_BLK` with `npages` given explicitly.
pub fn release_blk_n(fd: &OwnedFd, list: u32, npages: i32, addrs: &[u64]) -> Result<(), i32> {
    let mut a = VeVpBlkRelease {
        list,
        npages,
        addr: addrs.as_ptr() as u64,
    };
    sys::ioctl(fd, uapi::VEDRV_CMD_RELEASE_PD_PAGE_BLK, &mut a).map(|_| ())
}

/// `VEDRV_CMD_RELEASE_PD_PAGE_BLK`.
pub fn release_blk(fd: &OwnedFd, list: u32, addrs: &[u64]) -> Result<(), i32> {
    release_blk_n(fd, list, addrs.len() as i32, addrs)
}

/// `VEDRV_CMD_RELEASE_PD_PAGE_ALL`.
pub fn release_all(fd: &OwnedFd, list: u32) -> Result<(), i32> {
    let mut a = VeVpRelease {
        list,
        ..Default::default()
    };
    sys::ioctl(fd, uapi::VEDRV_CMD_RELEASE_PD_PAGE_ALL, &mut a).map(|_| ())
}

/// `VEDRV_CMD_COUNT_PD_PAGE_ALL`: entries held.
pub fn count(fd: &OwnedFd, list: u32) -> Result<i32, i32> {
    let mut a = VeVpRelease {
        list,
        ..Default::default()
    };
    sys::ioctl(fd, uapi::VEDRV_CMD_COUNT_PD_PAGE_ALL, &mut a)
}

/// Pages currently pinned system-wide: `nr_foll_pin_acquired - nr_foll_pin_released`. Panics
/// (failing the test program) if the kernel's pin counters cannot be read: every "nothing left
/// pinned" check would otherwise pass without looking.
pub fn pins_held() -> i64 {
    let (a, r) = sys::pin_counters()
        .expect("nr_foll_pin_acquired/nr_foll_pin_released unreadable in /proc/vmstat");
    a as i64 - r as i64
}
