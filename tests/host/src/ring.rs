// SPDX-License-Identifier: GPL-2.0

//! Host tests of `src/dma/ring.rs`.

use crate::ring::*;

#[test]
fn post_until_full_then_complete() {
    let mut r = Ring::new(5);
    assert_eq!(r.room(), 127);
    let slots: Vec<usize> = (0..127).map(|_| r.post().unwrap()).collect();
    assert_eq!(slots[0], 5);
    assert_eq!(slots[122], 127);
    assert_eq!(slots[123], 0, "wraps");
    assert_eq!(*slots.last().unwrap(), 3);
    assert_eq!(r.post(), None, "one slot always stays free");
    assert_eq!(r.head(), 4);
    assert_eq!(r.complete_to(10), Some(5));
    assert_eq!(r.inflight(), 122);
    assert_eq!(r.complete_to(4), Some(122));
    assert_eq!(r.inflight(), 0);
    assert_eq!(r.room(), 127);
}

#[test]
fn read_pointer_outside_the_slots_in_flight_is_rejected() {
    let mut r = Ring::new(0);
    r.post();
    r.post();
    assert_eq!(r.complete_to(3), None);
    assert_eq!(r.complete_to(0), Some(0), "nothing done yet");
    assert_eq!(r.complete_to(1), Some(1));
    assert_eq!(r.complete_to(0), None, "backwards");
    assert_eq!(r.complete_to(2), Some(1));
}

#[test]
fn reset_forgets_everything() {
    let mut r = Ring::new(120);
    for _ in 0..20 {
        r.post();
    }
    r.reset(12);
    assert_eq!((r.head(), r.tail(), r.inflight()), (12, 12, 0));
}
