// SPDX-License-Identifier: GPL-2.0

//! NEC's owners of CR pages and PCIATB entries (src/owner_lists.rs): assign, unassign,
//! duplicates, bounds, lookup; the PCIATB page size; UNMAP's range.

use crate::owner_lists::{
    pciatb_page_size, pciatb_page_size_for_window, unmap_pages, BadRange, OnDuplicate, OutOfMemory,
    Owner, OwnerError, OwnerLists, OwnerStore, PCIATB_2M, PCIATB_64M,
};

/// A `Vec` that can be told to fail its next allocation.
#[derive(Default)]
struct Store {
    v: Vec<Owner>,
    fail: bool,
}

impl OwnerStore for Store {
    fn owners(&self) -> &[Owner] {
        &self.v
    }
    fn insert(&mut self, at: usize, owner: Owner) -> Result<(), OutOfMemory> {
        if self.fail {
            return Err(OutOfMemory);
        }
        self.v.insert(at, owner);
        Ok(())
    }
    fn remove(&mut self, at: usize) {
        self.v.remove(at);
    }
}

fn cr() -> OwnerLists<Store> {
    OwnerLists::new(32, OnDuplicate::Refuse, Store::default())
}

fn vemem() -> OwnerLists<Store> {
    OwnerLists::new(1024, OnDuplicate::Accept, Store::default())
}

#[test]
fn assign_permits_only_that_uid_and_index() {
    let mut l = cr();
    assert!(!l.permits(3, 1000));
    assert_eq!(l.assign(3, 1000), Ok(()));
    assert!(l.permits(3, 1000));
    assert!(!l.permits(3, 1001));
    assert!(!l.permits(2, 1000));
    assert!(!l.permits(4, 1000));
    assert_eq!(l.assign(3, 1001), Ok(()));
    assert_eq!(l.assign(0, 0), Ok(()));
    assert!(l.permits(3, 1001) && l.permits(3, 1000) && l.permits(0, 0));
    assert_eq!(l.count(), 3);
}

#[test]
fn index_range_is_checked() {
    for mut l in [cr(), vemem()] {
        let n = l.indices() as i32;
        for bad in [-1, i32::MIN, n, n + 1, i32::MAX] {
            assert_eq!(l.assign(bad, 5), Err(OwnerError::BadIndex), "assign {bad}");
            assert_eq!(
                l.unassign(bad, 5),
                Err(OwnerError::BadIndex),
                "unassign {bad}"
            );
        }
        assert_eq!(l.assign(0, 5), Ok(()));
        assert_eq!(l.assign(n - 1, 5), Ok(()));
        assert_eq!(l.count(), 2);
    }
}

#[test]
fn duplicates_cr_refused_vemem_accepted() {
    let mut c = cr();
    assert_eq!(c.assign(7, 42), Ok(()));
    assert_eq!(c.assign(7, 42), Err(OwnerError::Duplicate));
    assert_eq!(c.count(), 1);
    let mut v = vemem();
    assert_eq!(v.assign(7, 42), Ok(()));
    assert_eq!(v.assign(7, 42), Ok(()));
    assert_eq!(v.count(), 1);
    // One unassign removes it: it was stored once.
    assert_eq!(v.unassign(7, 42), Ok(1));
    assert!(!v.permits(7, 42));
}

#[test]
fn unassign_removes_the_match_and_succeeds_without_one() {
    let mut l = vemem();
    assert_eq!(l.unassign(9, 1), Ok(0));
    for uid in [3, 1, 2] {
        l.assign(9, uid).unwrap();
        l.assign(10, uid).unwrap();
    }
    assert_eq!(l.unassign(9, 2), Ok(1));
    assert_eq!(l.unassign(9, 2), Ok(0));
    assert!(l.permits(9, 1) && l.permits(9, 3) && !l.permits(9, 2));
    assert!(l.permits(10, 2));
    assert_eq!(l.count(), 5);
}

#[test]
fn no_memory_changes_nothing() {
    let mut l = cr();
    l.assign(1, 1).unwrap();
    l.store_mut().fail = true;
    assert_eq!(l.assign(2, 1), Err(OwnerError::NoMemory));
    assert_eq!(l.count(), 1);
    assert!(!l.permits(2, 1));
    // A duplicate needs no memory.
    assert_eq!(l.assign(1, 1), Err(OwnerError::Duplicate));
}

/// NEC's defect 9.7: a page past the lists is looked up unchecked there; here it permits nobody.
#[test]
fn pages_past_the_lists_permit_nobody() {
    let mut l = cr();
    l.assign(31, 7).unwrap();
    assert!(l.permits(31, 7));
    for page in [32, 33, 1 << 32, (1 << 32) + 31, u64::MAX] {
        assert!(!l.permits(page, 7), "page {page}");
    }
}

#[test]
fn lists_stay_sorted() {
    let mut l = vemem();
    for (i, u) in [(5, 9), (1, 3), (5, 1), (1000, 0), (0, u32::MAX - 1)] {
        l.assign(i, u).unwrap();
    }
    let owners = l.store_mut().owners().to_vec();
    assert!(owners.windows(2).all(|w| w[0] < w[1]), "{owners:?}");
}

#[test]
fn pciatb_page_sizes() {
    assert_eq!(pciatb_page_size(0), PCIATB_2M);
    assert_eq!(pciatb_page_size(1), PCIATB_64M);
    assert_eq!(pciatb_page_size(0xffff_fffe), PCIATB_2M);
    assert_eq!(pciatb_page_size(u64::MAX), PCIATB_64M);
    assert_eq!(pciatb_page_size_for_window(128 << 20), PCIATB_2M);
    assert_eq!(pciatb_page_size_for_window(256 << 20), PCIATB_64M);
    assert_eq!(pciatb_page_size_for_window(64 << 30), PCIATB_64M);
}

#[test]
fn unmap_range_is_exactly_the_request() {
    let p = 4096;
    // NEC's check: offset + size - 1 < offset (unsigned) is EINVAL.
    assert_eq!(unmap_pages(-1, 2, p), Err(BadRange));
    assert_eq!(unmap_pages(0x1000, u64::MAX, p), Err(BadRange));
    assert_eq!(unmap_pages(1, 0, p), Err(BadRange));
    assert_eq!(unmap_pages(i64::MIN, 0, p), Err(BadRange));
    // An empty range at 0 passes the check and zaps nothing.
    assert_eq!(unmap_pages(0, 0, p), Ok(None));
    // Page aligned: exactly those pages (NEC would zap [offset, 2 * offset + size - 1)).
    assert_eq!(unmap_pages(0x2000, 0x1000, p), Ok(Some((2, 1))));
    assert_eq!(
        unmap_pages(0x2000_0000, 0x20_0000, p),
        Ok(Some((0x2_0000, 0x200)))
    );
    // Unaligned: every page holding a byte of the range.
    assert_eq!(unmap_pages(0x1800, 0x1000, p), Ok(Some((1, 2))));
    assert_eq!(unmap_pages(0x1fff, 1, p), Ok(Some((1, 1))));
    assert_eq!(unmap_pages(0, 1, p), Ok(Some((0, 1))));
    // Up to the very end of the offset space.
    assert_eq!(unmap_pages(-4096, 4096, p), Ok(Some((u64::MAX / p, 1))));
    assert_eq!(unmap_pages(0, u64::MAX, p), Ok(Some((0, u64::MAX / p + 1))));
}
