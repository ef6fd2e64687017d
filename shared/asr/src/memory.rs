//! Process memory settings for binaries that run recognition.

/// Makes glibc serve allocations of 2 MiB and more with their own mappings, so that they go back
/// to the operating system when freed. glibc otherwise raises its mmap threshold (up to 32 MiB)
/// after the first large free, and the per-window sample, mel and alignment buffers then stay in
/// the heap after use: on the 30-minute benchmark visit peak RSS was 604 MB without this and
/// 577 MB with it, at the same CPU time (BENCHMARKS.md). A 128 KiB threshold saved more (568 MB)
/// but cost CPU in page faults for whisper.cpp's per-token buffers. Call it once, early in
/// `main`; it does nothing on other C libraries.
pub fn return_large_buffers_to_os() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const THRESHOLD_BYTES: libc::c_int = 2 * 1024 * 1024;
        // SAFETY: mallopt only changes allocator tuning; it is safe to call at any time.
        let accepted = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, THRESHOLD_BYTES) };
        if accepted != 1 {
            tracing::debug!("glibc did not accept the mmap threshold");
        }
    }
}
