// SPDX-License-Identifier: GPL-2.0

//! A user-space privileged DMA manager, the way VEOS drives the engine with NEC's driver: the
//! system-common registers mapped from `/dev/veN` (module parameter `user_pdma=1`), descriptors
//! written there, completion by `VEDRV_CMD_WAIT_INTR`. For the tests and, later, NEC's algorithms
//! in the benchmark.

use std::os::fd::{
    AsFd,
    OwnedFd, //
};

use crate::{
    emubar::EmuBar,
    hw::{
        desc::{
            self,
            Desc, //
        },
        dmactl,
        scr,
        ve1,
        ve3,
        PdmaRegs, //
    },
    mem::Mapping,
    sys,
    uapi::{
        self,
        Timespec,
        Ve1CompatWaitIrq,
        Ve1CompatWaitIrqArg,
        Ve1WaitIrq,
        Ve3WaitIrq,
        VeWaitIrqArg, //
    },
};

/// Where NEC's driver lets VEOS map a card's system-common registers, and where the privileged
/// DMA engine is in them: VE1's or VE3's, as the emulator presents ([`ScrMap::presented`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ScrMap {
    /// File offset of the block in `/dev/veN`.
    pub offset: u64,
    /// Bytes of the block.
    pub size: usize,
    /// The privileged DMA engine's registers, relative to the block.
    pub pdma: PdmaRegs,
    /// The pages a mapping without `user_pdma=1` withholds, relative to the block.
    pub withheld: [usize; 4],
}

impl ScrMap {
    /// VE1: BAR2 at 0x1000_0000, the block at + 16 MiB, 2 MiB.
    pub const VE1: Self = Self {
        offset: ve1::MAP_REGS + ve1::SCR_OFFSET as u64,
        size: scr::SIZE,
        pdma: ve1::PDMA,
        withheld: scr::WITHHELD,
    };
    /// VE3: BAR4 at 0, the block at + 2 MiB, 1 MiB.
    pub const VE3: Self = Self {
        offset: ve3::MAP_BAR4 + ve3::SCR_OFFSET as u64,
        size: ve3::SCR_SIZE,
        pdma: ve3::PDMA,
        withheld: ve3::WITHHELD,
    };

    /// The card the emulator presents (its identification block's variant word); VE1 if the
    /// block cannot be read. Read once per process, so that a child that dropped the
    /// capabilities mapping the block needs (it is root's) still knows.
    pub fn presented() -> Self {
        static PRESENTED: std::sync::OnceLock<ScrMap> = std::sync::OnceLock::new();
        *PRESENTED.get_or_init(|| match EmuBar::open() {
            Ok(b) if b.is_ve3() => Self::VE3,
            _ => Self::VE1,
        })
    }

    /// DMACTL word 0, relative to the block.
    pub const fn ctl0(&self) -> usize {
        self.pdma.ctl
    }

    /// DMACTL word 1, relative to the block.
    pub const fn ctl1(&self) -> usize {
        self.pdma.ctl + 8
    }

    /// Word 0 of ring slot `slot`, relative to the block.
    pub const fn desc(&self, slot: usize) -> usize {
        self.pdma.desc + slot * desc::SIZE
    }
}

/// The mapped system-common registers of one card, with a duplicate of the file descriptor they
/// were mapped through (the same open file, for the kick): a value that owns what it uses, so
/// that a test fixture can hold it next to the file.
pub struct UserEngine {
    fd: OwnedFd,
    map: Mapping,
    scr: ScrMap,
}

impl UserEngine {
    /// Maps the registers of the presented card ([`ScrMap::presented`]): `Err(errno)` as mmap
    /// (or the `dup` of `fd`) reports it.
    pub fn map(fd: &OwnedFd) -> Result<Self, i32> {
        let scr = ScrMap::presented();
        let map = map_raw(fd, scr.offset, scr.size)?;
        let fd = fd
            .try_clone()
            .map_err(|e| e.raw_os_error().unwrap_or(libc::EBADF))?;
        Ok(Self { fd, map, scr })
    }

    /// Where the registers are.
    pub fn scr(&self) -> ScrMap {
        self.scr
    }

    /// The start of the mapping.
    pub fn base(&self) -> *mut u8 {
        self.map.ptr()
    }

    fn reg(&self, off: usize) -> *mut u64 {
        // SAFETY: callers pass offsets inside the mapping of the block.
        unsafe { self.map.ptr().cast::<u64>().add(off / 8) }
    }

    /// Reads a 64-bit register.
    pub fn read(&self, off: usize) -> u64 {
        // SAFETY: an aligned register inside the mapping.
        unsafe { self.reg(off).read_volatile() }
    }

    /// Writes a 64-bit register.
    pub fn write(&self, off: usize, v: u64) {
        // SAFETY: an aligned register inside the mapping.
        unsafe { self.reg(off).write_volatile(v) }
    }

    /// The engine's read pointer and exception bit.
    pub fn ctl1(&self) -> u64 {
        self.read(self.scr.ctl1())
    }

    /// Posts `d` at ring slot `slot` as VEOS does: words 1-3, then word 0.
    pub fn post(&self, slot: usize, d: &Desc) {
        let w = d.encode().expect("a valid descriptor");
        let base = self.scr.desc(slot);
        self.write(base + 8, w[1]);
        self.write(base + 16, w[2]);
        self.write(base + 24, w[3]);
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
        self.write(base, w[0]);
    }

