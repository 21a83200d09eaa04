//! The process's allocator: the system's, with every block zeroed before it goes
//! back. secretrun zeroes what it owns by type (`SecretValue`, `Zeroizing`,
//! `secret::Wiped`); this catches what it does not own: the buffers in which
//! the HTTP client, TLS, the AWS SDK and the JSON parser held a store's answer, and
//! the blocks a growing `Vec` or `String` left behind. A freed block can be handed
//! out again to any code, and a core dump taken later shows the heap; after this,
//! neither finds a secret in memory that was freed.
//!
//! A reallocation that grows a block copies it to a new block and zeroes the old one
//! (the system's `realloc` may move the block and free the old copy itself, unzeroed).

use std::alloc::{GlobalAlloc, Layout, System};

/// The allocator `A` (the system's in the process), zeroing what it takes back.
pub struct Zeroing<A = System>(pub A);

/// Zeroes `len` bytes at `ptr` in a way the compiler may not drop as a store to
/// memory about to be freed.
///
/// # Safety
/// `ptr` is valid for writes of `len` bytes.
pub unsafe fn zero(ptr: *mut u8, len: usize) {
    // SAFETY: the caller's contract.
    unsafe { std::ptr::write_bytes(ptr, 0, len) };
    // The pointer escapes: the stores above may be read, so they stay.
    std::hint::black_box(ptr);
}

// SAFETY: every call is passed on to the inner allocator with the same layouts; the
// blocks zeroed are the caller's, valid for their whole size until freed.
unsafe impl<A: GlobalAlloc> GlobalAlloc for Zeroing<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        unsafe { self.0.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        unsafe { self.0.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the block is the caller's, `layout.size()` bytes, until freed here.
        unsafe {
            zero(ptr, layout.size());
            self.0.dealloc(ptr, layout);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = layout.size();
        if new_size <= old {
            // Shrinking in place: the tail given up is zeroed first.
            // SAFETY: `new_size..old` lies inside the caller's block.
            unsafe {
                zero(ptr.add(new_size), old - new_size);
                return self.0.realloc(ptr, layout, new_size);
            }
        }
        // SAFETY: the caller guarantees `new_size`, rounded up to the alignment, does
        // not overflow `isize` (GlobalAlloc::realloc's contract).
        let grown = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: a non-zero size (it is larger than `old`).
        let new = unsafe { self.0.alloc(grown) };
        if !new.is_null() {
            // SAFETY: both blocks are valid for `old` bytes and distinct; the old one
            // is the caller's until freed here.
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, new, old);
                self.dealloc(ptr, layout);
            }
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// The inner allocator of the test: the system's, recording whether each block
    /// (or the tail a shrink gives up) was all zeros when it came back.
    #[derive(Default)]
    struct Probe {
        returned: Cell<usize>,
        dirty: Cell<usize>,
    }

    impl Probe {
        /// Notes whether the `len` bytes at `ptr` are all zeros.
        unsafe fn note(&self, ptr: *const u8, len: usize) {
            // SAFETY: the caller's block, valid for `len` bytes.
            let block = unsafe { std::slice::from_raw_parts(ptr, len) };
            self.returned.set(self.returned.get() + 1);
            if block.iter().any(|&b| b != 0) {
                self.dirty.set(self.dirty.get() + 1);
            }
        }
    }

    // SAFETY: every call is passed on to the system allocator unchanged.
    unsafe impl GlobalAlloc for Probe {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            // SAFETY: the caller's contract, passed on.
            unsafe { System.alloc(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: the block is valid until freed below.
            unsafe {
                self.note(ptr, layout.size());
                System.dealloc(ptr, layout);
            }
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            // SAFETY: what a shrink gives up is still the caller's until passed on.
            unsafe {
                if new_size < layout.size() {
                    self.note(ptr.add(new_size), layout.size() - new_size);
                }
                System.realloc(ptr, layout, new_size)
            }
        }
    }

    #[test]
    fn every_block_and_every_tail_given_back_is_zeroed_first() {
        let zeroing = Zeroing(Probe::default());
        let layout = Layout::from_size_align(64, 8).unwrap();
        // SAFETY: blocks of the sizes asked for, each used within them and given back
        // once, through the allocator that made it.
        unsafe {
            let block = zeroing.alloc(layout);
            block.write_bytes(0xAA, 64);
            // Grown: copied to a new block, the old one zeroed and given back.
            let grown = zeroing.realloc(block, layout, 4096);
            assert_eq!(*grown.add(63), 0xAA, "the contents moved with the block");
            grown.write_bytes(0xBB, 4096);
            // Shrunk: the tail given up is zeroed.
            let big = Layout::from_size_align(4096, 8).unwrap();
            let shrunk = zeroing.realloc(grown, big, 32);
            assert_eq!(*shrunk.add(31), 0xBB, "the kept part stays");
            zeroing.dealloc(shrunk, Layout::from_size_align(32, 8).unwrap());
        }
        assert_eq!(zeroing.0.returned.get(), 3, "a grow, a shrink, a free");
        assert_eq!(
            zeroing.0.dirty.get(),
            0,
            "blocks given back holding their bytes"
        );
    }
}
