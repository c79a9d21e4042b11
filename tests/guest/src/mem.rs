// SPDX-License-Identifier: GPL-2.0

//! Test buffers over every kind of backing (the kselftest vfio suite's variants: 4 KiB, 2 MiB and
//! 1 GiB pages, plus THP, shmem and a shared file), and their physical addresses from
//! /proc/self/pagemap.

use std::{
    fs::File,
    io::{
        Read,
        Seek,
        SeekFrom, //
    },
    os::fd::{
        AsFd,
        AsRawFd,
        BorrowedFd,
        FromRawFd,
        OwnedFd, //
    },
};

/// How a buffer is backed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Backing {
    /// Anonymous memory in 4 KiB pages (THP off for the range).
    Anon4k,
    /// Anonymous memory with `MADV_HUGEPAGE` on a 2 MiB-aligned range.
    Thp,
    /// hugetlb 2 MiB pages.
    Hugetlb2m,
    /// hugetlb 1 GiB pages.
    Hugetlb1g,
    /// A shared memfd (shmem), 4 KiB pages.
    Shmem,
}

impl Backing {
    /// Every backing.
    pub const ALL: [Backing; 5] = [
        Backing::Anon4k,
        Backing::Thp,
        Backing::Hugetlb2m,
        Backing::Hugetlb1g,
        Backing::Shmem,
    ];

    /// Short name for test names.
    pub fn name(self) -> &'static str {
        match self {
            Backing::Anon4k => "anon_4k",
            Backing::Thp => "thp",
            Backing::Hugetlb2m => "hugetlb_2m",
            Backing::Hugetlb1g => "hugetlb_1g",
            Backing::Shmem => "shmem",
        }
    }

    /// The page size NEC's block ioctls should report for it.
    pub fn reported_pgsz(self) -> u64 {
        match self {
            Backing::Anon4k | Backing::Shmem => 4096,
            _ => 2 << 20,
        }
    }

    /// Why a test of this backing cannot run here, if it cannot: hugetlb pages of its size with
    /// none free in the pool (none configured, or every one in use). The kselftest vfio suite
    /// skips such variants; so do [`crate::suite::Suite`]'s.
    pub fn unavailable(self) -> Option<String> {
        let kb = match self {
            Backing::Hugetlb2m => 2048,
            Backing::Hugetlb1g => 1 << 20,
            _ => return None,
        };
        let path = format!("/sys/kernel/mm/hugepages/hugepages-{kb}kB/free_hugepages");
        let free = std::fs::read_to_string(&path)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(0);
        (free == 0).then(|| format!("no free {} page ({path}: 0 or absent)", self.name()))
    }

    /// A sensible buffer size for tests.
    pub fn default_size(self) -> usize {
        match self {
            Backing::Hugetlb1g => 1 << 30,
            _ => 8 << 20,
        }
    }
}

/// One `mmap` of this process, unmapped on drop: the only place in the guest tests that calls
/// `mmap` and `munmap`.
///
/// The tests pass [`Mapping::addr`] to the driver, which pins and reads or writes the pages
/// behind the CPU's back; [`Mapping::as_slice`] and [`Mapping::as_mut_slice`] are for the times
/// when no transfer into the mapping is in flight (as every `fill` and compare in the tests).
/// Device mappings (BAR pages, the engine's registers) are accessed only through
/// [`Mapping::ptr`] with volatile reads and writes.
#[derive(Debug)]
pub struct Mapping {
    ptr: *mut u8,
    len: usize,
}

