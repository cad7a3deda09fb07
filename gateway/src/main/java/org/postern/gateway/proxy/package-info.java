/**
 * Behind a TCP load balancer: the PROXY protocol v2 header a trusted proxy puts in front of a
 * connection, and the refusal of one from anyone else (docs/gateway.md, "Behind a load balancer").
 */
@NullMarked
package org.postern.gateway.proxy;

import org.jspecify.annotations.NullMarked;
