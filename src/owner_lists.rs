// SPDX-License-Identifier: GPL-2.0

//! NEC's owners by uid of CR pages and PCIATB entries (docs/nec-abi.md, "Owners of CR pages and
//! VE memory"), as plain rules: `VEDRV_CMD_ASSIGN_CR` / `_UNASSIGN_CR` and `_ASSIGN_VEMEM` /
//! `_UNASSIGN_VEMEM` edit one [`OwnerLists`] each, and a fault in the CR or VE memory window of a
//! caller without `CAP_SYS_ADMIN` maps its page only if [`OwnerLists::permits`] the caller's uid
//! for the page's CR page or PCIATB entry. Also the page arithmetic of those faults
//! ([`pciatb_page_size`]) and the range `VEDRV_CMD_UNMAP` zaps ([`unmap_pages`]).
//!
//! Unlike NEC's driver, which indexes its per-entry lists with the faulting offset's page number
//! unchecked (reading past the arrays when a window is larger than the lists cover), an index
//! past the lists permits nobody here.
//!
//! `core` only: compiled into the module and unit-tested on the host (`tests/host`). The storage
//! is the caller's ([`OwnerStore`]): a `KVec` in the module, a `Vec` in the tests.

/// A kernel uid (`kuid_t`'s value), already converted from the caller's user namespace.
pub type Kuid = u32;

/// One owner: `(index, uid)`.
pub type Owner = (u32, Kuid);

/// Sorted, duplicate-free storage of owners; the allocation is the implementer's.
pub trait OwnerStore {
    /// The owners, sorted by index, then uid.
    fn owners(&self) -> &[Owner];
    /// Inserts `owner` at position `at` (`at <= len`); `Err` if memory for it is lacking.
    fn insert(&mut self, at: usize, owner: Owner) -> Result<(), OutOfMemory>;
    /// Removes the owner at position `at` (`at < len`).
    fn remove(&mut self, at: usize);
}

/// An allocation failed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct OutOfMemory;

/// What an assignment of a uid that already owns the index answers.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum OnDuplicate {
    /// `EINVAL` (NEC's `ASSIGN_CR`).
    Refuse,
    /// 0, nothing changes (NEC's `ASSIGN_VEMEM`).
    Accept,
}

/// Why an assignment or unassignment was refused.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum OwnerError {
    /// `EINVAL`: the index is negative or past the lists.
    BadIndex,
    /// `EINVAL`: the uid already owns the index ([`OnDuplicate::Refuse`]).
    Duplicate,
    /// `ENOMEM`.
    NoMemory,
}

/// The owners of `len` indices (CR pages or PCIATB entries): per index, the uids that may map
/// it.
pub struct OwnerLists<S> {
    len: u32,
    on_duplicate: OnDuplicate,
    store: S,
}

impl<S: OwnerStore> OwnerLists<S> {
    /// Lists for indices `0..len`, empty in `store`.
    pub const fn new(len: u32, on_duplicate: OnDuplicate, store: S) -> Self {
        Self {
            len,
            on_duplicate,
            store,
        }
    }

    /// Indices these lists cover.
    pub fn indices(&self) -> u32 {
        self.len
    }

    /// Owners recorded, over every index.
    pub fn count(&self) -> usize {
        self.store.owners().len()
    }

    /// The storage.
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// `index` as an index of the lists, as an ioctl passes it (`int`): `BadIndex` if negative
    /// or past the lists.
    fn checked(&self, index: i32) -> Result<u32, OwnerError> {
        u32::try_from(index)
            .ok()
            .filter(|&i| i < self.len)
            .ok_or(OwnerError::BadIndex)
    }

    /// Where `(index, uid)` is, or would be inserted.
    fn search(&self, owner: Owner) -> Result<usize, usize> {
        self.store.owners().binary_search(&owner)
    }

    /// `ASSIGN_CR` / `ASSIGN_VEMEM`: `uid` may map `index`.
    pub fn assign(&mut self, index: i32, uid: Kuid) -> Result<(), OwnerError> {
        let index = self.checked(index)?;
        match self.search((index, uid)) {
            Ok(_) => match self.on_duplicate {
                OnDuplicate::Refuse => Err(OwnerError::Duplicate),
                OnDuplicate::Accept => Ok(()),
            },
            Err(at) => self
                .store
                .insert(at, (index, uid))
                .map_err(|OutOfMemory| OwnerError::NoMemory),
        }
    }

    /// `UNASSIGN_CR` / `UNASSIGN_VEMEM`: `uid` no longer owns `index` (every such entry goes;
    /// success if there was none). Returns how many went (0 or 1: the lists hold no
    /// duplicates).
    pub fn unassign(&mut self, index: i32, uid: Kuid) -> Result<usize, OwnerError> {
        let index = self.checked(index)?;
        match self.search((index, uid)) {
            Ok(at) => {
                self.store.remove(at);
                Ok(1)
            }
            Err(_) => Ok(0),
        }
    }

    /// Whether `uid` owns the page at index `index` of a window (a faulting offset's page
    /// number, unchecked): `false` for an index past the lists.
    pub fn permits(&self, index: u64, uid: Kuid) -> bool {
        u32::try_from(index)
            .ok()
            .filter(|&i| i < self.len)
            .is_some_and(|i| self.search((i, uid)).is_ok())
    }
}

/// PCIATB pages of 2 MiB.
pub const PCIATB_2M: u64 = 2 << 20;
/// PCIATB pages of 64 MiB.
pub const PCIATB_64M: u64 = 64 << 20;

/// The PCIATB page size a PCIATBA register value selects (bit 0: 64 MiB, else 2 MiB), as NEC's
/// fault check reads it (`mmap_ve1.c`).
pub const fn pciatb_page_size(pciatba: u64) -> u64 {
    if pciatba & 1 != 0 {
        PCIATB_64M
    } else {
        PCIATB_2M
    }
}

/// The PCIATB page size VEOS programs for a VE memory window of `bar0_size` bytes: 2 MiB pages
/// for 128 MiB, 64 MiB pages above (VEOS's `pciatb_api.c`); for a card whose PCIATBA the driver
/// cannot read.
pub const fn pciatb_page_size_for_window(bar0_size: u64) -> u64 {
    if bar0_size > 128 << 20 {
        PCIATB_64M
    } else {
        PCIATB_2M
    }
}

/// `VEDRV_CMD_UNMAP`'s range is refused (`EINVAL`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct BadRange;

/// `VEDRV_CMD_UNMAP`'s range: `offset` and `size` as the ioctl passes them. `Err` (`EINVAL`)
/// where NEC's check refuses them (`offset + size - 1 < offset`, in unsigned arithmetic: a range
/// that wraps, or an empty one at a nonzero offset); else the pages holding a byte of
/// `[offset, offset + size)`, as `(first page, pages)` of `page_size` bytes, `None` if empty.
/// Exactly that range (`None` too for a zero `page_size`): NEC's zaps `[offset, 2 * offset + size - 1)` (it passes the end as the
/// length).
pub fn unmap_pages(offset: i64, size: u64, page_size: u64) -> Result<Option<(u64, u64)>, BadRange> {
    let start = offset as u64;
    let last = start.wrapping_add(size).wrapping_sub(1);
    if last < start {
        return Err(BadRange);
    }
    match (start.checked_div(page_size), last.checked_div(page_size)) {
        (Some(first), Some(end)) if size != 0 => Ok(Some((first, end - first + 1))),
        _ => Ok(None),
    }
}
