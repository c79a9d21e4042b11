// SPDX-License-Identifier: GPL-2.0

//! Copy slots: one coherent DMA allocation of the card ([`CopyBuffer`]), cut into slots through
//! which short transfers are copied instead of pinning the VH buffer (one descriptor, no GUP, no
//! unpin).
//!
//! A slot is taken by its CPU side ([`CpuSlot`]), filled from user memory, then lent to its
//! device side ([`DeviceSlot`]), which a request holds as its block while its descriptor can
//! reach the slot; the CPU reads the slot back only once the device side is gone. The slots'
//! states are plain atomics shared by both sides and the buffer; the buffer itself belongs to the
//! card, which frees it at unbind (the DMA API's memory ends with the binding), or keeps it for
//! good if a device side was kept for an engine that would not halt.

use core::{
    mem::MaybeUninit,
    sync::atomic::{
        AtomicBool,
        AtomicU8,
        Ordering, //
    },
};

use kernel::{
    device::{
        Bound,
        Device, //
    },
    dma::Coherent,
    prelude::*,
    sync::Arc,
    uaccess::{
        UserPtr,
        UserSlice, //
    },
};

/// A slot's holders: none (free), the CPU side, or both sides.
const FREE: u8 = 0;
const CPU: u8 = 1;
const BOTH: u8 = 2;

/// The slots' holders, shared by the buffer and every side of a slot.
struct SlotStates {
    holders: KVec<AtomicU8>,
    /// A device side was kept for good: the buffer must never be freed.
    kept: AtomicBool,
}

/// The card's copy buffer.
///
/// # Invariants
///
/// `mem` holds `states.holders.len()` slots of `slot_len` bytes. The CPU touches slot `i`'s bytes
/// only through this buffer with the [`CpuSlot`] of `i`, while the device cannot reach them
/// (`holders[i]` is [`CPU`]); the device is given slot `i`'s address only through the
/// [`DeviceSlot`] of `i` (`holders[i]` is [`BOTH`] while it exists).
pub(crate) struct CopyBuffer {
    mem: Coherent<[u8]>,
    slot_len: usize,
    states: Arc<SlotStates>,
}

impl CopyBuffer {
    /// `n` slots of `slot_len` bytes for the card `dev`.
    pub(crate) fn new(dev: &Device<Bound>, n: usize, slot_len: usize) -> Result<Self> {
        let size = n.checked_mul(slot_len).ok_or(EINVAL)?;
        let mem = Coherent::<u8>::zeroed_slice(dev, size, GFP_KERNEL)?;
        let mut holders = KVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            holders.push(AtomicU8::new(FREE), GFP_KERNEL)?;
        }
        let states = Arc::new(
            SlotStates {
                holders,
                kept: AtomicBool::new(false),
            },
            GFP_KERNEL,
        )?;
        Ok(Self {
            mem,
            slot_len,
            states,
        })
    }

    /// The longest transfer a slot takes.
    pub(crate) fn slot_len(&self) -> usize {
        self.slot_len
    }

    /// A free slot for the CPU side, if there is one.
    pub(crate) fn take(&self) -> Option<CpuSlot> {
        let i = self.states.holders.iter().position(|h| {
            h.compare_exchange(FREE, CPU, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        })?;
        Some(CpuSlot {
            states: self.states.clone(),
            i,
            bus: self.mem.dma_address() + (i * self.slot_len) as u64,
            lent: false,
        })
    }

    /// Slot `slot`'s first `len` bytes, if they are this buffer's and the CPU alone holds them.
    fn cpu_bytes(&self, slot: &CpuSlot, len: usize) -> Result<*mut u8> {
        if !Arc::ptr_eq(&slot.states, &self.states) || len > self.slot_len {
            return Err(EINVAL);
        }
        if slot.lent && self.states.holders[slot.i].load(Ordering::Acquire) != CPU {
            return Err(EBUSY);
        }
        Ok(self
            .mem
            .as_mut_ptr()
            .cast::<u8>()
            .wrapping_add(slot.i * self.slot_len))
    }

    /// Copies `len` bytes from user address `addr` into `slot`, before it is lent: `EFAULT` if
    /// they cannot be read, `EINVAL` if they do not fit (or the slot is another buffer's),
    /// `EBUSY` once it is lent.
    pub(crate) fn fill_from_user(&self, slot: &CpuSlot, addr: u64, len: usize) -> Result {
        if slot.lent {
            return Err(EBUSY);
        }
        let p = self.cpu_bytes(slot, len)?;
        let mut reader = UserSlice::new(UserPtr::from_addr(addr as usize), len).reader();
        // SAFETY: `len` bytes of the slot lie within `mem` (checked, type invariant); the device
        // cannot reach them (not lent) and only this slot's holder touches them, through `&self`
        // here, so nothing else reads or writes them while the slice lives.
        let buf = unsafe { core::slice::from_raw_parts_mut(p.cast::<MaybeUninit<u8>>(), len) };
        reader.read_raw(buf)
    }

    /// Copies `slot`'s first `len` bytes to user address `addr` once its device side is gone:
    /// `EFAULT` if they cannot be written, `EINVAL` if they do not fit, `EBUSY` while the device
    /// side exists.
    pub(crate) fn copy_to_user(&self, slot: &CpuSlot, addr: u64, len: usize) -> Result {
        let p = self.cpu_bytes(slot, len)?;
        let mut writer = UserSlice::new(UserPtr::from_addr(addr as usize), len).writer();
        // SAFETY: `len` bytes of the slot lie within `mem`; the device side is gone (checked by
        // `cpu_bytes`, Acquire pairs with its Release), so neither the device nor anyone else
        // writes them while the slice lives.
        let buf = unsafe { core::slice::from_raw_parts(p, len) };
        writer.write_slice(buf)
    }

    /// Whether a device side was kept for good: the buffer must outlive the binding.
    pub(crate) fn kept(&self) -> bool {
        self.states.kept.load(Ordering::Acquire)
    }
}

