// Linux calls the splice probe needs that Swift's Glibc module does not expose (they are GNU
// extensions, declared only with _GNU_SOURCE): splice(2), pipe2(2), F_SETPIPE_SZ / F_GETPIPE_SZ.
#ifndef C_SPLICE_PROBE_H
#define C_SPLICE_PROBE_H

#include <stddef.h>
#include <sys/types.h>

/// splice(2) between two descriptors without offsets (one of them a pipe); flags as splice's.
ssize_t csp_splice(int fd_in, int fd_out, size_t length, unsigned int flags);

/// pipe2(2) with O_CLOEXEC; fds[0] is the read end.
int csp_pipe(int fds[2]);

/// fcntl(F_SETPIPE_SZ): the kernel rounds up to a power of two pages; returns the size set or -1.
int csp_set_pipe_size(int fd, int size);

extern const unsigned int csp_splice_move;
extern const unsigned int csp_splice_more;

#endif
