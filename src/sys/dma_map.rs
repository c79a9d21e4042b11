// SPDX-License-Identifier: GPL-2.0

//! Streaming DMA mappings of pinned pages for the card: the only code that gives the engine a
//! host address. Every address a descriptor (or NEC's translation ioctls) names comes from here,
//! never from a page's physical address.
//!
//! - [`DmaDevice`] is the card's device as the DMA API sees it, and the mode probe found
//!   ([`DmaMode`]): direct (bus address = physical address, or a fixed offset from it), behind a
//!   translating IOMMU, or bounced through swiotlb.
//! - [`Mapped`] is one mapping (`dma_map_phys`) of a physically contiguous range of pages that it
//!   owns together with their pins: dropping it unmaps first (`dma_unmap_phys`, the same size and
//!   direction), then releases the pins. Where the DMA API needs no unmap for the card
//!   (`dma_need_unmap`: dma-direct, cache-coherent, no `DMA_API_DEBUG`), a mapping is an address
//!   computation: it keeps nothing to tear down, and [`DmaDevice::map_each`] maps neighbouring
//!   ranges with one call.
//! - [`IovaSpan`] is one IOVA range behind an IOMMU (`dma_iova_try_alloc`) into which pinned runs
//!   are linked one after the other (`dma_iova_link`), whatever their physical addresses: one
//!   range the engine can copy with one descriptor. Dropping it unlinks and frees the range
//!   (`dma_iova_destroy`), then releases the pins.
//!
//! Neither type decides *when* it may go: the DMA manager drops them only under its pin-release
//! rule (src/dma/manager.rs), so a mapping is torn down only when no descriptor can use it.
//! A mapping the engine may still reach (a dead engine) is kept for good with its pins
//! ([`Mapped::keep_forever`], [`IovaSpan::keep_forever`]).
//!
//! Synchronisation: x86 is cache-coherent, so the only copies are swiotlb's, done by map (to the
//! device) and unmap (from it). Both bracket the device's use of the pages, as the manager maps a
//! block before its descriptors are posted and unmaps it after they completed.

use kernel::{
    bindings,
    device::{
        Bound,
        Device, //
    },
    prelude::*,
    sync::aref::ARef, //
};

use crate::extent::{
    PAGE_SHIFT,
    PAGE_SIZE, //
};

use super::{
    device_ptr as raw,
    gup::{
        LockedRun,
        PinnedPageArray,
        PinnedRun, //
    },
};

// src/helpers.c. The device is declared `void *` here: bindgen's `struct device` contains
// zero-sized members that the FFI-safety lint rejects.
extern "C" {
    fn ve_dma_mapping_error(dev: *mut c_void, addr: bindings::dma_addr_t) -> bool;
    fn ve_dma_force_bounce(dev: *mut c_void) -> bool;
    fn ve_dma_iova_try_alloc(
        dev: *mut c_void,
        state: *mut bindings::dma_iova_state,
        size: usize,
    ) -> bool;
    fn ve_dma_iova_link(
        dev: *mut c_void,
        state: *mut bindings::dma_iova_state,
        phys: bindings::phys_addr_t,
        offset: usize,
        size: usize,
        dir: bindings::dma_data_direction,
    ) -> c_int;
    fn ve_dma_iova_sync(
        dev: *mut c_void,
        state: *mut bindings::dma_iova_state,
        offset: usize,
        size: usize,
    ) -> c_int;
    fn ve_dma_iova_destroy(
        dev: *mut c_void,
        state: *mut bindings::dma_iova_state,
        mapped_len: usize,
        dir: bindings::dma_data_direction,
    );
}

/// How the DMA API gives the card addresses, as found at probe.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum DmaMode {
    /// No translation: a mapping's address is the physical address (dma-direct).
    Direct,
    /// A translating IOMMU: mappings are IOVAs, and pinned runs can be linked into one IOVA range.
    Iommu,
    /// Every mapping bounces through swiotlb (`swiotlb=force`, a confidential guest).
    Bounce,
}

/// Which way the device moves data through a mapping.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    /// The device reads the pages.
    ToDevice,
    /// The device writes the pages.
    FromDevice,
    /// Either (NEC's pins for writing: VEOS may use them both ways).
    Bidirectional,
}

impl Direction {
    fn raw(self) -> bindings::dma_data_direction {
        match self {
            Direction::ToDevice => bindings::dma_data_direction::DMA_TO_DEVICE,
            Direction::FromDevice => bindings::dma_data_direction::DMA_FROM_DEVICE,
            Direction::Bidirectional => bindings::dma_data_direction::DMA_BIDIRECTIONAL,
        }
    }
}

