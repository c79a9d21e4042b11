// SPDX-License-Identifier: GPL-2.0

//! The engine lent to a user-space DMA manager (NEC's register mapping for VEOS): the grant each
//! VMA of its mappings holds, their page faults, and taking the engine back.

use kernel::{
    prelude::*,
    sync::Arc, //
};

use super::Card;
use crate::dma::Channel as _;
use crate::sys::{
    MappedSpace,
    RegisterFault,
    RegisterHolder,
    VmFault, //
};

/// One register mapping's share of the engine lent to a user-space DMA manager (NEC's mmap):
/// every VMA of the mapping holds a reference. Further mappings of the same user (VEOS maps the
/// system-common registers twice through one file) have holders of their own with the same
/// grant; when the last of the grant's mappings goes, the engine returns to the kernel, unless
/// the kernel took it back already ([`Card::reclaim_engine`], unbind).
pub(crate) struct ScrGrant {
    card: Arc<Card>,
    /// The grant's generation in the DMA manager.
    grant: u64,
}

impl Drop for ScrGrant {
    fn drop(&mut self) {
        let card = &self.card;
        card.dma.lock().unmapped(&**card, self.grant);
        card.notify_dma();
    }
}

impl RegisterHolder for ScrGrant {
    /// A fault in one of the grant's register mappings: the page is mapped only while this
    /// grant still has the engine and the card is bound (its register BAR not yet released:
    /// unbind marks the card removed under `dma`, and the BAR is revoked after unbind returns).
    /// Otherwise `SIGBUS`. The page is inserted with `dma` held, so a take-back (which zaps
    /// under `dma` every mapping of the grant) either comes first, and this maps nothing, or
    /// comes after and removes what this mapped.
    fn fault(&self, fault: &RegisterFault<'_>) -> VmFault {
        let card = &self.card;
        // Held until the page is inserted.
        let dma = card.dma.lock();
        if !dma.engine().lent_to(Some(self.grant)) || card.is_removed() {
            return VmFault::SIGBUS;
        }
        // The mapping starts at the system-common registers' file offset.
        let Some(rel) = fault.file_offset().checked_sub(card.facts_chip().mmap_scr) else {
            return VmFault::SIGBUS;
        };
        fault.insert(card.scr_window(), rel)
    }
}

/// Lends `card`'s engine to the user-space manager mapping its registers at `space`, or adds the
/// mapping to its grant if the same open file in the same process holds it already; `EBUSY`
/// while the kernel manager has requests or another user holds the engine, `ENODEV` once the
/// card is unbound.
pub(crate) fn lend_engine(card: &Arc<Card>, space: MappedSpace) -> Result<Arc<ScrGrant>> {
    // `lend` refuses a removed card, under `dma`, where unbind marks it: no engine is lent after
    // unbind took it back.
    let loan = card.dma.lock().lend(&**card, space)?;
    if loan.first {
        // Interrupts of the kernel manager's transfers are not the new owner's to wait for
        // (a joining mapping's are: its user had the engine already).
        card.forget_kernel_interrupts();
    }
    // On failure the mapping's share goes again (the engine back to the kernel if it was the
    // only one).
    Arc::new(
        ScrGrant {
            card: card.clone(),
            grant: loan.grant,
        },
        GFP_KERNEL,
    )
    .inspect_err(|_| {
        card.dma.lock().unmapped(&**card, loan.grant);
    })
    .map_err(Into::into)
}

impl Card {
    /// `VE_DRV_IOC_RECLAIM`: takes the engine back from user space, zapping its register
    /// mapping. Returns whether it was lent.
    pub(crate) fn reclaim_engine(&self) -> bool {
        let was = self.dma.lock().take_back(self, None);
        self.notify_dma();
        was
    }
}