impl Mapping {
    /// `mmap(NULL, len, prot, flags, fd, offset)`; `Err(errno)` as mmap reports it.
    pub fn new(
        len: usize,
        prot: i32,
        flags: i32,
        fd: Option<BorrowedFd<'_>>,
        offset: u64,
    ) -> Result<Self, i32> {
        let fd = fd.map_or(-1, |f| f.as_raw_fd());
        // SAFETY: a fresh mapping at an address the kernel picks (no MAP_FIXED): it cannot
        // overlap memory that Rust code owns.
        let m = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                prot,
                flags,
                fd,
                offset as libc::off_t,
            )
        };
        if m == libc::MAP_FAILED {
            return Err(crate::sys::errno());
        }
        Ok(Self { ptr: m.cast(), len })
    }

    /// Anonymous memory: `MAP_ANONYMOUS | flags` (`MAP_PRIVATE` or `MAP_SHARED` among them).
    pub fn anon(len: usize, prot: i32, flags: i32) -> Result<Self, i32> {
        Self::new(len, prot, flags | libc::MAP_ANONYMOUS, None, 0)
    }

    /// Private anonymous read-write memory.
    pub fn anon_rw(len: usize) -> Result<Self, String> {
        Self::anon(len, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE)
            .map_err(|e| format!("mmap: {}", crate::sys::errname(e)))
    }

    /// A shared mapping of `fd` at `offset`.
    pub fn shared(fd: &impl AsFd, offset: u64, len: usize, prot: i32) -> Result<Self, i32> {
        Self::new(len, prot, libc::MAP_SHARED, Some(fd.as_fd()), offset)
    }

    /// The start address (what the driver is given).
    pub fn addr(&self) -> u64 {
        self.ptr as u64
    }

    /// The start, for volatile access and for the `unsafe` fill and compare helpers.
    pub fn ptr(&self) -> *mut u8 {
        self.ptr
    }

    /// The mapped length.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it maps nothing (never: mmap refuses length 0).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes, for a readable mapping of memory (not of a device) with no transfer into it
    /// in flight.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `len` bytes mapped for the life of `self`.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// The bytes, for a writable mapping of memory (not of a device) with no transfer in flight.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: `len` bytes mapped for the life of `self`, borrowed uniquely.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }

    /// `madvise(advice)` over `len` bytes from `off` inside the mapping.
    pub fn advise(&self, off: usize, len: usize, advice: i32) -> Result<(), i32> {
        assert!(off.checked_add(len).is_some_and(|end| end <= self.len));
        // SAFETY: advice on a range of our own mapping (checked above).
        if unsafe { libc::madvise(self.ptr.add(off).cast(), len, advice) } != 0 {
            return Err(crate::sys::errno());
        }
        Ok(())
    }

    /// Unmaps it now and reports what `munmap` said (tests that unmap while the driver holds
    /// the pages need the point in time and the result).
    pub fn unmap(self) -> Result<(), i32> {
        let (ptr, len) = (self.ptr, self.len);
        std::mem::forget(self);
        // SAFETY: unmaps what `new` mapped; `self` is gone, so nothing refers to it any more.
        if unsafe { libc::munmap(ptr.cast(), len) } != 0 {
            return Err(crate::sys::errno());
        }
        Ok(())
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps what `new` mapped; nothing refers to it after the drop.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

/// An mmap'ed test buffer, unmapped on drop.
pub struct Buffer {
    _map: Mapping,
    /// Start of the usable, suitably aligned range.
    pub ptr: *mut u8,
    /// Usable length.
    pub len: usize,
    /// Backing.
    pub backing: Backing,
}

impl Buffer {
    /// Maps `len` bytes of `backing`, faulted in and filled with a pattern. `Err` with a reason
    /// if the backing is unavailable.
    pub fn new(backing: Backing, len: usize) -> Result<Self, String> {
        let prot = libc::PROT_READ | libc::PROT_WRITE;
        fn os(what: &'static str) -> impl Fn(i32) -> String {
            move |e| format!("{what}: {}", std::io::Error::from_raw_os_error(e))
        }
        let (map, off) = match backing {
            Backing::Anon4k | Backing::Thp => {
                let map =
                    Mapping::anon(len + (2 << 20), prot, libc::MAP_PRIVATE).map_err(os("mmap"))?;
                let off = map.ptr.align_offset(2 << 20);
                let advice = if backing == Backing::Thp {
                    libc::MADV_HUGEPAGE
                } else {
                    libc::MADV_NOHUGEPAGE
                };
                map.advise(off, len, advice).map_err(os("madvise"))?;
                (map, off)
            }
            Backing::Hugetlb2m | Backing::Hugetlb1g => {
                let huge = if backing == Backing::Hugetlb2m {
                    21
                } else {
                    30
                };
                let flags = libc::MAP_PRIVATE | libc::MAP_HUGETLB | (huge << libc::MAP_HUGE_SHIFT);
                (
                    Mapping::anon(len, prot, flags).map_err(os("hugetlb mmap"))?,
                    0,
                )
            }
            Backing::Shmem => {
                // SAFETY: creates an fd we own from here on.
                let fd = unsafe { libc::memfd_create(c"ve-test".as_ptr(), libc::MFD_CLOEXEC) };
                if fd < 0 {
                    return Err(format!("memfd_create: {}", std::io::Error::last_os_error()));
                }
                // SAFETY: `fd` is a fresh descriptor that nothing else owns.
                let fd = unsafe { OwnedFd::from_raw_fd(fd) };
                // SAFETY: a plain syscall on our fd.
                unsafe { libc::ftruncate(fd.as_raw_fd(), len as libc::off_t) };
                // The mapping keeps the file alive after `fd` is closed.
                (
                    Mapping::shared(&fd, 0, len, prot).map_err(os("memfd mmap"))?,
                    0,
                )
            }
        };
        // SAFETY: `off + len` is within the mapping (2 MiB of slack for the alignment above).
        let ptr = unsafe { map.ptr.add(off) };
        let b = Buffer {
            _map: map,
            ptr,
            len,
            backing,
        };
        // Fault every page in with a pattern (one write per 4 KiB keeps TCG time down).
        for off in (0..len).step_by(4096) {
            // SAFETY: in bounds of the usable range.
            unsafe {
                b.ptr
                    .add(off)
                    .cast::<u64>()
                    .write((off as u64) ^ 0x5a5a_5a5a)
            };
        }
        Ok(b)
    }

    /// Unmaps the usable range, then maps fresh private anonymous 4 KiB memory at the same
    /// address and faults it in: the same virtual range, other pages.
    pub fn remap_fresh(&self) -> Result<(), String> {
        // SAFETY: unmaps the usable range of our own mapping; no reference into it is alive
        // (callers hold only `ptr`).
        if unsafe { libc::munmap(self.ptr.cast(), self.len) } != 0 {
            return Err(format!("munmap: {}", std::io::Error::last_os_error()));
        }
        self.map_fresh()
    }

    /// Moves the usable range's pages to the start of `dest` (at least as long) with `mremap`,
    /// then maps fresh memory at the old address: the old pages live on at `dest`.
    pub fn move_to(&self, dest: &Mapping) -> Result<(), String> {
        assert!(dest.len >= self.len);
        // SAFETY: moves our own pages over the start of our own mapping `dest` (which it
        // replaces); nothing refers to either range's bytes meanwhile.
        let m = unsafe {
            libc::mremap(
                self.ptr.cast(),
                self.len,
                self.len,
                libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED,
                dest.ptr.cast::<libc::c_void>(),
            )
        };
        if m == libc::MAP_FAILED {
            return Err(format!("mremap: {}", std::io::Error::last_os_error()));
        }
        self.map_fresh()
    }

    /// Maps fresh anonymous memory over the (unmapped) usable range and faults it in.
    fn map_fresh(&self) -> Result<(), String> {
        // SAFETY: the range is unmapped (the callers unmapped or moved it): MAP_FIXED_NOREPLACE
        // fails rather than replace anything.
        let m = unsafe {
            libc::mmap(
                self.ptr.cast(),
                self.len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE,
                -1,
                0,
            )
        };
        if m != self.ptr.cast() {
            return Err(format!("mmap: {}", std::io::Error::last_os_error()));
        }
        for off in (0..self.len).step_by(4096) {
            // SAFETY: in bounds of the range just mapped.
            unsafe { self.ptr.add(off).write(1) };
        }
        Ok(())
    }

    /// 4 KiB anonymous memory that is physically fragmented on purpose: its pages are faulted in
    /// alternately with those of a second buffer, which is then freed, so no two neighbouring
    /// pages are physically adjacent (the layout of a long-running host's malloc memory).
    pub fn new_fragmented(len: usize) -> Result<Self, String> {
        let a = Buffer::new_untouched(len)?;
        let b = Buffer::new_untouched(len)?;
        for off in (0..len).step_by(4096) {
            // SAFETY: both are mapped for `len` bytes.
            unsafe {
                a.ptr
                    .add(off)
                    .cast::<u64>()
                    .write((off as u64) ^ 0x5a5a_5a5a);
                b.ptr.add(off).cast::<u64>().write(0);
            }
        }
        drop(b);
        Ok(a)
    }

    /// 4 KiB anonymous memory, not faulted in.
    fn new_untouched(len: usize) -> Result<Self, String> {
        let map = Mapping::anon(len, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE)
            .map_err(|e| format!("mmap: {}", std::io::Error::from_raw_os_error(e)))?;
        let _ = map.advise(0, len, libc::MADV_NOHUGEPAGE);
        Ok(Buffer {
            ptr: map.ptr,
            _map: map,
            len,
            backing: Backing::Anon4k,
        })
    }

    /// Start address.
    pub fn addr(&self) -> u64 {
        self.ptr as u64
    }
}

/// Physical address of the page holding `va` in process `pid` ("self" for the caller), from
/// `/proc/<pid>/pagemap` (root sees page frame numbers). `None` if not present.
pub fn phys_of(pid: &str, va: u64) -> Option<u64> {
    let mut f = File::open(format!("/proc/{pid}/pagemap")).ok()?;
    let _ = f.as_raw_fd();
    f.seek(SeekFrom::Start((va / 4096) * 8)).ok()?;
    let mut b = [0u8; 8];
    f.read_exact(&mut b).ok()?;
    let e = u64::from_le_bytes(b);
    if e & (1 << 63) == 0 {
        return None;
    }
    Some((e & ((1 << 55) - 1)) << 12)
}

/// Page frame numbers of the caller's `npages` pages from `va` (page aligned), from
/// `/proc/self/pagemap` in one read; `None` for a page not present.
pub fn frames_of(va: u64, npages: usize) -> Result<Vec<Option<u64>>, String> {
    let mut f = File::open("/proc/self/pagemap").map_err(|e| format!("pagemap: {e}"))?;
    f.seek(SeekFrom::Start((va / 4096) * 8))
        .map_err(|e| format!("pagemap: {e}"))?;
    let mut b = vec![0u8; npages * 8];
    f.read_exact(&mut b).map_err(|e| format!("pagemap: {e}"))?;
    Ok(b.chunks_exact(8)
        .map(|c| {
            let e = u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
            (e & (1 << 63) != 0).then_some(e & ((1 << 55) - 1))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A mapping is usable through its slices for its length and goes away on drop or unmap.
    #[test]
    fn mapping() {
        let mut m = Mapping::anon_rw(3 * 4096).unwrap();
        assert_eq!(m.len(), 3 * 4096);
        m.as_mut_slice()[4097] = 7;
        assert_eq!(m.as_slice()[4097], 7);
        assert!(m.advise(4096, 4096, libc::MADV_NOHUGEPAGE).is_ok());
        let addr = m.addr();
        m.unmap().unwrap();
        // The pages are gone: pagemap says "not present" (and mincore fails) for them.
        let mut v = [0u8; 1];
        // SAFETY: mincore only inspects the address range.
        let r = unsafe { libc::mincore(addr as *mut _, 4096, v.as_mut_ptr()) };
        assert_eq!((r, crate::sys::errno()), (-1, libc::ENOMEM));
        assert_eq!(
            Mapping::anon(0, libc::PROT_READ, libc::MAP_PRIVATE).unwrap_err(),
            libc::EINVAL
        );
    }

    /// Buffers keep their alignment and pattern through the wrapper.
    #[test]
    fn buffers() {
        for backing in [Backing::Anon4k, Backing::Thp, Backing::Shmem] {
            let b = Buffer::new(backing, 4 << 20).unwrap();
            if backing != Backing::Shmem {
                assert_eq!(b.addr() % (2 << 20), 0);
            }
            // SAFETY: the first word of the buffer's second page.
            let w = unsafe { b.ptr.add(4096).cast::<u64>().read() };
            assert_eq!(w, 4096 ^ 0x5a5a_5a5a);
        }
        assert_eq!(Buffer::new_fragmented(1 << 20).unwrap().len, 1 << 20);
    }
}