/// The CPU side of a slot. Dropping it lets the slot go once the device side is gone too.
///
/// # Invariants
///
/// `states.holders[i]` is [`CPU`] while not `lent`; once `lent`, [`BOTH`] until the
/// [`DeviceSlot`] drops, then [`CPU`] again (unless that side is kept for good). `bus` is the
/// card's address of the slot.
pub(crate) struct CpuSlot {
    states: Arc<SlotStates>,
    i: usize,
    bus: u64,
    lent: bool,
}

impl CpuSlot {
    /// Lends the slot to the device: the [`DeviceSlot`] a request holds while its descriptor
    /// can reach the slot. `EBUSY` if it is lent already.
    pub(crate) fn lend(&mut self) -> Result<DeviceSlot> {
        if self.lent {
            return Err(EBUSY);
        }
        // INVARIANT: the device side exists from here; the CPU side stops touching the bytes.
        self.states.holders[self.i].store(BOTH, Ordering::Release);
        self.lent = true;
        Ok(DeviceSlot {
            states: self.states.clone(),
            i: self.i,
            bus: self.bus,
        })
    }
}

impl Drop for CpuSlot {
    fn drop(&mut self) {
        // BOTH -> CPU (the device side still holds it), or CPU -> FREE.
        self.states.holders[self.i].fetch_sub(1, Ordering::AcqRel);
    }
}

/// The device side of a slot: a request holds it as the block its descriptor reaches.
///
/// # Invariants
///
/// `states.holders[i]` counts this side ([`BOTH`] while the CPU side exists); `bus` is the card's
/// address of the slot.
pub(crate) struct DeviceSlot {
    states: Arc<SlotStates>,
    i: usize,
    bus: u64,
}

impl DeviceSlot {
    /// The card's address of the slot.
    pub(crate) fn bus(&self) -> u64 {
        self.bus
    }

    /// The device may still reach the slot (an engine that would not halt): the slot is never
    /// given back, and the card keeps its buffer for good.
    pub(crate) fn keep_forever(self) {
        self.states.kept.store(true, Ordering::Release);
        // INVARIANT: the holder count keeps this side for good.
        core::mem::forget(self);
    }
}

impl Drop for DeviceSlot {
    fn drop(&mut self) {
        // Release: what the device wrote, seen by the completion, is there for the CPU side.
        self.states.holders[self.i].fetch_sub(1, Ordering::Release);
    }
}
