#ifndef WEBSOCKIFY_CFILEINFO_H
#define WEBSOCKIFY_CFILEINFO_H

#include <stdint.h>

/// What stat(2) says about a file, in plain integers. Swift code reads `struct stat` through
/// whichever C module first declared it, which differs between build configurations; this keeps
/// the struct on the C side.
typedef struct {
    uint64_t inode;
    int64_t size;
    int64_t mtime_sec;
    int64_t mtime_nsec;
    int64_t ctime_sec;
    int64_t ctime_nsec;
    /// 1 regular file, 2 directory, 0 anything else.
    int kind;
} wsk_file_info;

/// Fills `out` for `path` (following symbolic links); returns 0, or the errno of the failure.
int wsk_file_info_of(const char *path, wsk_file_info *out);

#endif
