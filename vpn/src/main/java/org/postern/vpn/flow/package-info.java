/**
 * Connection tracking for one VPN session ({@link org.postern.vpn.flow.FlowTable}): which five-tuples
 * the admission gate allowed or denied, what they carried, and when they ended.
 */
@NullMarked
package org.postern.vpn.flow;

import org.jspecify.annotations.NullMarked;
