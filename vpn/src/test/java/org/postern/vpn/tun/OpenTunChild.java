package org.postern.vpn.tun;

/** Child JVM for {@code LinuxTunTest}: opens a TUN device and prints what happened, one line. */
public final class OpenTunChild {

    private OpenTunChild() {
    }

    public static void main(String[] args) {
        try (LinuxTun tun = LinuxTun.open(args[0])) {
            System.out.println("OPENED " + tun.name());
        } catch (Exception e) {
            System.out.println("FAILED " + e.getMessage());
        }
    }
}
