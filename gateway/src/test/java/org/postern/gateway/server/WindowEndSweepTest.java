package org.postern.gateway.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The once-a-second remote-work-hours sweep runs each of its steps on its own: a step that throws
 * (say the SSH bastion's) must not leave the CONNECT tunnels and VPN flows after it open past their
 * window's end, every second (the review of the hours work: one try around all of them failed open).
 */
class WindowEndSweepTest {

    @Test
    void runEach_aThrowingStep_isSkipped_theOthersStillRun_andCount() {
        List<String> ran = new ArrayList<>();
        int total = GatewayServer.runEach(List.of(
                new GatewayServer.SweepStep("tunnel sessions", () -> {
                    ran.add("tunnel sessions");
                    return 1;
                }),
                new GatewayServer.SweepStep("SSH forwards", () -> {
                    ran.add("SSH forwards");
                    throw new IllegalStateException("bastion stopping");
                }),
                new GatewayServer.SweepStep("CONNECT tunnels", () -> {
                    ran.add("CONNECT tunnels");
                    return 2;
                }),
                new GatewayServer.SweepStep("VPN flows", () -> {
                    ran.add("VPN flows");
                    return 0;
                })));
        assertThat(ran).containsExactly("tunnel sessions", "SSH forwards", "CONNECT tunnels", "VPN flows");
        assertThat(total).as("what the steps that ran ended").isEqualTo(3);
    }
}
