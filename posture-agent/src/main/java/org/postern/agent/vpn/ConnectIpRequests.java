package org.postern.agent.vpn;

/** The CONNECT-IP request the agent sends (RFC 9484 §4), the same on HTTP/3 and HTTP/2. */
final class ConnectIpRequests {
    static final String PROTOCOL = "connect-ip";
    /** The whole tunnel: any target, any IP protocol. */
    static final String PATH = "/.well-known/masque/ip/*/*/";
    static final String CAPSULE_PROTOCOL = "capsule-protocol";
    static final String REASON_HEADER = "postern-reason";

    private ConnectIpRequests() {}
}
