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
    os::fd::AsRawFd,
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

    /// A sensible buffer size for tests.
    pub fn default_size(self) -> usize {
        match self {
            Backing::Hugetlb1g => 1 << 30,
            _ => 8 << 20,
        }
    }
}

/// An mmap'ed test buffer, unmapped on drop.
pub struct Buffer {
    map: *mut u8,
    map_len: usize,
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
        let (map, map_len, ptr) = match backing {
            Backing::Anon4k | Backing::Thp => {
                let map_len = len + (2 << 20);
                // SAFETY: a fresh anonymous mapping.
                let m = unsafe {
                    libc::mmap(
                        std::ptr::null_mut(),
                        map_len,
                        prot,
                        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                        -1,
                        0,
                    )
                };
                if m == libc::MAP_FAILED {
                    return Err(format!("mmap: {}", std::io::Error::last_os_error()));
                }
                let aligned = ((m as usize + (2 << 20) - 1) & !((2 << 20) - 1)) as *mut u8;
                let advice = if backing == Backing::Thp {
                    libc::MADV_HUGEPAGE
                } else {
                    libc::MADV_NOHUGEPAGE
                };
                // SAFETY: advice on our own mapping.
                if unsafe { libc::madvise(aligned.cast(), len, advice) } != 0 {
                    return Err(format!("madvise: {}", std::io::Error::last_os_error()));
                }
                (m.cast::<u8>(), map_len, aligned)
            }
            Backing::Hugetlb2m | Backing::Hugetlb1g => {
                let huge = if backing == Backing::Hugetlb2m {
                    21
                } else {
                    30
                };
                let flags = libc::MAP_PRIVATE
                    | libc::MAP_ANONYMOUS
                    | libc::MAP_HUGETLB
                    | (huge << libc::MAP_HUGE_SHIFT);
                // SAFETY: a fresh hugetlb mapping.
                let m = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, flags, -1, 0) };
                if m == libc::MAP_FAILED {
                    return Err(format!("hugetlb mmap: {}", std::io::Error::last_os_error()));
                }
                (m.cast::<u8>(), len, m.cast::<u8>())
            }
            Backing::Shmem => {
                // SAFETY: creates an fd we own.
                let fd = unsafe { libc::memfd_create(c"ve-test".as_ptr(), libc::MFD_CLOEXEC) };
                if fd < 0 {
                    return Err(format!("memfd_create: {}", std::io::Error::last_os_error()));
                }
                // SAFETY: plain syscalls on our fd; the mapping keeps the file alive after close.
                let m = unsafe {
                    libc::ftruncate(fd, len as libc::off_t);
                    let m = libc::mmap(std::ptr::null_mut(), len, prot, libc::MAP_SHARED, fd, 0);
                    libc::close(fd);
                    m
                };
                if m == libc::MAP_FAILED {
                    return Err(format!("memfd mmap: {}", std::io::Error::last_os_error()));
                }
                (m.cast::<u8>(), len, m.cast::<u8>())
            }
        };
        let b = Buffer {
            map,
            map_len,
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
        // SAFETY: a fresh anonymous mapping.
        let m = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if m == libc::MAP_FAILED {
            return Err(format!("mmap: {}", std::io::Error::last_os_error()));
        }
        // SAFETY: advice on our own mapping.
        unsafe { libc::madvise(m, len, libc::MADV_NOHUGEPAGE) };
        Ok(Buffer {
            map: m.cast(),
            map_len: len,
            ptr: m.cast(),
            len,
            backing: Backing::Anon4k,
        })
    }

    /// Start address.
    pub fn addr(&self) -> u64 {
        self.ptr as u64
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        // SAFETY: unmaps the mapping this value created.
        unsafe { libc::munmap(self.map.cast(), self.map_len) };
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
