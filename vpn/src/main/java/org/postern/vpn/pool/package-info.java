/** The addresses the gateway hands to VPN devices ({@link org.postern.vpn.pool.AddressPool}). */
@NullMarked
package org.postern.vpn.pool;

import org.jspecify.annotations.NullMarked;
