// SPDX-License-Identifier: GPL-2.0

//! NEC's translation and pinning ioctls: argument decoding and checks. The dispatcher has already
//! checked CAP_SYS_ADMIN. Semantics and errno sets: `include/uapi/ve_drv.h`.

use kernel::{
    prelude::*,
    transmute::AsBytes,
    uaccess::UserSlice, //
};

use crate::{
    card::Card,
    extent::{
        PAGE_SIZE,
        VP_MAXBULK, //
    },
    pin::{
        lists::{
            CallEntries,
            EntryKey,
            ListId,
            Released, //
        },
        translate::{
            self,
            Entries, //
        },
    },
    sys::{
        dma_map::{
            Direction,
            DmaMode, //
        },
        gup::{
            PinCharge,
            TargetMm, //
        },
    },
    uapi, //
};

/// How the card may use a pin kept on a list: VEOS posts descriptors both ways on pages pinned
/// for writing, and only reads the others.
fn direction(write: bool) -> Direction {
    if write {
        Direction::Bidirectional
    } else {
        Direction::ToDevice
    }
}

/// Maps a block call's pinned entries of `pgsz` bytes for the card: the addresses the caller gets
/// back, and the entries to file. 4 KiB entries pinned in one array stay one array where the DMA
/// API needs no unmap. `ENOMEM` if the DMA API cannot map them; then nothing stays pinned or
/// mapped.
fn map_entries(
    card: &Card,
    entries: Entries,
    pgsz: u64,
    write: bool,
) -> Result<(KVec<u64>, CallEntries)> {
    let dev = card.dma_device();
    let runs = match entries {
        Entries::Pages { pages, phys } => match dev.map_pages(pages, &phys, direction(write))? {
            Ok((pages, bus)) => return Ok((bus, CallEntries::Pages(pages))),
            // Each page is mapped on its own.
            Err(pages) => {
                let mut runs = KVec::with_capacity(phys.len(), GFP_KERNEL)?;
                let each = pages.into_runs(&phys).map_err(|_| ENOMEM)?;
                for (run, p) in each.into_iter().zip(phys.iter()) {
                    // Capacity is reserved.
                    runs.push((*p, run), GFP_KERNEL)?;
                }
                runs
            }
        },
        Entries::Runs(runs) => runs,
    };
    let mapped = dev.map_each(runs, pgsz, direction(write))?;
    let mut bus = KVec::with_capacity(mapped.len(), GFP_KERNEL)?;
    for m in mapped.iter() {
        // Capacity is reserved.
        bus.push(m.bus(), GFP_KERNEL)?;
    }
    Ok((bus, CallEntries::Each(mapped)))
}

/// Files one block call's pinned entries of `pgsz` bytes, answered with `addrs`, on a list with
/// `charge`, the charge of their pages; on failure they are unmapped, unpinned and uncharged
/// outside the lock.
fn keep(
    card: &Card,
    list: ListId,
    charge: PinCharge,
    addrs: KVec<u64>,
    entries: CallEntries,
    pgsz: u64,
) -> Result {
    let res = card
        .pins()
        .lock()
        .insert_call(list, charge, addrs, entries, pgsz);
    // The guard is gone: dropping what came back unpins without the list lock held.
    res.map_err(|back| {
        drop(back);
        ENOMEM
    })
}

/// `VEDRV_CMD_VHVA_TO_VSAA` (`pin == false`) and `VEDRV_CMD_VHVA_TO_VSAA_PIN_DOWN`.
///
/// A pinned page is mapped for the card, and the answer is its DMA address; a translation that
/// keeps nothing answers the physical address (nothing is mapped: a snapshot, as with NEC).
pub(super) fn vhva_to_vsaa(card: &Card, arg: usize, pin: bool) -> Result<isize> {
    let (mut reader, mut writer) =
        UserSlice::new(UserPtr::from_addr(arg), size_of::<uapi::VeVp>()).reader_writer();
    let mut req: uapi::VeVp = reader.read()?;
    let list = if pin {
        Some(ListId::new(req.list)?)
    } else {
        None
    };
    let target = TargetMm::by_pid(req.vp_info.pid)?;
    let write = req.vp_info.write != 0;
    let (phys, run) = translate::page(&target, req.vp_info.virt, write, pin)?;
    req.vp_info.pfnmap = 0;
    let Some(list) = list else {
        // Translation only: the pin ends here, as NEC drops its page reference.
        drop(run);
        req.vp_info.phys = phys;
        writer.write(&req)?;
        return Ok(0);
    };
    let offset = phys & (PAGE_SIZE - 1);
    let page = run.phys();
    let run = card
        .dma_device()
        .map(run, page, PAGE_SIZE, direction(write))
        .map_err(|(e, _)| e)?;
    let addr = run.bus() + offset;
    req.vp_info.phys = addr;
    let charge = target.charge_pages(run.pins().npages())?;
    // Tell the caller first: if that fails, nothing stays pinned.
    writer.write(&req)?;
    let res = card
        .pins()
        .lock()
        .insert_one(list, EntryKey::new(addr, PAGE_SIZE), charge, run);
    // The guard is gone: an entry that came back is unpinned without the list lock held.
    res.map_err(|_| ENOMEM)?;
    Ok(0)
}

