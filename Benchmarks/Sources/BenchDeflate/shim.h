// What RecordBench's floor loop needs from C: the CRC-32 and deflate the recorder uses (libdeflate,
// zlib), and fallocate(2) and O_DIRECT, which Swift's Glibc module leaves out (GNU extensions).
#ifndef WEBSOCKIFY_BENCHDEFLATE_SHIM_H
#define WEBSOCKIFY_BENCHDEFLATE_SHIM_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <libdeflate.h>
#include <zlib.h>

/// fallocate(fd, FALLOC_FL_KEEP_SIZE, offset, length): 0, or the errno.
static inline int bench_reserve(int fd, long long offset, long long length) {
    return fallocate(fd, FALLOC_FL_KEEP_SIZE, offset, length) == 0 ? 0 : errno;
}

static inline int bench_o_direct(void) { return O_DIRECT; }

/// deflateInit2 with the recorder's parameters (raw deflate, 32 KiB window, memLevel 8).
static inline int bench_deflate_init(z_stream *stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
}
#endif
