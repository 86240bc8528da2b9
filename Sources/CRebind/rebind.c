// See include/rebind.h. Built as librebind.so; preloaded, never linked.
#define _GNU_SOURCE
#include "rebind.h"

#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

typedef int (*bind_function)(int, const struct sockaddr *, socklen_t);

/// libc's bind(), looked up once (concurrent first calls store the same pointer).
static bind_function next_bind(void) {
    static bind_function cached;
    bind_function found = __atomic_load_n(&cached, __ATOMIC_ACQUIRE);
    if (found == NULL) {
        found = (bind_function)dlsym(RTLD_NEXT, "bind");
        __atomic_store_n(&cached, found, __ATOMIC_RELEASE);
    }
    return found;
}

/// The port in environment variable `name`, or -1 when it is unset or not a port number.
static int port_variable(const char *name) {
    const char *text = getenv(name);
    if (text == NULL || *text == '\0') {
        return -1;
    }
    char *end = NULL;
    long value = strtol(text, &end, 10);
    if (*end != '\0' || value < 1 || value > 65535) {
        return -1;
    }
    return (int)value;
}

static int is_stream_socket(int fd) {
    int type = 0;
    socklen_t length = sizeof type;
    return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) == 0 && type == SOCK_STREAM;
}

int bind(int fd, const struct sockaddr *address, socklen_t length) {
    bind_function real = next_bind();
    if (real == NULL) {
        errno = ENOSYS;
        return -1;
    }
    int old_port = port_variable(REBIND_OLD_PORT_VARIABLE);
    int new_port = port_variable(REBIND_NEW_PORT_VARIABLE);
    if (address == NULL || old_port < 0 || new_port < 0 || !is_stream_socket(fd)) {
        return real(fd, address, length);
    }
    // A respawned program binds the same loopback port again: don't let TIME_WAIT refuse it.
    int one = 1;
    if (address->sa_family == AF_INET && length >= (socklen_t)sizeof(struct sockaddr_in)) {
        struct sockaddr_in moved;
        memcpy(&moved, address, sizeof moved);
        if (ntohs(moved.sin_port) != old_port) {
            return real(fd, address, length);
        }
        moved.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        moved.sin_port = htons((uint16_t)new_port);
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        return real(fd, (const struct sockaddr *)&moved, sizeof moved);
    }
    if (address->sa_family == AF_INET6 && length >= (socklen_t)sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 moved;
        memcpy(&moved, address, sizeof moved);
        if (ntohs(moved.sin6_port) != old_port) {
            return real(fd, address, length);
        }
        // websockify connects to 127.0.0.1: a dual-stack socket takes the IPv4-mapped loopback
        // address, so it is reachable there. An IPv6-only socket (a program that also binds IPv4
        // separately) takes ::1, leaving 127.0.0.1 to its IPv4 socket.
        int v6only = 0;
        socklen_t option_length = sizeof v6only;
        getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &option_length);
        memset(&moved.sin6_addr, 0, sizeof moved.sin6_addr);
        if (v6only) {
            moved.sin6_addr = in6addr_loopback;
        } else {
            moved.sin6_addr.s6_addr[10] = 0xff;
            moved.sin6_addr.s6_addr[11] = 0xff;
            moved.sin6_addr.s6_addr[12] = 127;
            moved.sin6_addr.s6_addr[15] = 1;
        }
        moved.sin6_port = htons((uint16_t)new_port);
        moved.sin6_flowinfo = 0;
        moved.sin6_scope_id = 0;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        return real(fd, (const struct sockaddr *)&moved, sizeof moved);
    }
    return real(fd, address, length);
}
