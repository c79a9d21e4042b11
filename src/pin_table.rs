// SPDX-License-Identifier: GPL-2.0

//! The table behind one of NEC's pin lists: entries keyed by `(frame, size)`, any number of them
//! under the same key (a page pinned twice is held twice), released one at a time newest first
//! by key, or all at once.
//!
//! Two arrays, both allocated in advance by [`PinTable::reserve`] (a whole call's worth at once),
//! so that inserting and releasing an entry allocate nothing:
//! - the **index**, an open-addressing hash table with linear probing of small buckets (a key
//!   and the number of its newest node: four to a cache line), one bucket per key held;
//! - the **nodes**, a dense array of entries, each with its key, its place in insertion order and
//!   the number of the next older node of its key: a key's entries form a chain, newest first.
//!
//! A lookup stops at its key's bucket, and taking the newest entry of a key is one step along
//! its chain; an entry is moved once into its node and once out. A tree costs a node allocation
//! and a rebalancing per entry, and a table of whole entries probes and moves entries of a
//! hundred bytes (both measured: docs/design.md, "NEC's pin lists").
//!
//! `core` only: compiled into the module and unit-tested on the host (`tests/host`). The arrays'
//! storage is the caller's ([`Storage`]): a `KVVec` in the module, a `Vec` in the tests.

/// No node: the end of a chain, an unused bucket, or the end of the free list.
const NIL: u32 = u32::MAX;
/// A bucket whose key's last entry was taken: a probe goes on past it, a new key may reuse it.
const GONE: u32 = u32::MAX - 1;

/// One bucket of the index: a key and its newest node, [`NIL`] (never used since the last
/// rebuild: a probe stops here) or [`GONE`].
#[derive(Copy, Clone)]
pub struct Bucket {
    frame: u64,
    size: u8,
    head: u32,
}

impl Bucket {
    const EMPTY: Self = Self {
        frame: 0,
        size: 0,
        head: NIL,
    };
}

/// One node: an entry, or a free node (its `next` in the free list).
pub enum Node<V> {
    /// Not in use.
    Free {
        /// The next free node, or [`NIL`].
        next: u32,
    },
    /// An entry.
    Held {
        /// Page frame number of the entry's first page.
        frame: u64,
        /// The entry's page size class (the caller's numbering).
        size: u8,
        /// Insertion order: among entries of one key the newest has the highest.
        seq: u64,
        /// The next older node of the same key, or [`NIL`].
        older: u32,
        /// The entry.
        value: V,
    },
}

impl<V> Node<V> {
    /// The entry, if the node holds one.
    pub fn into_value(self) -> Option<V> {
        match self {
            Node::Held { value, .. } => Some(value),
            Node::Free { .. } => None,
        }
    }
}

/// An allocation failed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct OutOfMemory;

/// A fixed-size array of `T`; the allocation is the implementer's.
pub trait Items<T>: Sized {
    /// No items (allocates nothing).
    fn none() -> Self;
    /// `n` items, item `i` made by `f(i)`.
    fn filled(n: usize, f: impl FnMut(usize) -> T) -> Result<Self, OutOfMemory>;
    /// The items.
    fn items(&self) -> &[T];
    /// The items, to change.
    fn items_mut(&mut self) -> &mut [T];
}

/// Where a table keeps its arrays.
pub trait Storage {
    /// An array of `T`.
    type Of<T>: Items<T>;
}

/// Fewest nodes a table grows to.
const MIN_NODES: usize = 16;

/// The table.
///
/// # Invariants
///
/// The index has twice as many buckets as there are nodes, 0 or a power of two; `used` buckets
/// are not empty ([`NIL`]), and `used * 4 <= buckets * 3`, so that every probe meets an empty
/// bucket. Every key with entries has exactly one bucket, in the probe sequence of its frame's
/// hash before the first empty bucket, whose `head` is its newest node; its chain (`older`
/// links) reaches each of its nodes once, in decreasing `seq`. `held` nodes are held; the others
/// are on the free list from `free`, each once.
pub struct PinTable<V, A: Storage> {
    index: A::Of<Bucket>,
    nodes: A::Of<Node<V>>,
    free: u32,
    held: usize,
    used: usize,
    next_seq: u64,
}

/// The first bucket of `frame`'s probe sequence in an index of `mask + 1` buckets.
fn home(frame: u64, mask: usize) -> usize {
    // Fibonacci hashing: frames of neighbouring pages spread over the index.
    (frame.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) as usize & mask
}

/// `i` as a node number (node counts are checked to fit when the arrays are made).
fn num(i: usize) -> u32 {
    i as u32
}

