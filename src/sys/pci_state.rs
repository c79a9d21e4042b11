// SPDX-License-Identifier: GPL-2.0

//! The PCI core's part of a card reset, which 7.3's `pci::Device` does not wrap: the function's
//! configuration state saved before the reset and restored after it (`pci_save_state`,
//! `pci_restore_state`), and its vendor ID read to tell when it answers again.

use kernel::{
    bindings,
    error::to_result,
    pci,
    prelude::*, //
};

/// Configuration-space offset of the vendor ID (`PCI_VENDOR_ID`).
const VENDOR_ID: c_int = 0;

/// The `struct pci_dev` of `pdev`.
fn raw(pdev: &pci::Device) -> *mut bindings::pci_dev {
    // `pci::Device` is `#[repr(transparent)]` over `Opaque<bindings::pci_dev>`.
    core::ptr::from_ref(pdev)
        .cast::<bindings::pci_dev>()
        .cast_mut()
}

/// A function's configuration state, saved by the PCI core (BARs, command register, MSI-X, the
/// PCIe capabilities), to put back after the function was reset.
///
/// # Invariants
///
/// `pdev`'s state was saved by `pci_save_state` and not restored since.
pub(crate) struct SavedState<'a> {
    pdev: &'a pci::Device,
}

impl<'a> SavedState<'a> {
    /// Saves `pdev`'s configuration state. The caller keeps the device bound until
    /// [`SavedState::restore`] (the state belongs to the driver bound to it). `ENOMEM` if the PCI
    /// core could not save it.
    pub(crate) fn save(pdev: &'a pci::Device) -> Result<Self> {
        // SAFETY: `raw(pdev)` is a valid `struct pci_dev` for as long as `pdev` is borrowed;
        // `pci_save_state` reads its configuration space into buffers the PCI core allocated at
        // enumeration.
        to_result(unsafe { bindings::pci_save_state(raw(pdev)) })?;
        Ok(Self { pdev })
    }

    /// Writes the saved state back into the function's configuration space (and its MSI-X
    /// table).
    pub(crate) fn restore(self) {
        // SAFETY: `raw(self.pdev)` is a valid `struct pci_dev`; by the type invariant its state
        // was saved, which `pci_restore_state` writes back.
        unsafe { bindings::pci_restore_state(raw(self.pdev)) };
    }
}

/// The function's vendor ID as read now from its configuration space: all ones while it does not
/// answer (in reset, or gone). `EIO` if the read itself failed.
pub(crate) fn read_vendor_id(pdev: &pci::Device) -> Result<u16> {
    let mut id: u16 = 0;
    // SAFETY: `raw(pdev)` is a valid `struct pci_dev` for the call, `id` a valid `u16` to write.
    let r = unsafe { bindings::pci_read_config_word(raw(pdev), VENDOR_ID, &mut id) };
    if r != 0 {
        return Err(EIO);
    }
    Ok(id)
}
