#include "CFileInfo.h"

#include <errno.h>
#include <sys/stat.h>

int wsk_file_info_of(const char *path, wsk_file_info *out) {
    struct stat info;
    if (stat(path, &info) != 0) {
        return errno;
    }
    out->inode = (uint64_t)info.st_ino;
    out->size = (int64_t)info.st_size;
    out->mtime_sec = (int64_t)info.st_mtim.tv_sec;
    out->mtime_nsec = (int64_t)info.st_mtim.tv_nsec;
    out->ctime_sec = (int64_t)info.st_ctim.tv_sec;
    out->ctime_nsec = (int64_t)info.st_ctim.tv_nsec;
    out->kind = S_ISREG(info.st_mode) ? 1 : S_ISDIR(info.st_mode) ? 2 : 0;
    return 0;
}
