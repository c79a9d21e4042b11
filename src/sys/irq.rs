// SPDX-License-Identifier: GPL-2.0

//! An MSI-X vector allocation together with the IRQ handlers registered on its vectors: one
//! threaded handler on one entry and plain (hard) handlers on others. 7.3's
//! `pci::IrqVectorRegistration` lends its vectors by reference, so keeping both in one
//! driver-data struct is a self-reference; [`MsixIrq`] owns all of them and orders their drops.

use core::ptr::addr_of;

use kernel::{
    device::Bound,
    irq,
    pci,
    prelude::*, //
};

/// MSI-X vectors of a PCI function, one threaded handler and any number of hard handlers
/// registered on them.
///
/// # Invariants
///
/// - `hard` and `registration` were requested on vectors of `vectors` and are freed before
///   `vectors` (field declaration order is drop order), so every `free_irq()` runs before
///   `pci_free_irq_vectors()`.
/// - `vectors` lives at a pinned address for as long as `registration` or `hard` exist.
#[pin_data]
pub(crate) struct MsixIrq<'bound, T: irq::ThreadedHandler + 'bound, H: irq::Handler + 'bound> {
    hard: KVec<Pin<KBox<irq::Registration<'bound, H>>>>,
    #[pin]
    registration: irq::ThreadedRegistration<'bound, T>,
    vectors: pci::IrqVectorRegistration<'bound>,
}

impl<'bound, T: irq::ThreadedHandler + 'bound, H: irq::Handler + 'bound> MsixIrq<'bound, T, H> {
    /// Allocates `count` (a range: at least, at most) MSI-X vectors, registers the threaded `handler` on entry
    /// `index` and, for every other allocated entry `e` for which `hard_for(e)` gives one, a hard
    /// handler on `e`.
    pub(crate) fn new(
        pdev: &'bound pci::Device<Bound>,
        count: core::ops::RangeInclusive<u32>,
        index: u32,
        name: &'static CStr,
        handler: impl PinInit<T, Error> + 'bound,
        hard_name: &'static CStr,
        hard_for: impl Fn(u32) -> Option<H> + 'bound,
    ) -> impl PinInit<Self, Error> + 'bound {
        let msix = pci::IrqTypes::default().with(pci::IrqType::MsiX);
        try_pin_init!(&this in Self {
            // Initialised before `registration` and `hard`: pin-init runs field initialisers in
            // the order they are written here.
            vectors: pdev.alloc_irq_vectors(*count.start(), *count.end(), msix)?,
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
            hard: {
                // SAFETY: as for `registration`: `vectors` is initialised and pinned, and `hard`
                // is dropped before it.
                let vectors: &'bound pci::IrqVectorRegistration<'bound> =
                    unsafe { &*addr_of!((*this.as_ptr()).vectors) };
                let mut hard = KVec::new();
                for e in 0..vectors.len() as u32 {
                    if e == index {
                        continue;
                    }
                    let Some(h) = hard_for(e) else {
                        continue;
                    };
                    let request: irq::IrqRequest<'bound> = vectors.index(e as usize)?.into();
                    // SAFETY: the registration is boxed, pinned and owned by `hard`, which drops
                    // it (so `free_irq` runs) before `vectors`; nothing `mem::forget`s it.
                    let init = unsafe {
                        irq::Registration::new(
                            request,
                            irq::Flags::TRIGGER_NONE,
                            hard_name,
                            Ok::<_, Error>(h),
                        )
                    };
                    hard.push(KBox::pin_init(init, GFP_KERNEL)?, GFP_KERNEL)?;
                }
                hard
            },
        })
    }

    /// How many vectors were allocated.
    pub(crate) fn vectors(&self) -> u32 {
        self.vectors.len() as u32
    }
}
