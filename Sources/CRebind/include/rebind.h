// rebind: an LD_PRELOAD library that moves one listening port of a program to loopback.
//
// websockify sets both variables, preloads librebind.so into the program it wraps, and then proxies
// WebSocket traffic on the original port to the new one. When the program bind()s a TCP socket to
// port REBIND_OLD_PORT (any address), the socket is bound to the loopback address and port
// REBIND_NEW_PORT instead. Every other bind() is passed through unchanged.
#ifndef WEBSOCKIFY_REBIND_H
#define WEBSOCKIFY_REBIND_H

/// Environment variable: the port the program asks for (decimal, 1-65535).
#define REBIND_OLD_PORT_VARIABLE "REBIND_OLD_PORT"
/// Environment variable: the loopback port it gets instead (decimal, 1-65535).
#define REBIND_NEW_PORT_VARIABLE "REBIND_NEW_PORT"

#endif
