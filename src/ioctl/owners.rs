// SPDX-License-Identifier: GPL-2.0

//! NEC's ownership ioctls of the CR and VE memory windows and `VEDRV_CMD_UNMAP`: argument
//! decoding. The dispatcher has already checked CAP_SYS_ADMIN; the rules are
//! [`crate::owner_lists`], applied by [`Card`].

use kernel::prelude::*;

use super::read_user;
use crate::{
    card::{
        Card,
        OwnerKind, //
    },
    uapi, //
};

/// `VEDRV_CMD_ASSIGN_CR` (`assign`) and `VEDRV_CMD_UNASSIGN_CR`: `EFAULT`, then as
/// [`Card::assign_owner`] and [`Card::unassign_owner`].
pub(super) fn cr(card: &Card, arg: usize, assign: bool) -> Result<isize> {
    let req: uapi::VeCrAssign = read_user(arg)?;
    owner(
        card,
        OwnerKind::CrPage,
        req.cr_page_num,
        req.owner_uid,
        assign,
    )
}

/// `VEDRV_CMD_ASSIGN_VEMEM` (`assign`) and `VEDRV_CMD_UNASSIGN_VEMEM`.
pub(super) fn vemem(card: &Card, arg: usize, assign: bool) -> Result<isize> {
    let req: uapi::VePcimemAssign = read_user(arg)?;
    owner(
        card,
        OwnerKind::PciatbEntry,
        req.pciatb_entry,
        req.owner_uid,
        assign,
    )
}

fn owner(card: &Card, kind: OwnerKind, index: i32, uid: u32, assign: bool) -> Result<isize> {
    if assign {
        card.assign_owner(kind, index, uid)?;
    } else {
        card.unassign_owner(kind, index, uid)?;
    }
    Ok(0)
}

/// `VEDRV_CMD_UNMAP`: `EFAULT`, then as [`Card::unmap_range`].
pub(super) fn unmap(card: &Card, arg: usize) -> Result<isize> {
    let req: uapi::VeUnmap = read_user(arg)?;
    card.unmap_range(req.offset, req.size)?;
    Ok(0)
}
