// SPDX-License-Identifier: GPL-2.0

//! NEC's mmap windows of a card (`src/chip.rs`, [`Window`]): which window a mapping lies in, who
//! may map it, and the mappings that do not hold the engine ([`WindowMap`]): their page faults,
//! with the system-common pages the kernel's DMA manager keeps withheld, and their zapping at
//! unbind.

use kernel::{
    device::Bound,
    pci,
    prelude::*,
    sync::Arc, //
};

use super::Card;
use crate::{
    chip::{
        Chip,
        Window,
        WindowKind, //
    },
    sys::{
        MappedSpace,
        RegisterFault,
        RegisterHolder,
        RegisterWindow,
        VmFault, //
    },
};

/// A window of the chip's table as this card has it: its size and its place in the BAR.
pub(crate) struct CardWindow {
    /// The chip's entry.
    pub(crate) window: Window,
    /// Bytes (the entry's size, or the rest of the BAR).
    pub(crate) size: u64,
    /// The BAR region it maps.
    pub(crate) bar: RegisterWindow,
}

/// The chip's windows whose BAR `pdev` has; a window that does not fit its BAR fails probe
/// (`EINVAL`: a wrong table).
pub(crate) fn resolve_windows(
    pdev: &pci::Device<Bound>,
    chip: &'static Chip,
) -> Result<KVec<CardWindow>> {
    let mut out = KVec::new();
    for w in chip.windows {
        let bar_len = pdev.resource_len(w.bar)?;
        if bar_len == 0 {
            continue;
        }
        let size = w.size.unwrap_or(bar_len.saturating_sub(w.bar_offset));
        let bar = RegisterWindow::of_bar(pdev, w.bar, w.bar_offset, size)?;
        out.push(
            CardWindow {
                window: *w,
                size,
                bar,
            },
            GFP_KERNEL,
        )?;
    }
    Ok(out)
}

/// The window that holds all of `len` bytes at file offset `offset`, as NEC's
/// `map_range_offset` finds it (first and last byte in the same window).
pub(crate) fn window_at(windows: &[CardWindow], offset: u64, len: u64) -> Option<usize> {
    windows
        .iter()
        .position(|w| inside(w.window.file_offset, w.size, offset, len))
}

/// Whether `len` bytes at `offset` lie inside `size` bytes at `start`, without overflow.
pub(crate) fn inside(start: u64, size: u64, offset: u64, len: u64) -> bool {
    offset
        .checked_sub(start)
        .is_some_and(|rel| len != 0 && rel < size && len <= size - rel)
}

/// Whether the page at file offset `offset` is one of the system-common pages that only a
/// mapping holding the engine maps.
pub(crate) fn withheld(chip: &Chip, offset: u64) -> bool {
    offset
        .checked_sub(chip.mmap_scr)
        .is_some_and(|rel| chip.scr_withheld.iter().any(|&p| p as u64 == rel))
}

/// The register mappings that do not hold the engine, for zapping at unbind; protected by
/// [`Card::maps`].
pub(crate) struct MapRegistry {
    /// The card was unbound: no page is mapped and no mapping is made any more.
    removed: bool,
    next: u64,
    spaces: KVec<(u64, MappedSpace)>,
}

impl MapRegistry {
    pub(crate) fn new() -> Self {
        Self {
            removed: false,
            next: 0,
            spaces: KVec::new(),
        }
    }

    /// Runs `f` once for each address space (device node) the registered mappings map through.
    pub(crate) fn for_each_address_space(&self, mut f: impl FnMut(&MappedSpace)) {
        for (i, (_, space)) in self.spaces.iter().enumerate() {
            let seen = self
                .spaces
                .iter()
                .take(i)
                .any(|(_, s)| s.same_address_space(space));
            if !seen {
                f(space);
            }
        }
    }
}

/// What each VMA of a mapping that does not hold the engine holds: the card and its window.
pub(crate) struct WindowMap {
    card: Arc<Card>,
    /// Index into the card's windows.
    window: usize,
    /// Its entry in [`Card::maps`].
    id: u64,
}

impl Drop for WindowMap {
    fn drop(&mut self) {
        let mut maps = self.card.maps.lock();
        let pos = maps.spaces.iter().position(|(id, _)| *id == self.id);
        let gone = pos.and_then(|i| maps.spaces.remove(i).ok());
        drop(maps);
        // The file reference goes after the lock.
        drop(gone);
    }
}

impl RegisterHolder for WindowMap {
    /// A fault: nothing once the card is unbound; in a register window the page unless it is a
    /// withheld system-common page; in a CR or VE memory window the page for `CAP_SYS_ADMIN` or
    /// an owner of its CR page or PCIATB entry ([`Card::may_fault`], evaluated for the faulting
    /// task, as NEC does); `SIGBUS` otherwise. The decision is made and the page inserted with
    /// [`Card::maps`] held, so unbind and `VEDRV_CMD_UNMAP` (which zap under it) either come
    /// first and this decides anew, or come after and remove what this mapped.
    fn fault(&self, fault: &RegisterFault<'_>) -> VmFault {
        let card = &self.card;
        let Some(w) = card.facts.windows.get(self.window) else {
            return VmFault::SIGBUS;
        };
        let offset = fault.file_offset();
        let Some(rel) = offset.checked_sub(w.window.file_offset) else {
            return VmFault::SIGBUS;
        };
        // Held until the page is inserted.
        let maps = card.maps.lock();
        if maps.removed {
            return VmFault::SIGBUS;
        }
        let allowed = match w.window.kind {
            WindowKind::Registers => !withheld(card.facts.chip, offset),
            kind @ (WindowKind::Cr | WindowKind::VeMemory) => card.may_fault(kind, rel, w.size),
        };
        if !allowed {
            return VmFault::SIGBUS;
        }
        fault.insert(&w.bar, rel)
    }
}

/// Makes the holder of a mapping of `card`'s window `window` that does not take the engine;
/// `ENODEV` once the card is unbound.
pub(crate) fn map_window(
    card: &Arc<Card>,
    window: usize,
    space: MappedSpace,
) -> Result<Arc<WindowMap>> {
    let mut maps = card.maps.lock();
    if maps.removed {
        return Err(ENODEV);
    }
    let id = maps.next;
    maps.next += 1;
    maps.spaces.push((id, space), GFP_KERNEL)?;
    drop(maps);
    // On failure the holder's drop takes the entry out again.
    Ok(Arc::new(
        WindowMap {
            card: card.clone(),
            window,
            id,
        },
        GFP_KERNEL,
    )?)
}

impl Card {
    /// The card's mmap windows.
    pub(crate) fn windows(&self) -> &[CardWindow] {
        &self.facts.windows
    }

    /// At unbind, with the card marked removed: no mapping that does not hold the engine maps a
    /// page any more, and what they mapped is zapped (a later access faults with SIGBUS).
    pub(crate) fn zap_window_maps(&self) {
        let mut maps = self.maps.lock();
        maps.removed = true;
        for (_, space) in maps.spaces.iter() {
            space.zap();
        }
    }
}
