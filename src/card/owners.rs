// SPDX-License-Identifier: GPL-2.0

//! NEC's owners by uid of the card's CR pages and PCIATB entries (`VEDRV_CMD_ASSIGN_CR`,
//! `_UNASSIGN_CR`, `_ASSIGN_VEMEM`, `_UNASSIGN_VEMEM`), the fault-time check of the CR and VE
//! memory windows that consults them, and `VEDRV_CMD_UNMAP`. The rules are
//! [`crate::owner_lists`]; this holds them in [`Card::owners`].
//!
//! Locking: [`Card::owners`] is taken inside [`Card::maps`] by a fault (which holds `mmap_lock`),
//! and alone by the ioctls. A fault decides and inserts its page with `Card::maps` held, and
//! `UNMAP` zaps with it held: after `UNASSIGN` returns, a fault that follows an `UNMAP` sees the
//! new owners, and one that came before it had its page zapped by it.

use kernel::{
    alloc::kvec::InsertError,
    prelude::*, //
};

use super::Card;
use crate::{
    chip::WindowKind,
    owner_lists::{
        self,
        OnDuplicate,
        OutOfMemory, //
        Owner,
        OwnerError,
        OwnerLists,
        OwnerStore,
    },
    sys, //
};

/// A `KVec` as the owner lists' storage.
pub(crate) struct KStore(KVec<Owner>);

impl OwnerStore for KStore {
    fn owners(&self) -> &[Owner] {
        &self.0
    }

    fn insert(&mut self, at: usize, owner: Owner) -> Result<(), OutOfMemory> {
        self.0.reserve(1, GFP_KERNEL).map_err(|_| OutOfMemory)?;
        self.0
            .insert_within_capacity(at, owner)
            .map_err(|e| match e {
                InsertError::IndexOutOfBounds(_) | InsertError::OutOfCapacity(_) => OutOfMemory,
            })
    }

    fn remove(&mut self, at: usize) {
        // `at` is a position the lists found: in bounds.
        let _ = self.0.remove(at);
    }
}

/// The card's owner lists, protected by [`Card::owners`].
pub(crate) struct Owners {
    cr: OwnerLists<KStore>,
    vemem: OwnerLists<KStore>,
}

impl Owners {
    /// Empty lists for `cr_pages` CR pages and `pciatb_entries` PCIATB entries.
    pub(crate) fn new(cr_pages: u32, pciatb_entries: u32) -> Self {
        Self {
            cr: OwnerLists::new(cr_pages, OnDuplicate::Refuse, KStore(KVec::new())),
            vemem: OwnerLists::new(pciatb_entries, OnDuplicate::Accept, KStore(KVec::new())),
        }
    }
}

/// The owner lists of CR pages or of PCIATB entries.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum OwnerKind {
    /// `ASSIGN_CR` / `UNASSIGN_CR`.
    CrPage,
    /// `ASSIGN_VEMEM` / `UNASSIGN_VEMEM`.
    PciatbEntry,
}

fn errno(e: OwnerError) -> Error {
    match e {
        OwnerError::BadIndex | OwnerError::Duplicate => EINVAL,
        OwnerError::NoMemory => ENOMEM,
    }
}

impl Card {
    fn lists<'a>(owners: &'a mut Owners, kind: OwnerKind) -> &'a mut OwnerLists<KStore> {
        match kind {
            OwnerKind::CrPage => &mut owners.cr,
            OwnerKind::PciatbEntry => &mut owners.vemem,
        }
    }

    /// `ASSIGN_*`: `uid` (of the caller's user namespace) may map page `index` of `kind`.
    /// `EINVAL` for a uid that names nobody, an index outside the lists, a CR page the uid
    /// already owns; `ENOMEM`. A PCIATB entry the uid already owns: success.
    pub(crate) fn assign_owner(&self, kind: OwnerKind, index: i32, uid: u32) -> Result {
        let kuid = sys::kuid_from_user(uid)?;
        let mut owners = self.owners.lock();
        Self::lists(&mut owners, kind)
            .assign(index, kuid)
            .map_err(errno)
    }

    /// `UNASSIGN_*`: `uid` no longer owns page `index` of `kind` (success if it did not);
    /// `EINVAL` as for [`Card::assign_owner`]. Pages already mapped stay mapped until
    /// `VEDRV_CMD_UNMAP` (NEC's).
    pub(crate) fn unassign_owner(&self, kind: OwnerKind, index: i32, uid: u32) -> Result {
        let kuid = sys::kuid_from_user(uid)?;
        let mut owners = self.owners.lock();
        Self::lists(&mut owners, kind)
            .unassign(index, kuid)
            .map(drop)
            .map_err(errno)
    }

    /// Whether the faulting task may map the page at `rel` bytes into a window of `kind`:
    /// `CAP_SYS_ADMIN` anywhere; else its real uid (`current_uid()`, NEC's) on the owner list of
    /// the page's CR page (`rel / cr_page_size`) or PCIATB entry (`rel / PCIATB page size`, the
    /// size read from PCIATBA now, as NEC does), an index past the lists permitting nobody.
    /// Called with [`Card::maps`] held (see the module's locking).
    pub(crate) fn may_fault(&self, kind: WindowKind, rel: u64, window_size: u64) -> bool {
        if sys::capable_sys_admin() {
            return true;
        }
        let chip = self.facts.chip;
        let (index, vemem) = match kind {
            WindowKind::Registers => return false,
            WindowKind::Cr => (rel.checked_div(chip.cr_page_size), false),
            WindowKind::VeMemory => {
                let page = match chip.pciatba {
                    Some(off) => match self.with_regs(|r| r.scr_read64(off)) {
                        Ok(v) => owner_lists::pciatb_page_size(v),
                        // The card is gone: nothing maps.
                        Err(_) => return false,
                    },
                    None => owner_lists::pciatb_page_size_for_window(window_size),
                };
                (rel.checked_div(page), true)
            }
        };
        let Some(index) = index else {
            return false;
        };
        let uid = sys::current_kuid();
        let owners = self.owners.lock();
        if vemem {
            owners.vemem.permits(index, uid)
        } else {
            owners.cr.permits(index, uid)
        }
    }

    /// `VEDRV_CMD_UNMAP`: removes the page table entries of every user mapping of the file
    /// offsets `[offset, offset + size)` (every page holding a byte of it) through this card's
    /// device nodes; a page that is still permitted faults back in. `EINVAL` where NEC's check
    /// refuses the range (`offset + size - 1 < offset`). NEC zaps `[offset, 2 * offset + size -
    /// 1)` of the most recently opened node's inode; this zaps exactly the range, in the address
    /// space of every node through which a mapping of the card exists.
    pub(crate) fn unmap_range(&self, offset: i64, size: u64) -> Result {
        let page = kernel::page::PAGE_SIZE as u64;
        let Some((first, pages)) =
            owner_lists::unmap_pages(offset, size, page).map_err(|_| EINVAL)?
        else {
            return Ok(());
        };
        // Held while zapping: a fault inserts under it (the module's locking).
        let maps = self.maps.lock();
        maps.for_each_address_space(|space| space.zap_pages(first, pages));
        Ok(())
    }
}
