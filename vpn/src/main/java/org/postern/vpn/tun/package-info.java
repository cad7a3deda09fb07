/**
 * The TUN device: whole IP packets between the operating system and this process
 * ({@link org.postern.vpn.tun.TunDevice}), on Linux through {@code /dev/net/tun} and the FFM API
 * ({@link org.postern.vpn.tun.LinuxTun}); docs/vpn.md "The TUN device".
 */
@NullMarked
package org.postern.vpn.tun;

import org.jspecify.annotations.NullMarked;