/// Pinned, physically contiguous pages that a mapping may cover.
pub(crate) trait PinnedPages {
    /// Physical address of the first page.
    fn phys(&self) -> u64;
    /// Number of pages.
    fn npages(&self) -> usize;
    /// The physical range the pins keep in place: the pages themselves, or more (the folio a pin
    /// holds can be neither freed nor split).
    fn held(&self) -> (u64, u64) {
        (self.phys(), (self.npages() as u64) << PAGE_SHIFT)
    }
}

impl PinnedPages for PinnedRun {
    fn phys(&self) -> u64 {
        PinnedRun::phys(self)
    }

    fn npages(&self) -> usize {
        PinnedRun::npages(self)
    }

    fn held(&self) -> (u64, u64) {
        let f = self.folio();
        (f.pfn << PAGE_SHIFT, f.pages << PAGE_SHIFT)
    }
}

impl PinnedPages for LockedRun {
    fn phys(&self) -> u64 {
        LockedRun::phys(self)
    }

    fn npages(&self) -> usize {
        LockedRun::npages(self)
    }
}

/// The card's device as the DMA API sees it.
///
/// # Invariants
///
/// `dev` was bound to this driver, with its DMA mask set, when the value was made; `mode` is what
/// the DMA API did for it then.
pub(crate) struct DmaDevice {
    dev: ARef<Device>,
    mode: DmaMode,
    max_mapping: u64,
}

impl DmaDevice {
    /// Finds how the DMA API maps for `dev` (its DMA mask already set): an IOVA range can be
    /// allocated (a translating IOMMU), every mapping bounces (swiotlb), or neither.
    pub(crate) fn new(dev: &Device<Bound>) -> Self {
        let r = raw(dev);
        let mut state = bindings::dma_iova_state::default();
        // SAFETY: `r` is a bound device; `state` is a valid, writable IOVA state.
        let iommu = unsafe { ve_dma_iova_try_alloc(r.cast(), &mut state, PAGE_SIZE as usize) };
        if iommu {
            // SAFETY: `state` was allocated just above for `r`, and nothing is linked into it.
            unsafe { ve_dma_iova_destroy(r.cast(), &mut state, 0, Direction::ToDevice.raw()) };
        }
        // SAFETY: `r` is a bound device.
        let bounce = unsafe { ve_dma_force_bounce(r.cast()) };
        let mode = if iommu {
            DmaMode::Iommu
        } else if bounce {
            DmaMode::Bounce
        } else {
            DmaMode::Direct
        };
        // SAFETY: `r` is a bound device.
        let max_mapping = unsafe { bindings::dma_max_mapping_size(r) } as u64;
        let dev: &Device = dev;
        // INVARIANT: `dev` is bound and `mode` was found just now.
        Self {
            dev: dev.into(),
            mode,
            max_mapping,
        }
    }

    /// The mode found at probe.
    pub(crate) fn mode(&self) -> DmaMode {
        self.mode
    }

    /// The longest range one [`DmaDevice::map`] call may take (`dma_max_mapping_size`: swiotlb's
    /// slot limit when bouncing, else unlimited).
    pub(crate) fn max_mapping(&self) -> u64 {
        self.max_mapping
    }

    /// Maps `len` bytes from physical address `phys` of `pins` for the card, with the pins kept
    /// until the mapping goes. `EINVAL` if the range is empty or not held by `pins`; `ENOMEM` if
    /// the DMA API cannot map it (swiotlb or IOVA space exhausted). On an error `pins` comes back.
    pub(crate) fn map<P: PinnedPages>(
        &self,
        pins: P,
        phys: u64,
        len: u64,
        dir: Direction,
    ) -> Result<Mapped<P>, (Error, P)> {
        let size = match Self::check(&pins, phys, len) {
            Ok(size) => size,
            Err(e) => return Err((e, pins)),
        };
        let bus = match self.map_raw(phys, size, dir) {
            Ok(bus) => bus,
            Err(e) => return Err((e, pins)),
        };
        if self.mode == DmaMode::Direct && !self.needs_unmap() {
            // Mapped just now, and the DMA API needs no unmap for the card.
            return Ok(Mapped::untracked(bus, pins));
        }
        Ok(self.wrap(self.own(bus, size, dir), pins))
    }