impl<V, A: Storage> PinTable<V, A> {
    /// An empty table without nodes.
    pub fn new() -> Self {
        Self {
            index: A::Of::none(),
            nodes: A::Of::none(),
            free: NIL,
            held: 0,
            used: 0,
            next_seq: 0,
        }
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.held
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.held == 0
    }

    fn fits(used: usize, buckets: usize) -> bool {
        used.checked_mul(4)
            .is_some_and(|u| buckets.checked_mul(3).is_some_and(|b| u <= b))
    }

    /// Whether `n` more entries, each under a new key, fit without a rebuild.
    fn has_room(&self, n: usize) -> bool {
        self.used
            .checked_add(n)
            .is_some_and(|u| Self::fits(u, self.index.items().len()))
            && self.nodes.items().len() - self.held >= n
    }

    /// Makes room for `n` more entries, so that the next `n` [`PinTable::insert`]s cannot fail:
    /// when the free nodes or the index's unused buckets would not do, the held entries move to
    /// arrays twice as large as they and the `n` new need (taken keys' buckets are not carried
    /// over), or, if no entry is held and the nodes suffice, both arrays are emptied in place.
    /// On failure nothing changes.
    pub fn reserve(&mut self, n: usize) -> Result<(), OutOfMemory> {
        if self.has_room(n) {
            return Ok(());
        }
        let nodes = self.nodes.items().len();
        // With twice as many buckets as nodes, `n <= nodes` new keys fit the index too.
        if self.held == 0 && n <= nodes {
            // Nothing held: start over in place rather than allocate anew (a list that is filled
            // and emptied again, as VEOS's is, keeps its arrays).
            self.index.items_mut().fill(Bucket::EMPTY);
            Self::link_free(self.nodes.items_mut());
            // INVARIANT: every bucket is empty, every node free and on the list.
            self.free = 0;
            self.used = 0;
            return Ok(());
        }
        let want = self
            .held
            .checked_add(n)
            .and_then(|k| k.checked_mul(2))
            .and_then(usize::checked_next_power_of_two)
            .ok_or(OutOfMemory)?
            .max(MIN_NODES);
        if u32::try_from(want).ok().is_none_or(|w| w >= GONE) {
            return Err(OutOfMemory);
        }
        let buckets = want.checked_mul(2).ok_or(OutOfMemory)?;
        let index = A::Of::<Bucket>::filled(buckets, |_| Bucket::EMPTY)?;
        let nodes = A::Of::<Node<V>>::filled(want, |i| Self::free_node(i, want))?;
        let mut old = core::mem::replace(&mut self.nodes, nodes);
        self.index = index;
        // INVARIANT: empty arrays, every node on the free list; the held entries go back in
        // below, each into a node of its own (there are more nodes than entries).
        self.free = 0;
        self.used = 0;
        self.held = 0;
        for node in old.items_mut() {
            if let Node::Held {
                frame,
                size,
                seq,
                value,
                ..
            } = core::mem::replace(node, Node::Free { next: NIL })
            {
                // Room for every one of them: this cannot fail; were it to, the entry would be
                // dropped (released).
                let _ = self.insert_seq(frame, size, seq, value);
            }
        }
        Ok(())
    }

    /// Node `i` of `n` on a free list from node 0, in order.
    fn free_node(i: usize, n: usize) -> Node<V> {
        Node::Free {
            next: if i + 1 < n { num(i + 1) } else { NIL },
        }
    }

    /// Puts every node of `nodes` on a free list from node 0, in order.
    fn link_free(nodes: &mut [Node<V>]) {
        let n = nodes.len();
        for (i, node) in nodes.iter_mut().enumerate() {
            // Every held entry is dropped here (only reached with none held).
            *node = Self::free_node(i, n);
        }
    }

    /// The bucket of `(frame, size)` if the key is held (`Ok`), else the bucket a new key would
    /// take (`Err`): the first taken key's bucket on the way, or the empty one that ended the
    /// probe. `None` without buckets.
    fn find(&self, frame: u64, size: u8) -> Option<Result<usize, usize>> {
        let index = self.index.items();
        if index.is_empty() {
            return None;
        }
        let mask = index.len() - 1;
        let mut i = home(frame, mask);
        let mut reuse = None;
        loop {
            let b = &index[i];
            match b.head {
                NIL => return Some(Err(reuse.unwrap_or(i))),
                GONE => {
                    reuse.get_or_insert(i);
                }
                _ if b.frame == frame && b.size == size => return Some(Ok(i)),
                _ => {}
            }
            i = (i + 1) & mask;
        }
    }

