/**
 * The tunnel interface's configuration outside the device itself: addresses, MTU and routes
 * ({@link org.postern.vpn.link.LinkConfig}), DNS for that interface only
 * ({@link org.postern.vpn.link.DnsConfig}), and the inner MTU the path allows
 * ({@link org.postern.vpn.link.TunMtu}); docs/vpn.md.
 */
@NullMarked
package org.postern.vpn.link;

import org.jspecify.annotations.NullMarked;