    /// Whether the DMA API needs the card's mappings unmapped (`dma_need_unmap`): not for
    /// dma-direct on a cache-coherent machine without `DMA_API_DEBUG`, where a mapping is an
    /// address computation. It may become true once a mapping has bounced.
    fn needs_unmap(&self) -> bool {
        // SAFETY: the card's device.
        unsafe { bindings::dma_need_unmap(raw(&self.dev)) }
    }

    /// [`DmaDevice::map`] for each `(phys, pins)` of `items`, `len` bytes each, in order.
    ///
    /// Where the DMA API needs no unmap for the card (`dma_need_unmap`: dma-direct, coherent,
    /// no `DMA_API_DEBUG`), items whose ranges follow each other physically are mapped with one
    /// call, and none of them keeps a mapping to tear down: NEC's block calls on 4 KiB memory
    /// then cost one mapping call per contiguous stretch, not one per page. Otherwise each item
    /// is mapped and unmapped on its own. On an error nothing stays mapped, and the pins of every
    /// item are dropped.
    pub(crate) fn map_each<P: PinnedPages>(
        &self,
        items: KVec<(u64, P)>,
        len: u64,
        dir: Direction,
    ) -> Result<KVec<Mapped<P>>> {
        for (phys, pins) in items.iter() {
            Self::check(pins, *phys, len)?;
        }
        let size = usize::try_from(len).map_err(|_| EINVAL)?;
        let mut out = KVec::with_capacity(items.len(), GFP_KERNEL)?;
        let mut phys = KVec::with_capacity(items.len(), GFP_KERNEL)?;
        for (p, _) in items.iter() {
            // Capacity is reserved.
            phys.push(*p, GFP_KERNEL)?;
        }
        let bus = match self.stretches(&phys, len, dir) {
            Some(bus) => bus?,
            None => KVec::new(),
        };
        for (i, (phys, pins)) in items.into_iter().enumerate() {
            let m = match bus.get(i) {
                // Mapped by the stretch's call, and the DMA API needs no unmap for the card.
                Some(&b) => Mapped::untracked(b, pins),
                None => self.wrap(self.mapping(phys, size, dir)?, pins),
            };
            // Capacity is reserved.
            out.push(m, GFP_KERNEL)?;
        }
        Ok(out)
    }

    /// Maps 4 KiB pages pinned one by one, of physical addresses `phys`, for the card, one call per
    /// physically contiguous stretch, where the DMA API needs no unmap for the card (see
    /// [`DmaDevice::map_each`]): the mapped pages and each page's card address. Where it does, the
    /// pages come back (`Ok(Err(..))`), for the caller to map one by one. On an error nothing stays
    /// mapped and the pins are dropped.
    pub(crate) fn map_pages(
        &self,
        pins: PinnedPageArray,
        phys: &[u64],
        dir: Direction,
    ) -> Result<Result<(MappedPages, KVec<u64>), PinnedPageArray>> {
        if phys.len() != pins.len() {
            return Err(EINVAL);
        }
        match self.stretches(phys, PAGE_SIZE, dir) {
            // INVARIANT (of `MappedPages`): mapped just now; the DMA API needs no unmap.
            Some(bus) => Ok(Ok((MappedPages { pins }, bus?))),
            None => Ok(Err(pins)),
        }
    }

    /// The card's address of each item of [`DmaDevice::map_each`], one mapping call per
    /// physically contiguous stretch, if the DMA API needs no unmap for the card before and after
    /// those calls; `None` if it does (then nothing stays mapped).
    fn stretches(&self, phys: &[u64], len: u64, dir: Direction) -> Option<Result<KVec<u64>>> {
        if self.mode != DmaMode::Direct || self.needs_unmap() {
            return None;
        }
        let mut bus = match KVec::with_capacity(phys.len(), GFP_KERNEL) {
            Ok(v) => v,
            Err(e) => return Some(Err(e.into())),
        };
        let mut mapped = Stretches {
            dev: self,
            done: KVec::new(),
            dir,
        };
        let mut i = 0;
        while i < phys.len() {
            let start = phys[i];
            let mut n = 1;
            while i + n < phys.len() && phys[i + n] == start + n as u64 * len {
                n += 1;
            }
            // The stretch is held by the pins of its pages, as the caller checked.
            let r = usize::try_from(n as u64 * len)
                .map_err(|_| EINVAL)
                .and_then(|size| {
                    mapped.done.reserve(1, GFP_KERNEL)?;
                    let b = self.map_raw(start, size, dir)?;
                    // Reserved above.
                    let _ = mapped.done.push_within_capacity((b, size));
                    Ok(b)
                });
            let b = match r {
                Ok(b) => b,
                Err(e) => return Some(Err(e)),
            };
            for k in 0..n {
                // Capacity for every item is reserved.
                let _ = bus.push_within_capacity(b + k as u64 * len);
            }
            i += n;
        }
        if self.needs_unmap() {
            // A mapping bounced after all (swiotlb resets the device's sync shortcut): `mapped`
            // drops here, unmapping every stretch, and the items are mapped one by one.
            return None;
        }
        // The DMA API needs no unmap of these ranges: nothing tears them down.
        mapped.done.clear();
        Some(Ok(bus))
    }

