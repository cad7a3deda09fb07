/** Which Netty transport (io_uring, epoll, NIO) every listener and outbound socket uses. */
@NullMarked
package org.postern.net;

import org.jspecify.annotations.NullMarked;