    /// Word 0 of ring slot `slot`.
    pub fn word0(&self, slot: usize) -> u64 {
        self.read(self.scr.desc(slot))
    }

    /// Permits the engine and kicks it (the kick is the emulator's doorbell; on a real card the
    /// DMACTL write itself is the signal).
    pub fn start(&self) -> Result<(), i32> {
        self.write(self.scr.ctl0(), dmactl::PERMIT);
        sys::ioctl_raw(&self.fd, uapi::VE_DRV_IOC_KICK, 0).map(|_| ())
    }
}

/// `mmap(len, offset)` of `fd`, shared, read-write; `Err(errno)`.
pub fn map_raw(fd: &OwnedFd, offset: u64, len: usize) -> Result<Mapping, i32> {
    map_with(
        fd,
        offset,
        len,
        libc::PROT_READ | libc::PROT_WRITE,
        libc::MAP_SHARED,
    )
}

/// `mmap(len, offset)` of `fd` with protections `prot` and flags `flags`; `Err(errno)`.
pub fn map_with(
    fd: &OwnedFd,
    offset: u64,
    len: usize,
    prot: i32,
    flags: i32,
) -> Result<Mapping, i32> {
    Mapping::new(len, prot, flags, Some(fd.as_fd()), offset)
}

/// `VEDRV_CMD_WAIT_INTR` (upstream form with NEC's typed VE1 mask, or the VE1 compat form with
/// the untyped mask inline): the bits caught.
pub fn wait_intr(
    fd: &OwnedFd,
    want: Ve1CompatWaitIrq,
    timeout_ms: u64,
    compat: bool,
) -> Result<Ve1CompatWaitIrq, i32> {
    let ts = Timespec {
        tv_sec: (timeout_ms / 1000) as i64,
        tv_nsec: ((timeout_ms % 1000) * 1_000_000) as i64,
    };
    if compat {
        let mut a = Ve1CompatWaitIrqArg {
            bits: want,
            timeout: std::ptr::from_ref(&ts) as u64,
        };
        sys::ioctl(fd, uapi::VEDRV_CMD_COMPAT_VE1_WAIT_INTR, &mut a)?;
        Ok(a.bits)
    } else {
        // NEC's typed mask, as libved's vedl_wait_interrupt() passes it.
        let mut bits = Ve1WaitIrq {
            ve_wait_irq_type: uapi::VEDRV_IRQ_TYPE_VE1,
            upper: want.upper,
            lower: want.lower,
        };
        let mut a = VeWaitIrqArg {
            bits: std::ptr::from_mut(&mut bits) as u64,
            timeout: std::ptr::from_ref(&ts) as u64,
        };
        sys::ioctl(fd, uapi::VEDRV_CMD_WAIT_INTR, &mut a)?;
        Ok(Ve1CompatWaitIrq {
            upper: bits.upper,
            lower: bits.lower,
        })
    }
}

/// `VEDRV_CMD_WAIT_INTR` for the privileged DMA interrupt alone, with the typed mask of the card
/// the emulator presents (`ve3`: NEC's `struct ve3_wait_irq`, `intvec[1]` bit 0, libved's VE3
/// `VE_INTR_P_DMA`; else VE1's, [`P_DMA`]). Whether it was caught.
pub fn wait_intr_pdma(fd: &OwnedFd, timeout_ms: u64, ve3: bool) -> Result<bool, i32> {
    if !ve3 {
        return wait_intr(fd, P_DMA, timeout_ms, false).map(|c| c.lower & P_DMA.lower != 0);
    }
    wait_intr_ve3(fd, [0, 1, 0, 0], timeout_ms).map(|c| c == [0, 1, 0, 0])
}

/// `VEDRV_CMD_WAIT_INTR` with NEC's `struct ve3_wait_irq`: waits for any bit of `want`
/// (`intvec[4]`: cores; privileged DMA at bit 0 and PCI exceptions at 47:32; user DMA engines;
/// faults and errors); the bits caught.
pub fn wait_intr_ve3(fd: &OwnedFd, want: [u64; 4], timeout_ms: u64) -> Result<[u64; 4], i32> {
    let ts = Timespec {
        tv_sec: (timeout_ms / 1000) as i64,
        tv_nsec: ((timeout_ms % 1000) * 1_000_000) as i64,
    };
    let mut bits = Ve3WaitIrq {
        ve_wait_irq_type: uapi::VEDRV_IRQ_TYPE_VE3,
        intvec: want,
    };
    let mut a = VeWaitIrqArg {
        bits: std::ptr::from_mut(&mut bits) as u64,
        timeout: std::ptr::from_ref(&ts) as u64,
    };
    sys::ioctl(fd, uapi::VEDRV_CMD_WAIT_INTR, &mut a)?;
    Ok(bits.intvec)
}

/// libved's `VE_INTR_P_DMA` on VE1: bit 48 of the lower word.
pub const P_DMA: Ve1CompatWaitIrq = Ve1CompatWaitIrq {
    upper: 0,
    lower: 1 << 48,
};
