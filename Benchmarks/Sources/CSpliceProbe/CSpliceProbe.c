#define _GNU_SOURCE
#include "CSpliceProbe.h"

#include <fcntl.h>
#include <unistd.h>

ssize_t csp_splice(int fd_in, int fd_out, size_t length, unsigned int flags) {
    return splice(fd_in, NULL, fd_out, NULL, length, flags);
}

int csp_pipe(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int csp_set_pipe_size(int fd, int size) { return fcntl(fd, F_SETPIPE_SZ, size); }

const unsigned int csp_splice_move = SPLICE_F_MOVE;
const unsigned int csp_splice_more = SPLICE_F_MORE;