    /// Adds an entry under `(frame, size)`, newer than every entry already held; gives it back
    /// if there is no room ([`PinTable::reserve`] first).
    pub fn insert(&mut self, frame: u64, size: u8, value: V) -> Result<(), V> {
        self.insert_seq(frame, size, self.next_seq, value)
    }

    /// [`PinTable::insert`] with the entry's place in insertion order given: among entries of
    /// one key the one with the highest `seq` is the newest. Later [`PinTable::insert`]s are
    /// newer than it.
    pub fn insert_seq(&mut self, frame: u64, size: u8, seq: u64, value: V) -> Result<(), V> {
        let Some(found) = self.find(frame, size) else {
            return Err(value);
        };
        let at = self.free;
        if at == NIL || (found.is_err() && !self.has_room(1)) {
            return Err(value);
        }
        let nodes = self.nodes.items_mut();
        let Some(&Node::Free { next }) = nodes.get(at as usize) else {
            // Not reached: the free list holds free nodes only.
            return Err(value);
        };
        let index = self.index.items_mut();
        // The new node's older neighbour in its key's chain (newest first).
        let older = match found {
            Ok(b) => {
                // Past the nodes at least as new as it.
                let mut newer = None;
                let mut cur = index[b].head;
                while let Some(Node::Held { seq: s, older, .. }) = nodes.get(cur as usize) {
                    if *s < seq {
                        break;
                    }
                    newer = Some(cur);
                    cur = *older;
                }
                match newer {
                    None => index[b].head = at,
                    Some(n) => {
                        if let Node::Held { older, .. } = &mut nodes[n as usize] {
                            *older = at;
                        }
                    }
                }
                cur
            }
            Err(b) => {
                if index[b].head == NIL {
                    self.used += 1;
                }
                index[b] = Bucket {
                    frame,
                    size,
                    head: at,
                };
                NIL
            }
        };
        // `at` is in range: its node was read above.
        nodes[at as usize] = Node::Held {
            frame,
            size,
            seq,
            older,
            value,
        };
        // INVARIANT: the node left the free list and joined its key's chain in `seq` order; the
        // key has one bucket, counted in `used` if it took an empty one.
        self.free = next;
        self.next_seq = self.next_seq.max(seq.saturating_add(1));
        self.held += 1;
        Ok(())
    }

    /// Takes the newest entry held under `(frame, size)`, if any.
    pub fn pop(&mut self, frame: u64, size: u8) -> Option<V> {
        self.pop_where(frame, size, |_| true)
    }

    /// Takes the newest entry held under `(frame, size)` that `wanted` accepts, if any.
    pub fn pop_where(
        &mut self,
        frame: u64,
        size: u8,
        mut wanted: impl FnMut(&V) -> bool,
    ) -> Option<V> {
        if self.held == 0 {
            return None;
        }
        let b = self.find(frame, size)?.ok()?;
        let index = self.index.items_mut();
        let nodes = self.nodes.items_mut();
        let mut newer: Option<u32> = None;
        let mut cur = index[b].head;
        let older = loop {
            let Some(Node::Held { older, value, .. }) = nodes.get(cur as usize) else {
                return None;
            };
            if wanted(value) {
                break *older;
            }
            if *older == NIL {
                return None;
            }
            newer = Some(cur);
            cur = *older;
        };
        match newer {
            None => index[b].head = if older == NIL { GONE } else { older },
            Some(n) => {
                if let Node::Held { older: o, .. } = &mut nodes[n as usize] {
                    *o = older;
                }
            }
        }
        let node = core::mem::replace(nodes.get_mut(cur as usize)?, Node::Free { next: self.free });
        // INVARIANT: the node left its key's chain (the bucket is taken if it was the last) and
        // is the free list's head; the bucket stays used, so later probes still pass it.
        self.free = cur;
        self.held -= 1;
        node.into_value()
    }

    /// Every entry held, to change in place (keys and order stay).
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> + '_ {
        self.nodes.items_mut().iter_mut().filter_map(|n| match n {
            Node::Held { value, .. } => Some(value),
            Node::Free { .. } => None,
        })
    }

    /// Takes every entry: the old nodes, whose held entries go when they are dropped.
    pub fn take_all(&mut self) -> A::Of<Node<V>> {
        self.index = A::Of::none();
        self.free = NIL;
        self.held = 0;
        self.used = 0;
        core::mem::replace(&mut self.nodes, A::Of::none())
    }
}

impl<V, A: Storage> Default for PinTable<V, A> {
    fn default() -> Self {
        Self::new()
    }
}