/// `VEDRV_CMD_VHVA_TO_VSAA_BLK` (`pin == false`) and `VEDRV_CMD_VHVA_TO_VSAA_BLK_PIN_DOWN`.
pub(super) fn vhva_to_vsaa_blk(card: &Card, arg: usize, pin: bool) -> Result<isize> {
    let (mut reader, mut writer) =
        UserSlice::new(UserPtr::from_addr(arg), size_of::<uapi::VeVpBlk>()).reader_writer();
    let mut req: uapi::VeVpBlk = reader.read()?;
    let list = if pin {
        Some(ListId::new(req.list)?)
    } else {
        None
    };
    let v = req.vp_info;
    debug_assert!(v.maxpages.min(VP_MAXBULK) <= VP_MAXBULK);
    let target = TargetMm::by_pid(v.pid)?;
    let write = v.write != 0;
    // Bounce buffers hold at most a few hundred KiB per mapping: pins kept there are 4 KiB
    // entries.
    let huge = !(pin && card.dma_device().mode() == DmaMode::Bounce);
    let block = translate::block(&target, v.vaddr, v.length, v.maxpages, write, pin, huge)?;
    let n = block.entries.len();
    let (paddrs, entries) = match list {
        Some(list) => {
            // One charge for the whole call (`ENOMEM` over the caller's limit).
            let charge = target.charge_pages(block.entries.pages())?;
            // The addresses the caller gets back are the card's.
            let (paddrs, entries) = map_entries(card, block.entries, block.pgsz, write)?;
            (paddrs, Some((list, charge, entries)))
        }
        // Translation only: the pins end here, as NEC drops its page references.
        None => {
            let mut paddrs = KVec::with_capacity(n, GFP_KERNEL)?;
            for p in block.entries.paddrs() {
                // Capacity is reserved.
                paddrs.push(p, GFP_KERNEL)?;
            }
            drop(block.entries);
            (paddrs, None)
        }
    };

    // Results to the caller before the entries join the list: a bad `paddr` pointer is EFAULT
    // with nothing left pinned.
    UserSlice::new(UserPtr::from_addr(v.paddr as usize), n * size_of::<u64>())
        .writer()
        .write_slice(AsBytes::as_bytes(&paddrs[..]))?;
    req.vp_info.length = block.length;
    req.vp_info.npages = n as u32;
    req.vp_info.pgsz = block.pgsz as i32;
    req.vp_info.pfnmap = 0;
    writer.write(&req)?;
    if let Some((list, charge, entries)) = entries {
        keep(card, list, charge, paddrs, entries, block.pgsz)?;
    }
    Ok(0)
}

/// `VEDRV_CMD_RELEASE_PD_PAGE`: one entry by the address the caller got back.
pub(super) fn release_pd_page(card: &Card, arg: usize) -> Result<isize> {
    let req: uapi::VeVpRelease =
        UserSlice::new(UserPtr::from_addr(arg), size_of::<uapi::VeVpRelease>())
            .reader()
            .read()?;
    let list = ListId::new(req.list)?;
    let mut released = Released::with_capacity(1)?;
    let r = card.pins().lock().release(list, &[req.addr], &mut released);
    // Unpinned here, without the list lock.
    drop(released);
    r.map(|()| 0)
}

/// `VEDRV_CMD_RELEASE_PD_PAGE_BLK`: up to 100 entries by the addresses the caller got back. An
/// address that is not held stops the call with `ENOENT`; the entries before it are released.
pub(super) fn release_pd_page_blk(card: &Card, arg: usize) -> Result<isize> {
    let req: uapi::VeVpBlkRelease =
        UserSlice::new(UserPtr::from_addr(arg), size_of::<uapi::VeVpBlkRelease>())
            .reader()
            .read()?;
    let list = ListId::new(req.list)?;
    let n = usize::try_from(req.npages).map_err(|_| EINVAL)?;
    if n > VP_MAXBULK as usize {
        return Err(EINVAL);
    }
    // One copy of the whole array (at most 100 addresses).
    let mut addrs = [0u64; VP_MAXBULK as usize];
    let addrs = &mut addrs[..n];
    UserSlice::new(UserPtr::from_addr(req.addr as usize), n * size_of::<u64>())
        .reader()
        .read_slice(AsBytes::as_bytes_mut(addrs))?;
    let mut released = Released::with_capacity(n)?;
    let r = card.pins().lock().release(list, addrs, &mut released);
    // The lock is released: unpin.
    drop(released);
    r.map(|()| 0)
}

/// `VEDRV_CMD_RELEASE_PD_PAGE_ALL`: every entry of a list.
pub(super) fn release_pd_page_all(card: &Card, arg: usize) -> Result<isize> {
    let req: uapi::VeVpRelease =
        UserSlice::new(UserPtr::from_addr(arg), size_of::<uapi::VeVpRelease>())
            .reader()
            .read()?;
    let list = ListId::new(req.list)?;
    let all = card.pins().lock().take_all(list);
    // Unpinned here, without the list lock.
    drop(all);
    Ok(0)
}

/// `VEDRV_CMD_COUNT_PD_PAGE_ALL`: entries held on a list, as the return value.
pub(super) fn count_pd_page_all(card: &Card, arg: usize) -> Result<isize> {
    let req: uapi::VeVpRelease =
        UserSlice::new(UserPtr::from_addr(arg), size_of::<uapi::VeVpRelease>())
            .reader()
            .read()?;
    let list = ListId::new(req.list)?;
    let n = card.pins().lock().count(list);
    Ok(n as isize)
}