    /// The range a mapping of `pins` may cover: `EINVAL` unless `[phys, phys + len)` is not
    /// empty and lies within the pages the pins keep in place.
    fn check<P: PinnedPages>(pins: &P, phys: u64, len: u64) -> Result<usize> {
        let within =
            |(start, size): (u64, u64)| phys >= start && len <= size && phys - start <= size - len;
        let run = (pins.phys(), (pins.npages() as u64) << PAGE_SHIFT);
        if len == 0 || !(within(run) || within(pins.held())) {
            return Err(EINVAL);
        }
        usize::try_from(len).map_err(|_| EINVAL)
    }

    /// One `dma_map_phys` call for `[phys, phys + size)`: the card's address. The caller keeps the
    /// range in place for as long as the mapping exists and unmaps it with the same size and
    /// direction (or, if the DMA API needs no unmap, for as long as the card may use it).
    fn map_raw(&self, phys: u64, size: usize, dir: Direction) -> Result<u64> {
        let r = raw(&self.dev);
        // SAFETY: `r` is the card's device; the caller keeps `[phys, phys + size)` allocated and
        // in place (above).
        let bus = unsafe { bindings::dma_map_phys(r, phys, size, dir.raw(), 0) };
        // SAFETY: `bus` was just returned by a mapping call for `r`.
        if unsafe { ve_dma_mapping_error(r.cast(), bus) } {
            return Err(ENOMEM);
        }
        Ok(bus)
    }

    /// [`DmaDevice::map_raw`], owned: unmapped when the [`Mapping`] drops.
    fn mapping(&self, phys: u64, size: usize, dir: Direction) -> Result<Mapping> {
        let bus = self.map_raw(phys, size, dir)?;
        Ok(self.own(bus, size, dir))
    }

    /// Takes charge of a range [`DmaDevice::map_raw`] just mapped with `size` and `dir`.
    fn own(&self, bus: u64, size: usize, dir: Direction) -> Mapping {
        // INVARIANT: the caller mapped the range with this size and direction.
        Mapping {
            dev: self.dev.clone(),
            bus,
            len: size,
            dir,
        }
    }

    /// `mapping` with the pins it covers.
    fn wrap<P>(&self, mapping: Mapping, pins: P) -> Mapped<P> {
        // INVARIANT: `mapping` covers pages that `pins` keeps in place.
        Mapped {
            bus: mapping.bus,
            mapping: Some(mapping),
            pins,
            direct: self.mode == DmaMode::Direct,
        }
    }

    /// A new IOVA range of `size` bytes (page aligned) into which pinned runs are linked.
    /// `EOPNOTSUPP` unless the card is behind a translating IOMMU; `ENOMEM` if the IOVA space is
    /// exhausted.
    pub(crate) fn span<P: PinnedPages>(&self, size: u64, dir: Direction) -> Result<IovaSpan<P>> {
        if self.mode != DmaMode::Iommu {
            return Err(EOPNOTSUPP);
        }
        let size = usize::try_from(size).map_err(|_| EINVAL)?;
        if size == 0 || size % PAGE_SIZE as usize != 0 {
            return Err(EINVAL);
        }
        let mut state = bindings::dma_iova_state::default();
        // SAFETY: the card's device; `state` is a valid, writable IOVA state.
        if !unsafe { ve_dma_iova_try_alloc(raw(&self.dev).cast(), &mut state, size) } {
            return Err(ENOMEM);
        }
        // INVARIANT: allocated just now, nothing linked.
        Ok(IovaSpan {
            iova: Iova {
                dev: self.dev.clone(),
                state,
                size,
                linked: 0,
                synced: 0,
                dir,
            },
            pins: KVec::new(),
        })
    }
}

