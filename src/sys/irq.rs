// SPDX-License-Identifier: GPL-2.0

//! An MSI-X vector allocation together with the threaded IRQ handler registered on one of its
//! vectors. 7.3's `pci::IrqVectorRegistration` lends its vectors by reference, so keeping both in
//! one driver-data struct is a self-reference; [`MsixIrq`] owns both and orders their drops.

use core::ptr::addr_of;

use kernel::{
    device::Bound,
    irq,
    pci,
    prelude::*, //
};

/// MSI-X vectors of a PCI function and one handler registered on one of them.
///
/// # Invariants
///
/// - `registration` was requested on a vector of `vectors` and is freed before `vectors` (field
///   declaration order is drop order), so `free_irq()` always runs before `pci_free_irq_vectors()`.
/// - `vectors` lives at a pinned address for as long as `registration` exists.
#[pin_data]
pub(crate) struct MsixIrq<'bound, T: irq::ThreadedHandler + 'bound> {
    #[pin]
    registration: irq::ThreadedRegistration<'bound, T>,
    vectors: pci::IrqVectorRegistration<'bound>,
}

impl<'bound, T: irq::ThreadedHandler + 'bound> MsixIrq<'bound, T> {
    /// Allocates exactly `count` MSI-X vectors and registers the threaded `handler` on entry
    /// `index`.
    pub(crate) fn new(
        pdev: &'bound pci::Device<Bound>,
        count: u32,
        index: u32,
        name: &'static CStr,
        handler: impl PinInit<T, Error> + 'bound,
    ) -> impl PinInit<Self, Error> + 'bound {
        let msix = pci::IrqTypes::default().with(pci::IrqType::MsiX);
        try_pin_init!(&this in Self {
            // Initialised before `registration`: pin-init runs field initialisers in the order
            // they are written here.
            vectors: pdev.alloc_irq_vectors(count, count, msix)?,
            registration <- {
                // SAFETY: `vectors` is initialised (above) and lives inside `*this`, which is
                // pinned: its address is stable until `Self` is dropped. By the type invariant
                // `registration` is dropped before `vectors`, so the reference handed to the IRQ
                // registration never dangles.
                let vectors: &'bound pci::IrqVectorRegistration<'bound> =
                    unsafe { &*addr_of!((*this.as_ptr()).vectors) };
                let request: irq::IrqRequest<'bound> = vectors.index(index as usize)?.into();
                // SAFETY: the registration is a pinned field of `Self` and is dropped with it;
                // nothing here `mem::forget`s it.
                unsafe {
                    irq::ThreadedRegistration::new(
                        request,
                        irq::Flags::TRIGGER_NONE,
                        name,
                        handler,
                    )
                }
            },
        })
    }
}