/// One streaming mapping.
///
/// # Invariants
///
/// `[bus, bus + len)` is mapped for `dev` with direction `dir` (one `dma_map_phys` call) on
/// behalf of this value, unmapped only by its `Drop`.
struct Mapping {
    dev: ARef<Device>,
    bus: bindings::dma_addr_t,
    len: usize,
    dir: Direction,
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: by the type invariant the range was mapped with exactly these arguments and is
        // unmapped nowhere else.
        unsafe { bindings::dma_unmap_phys(raw(&self.dev), self.bus, self.len, self.dir.raw(), 0) };
    }
}

/// Stretches mapped by [`DmaDevice::map_each`] and not yet given up: unmapped if they are
/// dropped (an error, or the DMA API needs unmaps after all).
///
/// # Invariants
///
/// Each `(bus, size)` of `done` was mapped for `dev`'s device with `dir` by one call and is
/// unmapped nowhere else.
struct Stretches<'a> {
    dev: &'a DmaDevice,
    done: KVec<(u64, usize)>,
    dir: Direction,
}

impl Drop for Stretches<'_> {
    fn drop(&mut self) {
        for &(bus, size) in self.done.iter() {
            // SAFETY: by the type invariant the range was mapped with these arguments and is
            // unmapped nowhere else.
            unsafe { bindings::dma_unmap_phys(raw(&self.dev.dev), bus, size, self.dir.raw(), 0) };
        }
    }
}

/// Pinned pages mapped for the card: dropping it unmaps, then unpins (fields drop in order).
///
/// # Invariants
///
/// `[bus, bus + len)` is the card's address of pages `pins` keeps in place, mapped by
/// `mapping`, or, if it is `None`, by a mapping call after which the DMA API needed no unmap for
/// the card (`dma_need_unmap`), so that nothing tears it down.
pub(crate) struct Mapped<P> {
    mapping: Option<Mapping>,
    bus: u64,
    pins: P,
    /// Mapped by dma-direct: the card's address is the physical address, and the mapping holds
    /// nothing but the DMA API's bookkeeping.
    direct: bool,
}

impl<P> Mapped<P> {
    /// Pages `pins` keeps in place, mapped for the card at `bus` by a call after which the DMA
    /// API needed no unmap (the caller checked it): nothing to tear down.
    fn untracked(bus: u64, pins: P) -> Self {
        // INVARIANT: as the caller promises.
        Self {
            mapping: None,
            bus,
            pins,
            direct: true,
        }
    }

    /// The card's address of the first byte mapped.
    pub(crate) fn bus(&self) -> u64 {
        self.bus
    }

    /// The pins.
    pub(crate) fn pins(&self) -> &P {
        &self.pins
    }

    /// The card may still reach the pages: their pins are handed back to be kept for good. The
    /// mapping stays for good too, unless it is dma-direct's: there the card reaches the pages
    /// by their physical addresses, which the pins keep, and unmapping only ends the DMA API's
    /// bookkeeping (`DMA_API_DEBUG` would otherwise report the mapping at unbind). A bounce slot
    /// or an IOVA is never given back while the card may still use it: another mapping could get
    /// it.
    pub(crate) fn keep_forever(self) -> P {
        let Mapped {
            mapping,
            pins,
            direct,
            ..
        } = self;
        if direct {
            drop(mapping);
        } else {
            core::mem::forget(mapping);
        }
        pins
    }
}

/// 4 KiB pages pinned one by one ([`PinnedPageArray`]) and mapped for the card by
/// [`DmaDevice::map_pages`]: nothing to tear down, so dropping it only unpins them (one call).
///
/// # Invariants
///
/// The pages were mapped for the card, and after those mapping calls the DMA API needed no unmap.
pub(crate) struct MappedPages {
    pins: PinnedPageArray,
}

impl MappedPages {
    /// Pages held.
    pub(crate) fn len(&self) -> usize {
        self.pins.len()
    }

    /// The card may still reach the pages: they stay pinned for good (there is no mapping to
    /// keep: the DMA API needed no unmap).
    pub(crate) fn keep_forever(self) {
        self.pins.keep_pinned_forever();
    }

    /// One [`Mapped`] per page, page `i` at card address `bus[i]` (as [`DmaDevice::map_pages`]
    /// returned them); comes back whole if memory runs out or `bus` does not match.
    pub(crate) fn split(self, bus: &[u64]) -> Result<KVec<Mapped<PinnedRun>>, Self> {
        if bus.len() != self.pins.len() {
            return Err(self);
        }
        let Ok(pfns) = self.pins.pfns() else {
            return Err(self);
        };
        let Ok(mut out) = KVec::with_capacity(bus.len(), GFP_KERNEL) else {
            return Err(self);
        };
        let runs = match self.pins.into_runs(&pfns) {
            Ok(runs) => runs,
            Err(pins) => return Err(Self { pins }),
        };
        for (run, &b) in runs.into_iter().zip(bus) {
            // The page was mapped at `b` (type invariant), and the DMA API needs no unmap.
            // Capacity is reserved.
            let _ = out.push_within_capacity(Mapped::untracked(b, run));
        }
        Ok(out)
    }
}

/// An IOVA range of the card's IOMMU domain.
///
/// # Invariants
///
/// `state` was allocated for `dev` with `size` bytes; `[0, linked)` of it is linked with direction
/// `dir`, `[0, synced)` of that synced; both are page multiples, `synced <= linked <= size`.
/// Unlinked and freed only by `Drop`.
struct Iova {
    dev: ARef<Device>,
    state: bindings::dma_iova_state,
    size: usize,
    linked: usize,
    synced: usize,
    dir: Direction,
}

impl Drop for Iova {
    fn drop(&mut self) {
        // SAFETY: by the type invariant exactly `[0, linked)` is linked into `state`, allocated
        // for `dev`, with `dir`.
        unsafe {
            ve_dma_iova_destroy(
                raw(&self.dev).cast(),
                &mut self.state,
                self.linked,
                self.dir.raw(),
            )
        };
    }
}

/// Pinned runs linked one after the other into one IOVA range: the card sees them as one
/// contiguous range from [`IovaSpan::bus`]. Dropping it unlinks and frees the range, then unpins.
pub(crate) struct IovaSpan<P> {
    iova: Iova,
    pins: KVec<P>,
}

impl<P: PinnedPages> IovaSpan<P> {
    /// The card's address of the range's first byte.
    pub(crate) fn bus(&self) -> u64 {
        self.iova.state.addr
    }

    /// Pages held.
    pub(crate) fn npages(&self) -> usize {
        self.pins.iter().map(|p| p.npages()).sum()
    }

    /// Links `pins`'s pages after those already linked and keeps the pins; returns the offset in
    /// the range where they start. `ENOSPC` if they do not fit, `ENOMEM` if memory or the IOMMU's
    /// page tables run out; on an error `pins` comes back and nothing was linked.
    pub(crate) fn link(&mut self, pins: P) -> Result<u64, (Error, P)> {
        let len = pins.npages() << PAGE_SHIFT;
        if len == 0 || len > self.iova.size - self.iova.linked {
            return Err((ENOSPC, pins));
        }
        if self.pins.reserve(1, GFP_KERNEL).is_err() {
            return Err((ENOMEM, pins));
        }
        let at = self.iova.linked;
        // SAFETY: `state` was allocated for `dev` (type invariant); `[at, at + len)` is within it
        // and not linked yet; the pages are pinned by `pins`, which the span keeps until the range
        // is destroyed.
        let err = unsafe {
            ve_dma_iova_link(
                raw(&self.iova.dev).cast(),
                &mut self.iova.state,
                pins.phys(),
                at,
                len,
                self.iova.dir.raw(),
            )
        };
        if err != 0 {
            return Err((Error::from_errno(err), pins));
        }
        // INVARIANT: `[0, at + len)` is linked now.
        self.iova.linked = at + len;
        // Room was reserved above.
        if let Err(e) = self.pins.push_within_capacity(pins) {
            // Not reached; were it, the pages stay pinned rather than be released while linked.
            core::mem::forget(e);
        }
        Ok(at as u64)
    }

    /// Makes what was linked since the last call visible to the card (the IOTLB sync that
    /// `dma_iova_link` leaves to its caller). Before any descriptor uses it.
    pub(crate) fn sync(&mut self) -> Result {
        let (from, to) = (self.iova.synced, self.iova.linked);
        if from == to {
            return Ok(());
        }
        // SAFETY: `[from, to)` of `state` is linked (type invariant).
        let err = unsafe {
            ve_dma_iova_sync(
                raw(&self.iova.dev).cast(),
                &mut self.iova.state,
                from,
                to - from,
            )
        };
        kernel::error::to_result(err)?;
        // INVARIANT: synced up to what is linked.
        self.iova.synced = to;
        Ok(())
    }

    /// The card may still reach the range: it stays linked for good, and its pins are handed
    /// back to be kept for good too.
    pub(crate) fn keep_forever(self) -> KVec<P> {
        let IovaSpan { iova, pins } = self;
        core::mem::forget(iova);
        pins
    }
}
